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
	for _, cfg := range []Config{
		{InputDim: 5, NumUnits: 24, NumLayers: 2, Classes: 4, Pooling: PoolMax, Dropout: 0.2},
		{InputDim: 5, NumUnits: 24, NumLayers: 2, Classes: 4, Pooling: PoolAttention, Dropout: 0.2, Cell: CellGRU, Bidirectional: true},
		{InputDim: 5, NumUnits: 24, NumLayers: 1, Classes: 4, Pooling: PoolLast, Bidirectional: true},
		{InputDim: 5, NumUnits: 24, NumLayers: 1, Classes: 4, Pooling: PoolLast},
		// The weight gradients of a text batch's size (kernel.WeightGradCold).
		{InputDim: 5, NumUnits: 24, NumLayers: 2, Classes: 4, Pooling: PoolLast, InputDropout: 0.1},
	} {
		defer func(n int) { coldGatesFrom = n }(coldGatesFrom)
		coldGatesFrom = 1 << 62
		if cfg.InputDropout > 0 {
			coldGatesFrom = 0
		}
		train := func(threads int) result {
			m, ws := trainSmall(t, cfg, 21, threads, 9, 37, TrainOptions[float32]{ClipNorm: 1})
			r := result{weights: weightsOf(m)}
			r.out = slices.Clone(ws.Outputs(cfg.NumLayers - 1))
			r.dx = slices.Clone(ws.InputGrad())
			return r
		}
		one := train(1)
		for _, threads := range []int{2, 3} {
			got := train(threads)
			for i := range one.weights {
				if !slices.Equal(got.weights[i], one.weights[i]) {
					t.Errorf("%v/bi=%v/%v, %d threads: parameter %d differs from one thread's", cfg.Cell, cfg.Bidirectional, cfg.Pooling, threads, i)
				}
			}
			if !slices.Equal(got.out, one.out) || !slices.Equal(got.dx, one.dx) {
				t.Errorf("%v/bi=%v/%v, %d threads: outputs or inputs' gradient differ from one thread's", cfg.Cell, cfg.Bidirectional, cfg.Pooling, threads)
			}
		}
	}
}

// TestForwardOnly checks that a forward-only workspace, which keeps one step of gates and two of
// cell state, gives the logits and per-step outputs of a full one, bit for bit.
func TestForwardOnly(t *testing.T) {
	defer func(n int) { forwardOnlyFrom = n }(forwardOnlyFrom)
	forwardOnlyFrom = 0 // one step's slots even for this small batch
	for i, pool := range []Pooling{PoolLast, PoolMean, PoolMax, PoolAttention} {
		rng := rand.New(rand.NewPCG(5, 6))
		m, err := New[float32](Config{InputDim: 7, NumUnits: 16, NumLayers: 2, Classes: 3, Pooling: pool, Cell: Cell(i % 2), Bidirectional: i >= 2}, rng)
		if err != nil {
			t.Fatal(err)
		}
		const steps, batch = 11, 23
		x := make([]float32, steps*batch*7)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		lengths := make([]int, batch)
		for b := range lengths {
			lengths[b] = rng.IntN(steps + 1)
		}
		b := Batch[float32]{X: x, Lengths: lengths, Steps: steps}
		full := m.NewWorkspace()
		want := slices.Clone(m.Forward(full, b))
		for _, threads := range []int{1, 2} {
			light := m.NewWorkspace()
			light.ForwardOnly, light.Threads = true, threads
			if got := m.Forward(light, b); !slices.Equal(got, want) {
				t.Errorf("%v, %d threads: forward-only logits %v, full %v", pool, threads, got, want)
			}
			for l := range 2 {
				if !slices.Equal(light.Outputs(l), full.Outputs(l)) {
					t.Errorf("%v, %d threads: layer %d outputs differ", pool, threads, l)
				}
			}
			if len(light.layers[0].z) >= len(full.layers[0].z)/steps+1 {
				t.Errorf("forward-only z holds %d values, want one step's %d", len(light.layers[0].z), len(full.layers[0].z)/steps)
			}
		}
	}
}

// TestRecomputedTanhGivesTheSameModel trains with tanh(c) kept for every step and with it made
// again in the backward pass (keepTanhUpTo 0, as for long batches): the weights must be bit for
// bit the same.
func TestRecomputedTanhGivesTheSameModel(t *testing.T) {
	train := func() [][]float32 {
		const steps = 7
		cfg := Config{InputDim: 6, NumUnits: 20, NumLayers: 2, Classes: 3, Pooling: PoolMean}
		m, ws := trainSmall(t, cfg, 5, 0, steps, 19, TrainOptions[float32]{})
		if kept := ws.layers[0].tcSlots == steps; kept != (keepTanhUpTo > 0) {
			t.Fatalf("keepTanhUpTo %d: tc kept for every step is %v", keepTanhUpTo, kept)
		}
		return weightsOf(m)
	}
	kept := train()
	saved := keepTanhUpTo
	keepTanhUpTo = 0
	defer func() { keepTanhUpTo = saved }()
	again := train()
	for i := range kept {
		if !slices.Equal(kept[i], again[i]) {
			t.Errorf("parameter %d differs when tanh(c) is made again in the backward pass", i)
		}
	}
}

// trainSmall makes a model of cfg from seed and trains it for three Adam steps on random padded
// batches (lengths 1…steps) with the given threads (0: the workspace's default).
func trainSmall(t *testing.T, cfg Config, seed uint64, threads, steps, batch int, o TrainOptions[float32]) (*Model[float32], *Workspace[float32]) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed))
	m, err := New[float32](cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	ws := m.NewWorkspace()
	if threads > 0 {
		ws.Threads = threads
	}
	opt := NewAdam[float32](0.01)
	x := make([]float32, steps*batch*cfg.InputDim)
	lengths, labels := make([]int, batch), make([]int, batch)
	for range 3 {
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		for b := range batch {
			lengths[b] = 1 + rng.IntN(steps)
			labels[b] = rng.IntN(cfg.Classes)
		}
		if _, err := m.TrainStep(ws, Batch[float32]{X: x, Lengths: lengths, Steps: steps, Labels: labels}, opt, o, rng); err != nil {
			t.Fatal(err)
		}
	}
	return m, ws
}

// weightsOf returns a copy of every parameter's values.
func weightsOf(m *Model[float32]) [][]float32 {
	var w [][]float32
	for _, p := range m.Params() {
		w = append(w, slices.Clone(p.Value))
	}
	return w
}
