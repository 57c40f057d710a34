package store

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"unsafe"

	bolt "go.etcd.io/bbolt"

	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/lstm/quant"
	"github.com/seqclf/seqclf/vocab"
)

// TestDictionaryLookup checks that the hashed dictionary answers as the vocab.Vocab it was
// written from, for every token, for tokens it lacks, and for the special tokens' text.
func TestDictionaryLookup(t *testing.T) {
	v, _ := storeFixture(t)
	d, err := dictionary(packDictionary(v))
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != v.Len() {
		t.Fatalf("Len %d, want %d", d.Len(), v.Len())
	}
	probe := append(slices.Clone(v.Tokens()), "", "nope", "w", "w99999", "ü", vocab.Pad, vocab.Unk, "the ")
	for _, tok := range probe {
		id, ok := d.Lookup(tok)
		wid, wok := v.Lookup(tok)
		if id != wid || ok != wok {
			t.Fatalf("Lookup(%q) = %d, %v; vocab says %d, %v", tok, id, ok, wid, wok)
		}
	}
	for id := range v.Len() {
		if d.Token(id) != v.Token(id) {
			t.Fatalf("Token(%d) = %q, want %q", id, d.Token(id), v.Token(id))
		}
	}
	back, err := d.vocab()
	if err != nil || !reflect.DeepEqual(back, v) {
		t.Errorf("decoded dictionary differs from the one written (%v)", err)
	}
}

// TestDictionaryDamaged cuts and alters the dictionary's value: each is refused, or looked up
// without a panic.
func TestDictionaryDamaged(t *testing.T) {
	c := vocab.NewCounter()
	c.Add([]string{"a", "b", "b", "c"})
	b := packDictionary(c.Build(vocab.Limits{MinCount: 1}))
	for _, bad := range [][]byte{b[:len(b)-1], b[:dictHeader], append(slices.Clone(b), 0), {}} {
		if _, err := dictionary(bad); err == nil {
			t.Errorf("a dictionary of %d bytes of %d was accepted", len(bad), len(b))
		}
	}
	// Every slot full and every offset wild: lookups end, and find nothing.
	wild := slices.Clone(b)
	d, err := dictionary(wild)
	if err != nil {
		t.Fatal(err)
	}
	for i := d.offs; i < d.toks; i += 4 {
		binary.LittleEndian.PutUint32(wild[i:], 3)
	}
	for i := d.offs; i < d.table-4; i += 8 {
		binary.LittleEndian.PutUint32(wild[i:], 1<<30)
	}
	for _, tok := range []string{"a", "b", "zz"} {
		d.Lookup(tok)
	}
}

// writeModel writes a compacted text model file (as WriteModelFile does) with v and tab and a
// small LSTM, and returns its path.
func writeModel(t testing.TB, v *vocab.Vocab, tab *embed.Table) (string, *lstm.Model[float32]) {
	t.Helper()
	m, err := lstm.NewZero[float32](lstm.Config{InputDim: tab.Dim(), NumUnits: 4, NumLayers: 1, Classes: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range m.Params() {
		for j := range p.Value {
			p.Value[j] = float32(i) + float32(j)/7
		}
	}
	path := filepath.Join(t.TempDir(), "model.db")
	err = WriteModelFile(path, ".model-", func(s *Store) error {
		if err := s.PutVocab(v); err != nil {
			return err
		}
		if err := s.PutTable(tab); err != nil {
			return err
		}
		return s.PutModel(&Trained{LSTM: m, Labels: []string{"a", "b"}, Input: Input{Kind: "text", Unit: "sentence", TimeStep: 8},
			Run: []byte("{}"), History: []byte("[]")})
	})
	if err != nil {
		t.Fatal(err)
	}
	return path, m
}

// TestMapModel reads a model written by this layout in place: its table and dictionary are
// mappings, equal to what LoadModel and Vocab copy, valid after the store is closed, the file
// opened for writing and removed, and unmapped without harm once unreachable.
func TestMapModel(t *testing.T) {
	v, tab := storeFixture(t)
	path, want := writeModel(t, v, tab)

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var offTable, offDict uintptr
	s.view(func(tx *bolt.Tx) error {
		base := s.db.Info().Data
		offTable = uintptr(unsafe.Pointer(unsafe.SliceData(tx.Bucket([]byte(bucketTable)).Get([]byte(keyRows))))) - base
		offDict = uintptr(unsafe.Pointer(unsafe.SliceData(tx.Bucket([]byte(bucketVocab)).Get([]byte(keyHashed))))) - base
		return nil
	})
	if offTable%4 != 0 {
		t.Errorf("the table's values start at offset %d of the file: not 4-byte aligned, so copied", offTable)
	}
	copied, err := s.LoadModel()
	if err != nil {
		t.Fatal(err)
	}
	mapped, err := s.MapModel()
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Dictionary()
	if err != nil {
		t.Fatal(err)
	}
	var mappedTable, mappedDict bool
	s.view(func(tx *bolt.Tx) error {
		_, m1 := s.mapValue(tx.Bucket([]byte(bucketTable)).Get([]byte(keyRows)), 4)
		_, m2 := s.mapValue(tx.Bucket([]byte(bucketVocab)).Get([]byte(keyHashed)), 1)
		mappedTable, mappedDict = m1 != nil, m2 != nil
		unmap(m1)
		unmap(m2)
		return nil
	})
	if !mappedTable || !mappedDict {
		t.Errorf("table mapped %v (offset %d), dictionary mapped %v (offset %d): want both", mappedTable, offTable, mappedDict, offDict)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The mappings hold no lock: the file opens for writing, as a new training run opens it.
	w, err := Create(path)
	if err != nil {
		t.Fatalf("opening the file for writing while mapped: %v", err)
	}
	w.Close()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(mapped.Table, tab) || !reflect.DeepEqual(copied.Table, tab) {
		t.Error("the mapped or copied table differs from the one written")
	}
	if &mapped.Table.Data[0] == &copied.Table.Data[0] {
		t.Error("MapModel and LoadModel share a table")
	}
	for i, p := range mapped.LSTM.Params() {
		if !slices.Equal(p.Value, want.Params()[i].Value) || !slices.Equal(p.Value, copied.LSTM.Params()[i].Value) {
			t.Errorf("weights %s differ", p.Name)
		}
	}
	for _, tok := range []string{"the", "w17", "ü3", "nope"} {
		id, ok := d.Lookup(tok)
		if wid, wok := v.Lookup(tok); id != wid || ok != wok {
			t.Errorf("after Close: Lookup(%q) = %d, %v; want %d, %v", tok, id, ok, wid, wok)
		}
	}
	// Writes to a mapped table stay in memory: the table behaves as the process's own.
	mapped.Table.Data[len(mapped.Table.Data)-1] = 42
	// Unreachable, the mappings are released; a GC then must not touch them.
	mapped, d = nil, nil
	runtime.GC()
	runtime.GC()
	if copied.Table.Data[5] != tab.Data[5] {
		t.Error("the copy changed")
	}
}

// TestMapModelWritable checks that a store open for writing copies what MapModel and
// Dictionary return: its own later writes may reuse the pages.
func TestMapModelWritable(t *testing.T) {
	v, tab := storeFixture(t)
	path, _ := writeModel(t, v, tab)
	s, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m, err := s.MapModel()
	if err != nil {
		t.Fatal(err)
	}
	s.view(func(tx *bolt.Tx) error {
		if _, mapping := s.mapValue(tx.Bucket([]byte(bucketTable)).Get([]byte(keyRows)), 4); mapping != nil {
			t.Error("a writable store mapped a value")
		}
		return nil
	})
	small, _ := embed.New(3, tab.Dim(), 1, rand.New(rand.NewPCG(1, 2)))
	if err := s.PutTable(small); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Table, tab) {
		t.Error("the table read before a write changed with it")
	}
}

// TestUpgradeV3 opens a version-3 model for writing: its packed dictionary and table become
// this layout's, and read the same.
func TestUpgradeV3(t *testing.T) {
	path := copyFile(t, filepath.Join("testdata", "model-v3-text.db"))
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := r.Vocab()
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.Dictionary()
	if err != nil {
		t.Fatal(err)
	}
	m, err := r.MapModel()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if d.v == nil {
		t.Error("a version-3 dictionary was not read as a vocab.Vocab")
	}
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var packed, values bool
	w.viewTx(func(tx *txn) error {
		packed, values = tx.value(bucketVocab, keyPacked) != nil, tx.value(bucketTable, keyValues) != nil
		return nil
	})
	w.Close()
	if packed || values {
		t.Errorf("after the upgrade: vocab/packed %v, table/values %v; want neither", packed, values)
	}
	r, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if f, _ := r.meta(metaFormat); binary.BigEndian.Uint32(f) != Format {
		t.Errorf("format %v after the upgrade", f)
	}
	v2, err := r.Vocab()
	if err != nil || !reflect.DeepEqual(v, v2) {
		t.Errorf("dictionary differs after the upgrade (%v)", err)
	}
	m2, err := r.MapModel()
	if err != nil || !reflect.DeepEqual(m.Table, m2.Table) {
		t.Errorf("table differs after the upgrade (%v)", err)
	}
	d2, err := r.Dictionary()
	if err != nil {
		t.Fatal(err)
	}
	for id, tok := range v.Tokens() {
		got, ok := d2.Lookup(tok)
		if want, wok := v.Lookup(tok); got != want || ok != wok {
			t.Fatalf("token %q (id %d): %d, %v after the upgrade; want %d, %v", tok, id, got, ok, want, wok)
		}
	}
}

// TestSavedDictionaries reads the dictionary of each saved text model through Dictionary and
// Vocab: they agree.
func TestSavedDictionaries(t *testing.T) {
	for _, file := range []string{"model-v1-text.db", "model-v2-text.db", "model-v3-text.db", "model-v4-text.db"} {
		s, err := Open(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		v, err := s.Vocab()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		d, err := s.Dictionary()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		s.Close()
		if d.Len() != v.Len() {
			t.Errorf("%s: %d entries, Vocab %d", file, d.Len(), v.Len())
		}
		for _, tok := range append(slices.Clone(v.Tokens()), "absent-token") {
			id, ok := d.Lookup(tok)
			if want, wok := v.Lookup(tok); id != want || ok != wok {
				t.Errorf("%s: Lookup(%q) = %d, %v; Vocab %d, %v", file, tok, id, ok, want, wok)
			}
		}
	}
}

// TestMapModelMissing checks the errors of a store without a model or dictionary.
func TestMapModelMissing(t *testing.T) {
	s, err := Create(filepath.Join(t.TempDir(), "empty.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.MapModel(); !errors.Is(err, ErrMissing) {
		t.Errorf("MapModel of an empty store: %v", err)
	}
	if _, err := s.Dictionary(); !errors.Is(err, ErrMissing) {
		t.Errorf("Dictionary of an empty store: %v", err)
	}
}

// BenchmarkOpenModel opens a model of a 200,000-entry dictionary of 100-value rows as classify
// does (MapModel and Dictionary; float32, then quantized) and as training and export do
// (LoadModel and Vocab), and looks up a sentence's tokens.
func BenchmarkOpenModel(b *testing.B) {
	c := vocab.NewCounter()
	for i := range 200000 {
		c.Add([]string{"w" + strconv.Itoa(i)})
	}
	v := c.Build(vocab.Limits{MinCount: 1})
	tab, err := embed.New(v.Len(), 100, 1, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		b.Fatal(err)
	}
	path, m := writeModel(b, v, tab)
	q, err := quant.New(m, tab)
	if err != nil {
		b.Fatal(err)
	}
	int8Path := filepath.Join(b.TempDir(), "int8.db")
	if err := WriteQuantModelFile(path, int8Path, q); err != nil {
		b.Fatal(err)
	}
	sentence := []string{"w1", "w20", "w300", "w4000", "w50000", "w199999", "absent", "w7"}
	mapDict := func(s *Store) (func(string) (int, bool), error) {
		if _, err := s.MapModel(); err != nil {
			return nil, err
		}
		d, err := s.Dictionary()
		if err != nil {
			return nil, err
		}
		return d.Lookup, nil
	}
	for _, c := range []struct {
		name, path string
		read       func(s *Store) (Lookup func(string) (int, bool), err error)
	}{
		{"MapModel+Dictionary", path, mapDict},
		{"int8/MapModel+Dictionary", int8Path, mapDict},
		{"LoadModel+Vocab", path, func(s *Store) (func(string) (int, bool), error) {
			if _, err := s.LoadModel(); err != nil {
				return nil, err
			}
			v, err := s.Vocab()
			if err != nil {
				return nil, err
			}
			return v.Lookup, nil
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				s, err := Open(c.path)
				if err != nil {
					b.Fatal(err)
				}
				lookup, err := c.read(s)
				if err != nil {
					b.Fatal(err)
				}
				for _, tok := range sentence {
					lookup(tok)
				}
				s.Close()
			}
		})
	}
}
