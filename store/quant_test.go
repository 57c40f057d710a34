package store

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	bolt "go.etcd.io/bbolt"

	"github.com/seqclf/seqclf/lstm/quant"
)

// quantizeFile quantizes the model file in into int8.db of a temporary folder, as seqclf model
// quantize does, and returns in's model, the int8 one and the new file's path.
func quantizeFile(t *testing.T, in string) (*Model, *quant.Model, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "int8.db")
	m, q, err := QuantizeModelFile(in, out)
	if err != nil {
		t.Fatal(err)
	}
	return m, q, out
}

// TestQuantModelRoundTrip quantizes the saved models of testdata into model files and reads them
// back: the int8 weights and table as written, the float32 model and table as they stand for,
// and the rest of the file as it was.
func TestQuantModelRoundTrip(t *testing.T) {
	for _, name := range []string{"model-v3-text.db", "model-v3-mnist.db", "model-v2-text.db", "model-v1-mnist.db"} {
		in := filepath.Join("testdata", name)
		m, q, out := quantizeFile(t, in)
		s, err := Open(out)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if ok, err := s.Quantized(); !ok || err != nil {
			t.Fatalf("%s: Quantized = %v, %v", name, ok, err)
		}
		got, err := s.LoadModel()
		if err != nil {
			t.Fatal(err)
		}
		if got.Quant == nil || !slices.Equal(got.Labels, m.Labels) || got.Input != m.Input || got.LSTM.Config != m.LSTM.Config {
			t.Fatalf("%s: read back %+v", name, got)
		}
		for i, l := range q.Layers {
			g := got.Quant.Layers[i]
			if !slices.Equal(g.Wx.Values, l.Wx.Values) || !slices.Equal(g.Wh.Scale, l.Wh.Scale) || !slices.Equal(g.B, l.B) {
				t.Fatalf("%s: layer %d differs", name, i)
			}
		}
		want := q.Dequantize()
		for i, p := range got.LSTM.Params() {
			if !slices.Equal(p.Value, want.Params()[i].Value) {
				t.Fatalf("%s: %s is not the dequantized values", name, p.Name)
			}
		}
		if m.Table != nil {
			if !slices.Equal(got.Quant.Embed.Values, q.Embed.Values) || !slices.Equal(got.Table.Data, q.Embed.Dequantize().Data) {
				t.Fatalf("%s: table differs", name)
			}
			if _, err := s.Vocab(); err != nil {
				t.Fatalf("%s: dictionary: %v", name, err)
			}
		}
		if orig, err := Open(in); err == nil {
			ok, _ := orig.Quantized()
			orig.Close()
			if ok {
				t.Fatalf("%s: the input was changed", name)
			}
		}
		fi, _ := os.Stat(in)
		fo, _ := os.Stat(out)
		t.Logf("%s: %d bytes, int8 %d (%.0f%%)", name, fi.Size(), fo.Size(), 100*float64(fo.Size())/float64(fi.Size()))
	}
}

// TestMapQuantModel checks that MapModel maps a quantized model's int8 table rather than reading
// it: the values are LoadModel's, not in the heap, valid after the store is closed and the file
// removed; and that it leaves the float32 Table out, which LoadModel makes.
func TestMapQuantModel(t *testing.T) {
	v, tab := storeFixture(t)
	in, _ := writeModel(t, v, tab)
	_, q, out := quantizeFile(t, in)
	s, err := Open(out)
	if err != nil {
		t.Fatal(err)
	}
	copied, err := s.LoadModel()
	if err != nil {
		t.Fatal(err)
	}
	mapped, err := s.MapModel()
	if err != nil {
		t.Fatal(err)
	}
	var inFile bool
	s.view(func(tx *bolt.Tx) error {
		_, mp := s.mapValue(tx.Bucket([]byte(bucketTableInt8)).Get([]byte(keyValues)), 1)
		inFile = mp != nil
		unmap(mp)
		return nil
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(out); err != nil {
		t.Fatal(err)
	}
	if !inFile {
		t.Fatal("the int8 table's values cannot be mapped from the file")
	}
	if mapped.Table != nil || copied.Table == nil {
		t.Errorf("float32 table: MapModel %v, LoadModel %v; want nil and a table", mapped.Table != nil, copied.Table != nil)
	}
	me, ce := mapped.Quant.Embed, copied.Quant.Embed
	if !slices.Equal(me.Values, q.Embed.Values) || !slices.Equal(me.Scale, q.Embed.Scale) || !slices.Equal(ce.Values, q.Embed.Values) {
		t.Fatal("the mapped or copied int8 table differs from the one written")
	}
	if where, ok := mappingOf(uintptr(unsafe.Pointer(&me.Values[0]))); ok && !strings.Contains(where, "int8.db") {
		t.Errorf("MapModel's int8 table is in %q, not a mapping of the file", where)
	}
	if &me.Values[0] == &ce.Values[0] {
		t.Error("MapModel and LoadModel share an int8 table")
	}
	mapped = nil
	runtime.GC()
	runtime.GC()
}

// mappingOf returns the path (or "" for anonymous memory, the Go heap's) of the mapping of this
// process that holds address p, as /proc/self/maps gives it; false where there is no such file.
func mappingOf(p uintptr) (string, bool) {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return "", false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		a, err1 := strconv.ParseUint(lo, 16, 64)
		z, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 == nil && err2 == nil && uint64(p) >= a && uint64(p) < z {
			return strings.Join(f[5:], " "), true
		}
	}
	return "", true
}
