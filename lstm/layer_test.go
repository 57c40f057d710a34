package lstm

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// paddedBatch returns a batch of random inputs whose samples go longest first, as the trainer
// sorts them: one of every length from steps down, then short ones.
func paddedBatch(rng *rand.Rand, steps, batch, inputDim, classes int) Batch[float32] {
	lengths, labels := make([]int, batch), make([]int, batch)
	for b := range batch {
		lengths[b] = max(steps-b, 1+rng.IntN(3))
		labels[b] = rng.IntN(classes)
	}
	slices.SortFunc(lengths, func(a, b int) int { return b - a })
	x := make([]float32, steps*batch*inputDim)
	for t := range steps {
		for b, n := range lengths {
			if t < n {
				for k := range inputDim {
					x[(t*batch+b)*inputDim+k] = float32(rng.NormFloat64())
				}
			}
		}
	}
	return Batch[float32]{X: x, Lengths: lengths, Steps: steps, Labels: labels}
}

// gradients runs forward, loss and backward on b with the given threads and returns a copy of
// every parameter's gradient and of the inputs' gradient.
func gradients(t *testing.T, m *Model[float32], b Batch[float32], threads int) (grads [][]float32, dx []float32) {
	t.Helper()
	ws := m.NewWorkspace()
	ws.Threads = threads
	ZeroGrad(m.Params())
	m.ForwardTrain(ws, b, nil)
	if _, err := m.Loss(ws, b.Labels, nil); err != nil {
		t.Fatal(err)
	}
	m.Backward(ws)
	for _, p := range m.Params() {
		grads = append(grads, slices.Clone(p.Grad))
	}
	return grads, slices.Clone(ws.InputGrad())
}

// TestPaddingRowsLeftOut checks the passes that leave out the rows of samples that have ended, on
// a batch sorted longest first where most rows of most steps are padding: the gradients must be
// the same bits for any number of threads, and agree with those of each sample run alone (the
// batch's mean loss: the mean of theirs), the inputs' gradient zero at padding.
func TestPaddingRowsLeftOut(t *testing.T) {
	for _, cfg := range []Config{
		{InputDim: 5, NumUnits: 24, NumLayers: 2, Classes: 3, Pooling: PoolMean},
		{InputDim: 30, NumUnits: 8, NumLayers: 1, Classes: 3, Pooling: PoolMax, Cell: CellGRU}, // dx apart from dh
		{InputDim: 5, NumUnits: 16, NumLayers: 1, Classes: 3, Pooling: PoolLast, Bidirectional: true},
	} {
		rng := rand.New(rand.NewPCG(3, 4))
		m, err := New[float32](cfg, rng)
		if err != nil {
			t.Fatal(err)
		}
		const steps, batch = 12, 40
		d := cfg.InputDim
		b := paddedBatch(rng, steps, batch, d, cfg.Classes)
		// With the last two samples of no step too.
		empty := b
		empty.Lengths = slices.Clone(b.Lengths)
		empty.Lengths[batch-1], empty.Lengths[batch-2] = 0, 0
		for _, bt := range []Batch[float32]{b, empty} {
			grads, dx := gradients(t, m, bt, 1)
			for _, threads := range []int{2, 3, 4} {
				g, x := gradients(t, m, bt, threads)
				for i := range grads {
					if !slices.Equal(g[i], grads[i]) {
						t.Errorf("%+v, %d threads: gradient %d differs from one thread's", cfg, threads, i)
					}
				}
				if !slices.Equal(x, dx) {
					t.Errorf("%+v, %d threads: the inputs' gradient differs from one thread's", cfg, threads)
				}
			}
		}
		grads, dx := gradients(t, m, b, 2)
		sum := make([][]float32, len(grads))
		for i := range sum {
			sum[i] = make([]float32, len(grads[i]))
		}
		for s, n := range b.Lengths {
			one := Batch[float32]{X: make([]float32, n*d), Lengths: []int{n}, Steps: n, Labels: b.Labels[s : s+1]}
			for tt := range n {
				copy(one.X[tt*d:(tt+1)*d], b.X[(tt*batch+s)*d:])
			}
			g, x := gradients(t, m, one, 1)
			for i := range g {
				for k, v := range g[i] {
					sum[i][k] += v / batch
				}
			}
			for tt := range steps {
				row := dx[(tt*batch+s)*d : (tt*batch+s+1)*d]
				for k, v := range row {
					want := float32(0)
					if tt < n {
						want = x[tt*d+k] / batch
					}
					if tt >= n && v != 0 || math.Abs(float64(v-want)) > 1e-6+1e-3*math.Abs(float64(want)) {
						t.Fatalf("%+v: dx of sample %d (length %d) at step %d: %g, alone %g", cfg, s, n, tt, v, want)
					}
				}
			}
		}
		for i := range grads {
			for k, v := range grads[i] {
				if want := sum[i][k]; math.Abs(float64(v-want)) > 1e-6+1e-3*math.Abs(float64(want)) {
					t.Fatalf("%+v: %s[%d] is %g in the batch, %g summed over the samples alone", cfg, m.Params()[i].Name, k, v, want)
				}
			}
		}
	}
}

// BenchmarkTrainStepLengths measures training steps of the text model (batch 64, embed 100, 128
// units) on full batches of 64 steps and on batches of sentences sorted longest first as the
// trainer sorts them (lengths 1…64, mean about 21 tokens, as configs/default.yaml's sentences),
// reporting GFLOP/s over the real steps only (bench/README.md's count, the head left out).
func BenchmarkTrainStepLengths(b *testing.B) {
	for _, c := range []struct {
		name     string
		sentence bool
	}{{"text-T64", false}, {"sentences", true}} {
		b.Run(c.name, func(b *testing.B) {
			const batch, steps, in, units = 64, 64, 100, 128
			rng := testRNG()
			m, err := New[float32](Config{InputDim: in, NumUnits: units, NumLayers: 1, Classes: 2}, rng)
			if err != nil {
				b.Fatal(err)
			}
			x := make([]float32, steps*batch*in)
			for i := range x {
				x[i] = float32(rng.Float64())
			}
			lengths, labels := make([]int, batch), make([]int, batch)
			tokens := 0
			for i := range lengths {
				lengths[i] = steps
				if c.sentence {
					lengths[i] = min(steps, 1+int(rng.ExpFloat64()*20))
				}
				labels[i] = i % 2
			}
			slices.SortFunc(lengths, func(a, b int) int { return b - a })
			for _, n := range lengths {
				tokens += n
			}
			bt := Batch[float32]{X: x, Lengths: lengths, Steps: lengths[0], Labels: labels}
			bt.X = x[:lengths[0]*batch*in]
			ws := m.NewWorkspace()
			opt := NewAdam[float32](0.001)
			step := func() {
				if _, err := m.TrainStep(ws, bt, opt, TrainOptions[float32]{}, nil); err != nil {
					b.Fatal(err)
				}
			}
			step()
			b.ResetTimer()
			for b.Loop() {
				step()
			}
			secs := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.N*batch)/secs, "samples/s")
			b.ReportMetric(3*2*float64(in+units)*4*units*float64(tokens)*float64(b.N)/secs/1e9, "GFLOP/s")
		})
	}
}
