package train

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/seqclf/seqclf/classify"
	"github.com/seqclf/seqclf/feed"
	"github.com/seqclf/seqclf/idx"
	"github.com/seqclf/seqclf/lstm"
)

// mnistExcerpt returns the 20 committed t10k images as samples (see ../idx/testdata/mnist-README.md).
func mnistExcerpt(t *testing.T) (*idx.Images, []feed.Sample) {
	t.Helper()
	im, labels, err := idx.ReadPair("../idx/testdata/mnist-t10k-20-images-idx3-ubyte.gz", "../idx/testdata/mnist-t10k-20-labels-idx1-ubyte.gz")
	if err != nil {
		t.Fatal(err)
	}
	samples := make([]feed.Sample, len(labels))
	for i, l := range labels {
		samples[i] = feed.Sample{Index: i, Label: l, Doc: i}
	}
	return im, samples
}

func newTrainer(t *testing.T, im *idx.Images) *Trainer {
	t.Helper()
	m, err := lstm.New[float32](lstm.Config{InputDim: 28, NumUnits: 16, NumLayers: 2, Classes: 10, Dropout: 0.2}, rand.New(rand.NewPCG(5, 5)))
	if err != nil {
		t.Fatal(err)
	}
	return &Trainer{Model: m, Features: &feed.Rows{Images: im, Slice: idx.SliceRows}, Opt: lstm.NewAdam[float32](0.01), BatchSize: 6, Seed: 11}
}

func weights(m *lstm.Model[float32]) [][]float32 {
	var w [][]float32
	for _, p := range m.Params() {
		w = append(w, slices.Clone(p.Value))
	}
	return w
}

// TestTrainerFitsAndResumes trains on 20 real MNIST images until it fits them, and checks that an
// epoch stopped after a step and resumed from there ends with the weights of an uninterrupted one.
func TestTrainerFitsAndResumes(t *testing.T) {
	im, samples := mnistExcerpt(t)
	whole := newTrainer(t, im)
	var first, last EpochResult
	for epoch := range 30 {
		res, err := whole.Epoch(context.Background(), samples, Position{Epoch: epoch, Step: 0}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Steps != 4 || res.Samples != 20 || res.Stopped {
			t.Fatalf("epoch %d: %+v, want 4 steps over 20 samples", epoch, res)
		}
		if epoch == 0 {
			first = res
		}
		last = res
	}
	if !(last.Loss < first.Loss/4) {
		t.Errorf("loss went from %.4f to %.4f in 30 epochs: it should fall by far more", first.Loss, last.Loss)
	}
	p := &classify.Predictor{Model: whole.Model, Features: whole.Features, BatchSize: 7}
	probs, loss := p.Predict(samples)
	if got := countCorrect(probs, labelsOf(samples), 10); got < 18 {
		t.Errorf("after 30 epochs it gets %d of its 20 training images right (loss %.3f), want ≥ 18", got, loss)
	}

	// The same run, stopped after the second step of epoch 2 and resumed at step 2.
	parted := newTrainer(t, im)
	for epoch := range 30 {
		if epoch != 2 {
			if _, err := parted.Epoch(context.Background(), samples, Position{Epoch: epoch, Step: 0}, nil); err != nil {
				t.Fatal(err)
			}
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		res, err := parted.Epoch(ctx, samples, Position{Epoch: epoch, Step: 0}, func(step int, _ float64) {
			if step == 2 {
				cancel()
			}
		})
		if err != nil || !res.Stopped || res.Steps != 2 {
			t.Fatalf("cancelled epoch: %+v, %v; want stopped after 2 steps", res, err)
		}
		// A stop before the first step of a resumed epoch keeps its place.
		cancelled, stop := context.WithCancel(context.Background())
		stop()
		again, err := parted.Epoch(cancelled, samples, Position{Epoch: epoch, Step: res.Steps}, nil)
		if err != nil || !again.Stopped || again.Steps != 2 {
			t.Fatalf("epoch resumed at step 2 and stopped at once: %+v, %v; want stopped at step 2", again, err)
		}
		if _, err := parted.Epoch(context.Background(), samples, Position{Epoch: epoch, Step: again.Steps}, nil); err != nil {
			t.Fatal(err)
		}
	}
	w1, w2 := weights(whole.Model), weights(parted.Model)
	for i := range w1 {
		if !slices.Equal(w1[i], w2[i]) {
			t.Errorf("%s differs between the uninterrupted and the resumed run", whole.Model.Params()[i].Name)
		}
	}
}
