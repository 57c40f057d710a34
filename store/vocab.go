package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"runtime"

	bolt "go.etcd.io/bbolt"

	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/vocab"
)

// PutVocab replaces the store's dictionary with v, in one transaction: in the layout that
// Dictionary reads in place (vocab/hashed), and its size in the meta bucket.
func (s *Store) PutVocab(v *vocab.Vocab) error {
	if err := s.updateTx(func(tx *txn) error { return tx.putVocab(v) }); err != nil {
		return fmt.Errorf("store %s: writing the dictionary: %w", s.path, err)
	}
	return nil
}

// putVocab writes v as PutVocab does, in the transaction, in place of any dictionary of this
// layout or an earlier one.
func (t *txn) putVocab(v *vocab.Vocab) error {
	for _, name := range []string{bucketVocab, bucketVocabIDs, bucketVocabTokens, bucketVocabCounts} {
		if err := t.deleteBucket(name); err != nil {
			return err
		}
	}
	if err := t.put(bucketVocab, keyHashed, packDictionary(v)); err != nil {
		return err
	}
	if err := t.put(bucketMeta, metaVocabTypes, be64(uint64(v.Types()))); err != nil {
		return err
	}
	return t.put(bucketMeta, metaVocabSize, be32(uint32(v.Len())))
}

// Vocab reads the whole dictionary back, every token and count: what training and the tools
// that list or export the dictionary need. A program that only looks tokens up opens faster with
// Dictionary.
func (s *Store) Vocab() (*vocab.Vocab, error) {
	var v *vocab.Vocab
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		v, err = s.readVocab(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// vocabSize returns the dictionary's entries as the meta bucket records them.
func (s *Store) vocabSize(tx *bolt.Tx) (int, error) {
	size := tx.Bucket([]byte(bucketMeta)).Get([]byte(metaVocabSize))
	if len(size) != 4 {
		return 0, &MissingError{Path: s.path, What: MissingDictionary}
	}
	return int(binary.BigEndian.Uint32(size)), nil
}

// readVocab decodes the dictionary in whichever layout the file holds it: hashed (version 4),
// packed (version 3) or a key per entry (versions 1 and 2). Decoding copies out of the file.
func (s *Store) readVocab(tx *bolt.Tx) (*vocab.Vocab, error) {
	n, err := s.vocabSize(tx)
	if err != nil {
		return nil, err
	}
	b := tx.Bucket([]byte(bucketVocab))
	if b == nil {
		return s.vocabBuckets(tx, n, tx.Bucket([]byte(bucketMeta)))
	}
	v := new(vocab.Vocab)
	if h := b.Get([]byte(keyHashed)); h != nil {
		d, err := dictionary(h)
		if err == nil {
			v, err = d.vocab()
		}
		if err != nil {
			return nil, fmt.Errorf("store %s: %w (%v)", s.path, ErrNotStore, err)
		}
	} else if err := v.UnmarshalBinary(b.Get([]byte(keyPacked))); err != nil {
		return nil, fmt.Errorf("store %s: %w (%v)", s.path, ErrNotStore, err)
	}
	if v.Len() != n {
		return nil, fmt.Errorf("store %s: %w (dictionary of %d entries, meta says %d)", s.path, ErrNotStore, v.Len(), n)
	}
	return v, nil
}

// LookupIDs returns the stored ids of tokens, -1 for a token the dictionary lacks.
func (s *Store) LookupIDs(tokens []string) ([]int, error) {
	d, err := s.Dictionary()
	if err != nil {
		return nil, err
	}
	ids := make([]int, len(tokens))
	for i, t := range tokens {
		ids[i] = -1
		if id, ok := d.Lookup(t); ok {
			ids[i] = id
		}
	}
	return ids, nil
}

// PutTable replaces the store's embedding table with t, in one transaction: its values as one
// value, row after row, and its shape and trainability in the meta bucket.
func (s *Store) PutTable(t *embed.Table) error {
	if err := s.updateTx(func(tx *txn) error { return tx.putTable(t) }); err != nil {
		return fmt.Errorf("store %s: writing the embedding table: %w", s.path, err)
	}
	return nil
}

// putTable writes t as PutTable does, in the transaction, in place of any table of this layout
// or an earlier one. The table bucket holds the one key, so that bbolt lays its value out at a
// fixed offset of its page (after the page's header, the one element's and the key): 4-byte
// aligned for a key of 4 bytes, as a table read in place needs.
func (t *txn) putTable(tab *embed.Table) error {
	train := []byte{0}
	if tab.Trainable {
		train[0] = 1
	}
	for _, name := range []string{bucketTable, bucketEmbed} {
		if err := t.deleteBucket(name); err != nil {
			return err
		}
	}
	if err := t.put(bucketTable, keyRows, putF32(tab.Data)); err != nil {
		return err
	}
	for k, v := range map[string][]byte{metaEmbedDim: be32(uint32(tab.Dim())), metaEmbedTrain: train} {
		if err := t.put(bucketMeta, k, v); err != nil {
			return err
		}
	}
	return t.put(bucketMeta, metaEmbedRows, be32(uint32(tab.Rows())))
}

// Table reads the embedding table back, a copy of its own.
func (s *Store) Table() (*embed.Table, error) {
	var t *embed.Table
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		t, err = s.readTable(tx, false)
		return err
	})
	return t, err
}

// readTable reads the embedding table in whichever layout the file holds it. With inPlace, a
// table of this layout in a read-only store is mapped from the file rather than copied (see
// Store.mapValue), and unmapped once the Table is unreachable.
func (s *Store) readTable(tx *bolt.Tx, inPlace bool) (*embed.Table, error) {
	meta := tx.Bucket([]byte(bucketMeta))
	rows, dim := meta.Get([]byte(metaEmbedRows)), meta.Get([]byte(metaEmbedDim))
	if len(rows) != 4 || len(dim) != 4 {
		return nil, &MissingError{Path: s.path, What: MissingTable}
	}
	n, d := int(binary.BigEndian.Uint32(rows)), int(binary.BigEndian.Uint32(dim))
	var data []float32
	var mapping []byte
	if b := tx.Bucket([]byte(bucketTable)); b != nil {
		v := b.Get([]byte(keyRows))
		if v == nil {
			v = b.Get([]byte(keyValues)) // version 3
		}
		if n < 1 || d < 1 || len(v) != 4*n*d {
			return nil, fmt.Errorf("store %s: %w (embedding table of %d bytes for %d×%d)", s.path, ErrNotStore, len(v), n, d)
		}
		if inPlace && littleEndian {
			var b []byte
			if b, mapping = s.mapValue(v, 4); mapping != nil {
				data = f32View(b)
			}
		}
		if data == nil {
			data = make([]float32, n*d)
			getF32(data, v, "") // the length is checked above
		}
	} else {
		var err error
		if data, err = s.tableBuckets(tx, n, d); err != nil {
			return nil, err
		}
	}
	t, err := embed.FromData(n, d, data)
	if err != nil {
		unmap(mapping)
		return nil, fmt.Errorf("store %s: %w", s.path, err)
	}
	t.Trainable = bytes.Equal(meta.Get([]byte(metaEmbedTrain)), []byte{1})
	if mapping != nil {
		runtime.AddCleanup(t, unmap, mapping)
	}
	return t, nil
}

func be32(x uint32) []byte { return binary.BigEndian.AppendUint32(nil, x) }
func be64(x uint64) []byte { return binary.BigEndian.AppendUint64(nil, x) }

// DictionaryDigest returns a SHA-256 digest of the dictionary and the embedding table as the
// file holds them, byte for byte: every key and value of their buckets and their sizes and
// settings in the meta bucket. Two stores with the same digest encode texts the same way and
// start from the same table.
func (s *Store) DictionaryDigest() (string, error) {
	h := sha256.New()
	err := s.view(func(tx *bolt.Tx) error {
		word := func(b []byte) {
			h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(b))))
			h.Write(b)
		}
		meta := tx.Bucket([]byte(bucketMeta))
		for _, k := range []string{metaVocabSize, metaVocabTypes, metaEmbedRows, metaEmbedDim, metaEmbedTrain} {
			word([]byte(k))
			word(meta.Get([]byte(k)))
		}
		for _, name := range []string{bucketVocab, bucketTable, bucketVocabTokens, bucketVocabCounts, bucketVocabIDs, bucketEmbed} {
			word([]byte(name))
			b := tx.Bucket([]byte(name))
			if b == nil {
				continue
			}
			if err := b.ForEach(func(k, v []byte) error { word(k); word(v); return nil }); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("sha256:%x", h.Sum(nil)), nil
}
