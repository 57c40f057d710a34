package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"
	"unsafe"

	"github.com/seqclf/seqclf/internal/atomicfile"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Format is the version of the store's layout, kept in the meta bucket under "format". This
// seqclf writes Format and reads it and the versions before it, listed in doc.go; a store of a
// newer version is refused with ErrVersion.
const Format = 4

// The buckets of a store; doc.go gives each one's keys and values. This is the only list:
// nothing outside this package names a bucket.
const (
	bucketMeta       = "meta"       // format, creation, and the settings the store was made with
	bucketVocab      = "vocab"      // the dictionary, packed
	bucketTable      = "table"      // the embedding table, packed
	bucketConfig     = "config"     // the model's shape, input and run config
	bucketLabels     = "labels"     // the class names
	bucketWeights    = "weights"    // parameter name → values
	bucketCheckpoint = "checkpoint" // the training state at the last checkpoint
	bucketHistory    = "history"    // the epochs trained
)

// The buckets of versions 1 and 2, read still: the dictionary and table a key per entry.
const (
	bucketVocabIDs    = "vocab_ids"    // token → id
	bucketVocabTokens = "vocab_tokens" // id → token
	bucketVocabCounts = "vocab_counts" // id → corpus count
	bucketEmbed       = "embed"        // id → vector
)

// Keys of the vocab and table buckets.
const (
	keyHashed = "hashed" // vocab: the dictionary, laid out to be read in place (doc.go)
	keyRows   = "rows"   // table: rows × dim float32 values, row after row
	keyPacked = "packed" // vocab, version 3: the dictionary as vocab.Vocab.MarshalBinary writes it
	keyValues = "values" // table, version 3: as keyRows
)

// Keys of the meta bucket.
const (
	metaFormat     = "format"      // uint32, big-endian: Format
	metaCreated    = "created"     // RFC 3339 text
	metaVocabSize  = "vocab.size"  // uint32, big-endian: entries, written last with the dictionary
	metaVocabTypes = "vocab.types" // uint64, big-endian: distinct corpus tokens
	metaEmbedRows  = "embed.rows"  // uint32, big-endian, written last with the table
	metaEmbedDim   = "embed.dim"   // uint32, big-endian
	metaEmbedTrain = "embed.trainable"
	metaTokenize   = "tokenize" // JSON of Tokenizer: the options the dictionary was built with
)

// Errors of the store.
var (
	// ErrInUse means another process holds the store open for writing.
	ErrInUse = errors.New("store is in use by another process")
	// ErrNotStore means the file is not a bbolt file written by seqclf.
	ErrNotStore = errors.New("not a seqclf store")
	// ErrVersion means the store's layout version is not Format.
	ErrVersion = errors.New("store layout version not supported")
	// ErrMissing means the store lacks what was asked for (no dictionary yet, say).
	ErrMissing = errors.New("store holds no such data")
)

// What a store can lack, as a MissingError names it.
const (
	MissingFile       = "file"
	MissingContent    = "content"    // the file was made, but a run stopped before its first commit
	MissingModel      = "model"      // a trained model
	MissingDictionary = "dictionary" // a dictionary
	MissingTable      = "table"      // an embedding table
)

// A MissingError says what a store lacks; it is ErrMissing to errors.Is.
type MissingError struct {
	Path string
	What string // MissingFile, MissingContent, MissingModel, MissingDictionary or MissingTable
}

func (e *MissingError) Error() string {
	switch e.What {
	case MissingFile:
		return fmt.Sprintf("store %s does not exist", e.Path)
	case MissingContent:
		return fmt.Sprintf("store %s is empty (a run stopped as it made it?)", e.Path)
	case MissingModel:
		return fmt.Sprintf("%s holds no trained model", e.Path)
	case MissingTable:
		return fmt.Sprintf("store %s has no embedding table", e.Path)
	}
	return fmt.Sprintf("store %s has no %s", e.Path, e.What)
}

// Is reports whether target is ErrMissing.
func (e *MissingError) Is(target error) bool { return target == ErrMissing }

// storeLockTimeout bounds the wait for another process's lock on the file.
var storeLockTimeout = time.Second

// minStoreSize is the smallest bbolt file: two meta pages, a freelist and a root leaf of
// bbolt's smallest page size (1 KiB).
const minStoreSize = 4 << 10

// A Store is one bbolt file holding the dictionary, the embedding table and the model.
type Store struct {
	db   *bolt.DB
	path string
	// upgraded holds, for a version-1 store opened read-only, its records in their version-2
	// form, by bucket and key (nil: deleted); reads see them in place of the file's.
	upgraded map[[2]string][]byte
	// file is the file bbolt opened, for a read-only store: values are mapped from it (mapValue).
	file *os.File
}

// Create opens the store at path for writing, creating it if needed.
func Create(path string) (*Store, error) {
	return open(path, false)
}

// Open opens an existing store read-only. Many processes may read one store at once; a
// store open for writing elsewhere gives ErrInUse after a second.
func Open(path string) (*Store, error) {
	return open(path, true)
}

func open(path string, readOnly bool) (*Store, error) {
	if readOnly {
		st, err := os.Stat(path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, &MissingError{Path: path, What: MissingFile}
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
	var file *os.File
	openFile := func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		file = f
		return f, err
	}
	db, err := bolt.Open(path, 0o644, &bolt.Options{Timeout: storeLockTimeout, ReadOnly: readOnly, OpenFile: openFile})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("store %s: %w (a running seqclf?); wait for it to finish or use another file", path, ErrInUse)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum),
		err != nil && strings.HasPrefix(err.Error(), "file size too small"): // bbolt has no sentinel for it
		return nil, fmt.Errorf("%s: %w (%v)", path, ErrNotStore, err)
	case err != nil:
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	if readOnly {
		s.file = file
	}
	if err = s.checkSize(); err != nil {
		db.Close()
		return nil, err
	}
	var fresh bool // a new file: the meta bucket is written once, so opening a store changes nothing
	if err = s.view(func(tx *bolt.Tx) error { fresh = tx.Bucket([]byte(bucketMeta)) == nil; return nil }); err != nil {
		db.Close()
		return nil, err
	}
	if readOnly || !fresh {
		err = s.checkFormat()
	} else {
		err = s.update(func(tx *bolt.Tx) error {
			meta, err := tx.CreateBucketIfNotExists([]byte(bucketMeta))
			if err != nil {
				return err
			}
			if meta.Get([]byte(metaFormat)) == nil {
				if err := meta.Put([]byte(metaCreated), []byte(time.Now().UTC().Format(time.RFC3339))); err != nil {
					return err
				}
				return meta.Put([]byte(metaFormat), be32(Format))
			}
			return nil
		})
		if err == nil {
			err = s.checkFormat()
		}
	}
	if err == nil {
		err = s.upgrade(readOnly)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// upgrade brings a store of an earlier layout to Format: in place when it is open for writing,
// in memory when it is read-only. Version 1's JSON records are rewritten. The dictionary and
// table of an earlier layout are rewritten in this one's when the store is open for writing;
// read-only, they are read where they are.
func (s *Store) upgrade(readOnly bool) error {
	v, err := s.meta(metaFormat)
	if err != nil || binary.BigEndian.Uint32(v) == Format {
		return err
	}
	var recs map[[2]string][]byte
	if binary.BigEndian.Uint32(v) == 1 {
		err = s.viewTx(func(tx *txn) error {
			var err error
			recs, err = upgrade1(tx.get)
			return err
		})
		if err != nil {
			return fmt.Errorf("%s: %w: %v", s.path, ErrNotStore, err)
		}
	}
	if readOnly {
		s.upgraded = recs
		return nil
	}
	return s.update(func(tx *bolt.Tx) error {
		t := &txn{tx: tx}
		for k, v := range recs {
			if v == nil {
				if b := tx.Bucket([]byte(k[0])); b != nil {
					if err := b.Delete([]byte(k[1])); err != nil {
						return err
					}
				}
				continue
			}
			if err := t.put(k[0], k[1], v); err != nil {
				return err
			}
		}
		if err := s.upgradeTables(t); err != nil {
			return err
		}
		return t.put(bucketMeta, metaFormat, be32(Format))
	})
}

// upgradeTables rewrites a dictionary and an embedding table of an earlier layout in this one's.
func (s *Store) upgradeTables(t *txn) error {
	meta := t.tx.Bucket([]byte(bucketMeta))
	if meta.Get([]byte(metaVocabSize)) != nil {
		if b := t.tx.Bucket([]byte(bucketVocab)); b == nil || b.Get([]byte(keyHashed)) == nil {
			v, err := s.readVocab(t.tx)
			if err != nil {
				return err
			}
			if err := t.putVocab(v); err != nil {
				return err
			}
		}
	}
	if meta.Get([]byte(metaEmbedRows)) != nil {
		if b := t.tx.Bucket([]byte(bucketTable)); b == nil || b.Get([]byte(keyRows)) == nil {
			tab, err := s.readTable(t.tx, false)
			if err != nil {
				return err
			}
			if err := t.putTable(tab); err != nil {
				return err
			}
		}
	}
	return nil
}

// mapValue maps v, a value read in an open transaction of a read-only store, from the file
// (mapFile) into memory that outlives the transaction and the store, and returns it and the
// mapping to unmap once it is unreachable. It returns nil for both when v is not at an offset of
// the file that is a multiple of align, or the store is open for writing (whose own later writes
// may reuse v's pages), or the mapping fails: the caller then copies v.
func (s *Store) mapValue(v []byte, align int) (data, mapping []byte) {
	if s.file == nil || len(v) == 0 {
		return nil, nil
	}
	// bbolt maps the file from its start: v's offset in the file is its offset in that mapping.
	off := int64(uintptr(unsafe.Pointer(unsafe.SliceData(v))) - s.db.Info().Data)
	if off < 0 || off%int64(align) != 0 {
		return nil, nil
	}
	// A file description of its own, which the mapping keeps open: bbolt's holds the store's
	// shared lock until it is closed, and a mapping of it would hold the lock as long as itself.
	f, err := os.Open(s.path)
	if err != nil {
		return nil, nil
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !sameFile(fi, s.file) {
		return nil, nil // the path names another file now
	}
	mapping, data, err = mapFile(f, off, len(v))
	if err != nil || !bytes.Equal(data[:min(len(v), 64)], v[:min(len(v), 64)]) {
		unmap(mapping)
		return nil, nil
	}
	return data, mapping
}

// sameFile reports whether fi describes the file f has open.
func sameFile(fi os.FileInfo, f *os.File) bool {
	fj, err := f.Stat()
	return err == nil && os.SameFile(fi, fj)
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
		meta := tx.Bucket([]byte(bucketMeta))
		if meta == nil {
			if k, _ := tx.Cursor().First(); k == nil {
				// bbolt made the file, and the process ended before the meta bucket's commit.
				return &MissingError{Path: s.path, What: MissingContent}
			}
			return fmt.Errorf("%s: %w (no %s bucket)", s.path, ErrNotStore, bucketMeta)
		}
		v := meta.Get([]byte(metaFormat))
		if len(v) != 4 {
			return fmt.Errorf("%s: %w (no layout version)", s.path, ErrNotStore)
		}
		if f := binary.BigEndian.Uint32(v); f < 1 || f > Format {
			return fmt.Errorf("%s: %w: version %d, this seqclf reads versions up to %d", s.path, ErrVersion, f, Format)
		}
		return nil
	})
}

// Path returns the file's path.
func (s *Store) Path() string { return s.path }

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// A txn is one transaction on a store. Values get returns are copies, valid after the
// transaction; value's are not.
type txn struct {
	tx       *bolt.Tx
	upgraded map[[2]string][]byte // Store.upgraded
}

// updateTx runs fn in one read-write transaction: every put of fn lands, or none does if fn (or
// the commit) fails.
func (s *Store) updateTx(fn func(tx *txn) error) error {
	return s.update(func(tx *bolt.Tx) error { return fn(&txn{tx: tx}) })
}

// viewTx runs fn in one read-only transaction.
func (s *Store) viewTx(fn func(tx *txn) error) error {
	return s.view(func(tx *bolt.Tx) error { return fn(&txn{tx: tx, upgraded: s.upgraded}) })
}

// put sets key to value in bucket, creating the bucket if needed.
func (t *txn) put(bucket, key string, value []byte) error {
	b, err := t.tx.CreateBucketIfNotExists([]byte(bucket))
	if err != nil {
		return err
	}
	return b.Put([]byte(key), value)
}

// get returns a copy of the value of key in bucket, or nil if there is none.
func (t *txn) get(bucket, key string) []byte {
	if v, ok := t.upgraded[[2]string{bucket, key}]; ok {
		return bytes.Clone(v)
	}
	b := t.tx.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	return bytes.Clone(b.Get([]byte(key)))
}

// value returns the value of key in bucket, or nil if there is none, without copying it: it is
// valid until the transaction ends.
func (t *txn) value(bucket, key string) []byte {
	if v, ok := t.upgraded[[2]string{bucket, key}]; ok {
		return v
	}
	b := t.tx.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	return b.Get([]byte(key))
}

// keys returns the keys of bucket in byte order.
func (t *txn) keys(bucket string) []string {
	b := t.tx.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	var keys []string
	b.ForEach(func(k, _ []byte) error { keys = append(keys, string(k)); return nil })
	return keys
}

// deleteBucket removes bucket and everything in it; a missing bucket is no error.
func (t *txn) deleteBucket(bucket string) error {
	if err := t.tx.DeleteBucket([]byte(bucket)); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
		return err
	}
	return nil
}

// meta returns a copy of a key of the meta bucket, nil if absent.
func (s *Store) meta(key string) ([]byte, error) {
	var v []byte
	err := s.viewTx(func(tx *txn) error { v = tx.get(bucketMeta, key); return nil })
	return v, err
}

// compactPageSize is the page size of a compacted file: bbolt's smallest. A model file is a few
// buckets of a few keys each and large values; at 1 KiB a page, the buckets' own pages and the
// ends of the values' last pages waste a quarter of what they do at 4 KiB.
const compactPageSize = 1024

// Compact rewrites the closed store at path with only the pages its data uses, in a file cut to
// the last of them: what a model file that ships should be. It writes path's copy beside it,
// with path's permissions, and renames it over path, so a reader of path sees the old file or
// the new one.
func Compact(path string) error {
	src, err := bolt.Open(path, 0o644, &bolt.Options{Timeout: storeLockTimeout, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("compacting %s: %w", path, err)
	}
	defer src.Close()
	tmp := path + ".compact"
	dst, err := bolt.Open(tmp, 0o644, &bolt.Options{Timeout: storeLockTimeout, PageSize: compactPageSize})
	if err != nil {
		return fmt.Errorf("compacting %s: %w", path, err)
	}
	var used int64
	err = bolt.Compact(dst, src, 64<<20)
	if err == nil {
		err = dst.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil })
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// The copy keeps the file's permissions (bbolt would make it 0644 less the umask).
		var fi os.FileInfo
		if fi, err = os.Stat(path); err == nil {
			err = os.Chmod(tmp, fi.Mode().Perm())
		}
	}
	if err == nil {
		// bbolt grows a file by its mapping, to a power of two up to 1 GiB: the pages past the
		// last one used are zeros that no reader touches.
		err = os.Truncate(tmp, used)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("compacting %s: %w", path, err)
	}
	return nil
}

// WriteModelFile writes a model file at path as a reader of path may meet it at any moment:
// fill writes into a new store under a temporary name beside path (tmpPrefix and a random
// suffix; the mode a new file gets, 0666 less the umask), which is then closed, compacted
// (Compact) and renamed over path. On an error the temporary file is removed and path is left
// as it was.
func WriteModelFile(path, tmpPrefix string, fill func(*Store) error) (err error) {
	tmp, err := atomicfile.CreateTemp(filepath.Dir(path), tmpPrefix)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	s, err := Create(tmp)
	if err != nil {
		return err
	}
	err = fill(s)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = Compact(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	return err
}
