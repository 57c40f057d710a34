package store

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/seqclf/seqclf/lstm/quant"
)

// TestQuantModelRoundTrip quantizes the saved models of testdata into model files and reads them
// back: the int8 weights and table as written, the float32 model and table as they stand for,
// and the rest of the file as it was.
func TestQuantModelRoundTrip(t *testing.T) {
	for _, name := range []string{"model-v3-text.db", "model-v3-mnist.db", "model-v2-text.db", "model-v1-mnist.db"} {
		in := filepath.Join("testdata", name)
		s, err := Open(in)
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.LoadModel()
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		q, err := quant.New(m.LSTM, m.Table)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "int8.db")
		if err := WriteQuantModelFile(in, out, q); err != nil {
			t.Fatal(err)
		}
		s, err = Open(out)
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
