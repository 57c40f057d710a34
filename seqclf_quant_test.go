package seqclf_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/seqclf/seqclf/lstm/quant"
	"github.com/seqclf/seqclf/store"
)

// TestOpenQuantized opens an int8 copy of the saved text model and classifies with it: the
// float32 model's answers, each probability within 0.01, and the same Info but Quantized.
func TestOpenQuantized(t *testing.T) {
	s, err := store.Open(textModel)
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
	path := filepath.Join(t.TempDir(), "int8.db")
	if err := store.WriteQuantModelFile(textModel, path, q); err != nil {
		t.Fatal(err)
	}
	f, i := open(t, textModel), open(t, path)
	defer f.Close()
	defer i.Close()
	fi, ii := f.Info(), i.Info()
	if fi.Kind != ii.Kind || fi.Shape != ii.Shape || fi.Parameters != ii.Parameters || fi.Vocab != ii.Vocab || fi.Quantized || !ii.Quantized {
		t.Fatalf("Info: float32 %+v, int8 %+v", fi, ii)
	}
	texts := readTexts(t)
	want, err := f.Classify(context.Background(), texts...)
	if err != nil {
		t.Fatal(err)
	}
	got, err := i.Classify(context.Background(), texts...)
	if err != nil {
		t.Fatal(err)
	}
	for k, w := range want {
		for class, p := range w.Probabilities {
			if math.Abs(float64(got[k].Probabilities[class]-p)) > 0.01 {
				t.Errorf("text %d, %s: %v, float32 model %v", k, class, got[k].Probabilities[class], p)
			}
		}
	}
}
