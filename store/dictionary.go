package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"runtime"

	bolt "go.etcd.io/bbolt"

	"github.com/seqclf/seqclf/vocab"
)

// The dictionary's value, vocab/hashed, is laid out (doc.go gives the layout) to be read where
// it lies: a token's id is found by hashing it and probing a table of slots, without building
// anything as the file opens.

// dictMagic starts the dictionary's value.
const dictMagic = "SQHDICT\x01"

// dictHeader is the size of the fixed part of the dictionary's value.
const dictHeader = 24

// fnv1a returns the 64-bit FNV-1a hash of s, the hash of the dictionary's slots.
func fnv1a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// packDictionary returns v in the layout of the vocab bucket's hashed value.
func packDictionary(v *vocab.Vocab) []byte {
	tokens, counts := v.Tokens(), v.Counts()
	n := len(tokens)
	slots := 1 << bits.Len(uint(2*n-1)) // the least power of two ≥ 2n
	size := 0
	for _, t := range tokens {
		size += len(t)
	}
	b := make([]byte, dictHeader+8*n+4*(n+1)+4*slots, dictHeader+8*n+4*(n+1)+4*slots+size)
	copy(b, dictMagic)
	le := binary.LittleEndian
	le.PutUint32(b[8:], uint32(n))
	le.PutUint32(b[12:], uint32(slots))
	le.PutUint64(b[16:], uint64(v.Types()))
	cs, offs, ts := b[dictHeader:], b[dictHeader+8*n:], b[dictHeader+12*n+4:]
	off := 0
	for id, t := range tokens {
		le.PutUint64(cs[8*id:], uint64(counts[id]))
		le.PutUint32(offs[4*id:], uint32(off))
		off += len(t)
		b = append(b, t...)
	}
	le.PutUint32(offs[4*n:], uint32(off))
	mask := uint64(slots - 1)
	for id := vocab.UnkID + 1; id < n; id++ {
		i := fnv1a(tokens[id]) & mask
		for le.Uint32(ts[4*i:]) != 0 {
			i = (i + 1) & mask
		}
		le.PutUint32(ts[4*i:], uint32(id+1))
	}
	return b
}

// A Dictionary is a stored dictionary read where it lies: opening one costs the same whatever
// its size, and a lookup reads only the few bytes it needs. Store.Dictionary returns one. It is
// read-only and safe for concurrent use; it stays valid after its store is closed.
//
// It answers as the vocab.Vocab it was written from: Lookup(t) is that Vocab's Lookup(t).
type Dictionary struct {
	v            *vocab.Vocab // a dictionary of an earlier layout, decoded; else nil
	b            []byte       // the value; mapped from the file, or a copy
	n, slots     int
	counts, offs int // where each section starts in b
	table, toks  int
}

// dictionary checks the header and the size of b, the vocab bucket's hashed value, and returns
// the Dictionary over it; what is wrong is said in the error.
func dictionary(b []byte) (*Dictionary, error) {
	if len(b) < dictHeader || string(b[:8]) != dictMagic {
		return nil, fmt.Errorf("no dictionary header")
	}
	le := binary.LittleEndian
	n, slots := uint64(le.Uint32(b[8:])), uint64(le.Uint32(b[12:]))
	if n < 2 || slots < 2*n || slots&(slots-1) != 0 {
		return nil, fmt.Errorf("dictionary of %d entries in %d slots", n, slots)
	}
	d := &Dictionary{b: b, n: int(n), slots: int(slots), counts: dictHeader}
	d.offs = d.counts + 8*d.n
	d.table = d.offs + 4*(d.n+1)
	d.toks = d.table + 4*d.slots
	if d.toks > len(b) || uint64(le.Uint32(b[d.offs+4*d.n:])) != uint64(len(b)-d.toks) {
		return nil, fmt.Errorf("dictionary of %d bytes, its sections want more or less", len(b))
	}
	return d, nil
}

// Len returns the number of ids, <pad> and <unk> included: the embedding table's rows.
func (d *Dictionary) Len() int {
	if d.v != nil {
		return d.v.Len()
	}
	return d.n
}

// token returns the bytes of id's token, and false if the file's offsets for it are out of
// range (a damaged file).
func (d *Dictionary) token(id int) ([]byte, bool) {
	le := binary.LittleEndian
	lo, hi := int(le.Uint32(d.b[d.offs+4*id:])), int(le.Uint32(d.b[d.offs+4*id+4:]))
	if lo > hi || d.toks+hi > len(d.b) {
		return nil, false
	}
	return d.b[d.toks+lo : d.toks+hi], true
}

// Lookup returns the id of token and whether the dictionary holds it.
func (d *Dictionary) Lookup(token string) (int, bool) {
	if d.v != nil {
		return d.v.Lookup(token)
	}
	le := binary.LittleEndian
	mask := uint64(d.slots - 1)
	i := fnv1a(token) & mask
	id, found := 0, false
	for range d.slots { // bounded, should a damaged file have no empty slot
		s := int(le.Uint32(d.b[d.table+4*int(i):]))
		if s == 0 || s > d.n {
			break
		}
		if t, ok := d.token(s - 1); ok && string(t) == token {
			id, found = s-1, true
			break
		}
		i = (i + 1) & mask
	}
	runtime.KeepAlive(d) // b may be mapped: the mapping lives as long as d
	return id, found
}

// Token returns the token of id; it panics if id is not in [0, Len()).
func (d *Dictionary) Token(id int) string {
	if d.v != nil {
		return d.v.Token(id)
	}
	if id < 0 || id >= d.n {
		panic(fmt.Sprintf("store: dictionary id %d out of range [0, %d)", id, d.n))
	}
	t, _ := d.token(id)
	s := string(t) // a copy: the string may outlive the mapping
	runtime.KeepAlive(d)
	return s
}

// vocab decodes the whole dictionary into a vocab.Vocab.
func (d *Dictionary) vocab() (*vocab.Vocab, error) {
	le := binary.LittleEndian
	tokens, counts := make([]string, d.n), make([]int64, d.n)
	for id := range d.n {
		t, ok := d.token(id)
		if !ok {
			return nil, fmt.Errorf("dictionary id %d out of its token bytes", id)
		}
		tokens[id], counts[id] = string(t), int64(le.Uint64(d.b[d.counts+8*id:]))
	}
	v, err := vocab.New(tokens, counts, int(le.Uint64(d.b[16:])))
	runtime.KeepAlive(d)
	return v, err
}

// Dictionary returns the store's dictionary for looking tokens up. From a read-only store of
// this layout it is mapped from the file, not read: it costs the same whatever the dictionary's
// size. From a store open for writing it is a copy; from a store of an earlier layout, the
// dictionary as Vocab reads it.
func (s *Store) Dictionary() (*Dictionary, error) {
	var d *Dictionary
	err := s.view(func(tx *bolt.Tx) error {
		n, err := s.vocabSize(tx)
		if err != nil {
			return err
		}
		vb := tx.Bucket([]byte(bucketVocab))
		if vb == nil || vb.Get([]byte(keyHashed)) == nil {
			v, err := s.readVocab(tx)
			d = &Dictionary{v: v}
			return err
		}
		b, mapping := s.mapValue(vb.Get([]byte(keyHashed)), 1)
		if mapping == nil {
			b = bytes.Clone(vb.Get([]byte(keyHashed)))
		}
		if d, err = dictionary(b); err != nil {
			unmap(mapping)
			return fmt.Errorf("store %s: %w (%v)", s.path, ErrNotStore, err)
		}
		if d.n != n {
			unmap(mapping)
			return fmt.Errorf("store %s: %w (dictionary of %d entries, meta says %d)", s.path, ErrNotStore, d.n, n)
		}
		if mapping != nil {
			runtime.AddCleanup(d, unmap, mapping)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}
