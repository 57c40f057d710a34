package pipeline

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/vocab"
)

// StoreFormat is the version of the store's layout, kept in the meta bucket under "format".
// A store of another version is refused with ErrStoreVersion.
const StoreFormat = 1

// The buckets of a store; the README's "Store layout" gives each one's keys and values. This is
// the only list: nothing else names a bucket.
const (
	BucketMeta        = "meta"         // format, creation, and the settings the store was made with
	BucketVocabIDs    = "vocab_ids"    // token → id
	BucketVocabTokens = "vocab_tokens" // id → token
	BucketVocabCounts = "vocab_counts" // id → corpus count
	BucketEmbed       = "embed"        // id → vector
	// The model's buckets (the pipeline's training writes them).
	BucketConfig     = "config"
	BucketLabels     = "labels"
	BucketWeights    = "weights"
	BucketCheckpoint = "checkpoint"
	BucketHistory    = "history"
)

// Keys of the meta bucket.
const (
	MetaFormat     = "format"      // uint32, big-endian: StoreFormat
	MetaCreated    = "created"     // RFC 3339 text
	MetaVocabSize  = "vocab.size"  // uint32, big-endian: entries, written last with the dictionary
	MetaVocabTypes = "vocab.types" // uint64, big-endian: distinct corpus tokens
	MetaEmbedRows  = "embed.rows"  // uint32, big-endian, written last with the table
	MetaEmbedDim   = "embed.dim"   // uint32, big-endian
	MetaEmbedTrain = "embed.trainable"
	MetaTokenize   = "tokenize" // JSON: the tokenizer options the dictionary was built with
)

// Errors of the store.
var (
	// ErrStoreInUse means another process holds the store open for writing.
	ErrStoreInUse = errors.New("store is in use by another process")
	// ErrNotStore means the file is not a bbolt file written by seqclf.
	ErrNotStore = errors.New("not a seqclf store")
	// ErrStoreVersion means the store's layout version is not StoreFormat.
	ErrStoreVersion = errors.New("store layout version not supported")
	// ErrStoreMissing means the store lacks what was asked for (no dictionary yet, say).
	ErrStoreMissing = errors.New("store holds no such data")
)

// storeLockTimeout bounds the wait for another process's lock on the file.
var storeLockTimeout = time.Second

// minStoreSize is the smallest bbolt file: two meta pages, a freelist and a root leaf of
// bbolt's smallest page size (1 KiB).
const minStoreSize = 4 << 10

// bulkChunk is the number of keys a bulk load writes per transaction.
const bulkChunk = 10000

// A Store is one bbolt file holding the dictionary, the embedding table and the model.
type Store struct {
	db   *bolt.DB
	path string
}

// CreateStore opens the store at path for writing, creating it if needed.
func CreateStore(path string) (*Store, error) {
	return openStore(path, false)
}

// OpenStore opens an existing store read-only. Many processes may read one store at once; a
// store open for writing elsewhere gives ErrStoreInUse after a second.
func OpenStore(path string) (*Store, error) {
	return openStore(path, true)
}

func openStore(path string, readOnly bool) (*Store, error) {
	if readOnly {
		st, err := os.Stat(path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("store %s does not exist (make one with seqclf vocab build or pipeline run): %w", path, ErrStoreMissing)
			}
			return nil, fmt.Errorf("store %s: %w", path, err)
		}
		if st.IsDir() {
			return nil, fmt.Errorf("store %s is a folder: give the model.db file in it", path)
		}
		if st.Size() < minStoreSize {
			return nil, fmt.Errorf("%s: %w: %d bytes is too short for one (truncated, or another kind of file)", path, ErrNotStore, st.Size())
		}
	}
	db, err := bolt.Open(path, 0o644, &bolt.Options{Timeout: storeLockTimeout, ReadOnly: readOnly})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("store %s: %w (a running seqclf?); wait for it to finish or use another file", path, ErrStoreInUse)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum),
		err != nil && strings.HasPrefix(err.Error(), "file size too small"): // bbolt has no sentinel for it
		return nil, fmt.Errorf("%s: %w (%v)", path, ErrNotStore, err)
	case err != nil:
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	if err = s.checkSize(); err != nil {
		db.Close()
		return nil, err
	}
	var fresh bool // a new file: the meta bucket is written once, so opening a store changes nothing
	if err = s.view(func(tx *bolt.Tx) error { fresh = tx.Bucket([]byte(BucketMeta)) == nil; return nil }); err != nil {
		db.Close()
		return nil, err
	}
	if readOnly || !fresh {
		err = s.checkFormat()
	} else {
		err = s.update(func(tx *bolt.Tx) error {
			meta, err := tx.CreateBucketIfNotExists([]byte(BucketMeta))
			if err != nil {
				return err
			}
			if meta.Get([]byte(MetaFormat)) == nil {
				if err := meta.Put([]byte(MetaCreated), []byte(time.Now().UTC().Format(time.RFC3339))); err != nil {
					return err
				}
				return meta.Put([]byte(MetaFormat), be32(StoreFormat))
			}
			return nil
		})
		if err == nil {
			err = s.checkFormat()
		}
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// checkSize refuses a file shorter than the pages its last commit uses: a copy cut short, on
// which bbolt would fail an assertion, or fault, at the first read of a missing page.
func (s *Store) checkSize() error {
	var want int64
	if err := s.view(func(tx *bolt.Tx) error { want = tx.Size(); return nil }); err != nil {
		return err
	}
	st, err := os.Stat(s.path)
	if err != nil {
		return fmt.Errorf("store %s: %w", s.path, err)
	}
	if st.Size() < want {
		return fmt.Errorf("%s: %w: the file is truncated (%d bytes, its last commit needs %d); use a whole copy, or train again", s.path, ErrNotStore, st.Size(), want)
	}
	return nil
}

// view and update run fn in a bbolt transaction, and turn a panic of bbolt on a damaged file
// (a failed assertion, or a fault reading the mapped file) into ErrNotStore.
func (s *Store) view(fn func(*bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.damaged(&err)
	return s.db.View(fn)
}

func (s *Store) update(fn func(*bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.damaged(&err)
	return s.db.Update(fn)
}

func (s *Store) damaged(err *error) {
	if r := recover(); r != nil {
		msg := strings.Join(strings.Fields(fmt.Sprint(r)), " ")
		*err = fmt.Errorf("%s: %w: the file is damaged (%s); use a copy made while no seqclf was writing it, or train again", s.path, ErrNotStore, msg)
	}
}

func (s *Store) checkFormat() error {
	return s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket([]byte(BucketMeta))
		if meta == nil {
			if k, _ := tx.Cursor().First(); k == nil {
				// bbolt made the file, and the process ended before the meta bucket's commit.
				return fmt.Errorf("store %s is empty (a run stopped as it made it?): %w; run seqclf pipeline run again", s.path, ErrStoreMissing)
			}
			return fmt.Errorf("%s: %w (no %s bucket)", s.path, ErrNotStore, BucketMeta)
		}
		v := meta.Get([]byte(MetaFormat))
		if len(v) != 4 {
			return fmt.Errorf("%s: %w (no layout version)", s.path, ErrNotStore)
		}
		if f := binary.BigEndian.Uint32(v); f != StoreFormat {
			return fmt.Errorf("%s: %w: version %d, this seqclf reads %d", s.path, ErrStoreVersion, f, StoreFormat)
		}
		return nil
	})
}

// Path returns the file's path.
func (s *Store) Path() string { return s.path }

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// A StoreTx is one transaction on a store, for the buckets that have no typed method. Values
// it returns are copies, valid after the transaction.
type StoreTx struct {
	tx *bolt.Tx
}

// Update runs fn in one read-write transaction: every Put of fn lands, or none does if fn (or
// the commit) fails.
func (s *Store) Update(fn func(tx *StoreTx) error) error {
	return s.update(func(tx *bolt.Tx) error { return fn(&StoreTx{tx}) })
}

// View runs fn in one read-only transaction.
func (s *Store) View(fn func(tx *StoreTx) error) error {
	return s.view(func(tx *bolt.Tx) error { return fn(&StoreTx{tx}) })
}

// Put sets key to value in bucket, creating the bucket if needed.
func (t *StoreTx) Put(bucket, key string, value []byte) error {
	b, err := t.tx.CreateBucketIfNotExists([]byte(bucket))
	if err != nil {
		return err
	}
	return b.Put([]byte(key), value)
}

// Get returns a copy of the value of key in bucket, or nil if there is none.
func (t *StoreTx) Get(bucket, key string) []byte {
	b := t.tx.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	return bytes.Clone(b.Get([]byte(key)))
}

// Keys returns the keys of bucket in byte order.
func (t *StoreTx) Keys(bucket string) []string {
	b := t.tx.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	var keys []string
	b.ForEach(func(k, _ []byte) error { keys = append(keys, string(k)); return nil })
	return keys
}

// DeleteBucket removes bucket and everything in it; a missing bucket is no error.
func (t *StoreTx) DeleteBucket(bucket string) error {
	if err := t.tx.DeleteBucket([]byte(bucket)); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
		return err
	}
	return nil
}

// PutMeta sets a key of the meta bucket.
func (s *Store) PutMeta(key string, value []byte) error {
	return s.Update(func(tx *StoreTx) error { return tx.Put(BucketMeta, key, value) })
}

// Meta returns a copy of a key of the meta bucket, nil if absent.
func (s *Store) Meta(key string) ([]byte, error) {
	var v []byte
	err := s.View(func(tx *StoreTx) error { v = tx.Get(BucketMeta, key); return nil })
	return v, err
}

// PutVocab replaces the store's dictionary with v. It writes in chunked transactions of sorted
// keys; the size in the meta bucket is written last, so a load cut short reads as no dictionary.
func (s *Store) PutVocab(v *vocab.Vocab) error {
	err := s.update(func(tx *bolt.Tx) error {
		if meta := tx.Bucket([]byte(BucketMeta)); meta != nil {
			if err := meta.Delete([]byte(MetaVocabSize)); err != nil {
				return err
			}
		}
		for _, name := range []string{BucketVocabIDs, BucketVocabTokens, BucketVocabCounts} {
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
		tb, err := createFilled(tx, BucketVocabTokens)
		if err != nil {
			return err
		}
		cb, err := createFilled(tx, BucketVocabCounts)
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
		b, err := createFilled(tx, BucketVocabIDs)
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
	return s.Update(func(tx *StoreTx) error {
		if err := tx.Put(BucketMeta, MetaVocabTypes, be64(uint64(v.Types()))); err != nil {
			return err
		}
		return tx.Put(BucketMeta, MetaVocabSize, be32(uint32(len(tokens))))
	})
}

// Vocab reads the dictionary back.
func (s *Store) Vocab() (*vocab.Vocab, error) {
	var tokens []string
	var counts []int64
	var types int
	err := s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket([]byte(BucketMeta))
		size := meta.Get([]byte(MetaVocabSize))
		if len(size) != 4 {
			return fmt.Errorf("store %s has no dictionary (run seqclf vocab build): %w", s.path, ErrStoreMissing)
		}
		n := int(binary.BigEndian.Uint32(size))
		if t := meta.Get([]byte(MetaVocabTypes)); len(t) == 8 {
			types = int(binary.BigEndian.Uint64(t))
		}
		tb, cb := tx.Bucket([]byte(BucketVocabTokens)), tx.Bucket([]byte(BucketVocabCounts))
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
// reading the whole dictionary: what seqclf vocab show does for the tokens it is given.
func (s *Store) LookupIDs(tokens []string) ([]int, error) {
	ids := make([]int, len(tokens))
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(BucketVocabIDs))
		if b == nil {
			return fmt.Errorf("store %s has no dictionary: %w", s.path, ErrStoreMissing)
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
	err := s.Update(func(tx *StoreTx) error {
		if err := tx.DeleteBucket(BucketEmbed); err != nil {
			return err
		}
		return tx.tx.Bucket([]byte(BucketMeta)).Delete([]byte(MetaEmbedRows))
	})
	if err != nil {
		return fmt.Errorf("store %s: %w", s.path, err)
	}
	dim := t.Dim()
	err = s.bulk(t.Rows(), func(tx *bolt.Tx, lo, hi int) error {
		b, err := createFilled(tx, BucketEmbed)
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
	return s.Update(func(tx *StoreTx) error {
		for k, v := range map[string][]byte{MetaEmbedDim: be32(uint32(dim)), MetaEmbedTrain: train} {
			if err := tx.Put(BucketMeta, k, v); err != nil {
				return err
			}
		}
		return tx.Put(BucketMeta, MetaEmbedRows, be32(uint32(t.Rows())))
	})
}

// Table reads the embedding table back.
func (s *Store) Table() (*embed.Table, error) {
	var t *embed.Table
	err := s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket([]byte(BucketMeta))
		rows, dim := meta.Get([]byte(MetaEmbedRows)), meta.Get([]byte(MetaEmbedDim))
		if len(rows) != 4 || len(dim) != 4 {
			return fmt.Errorf("store %s has no embedding table: %w", s.path, ErrStoreMissing)
		}
		n, d := int(binary.BigEndian.Uint32(rows)), int(binary.BigEndian.Uint32(dim))
		b := tx.Bucket([]byte(BucketEmbed))
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
		t.Trainable = bytes.Equal(meta.Get([]byte(MetaEmbedTrain)), []byte{1})
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
