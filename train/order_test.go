package train

import (
	"context"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/feed"
	"github.com/seqclf/seqclf/lstm"
)

// TestBucketedOrder checks BucketedOrder on 1,000 samples of lengths 1…64 in batches of 8: every
// sample once, the same order for the same seed and another for another epoch, the partial
// batch last, and a small fraction of the padding of Order's batches.
func TestBucketedOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	samples := make([]feed.Sample, 1000)
	for i := range samples {
		samples[i] = feed.Sample{IDs: make([]int32, 1+rng.IntN(64))}
	}
	length := func(s *feed.Sample) int { return len(s.IDs) }
	const batch = 8
	order := BucketedOrder(3, 0, samples, batch, length)
	if sorted := slices.Sorted(slices.Values(order)); !isIota(sorted) {
		t.Fatalf("the order is not a permutation of the samples")
	}
	if !slices.Equal(order, BucketedOrder(3, 0, samples, batch, length)) {
		t.Error("the same seed and epoch gave two orders")
	}
	if slices.Equal(order, BucketedOrder(3, 1, samples, batch, length)) {
		t.Error("epochs 0 and 1 have the same order")
	}
	if last := order[len(order)-len(order)%batch:]; len(last) != len(samples)%batch {
		t.Errorf("the last batch has %d samples, want %d", len(last), len(samples)%batch)
	}
	padding := func(order []int) (pad int) {
		for lo := 0; lo < len(order); lo += batch {
			b := order[lo:min(lo+batch, len(order))]
			longest := 0
			for _, i := range b {
				longest = max(longest, length(&samples[i]))
			}
			for _, i := range b {
				pad += longest - length(&samples[i])
			}
		}
		return pad
	}
	bucketed, plain := padding(order), padding(Order(3, 0, samples))
	t.Logf("padding: %d steps bucketed, %d not", bucketed, plain)
	if bucketed*10 > plain {
		t.Errorf("bucketed batches pad %d steps, unbucketed %d: want a tenth or less", bucketed, plain)
	}
}

func isIota(s []int) bool {
	for i, v := range s {
		if v != i {
			return false
		}
	}
	return true
}

// TestBucketedThreadsGiveTheSameModel trains a text model with bucketed batches (each sorted
// longest first, so the LSTM leaves out their padding rows) on one thread and on three: the
// weights and the table must be the same bits.
func TestBucketedThreadsGiveTheSameModel(t *testing.T) {
	train := func(threads int) ([][]float32, []float32) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
		rng := rand.New(rand.NewPCG(4, 4))
		table, err := embed.New(10, 6, 0.5, rng)
		if err != nil {
			t.Fatal(err)
		}
		m, err := lstm.New[float32](lstm.Config{InputDim: 6, NumUnits: 12, NumLayers: 2, Classes: 2, Dropout: 0.1, Pooling: lstm.PoolMean}, rng)
		if err != nil {
			t.Fatal(err)
		}
		tr := &Trainer{Model: m, Features: &feed.Embeddings{Table: table, Adam: embed.NewAdam(0.01)}, Opt: lstm.NewAdam[float32](0.01),
			BatchSize: 48, Seed: 5, BucketByLength: true}
		samples := orderSamples(rand.New(rand.NewPCG(6, 6)), 300)
		for epoch := range 2 {
			if _, err := tr.Epoch(context.Background(), samples, Position{Epoch: epoch}, nil); err != nil {
				t.Fatal(err)
			}
		}
		return weights(m), table.Data
	}
	w1, t1 := train(1)
	w3, t3 := train(3)
	for i := range w1 {
		if !slices.Equal(w1[i], w3[i]) {
			t.Errorf("parameter %d differs between one thread and three", i)
		}
	}
	if !slices.Equal(t1, t3) {
		t.Error("the table differs between one thread and three")
	}
}
