package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/vocab"
)

// PutVocab replaces the store's dictionary with v. It writes in chunked transactions of sorted
// keys; the size in the meta bucket is written last, so a load cut short reads as no dictionary.
func (s *Store) PutVocab(v *vocab.Vocab) error {
	err := s.update(func(tx *bolt.Tx) error {
		if meta := tx.Bucket([]byte(bucketMeta)); meta != nil {
			if err := meta.Delete([]byte(metaVocabSize)); err != nil {
				return err
			}
		}
		for _, name := range []string{bucketVocabIDs, bucketVocabTokens, bucketVocabCounts} {
			if err := tx.DeleteBucket([]byte(name)); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store %s: %w", s.path, err)
	}
	tokens, counts := v.Tokens(), v.Counts()
	// id → token and id → count: ids in order are keys in order.
	err = s.bulk(len(tokens), func(tx *bolt.Tx, lo, hi int) error {
		tb, err := createFilled(tx, bucketVocabTokens)
		if err != nil {
			return err
		}
		cb, err := createFilled(tx, bucketVocabCounts)
		if err != nil {
			return err
		}
		for id := lo; id < hi; id++ {
			if err := tb.Put(be32(uint32(id)), []byte(tokens[id])); err != nil {
				return err
			}
			if err := cb.Put(be32(uint32(id)), be64(uint64(counts[id]))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store %s: writing the dictionary: %w", s.path, err)
	}
	// token → id, in token byte order.
	order := make([]int, len(tokens))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return bytes.Compare([]byte(tokens[a]), []byte(tokens[b])) })
	err = s.bulk(len(order), func(tx *bolt.Tx, lo, hi int) error {
		b, err := createFilled(tx, bucketVocabIDs)
		if err != nil {
			return err
		}
		for _, id := range order[lo:hi] {
			if err := b.Put([]byte(tokens[id]), be32(uint32(id))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store %s: writing the dictionary: %w", s.path, err)
	}
	return s.updateTx(func(tx *txn) error {
		if err := tx.put(bucketMeta, metaVocabTypes, be64(uint64(v.Types()))); err != nil {
			return err
		}
		return tx.put(bucketMeta, metaVocabSize, be32(uint32(len(tokens))))
	})
}

// Vocab reads the dictionary back.
func (s *Store) Vocab() (*vocab.Vocab, error) {
	var tokens []string
	var counts []int64
	var types int
	err := s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket([]byte(bucketMeta))
		size := meta.Get([]byte(metaVocabSize))
		if len(size) != 4 {
			return &MissingError{Path: s.path, What: MissingDictionary}
		}
		n := int(binary.BigEndian.Uint32(size))
		if t := meta.Get([]byte(metaVocabTypes)); len(t) == 8 {
			types = int(binary.BigEndian.Uint64(t))
		}
		tb, cb := tx.Bucket([]byte(bucketVocabTokens)), tx.Bucket([]byte(bucketVocabCounts))
		if tb == nil || cb == nil {
			return fmt.Errorf("store %s: %w (dictionary buckets missing)", s.path, ErrNotStore)
		}
		tokens, counts = make([]string, 0, n), make([]int64, 0, n)
		// Both buckets are keyed by the same ids in order: walk them side by side (a Get per id
		// searched the counts' tree 20,000 times, a third of classify's dictionary load).
		c, cc := tb.Cursor(), cb.Cursor()
		ck, cnt := cc.First()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(k) != 4 || int(binary.BigEndian.Uint32(k)) != len(tokens) {
				return fmt.Errorf("store %s: %w (dictionary ids not 0..n-1)", s.path, ErrNotStore)
			}
			tokens = append(tokens, string(v)) // string() copies out of the mmap
			if !bytes.Equal(ck, k) || len(cnt) != 8 {
				return fmt.Errorf("store %s: %w (no count for id %d)", s.path, ErrNotStore, len(tokens)-1)
			}
			counts = append(counts, int64(binary.BigEndian.Uint64(cnt)))
			ck, cnt = cc.Next()
		}
		if len(tokens) != n {
			return fmt.Errorf("store %s: %w (dictionary of %d entries, meta says %d)", s.path, ErrNotStore, len(tokens), n)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	v, err := vocab.New(tokens, counts, types)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.path, err)
	}
	return v, nil
}

// LookupIDs returns the stored ids of tokens (-1 for a token the dictionary lacks) without
// reading the whole dictionary.
func (s *Store) LookupIDs(tokens []string) ([]int, error) {
	ids := make([]int, len(tokens))
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketVocabIDs))
		if b == nil {
			return &MissingError{Path: s.path, What: MissingDictionary}
		}
		for i, t := range tokens {
			ids[i] = -1
			if v := b.Get([]byte(t)); len(v) == 4 {
				ids[i] = int(binary.BigEndian.Uint32(v))
			}
		}
		return nil
	})
	return ids, err
}

// PutTable replaces the store's embedding table with t, in chunked transactions of rows in id
// order; the row count in the meta bucket is written last.
func (s *Store) PutTable(t *embed.Table) error {
	err := s.updateTx(func(tx *txn) error {
		if err := tx.deleteBucket(bucketEmbed); err != nil {
			return err
		}
		return tx.tx.Bucket([]byte(bucketMeta)).Delete([]byte(metaEmbedRows))
	})
	if err != nil {
		return fmt.Errorf("store %s: %w", s.path, err)
	}
	dim := t.Dim()
	err = s.bulk(t.Rows(), func(tx *bolt.Tx, lo, hi int) error {
		b, err := createFilled(tx, bucketEmbed)
		if err != nil {
			return err
		}
		// bbolt keeps the value slices until the commit: one buffer per transaction, not per row.
		buf := make([]byte, 4*dim*(hi-lo))
		for id := lo; id < hi; id++ {
			row := buf[4*dim*(id-lo) : 4*dim*(id-lo+1)]
			for k, x := range t.Row(id) {
				binary.LittleEndian.PutUint32(row[4*k:], math.Float32bits(x))
			}
			if err := b.Put(be32(uint32(id)), row); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store %s: writing the embedding table: %w", s.path, err)
	}
	train := []byte{0}
	if t.Trainable {
		train[0] = 1
	}
	return s.updateTx(func(tx *txn) error {
		for k, v := range map[string][]byte{metaEmbedDim: be32(uint32(dim)), metaEmbedTrain: train} {
			if err := tx.put(bucketMeta, k, v); err != nil {
				return err
			}
		}
		return tx.put(bucketMeta, metaEmbedRows, be32(uint32(t.Rows())))
	})
}

// Table reads the embedding table back.
func (s *Store) Table() (*embed.Table, error) {
	var t *embed.Table
	err := s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket([]byte(bucketMeta))
		rows, dim := meta.Get([]byte(metaEmbedRows)), meta.Get([]byte(metaEmbedDim))
		if len(rows) != 4 || len(dim) != 4 {
			return &MissingError{Path: s.path, What: MissingTable}
		}
		n, d := int(binary.BigEndian.Uint32(rows)), int(binary.BigEndian.Uint32(dim))
		b := tx.Bucket([]byte(bucketEmbed))
		if b == nil || n < 1 || d < 1 {
			return fmt.Errorf("store %s: %w (embedding bucket missing)", s.path, ErrNotStore)
		}
		data := make([]float32, 0, n*d)
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(k) != 4 || int(binary.BigEndian.Uint32(k))*d != len(data) || len(v) != 4*d {
				return fmt.Errorf("store %s: %w (embedding row %x malformed)", s.path, ErrNotStore, k)
			}
			for i := 0; i < len(v); i += 4 { // decoding copies out of the mmap
				data = append(data, math.Float32frombits(binary.LittleEndian.Uint32(v[i:])))
			}
		}
		var err error
		if t, err = embed.FromData(n, d, data); err != nil {
			return fmt.Errorf("store %s: %w", s.path, err)
		}
		t.Trainable = bytes.Equal(meta.Get([]byte(metaEmbedTrain)), []byte{1})
		return nil
	})
	return t, err
}

// bulk calls put for [lo, hi) ranges of bulkChunk items, each in its own transaction, so a large
// load never holds one huge transaction's dirty pages.
func (s *Store) bulk(n int, put func(tx *bolt.Tx, lo, hi int) error) error {
	for lo := 0; lo < n; lo += bulkChunk {
		hi := min(lo+bulkChunk, n)
		if err := s.update(func(tx *bolt.Tx) error { return put(tx, lo, hi) }); err != nil {
			return err
		}
	}
	return nil
}

// createFilled returns bucket name, creating it, set to fill its pages for keys appended in order.
func createFilled(tx *bolt.Tx, name string) (*bolt.Bucket, error) {
	b, err := tx.CreateBucketIfNotExists([]byte(name))
	if err != nil {
		return nil, err
	}
	b.FillPercent = 0.9
	return b, nil
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
		for _, name := range []string{bucketVocabTokens, bucketVocabCounts, bucketVocabIDs, bucketEmbed} {
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
