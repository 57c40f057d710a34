package store

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/seqclf/seqclf/lstm"
	"time"

	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/vocab"
)

// storeFixture builds a dictionary larger than one bulk chunk, so the chunked loads are exercised.
func storeFixture(t *testing.T) (*vocab.Vocab, *embed.Table) {
	t.Helper()
	c := vocab.NewCounter()
	for i := range 25000 {
		toks := []string{"w" + strconv.Itoa(i%23456), "the", "ü" + strconv.Itoa(i%97)}
		c.Add(toks)
	}
	v := c.Build(vocab.Limits{MinCount: 1, MaxSize: 0})
	if v.Len() <= 20000 {
		t.Fatalf("fixture too small: %d", v.Len())
	}
	tab, err := embed.New(v.Len(), 8, 1, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	tab.Trainable = false
	return v, tab
}

func TestStoreRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.db")
	v, tab := storeFixture(t)
	s, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutVocab(v); err != nil {
		t.Fatal(err)
	}
	if err := s.PutTable(tab); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	gotV, err := r.Vocab()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotV, v) {
		t.Errorf("dictionary differs after reopening (len %d vs %d)", gotV.Len(), v.Len())
	}
	gotT, err := r.Table()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotT, tab) {
		t.Errorf("table differs after reopening")
	}
	ids, err := r.LookupIDs([]string{"the", "w17", "nope"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{v.ID("the"), v.ID("w17"), -1}; !reflect.DeepEqual(ids, want) {
		t.Errorf("LookupIDs = %v, want %v", ids, want)
	}
	if f, _ := r.meta(metaFormat); len(f) != 4 || f[3] != Format {
		t.Errorf("format %v", f)
	}
	if err := r.PutTokenizer(Tokenizer{Lowercase: true}); err == nil {
		t.Error("a read-only store accepted a write")
	}
}

func TestStoreReplace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.db")
	big, _ := storeFixture(t)
	c := vocab.NewCounter()
	c.Add([]string{"a", "b", "a"})
	small := c.Build(vocab.Limits{MinCount: 1, MaxSize: 0})
	s, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.PutVocab(big); err != nil {
		t.Fatal(err)
	}
	if err := s.PutVocab(small); err != nil {
		t.Fatal(err)
	}
	got, err := s.Vocab()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, small) {
		t.Errorf("second PutVocab left %d entries, want %d", got.Len(), small.Len())
	}
	if _, err := s.Table(); !errors.Is(err, ErrMissing) {
		t.Errorf("no table yet: %v", err)
	}
}

func TestStoreInUse(t *testing.T) {
	defer func(d time.Duration) { storeLockTimeout = d }(storeLockTimeout)
	storeLockTimeout = 50 * time.Millisecond
	path := filepath.Join(t.TempDir(), "model.db")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// bbolt's flock is per open file, so a second open in this process meets the writer's lock
	// as another process would.
	_, err = Open(path)
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("reader while a writer holds the file: %v, want ErrInUse", err)
	}
	w.Close()
	r1, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	r2, err := Open(path) // readers share
	if err != nil {
		t.Fatalf("second reader: %v", err)
	}
	r2.Close()
}

func TestStoreErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "none.db")); !errors.Is(err, ErrMissing) {
		t.Errorf("missing file: %v", err)
	}
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, make([]byte, 8192), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(junk); !errors.Is(err, ErrNotStore) {
		t.Errorf("junk file: %v", err)
	}
	path := filepath.Join(dir, "old.db")
	s, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Vocab(); !errors.Is(err, ErrMissing) {
		t.Errorf("empty store's dictionary: %v", err)
	}
	if err := s.updateTx(func(tx *txn) error { return tx.put(bucketMeta, metaFormat, be32(Format+1)) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(path); !errors.Is(err, ErrVersion) {
		t.Errorf("future version: %v", err)
	}
}

func TestStoreTxRollsBack(t *testing.T) {
	s, err := Create(filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	boom := errors.New("boom")
	err = s.updateTx(func(tx *txn) error {
		if err := tx.put(bucketCheckpoint, "epoch", []byte{1}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	var got []byte
	s.viewTx(func(tx *txn) error { got = tx.get(bucketCheckpoint, "epoch"); return nil })
	if got != nil {
		t.Error("a failed Update left its write")
	}
	if err := s.updateTx(func(tx *txn) error { return tx.put(bucketCheckpoint, "epoch", []byte{2}) }); err != nil {
		t.Fatal(err)
	}
	var keys []string
	s.viewTx(func(tx *txn) error {
		got, keys = tx.get(bucketCheckpoint, "epoch"), tx.keys(bucketCheckpoint)
		return nil
	})
	if !reflect.DeepEqual(got, []byte{2}) || !reflect.DeepEqual(keys, []string{"epoch"}) {
		t.Errorf("got %v %v", got, keys)
	}
}

// TestShapeRoundTrip stores a config with every field set and reads it back whole.
func TestShapeRoundTrip(t *testing.T) {
	c := lstm.Config{InputDim: 7, NumUnits: 6, NumLayers: 2, Classes: 3, Pooling: lstm.PoolAttention,
		Dropout: 0.1, InputDropout: 0.2, WordDropout: 0.3, Cell: lstm.CellGRU, Bidirectional: true}
	got, err := ShapeOf(c).config()
	if err != nil || got != c {
		t.Errorf("ShapeOf(%+v).config() = %+v, %v", c, got, err)
	}
}
