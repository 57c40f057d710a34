package lstm

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestThreadsGiveTheSameModel trains one model with 1, 2 and 3 threads, on padded batches of 37
// samples (parts of unequal size, padding in each part): the weights, the outputs and the inputs'
// gradient must be bit for bit the same.
func TestThreadsGiveTheSameModel(t *testing.T) {
	type result struct {
		weights [][]float32
		out, dx []float32
	}
	train := func(threads int) result {
		rng := rand.New(rand.NewPCG(21, 21))
		m, err := New[float32](Config{InputDim: 5, NumUnits: 24, NumLayers: 2, Classes: 4, Pooling: PoolMax, Dropout: 0.2}, rng)
		if err != nil {
			t.Fatal(err)
		}
		ws := m.NewWorkspace()
		ws.Threads = threads
		opt := NewAdam[float32](0.01)
		const steps, batch = 9, 37
		x := make([]float32, steps*batch*5)
		lengths, labels := make([]int, batch), make([]int, batch)
		for range 3 {
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			for b := range batch {
				lengths[b] = 1 + rng.IntN(steps)
				labels[b] = rng.IntN(4)
			}
			if _, err := m.TrainStep(ws, x, lengths, steps, labels, opt, TrainOptions[float32]{ClipNorm: 1}, rng); err != nil {
				t.Fatal(err)
			}
		}
		var r result
		for _, p := range m.Params() {
			r.weights = append(r.weights, slices.Clone(p.Value))
		}
		r.out = slices.Clone(ws.Outputs(1))
		r.dx = slices.Clone(ws.InputGrad())
		return r
	}
	one := train(1)
	for _, threads := range []int{2, 3} {
		got := train(threads)
		for i := range one.weights {
			if !slices.Equal(got.weights[i], one.weights[i]) {
				t.Errorf("%d threads: parameter %d differs from one thread's", threads, i)
			}
		}
		if !slices.Equal(got.out, one.out) || !slices.Equal(got.dx, one.dx) {
			t.Errorf("%d threads: outputs or inputs' gradient differ from one thread's", threads)
		}
	}
}
