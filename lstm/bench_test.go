package lstm

import (
	"fmt"
	"runtime"
	"testing"
)

// benchShape is one of the shapes that matter: MNIST rows, text, and configs/spam.yaml's GRU.
type benchShape struct {
	name                               string
	batch, steps, input, units, labels int
	// short lists the lengths of the batch's last samples, longest first; the others run every
	// step (as a batch of mails cut to time_step, sorted by train.Trainer).
	short []int
	cell  Cell
	pool  Pooling
}

var benchShapes = []benchShape{
	{"mnist-rows", 128, 28, 28, 128, 10, nil, CellLSTM, PoolLast},
	{"text", 64, 256, 100, 128, 2, nil, CellLSTM, PoolLast},
	// SpamAssassin in seqclf-bench: 87% of the mails are cut to 256 tokens.
	{"text-mixed", 64, 256, 100, 128, 2, []int{230, 200, 160, 120, 90, 60, 40, 20}, CellLSTM, PoolLast},
	// configs/spam.yaml: a GRU over sentences of up to 64 tokens, max pooling.
	{"gru-sentences", 64, 64, 100, 128, 2, nil, CellGRU, PoolMax},
}

// benchThreads are the thread counts the benchmarks run with: one, and all of GOMAXPROCS.
func benchThreads() []int {
	if n := runtime.GOMAXPROCS(0); n > 1 {
		return []int{1, n}
	}
	return []int{1}
}

func benchSetup(b *testing.B, s benchShape) (*Model[float32], *Workspace[float32], Batch[float32]) {
	rng := testRNG()
	m, err := New[float32](Config{InputDim: s.input, NumUnits: s.units, NumLayers: 1, Classes: s.labels, Cell: s.cell, Pooling: s.pool}, rng)
	if err != nil {
		b.Fatal(err)
	}
	x := make([]float32, s.steps*s.batch*s.input)
	for i := range x {
		x[i] = float32(rng.Float64())
	}
	lengths, labels := make([]int, s.batch), make([]int, s.batch)
	for i := range lengths {
		lengths[i] = s.steps
		if j := i - (s.batch - len(s.short)); j >= 0 {
			lengths[i] = s.short[j]
		}
		labels[i] = i % s.labels
	}
	return m, m.NewWorkspace(), Batch[float32]{X: x, Lengths: lengths, Steps: s.steps, Labels: labels}
}

// BenchmarkForward measures inference: the forward pass and the head, full-length batches.
func BenchmarkForward(b *testing.B) {
	for _, s := range benchShapes {
		for _, threads := range benchThreads() {
			b.Run(fmt.Sprintf("%s/B%d-T%d-in%d-H%d/threads=%d", s.name, s.batch, s.steps, s.input, s.units, threads), func(b *testing.B) {
				m, ws, bt := benchSetup(b, s)
				ws.Threads = threads
				m.Forward(ws, bt)
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					m.Forward(ws, bt)
				}
				b.ReportMetric(float64(b.N*s.batch)/b.Elapsed().Seconds(), "samples/s")
			})
		}
	}
}

// BenchmarkTrainStep measures training: forward, loss, backward and an Adam step.
func BenchmarkTrainStep(b *testing.B) {
	for _, s := range benchShapes {
		for _, threads := range benchThreads() {
			b.Run(fmt.Sprintf("%s/B%d-T%d-in%d-H%d/threads=%d", s.name, s.batch, s.steps, s.input, s.units, threads), func(b *testing.B) {
				m, ws, bt := benchSetup(b, s)
				ws.Threads = threads
				opt := NewAdam[float32](0.001)
				step := func() {
					if _, err := m.TrainStep(ws, bt, opt, TrainOptions[float32]{}, nil); err != nil {
						b.Fatal(err)
					}
				}
				step()
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					step()
				}
				b.ReportMetric(float64(b.N*s.batch)/b.Elapsed().Seconds(), "samples/s")
				// As seqclf-bench counts: forward 2·(in+H)·4H a real step, backward twice that.
				tokens := 0
				for _, n := range bt.Lengths {
					tokens += n
				}
				flops := 3 * (2*float64(tokens)*float64((s.input+s.units)*4*s.units) + 2*float64(s.batch*s.units*s.labels))
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
