package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"

	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/vocab"
)

// PutVocab replaces the store's dictionary with v, in one transaction: its binary encoding
// (vocab.Vocab.MarshalBinary) as one value, and its size in the meta bucket.
func (s *Store) PutVocab(v *vocab.Vocab) error {
	packed, err := v.MarshalBinary()
	if err != nil {
		return err
	}
	err = s.updateTx(func(tx *txn) error {
		for _, name := range []string{bucketVocab, bucketVocabIDs, bucketVocabTokens, bucketVocabCounts} {
			if err := tx.deleteBucket(name); err != nil {
				return err
			}
		}
		if err := tx.put(bucketVocab, keyPacked, packed); err != nil {
			return err
		}
		if err := tx.put(bucketMeta, metaVocabTypes, be64(uint64(v.Types()))); err != nil {
			return err
		}
		return tx.put(bucketMeta, metaVocabSize, be32(uint32(v.Len())))
	})
	if err != nil {
		return fmt.Errorf("store %s: writing the dictionary: %w", s.path, err)
	}
	return nil
}

// Vocab reads the dictionary back.
func (s *Store) Vocab() (*vocab.Vocab, error) {
	var v *vocab.Vocab
	err := s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket([]byte(bucketMeta))
		size := meta.Get([]byte(metaVocabSize))
		if len(size) != 4 {
			return &MissingError{Path: s.path, What: MissingDictionary}
		}
		n := int(binary.BigEndian.Uint32(size))
		b := tx.Bucket([]byte(bucketVocab))
		if b == nil {
			var err error
			v, err = s.vocabBuckets(tx, n, meta)
			return err
		}
		v = new(vocab.Vocab)
		if err := v.UnmarshalBinary(b.Get([]byte(keyPacked))); err != nil { // decoding copies out of the mmap
			return fmt.Errorf("store %s: %w (%v)", s.path, ErrNotStore, err)
		}
		if v.Len() != n {
			return fmt.Errorf("store %s: %w (dictionary of %d entries, meta says %d)", s.path, ErrNotStore, v.Len(), n)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// LookupIDs returns the stored ids of tokens, -1 for a token the dictionary lacks.
func (s *Store) LookupIDs(tokens []string) ([]int, error) {
	v, err := s.Vocab()
	if err != nil {
		return nil, err
	}
	ids := make([]int, len(tokens))
	for i, t := range tokens {
		ids[i] = -1
		if id, ok := v.Lookup(t); ok {
			ids[i] = id
		}
	}
	return ids, nil
}

// PutTable replaces the store's embedding table with t, in one transaction: its values as one
// value, row after row, and its shape and trainability in the meta bucket.
func (s *Store) PutTable(t *embed.Table) error {
	train := []byte{0}
	if t.Trainable {
		train[0] = 1
	}
	err := s.updateTx(func(tx *txn) error {
		for _, name := range []string{bucketTable, bucketEmbed} {
			if err := tx.deleteBucket(name); err != nil {
				return err
			}
		}
		if err := tx.put(bucketTable, keyValues, putF32(t.Data)); err != nil {
			return err
		}
		for k, v := range map[string][]byte{metaEmbedDim: be32(uint32(t.Dim())), metaEmbedTrain: train} {
			if err := tx.put(bucketMeta, k, v); err != nil {
				return err
			}
		}
		return tx.put(bucketMeta, metaEmbedRows, be32(uint32(t.Rows())))
	})
	if err != nil {
		return fmt.Errorf("store %s: writing the embedding table: %w", s.path, err)
	}
	return nil
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
		var data []float32
		if b := tx.Bucket([]byte(bucketTable)); b != nil {
			v := b.Get([]byte(keyValues))
			if n < 1 || d < 1 || len(v) != 4*n*d {
				return fmt.Errorf("store %s: %w (embedding table of %d bytes for %d×%d)", s.path, ErrNotStore, len(v), n, d)
			}
			data = make([]float32, n*d)
			for i := range data { // decoding copies out of the mmap
				data[i] = math.Float32frombits(binary.LittleEndian.Uint32(v[4*i:]))
			}
		} else {
			var err error
			if data, err = s.tableBuckets(tx, n, d); err != nil {
				return err
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
