package seqclf_test

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/seqclf/seqclf/classify"
	"github.com/seqclf/seqclf/feed"
	"github.com/seqclf/seqclf/idx"
	"github.com/seqclf/seqclf/lstm/quant"
	"github.com/seqclf/seqclf/store"
)

// TestOpenQuantized opens an int8 copy of the saved text model and classifies with it: the
// float32 model's answers, each probability within 0.01, and the same Info but Quantized.
func TestOpenQuantized(t *testing.T) {
	path := filepath.Join(t.TempDir(), "int8.db")
	if _, _, err := store.QuantizeModelFile(textModel, path); err != nil {
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

// TestQuantizedImagesInParts classifies images with an int8 model through a Predictor, whose
// forward pass makes each part's inputs on the part's goroutine (quant.Batch.Fill), and holds
// its probabilities to the same bits as a pass over the whole batch's inputs assembled first.
// Run with -race, it checks that the parts' Fill calls share nothing.
func TestQuantizedImagesInParts(t *testing.T) {
	s, err := store.Open("store/testdata/model-v4-mnist.db")
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.LoadModel()
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	q, err := quant.New(m.LSTM, nil)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.ReadImages("idx/testdata/mnist-t10k-20-images-idx3-ubyte.gz")
	if err != nil {
		t.Fatal(err)
	}
	samples := make([]feed.Sample, im.Count)
	for i := range samples {
		samples[i] = feed.Sample{Index: i, Label: -1, Doc: i}
	}
	rows := &feed.Rows{Images: im, Slice: idx.SliceRows}
	for _, batch := range []int{1, 7, len(samples)} {
		p := &classify.Predictor{Model: m.LSTM, Features: rows, BatchSize: batch, Quant: q}
		got, _ := p.Predict(samples)
		var want []float32
		ws := q.NewWorkspace()
		var b feed.Batch
		for lo := 0; lo < len(samples); lo += batch {
			b.Samples = b.Samples[:0]
			for i := lo; i < min(lo+batch, len(samples)); i++ {
				b.Samples = append(b.Samples, &samples[i])
			}
			x := b.Assemble(rows)
			q.Forward(ws, quant.Batch{X: x.X, Lengths: x.Lengths, Steps: x.Steps})
			want = append(want, q.Probs(ws)...)
		}
		if !slices.Equal(got, want) {
			t.Errorf("batches of %d: the Predictor's probabilities differ from a pass over assembled inputs", batch)
		}
	}
}
