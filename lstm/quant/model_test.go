package quant

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/internal/half"
	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/lstm/quant/internal/qkernel"
)

// forEachISA runs f once for every instruction set of the int8 kernels this CPU has.
func forEachISA(f func(name string)) {
	for _, name := range qkernel.ISAs() {
		restore := qkernel.UseISA(name)
		f(name)
		restore()
	}
}

// testBatch returns a batch of random inputs, time-major, with lengths from 0 to steps.
func testBatch(rng *rand.Rand, steps, batch, dim int) lstm.Batch[float32] {
	b := lstm.Batch[float32]{X: make([]float32, steps*batch*dim), Lengths: make([]int, batch), Steps: steps}
	for i := range b.X {
		b.X[i] = float32(rng.NormFloat64())
	}
	for i := range b.Lengths {
		b.Lengths[i] = steps - i%(steps+1)
	}
	return b
}

// maxDiff returns max |a−b| and max |b|.
func maxDiff(a, b []float32) (d, m float64) {
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
		m = math.Max(m, math.Abs(float64(b[i])))
	}
	return d, m
}

// scaled nudges m's head so that its logits are not all near zero: a random model's are, and
// the test would then bound little.
func scaled(m *lstm.Model[float32]) {
	for i := range m.HeadW.Value {
		m.HeadW.Value[i] *= 8
	}
}

// TestForwardMatchesFloat holds the int8 model's logits near the float32 model's, on every
// shape of model and every kernel path, every path to the same bits, and inputs from Fill to
// those from X.
func TestForwardMatchesFloat(t *testing.T) {
	configs := []lstm.Config{
		{InputDim: 28, NumUnits: 32, NumLayers: 1, Classes: 10, Pooling: lstm.PoolLast},
		{InputDim: 13, NumUnits: 20, NumLayers: 2, Classes: 3, Pooling: lstm.PoolMean},
		{InputDim: 9, NumUnits: 16, NumLayers: 1, Classes: 2, Pooling: lstm.PoolMax, Cell: lstm.CellGRU},
		{InputDim: 10, NumUnits: 24, NumLayers: 2, Classes: 4, Pooling: lstm.PoolLast, Bidirectional: true},
		{InputDim: 7, NumUnits: 12, NumLayers: 1, Classes: 2, Pooling: lstm.PoolAttention, Bidirectional: true, Cell: lstm.CellGRU},
	}
	for ci, cfg := range configs {
		rng := rand.New(rand.NewPCG(uint64(ci), 7))
		m, err := lstm.New[float32](cfg, rng)
		if err != nil {
			t.Fatal(err)
		}
		scaled(m)
		q, err := New(m, nil)
		if err != nil {
			t.Fatal(err)
		}
		b := testBatch(rng, 11, 37, cfg.InputDim)
		fws := m.NewWorkspace()
		want := append([]float32(nil), m.Forward(fws, b)...)
		var first []float32
		forEachISA(func(isa string) {
			for _, threads := range []int{1, 2} {
				ws := q.NewWorkspace()
				ws.Threads = threads
				got := q.Forward(ws, Batch{X: b.X, Lengths: b.Lengths, Steps: b.Steps})
				d, mx := maxDiff(got, want)
				if d > 0.02*mx+0.01 {
					t.Errorf("%s %+v: logits differ by %.4f (largest %.3f)", isa, cfg, d, mx)
				}
				got = append([]float32(nil), got...)
				// The same inputs from Fill, a part at a time.
				in := cfg.InputDim
				fill := func(x []float32, lo, hi int) {
					for s := range b.Steps {
						copy(x[s*(hi-lo)*in:(s+1)*(hi-lo)*in], b.X[(s*len(b.Lengths)+lo)*in:(s*len(b.Lengths)+hi)*in])
					}
				}
				if filled := q.Forward(ws, Batch{Fill: fill, Lengths: b.Lengths, Steps: b.Steps}); !slices.Equal(filled, got) {
					t.Errorf("%s, %d threads: logits from Fill differ from X's", isa, threads)
				}
				if first == nil {
					first = append([]float32(nil), got...)
					t.Logf("%v %v pooling %v bi %v: max |Δlogit| %.4f of %.3f", cfg.Cell, cfg.NumLayers, cfg.Pooling, cfg.Bidirectional, d, mx)
					continue
				}
				if fmt.Sprint(got) != fmt.Sprint(first) {
					t.Errorf("%s, %d threads: logits differ from the Go path's", isa, threads)
				}
			}
		})
	}
}

// TestTokens runs a text model from its int8 table, against the float32 model over the float32
// table.
func TestTokens(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cfg := lstm.Config{InputDim: 10, NumUnits: 16, NumLayers: 1, Classes: 2, Pooling: lstm.PoolLast}
	m, err := lstm.New[float32](cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	scaled(m)
	table, err := embed.New(50, 10, 0.5, rng)
	if err != nil {
		t.Fatal(err)
	}
	q, err := New(m, table)
	if err != nil {
		t.Fatal(err)
	}
	const steps, batch = 9, 21
	seqs := make([][]int32, batch)
	lengths := make([]int, batch)
	for i := range seqs {
		for range rng.IntN(steps + 1) {
			seqs[i] = append(seqs[i], int32(rng.IntN(50)))
		}
		lengths[i] = len(seqs[i])
	}
	x := make([]float32, steps*batch*10)
	table.FillTimeMajor(x, seqs, steps)
	want := append([]float32(nil), m.Forward(m.NewWorkspace(), lstm.Batch[float32]{X: x, Lengths: lengths, Steps: steps})...)
	forEachISA(func(isa string) {
		got := q.Forward(q.NewWorkspace(), Batch{Tokens: seqs, Lengths: lengths, Steps: steps})
		if d, mx := maxDiff(got, want); d > 0.02*mx+0.01 {
			t.Errorf("%s: logits differ by %.4f (largest %.3f)", isa, d, mx)
		}
	})
}

func TestQuantizeWeights(t *testing.T) {
	w := []float32{1, 0, -0.5, 0, 0, 0.25, -2, 0, 0.001}
	q := QuantizeWeights(w, 3, 3)
	s := half.Up(2.0 / 127)
	if q.Scale[1] != 0 || q.Scale[0] != s || q.Values[6] != -127 || q.Values[0] != int8(math.Round(1/float64(s))) {
		t.Fatalf("got %+v", q)
	}
	for i, v := range q.Dequantize() {
		if math.Abs(float64(v-w[i])) > float64(q.Scale[i%3])/2 {
			t.Fatalf("value %d: %v back as %v", i, w[i], v)
		}
	}
}

func TestPrepareRefusesShapes(t *testing.T) {
	cfg := lstm.Config{InputDim: 4, NumUnits: 8, NumLayers: 1, Classes: 2}
	m, _ := lstm.New[float32](cfg, rand.New(rand.NewPCG(1, 1)))
	q, err := New(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	q.HeadB = q.HeadB[:1]
	if err := q.Prepare(); err == nil {
		t.Fatal("a head of 1 bias for 2 classes was taken")
	}
}

var benchShapes = []struct {
	name  string
	cfg   lstm.Config
	steps int
	vocab int // rows of an embedding table the inputs are read from; 0 for float inputs
}{
	{"mnist", lstm.Config{InputDim: 28, NumUnits: 128, NumLayers: 1, Classes: 10}, 28, 0},
	{"spam", lstm.Config{InputDim: 100, NumUnits: 128, NumLayers: 1, Classes: 2}, 256, 20000},
	// configs/spam.yaml's model: a GRU over sentences of up to 64 tokens, max pooling.
	{"spam-gru", lstm.Config{InputDim: 100, NumUnits: 128, NumLayers: 1, Classes: 2, Cell: lstm.CellGRU, Pooling: lstm.PoolMax}, 64, 20000},
}

// BenchmarkPaired runs the float32 and the int8 Forward of each shape in turn, batch after batch,
// and reports each one's samples/s and the median of the pairs' ratios (int8 over float32): on a
// shared machine whose speed drifts, pairs a batch apart compare like with like.
func BenchmarkPaired(b *testing.B) {
	const batch = 256
	for _, s := range benchShapes {
		rng := rand.New(rand.NewPCG(1, 2))
		m, err := lstm.New[float32](s.cfg, rng)
		if err != nil {
			b.Fatal(err)
		}
		bt := testBatch(rng, s.steps, batch, s.cfg.InputDim)
		for i := range bt.Lengths {
			bt.Lengths[i] = s.steps
		}
		var table *embed.Table
		var seqs [][]int32
		if s.vocab > 0 {
			if table, err = embed.New(s.vocab, s.cfg.InputDim, 0.3, rng); err != nil {
				b.Fatal(err)
			}
			seqs = make([][]int32, batch)
			for i := range seqs {
				for range s.steps {
					seqs[i] = append(seqs[i], int32(rng.IntN(s.vocab)))
				}
			}
		}
		q, err := New(m, table)
		if err != nil {
			b.Fatal(err)
		}
		qb := Batch{X: bt.X, Lengths: bt.Lengths, Steps: bt.Steps}
		if table != nil {
			qb = Batch{Tokens: seqs, Lengths: bt.Lengths, Steps: bt.Steps}
		}
		b.Run(s.name, func(b *testing.B) {
			fws, qws := m.NewWorkspace(), q.NewWorkspace()
			fws.ForwardOnly = true
			var ft, qt time.Duration
			var ratios []float64
			for b.Loop() {
				t0 := time.Now()
				if table != nil {
					table.FillTimeMajor(bt.X, seqs, s.steps)
				}
				m.Forward(fws, bt)
				t1 := time.Now()
				q.Forward(qws, qb)
				t2 := time.Now()
				ft, qt = ft+t1.Sub(t0), qt+t2.Sub(t1)
				ratios = append(ratios, float64(t1.Sub(t0))/float64(t2.Sub(t1)))
			}
			slices.Sort(ratios)
			b.ReportMetric(float64(b.N*batch)/ft.Seconds(), "float32-samples/s")
			b.ReportMetric(float64(b.N*batch)/qt.Seconds(), "int8-samples/s")
			b.ReportMetric(ratios[len(ratios)/2], "median-ratio")
		})
	}
}

// BenchmarkForward compares the float32 model's Forward with the int8 one's at batch 256, on
// the shapes of the MNIST rows and SpamAssassin benchmarks: the text model reads token ids,
// looked up in the float32 table (the float32 path) or in the int8 one.
func BenchmarkForward(b *testing.B) {
	const batch = 256
	for _, s := range benchShapes {
		rng := rand.New(rand.NewPCG(1, 2))
		m, err := lstm.New[float32](s.cfg, rng)
		if err != nil {
			b.Fatal(err)
		}
		var table *embed.Table
		var seqs [][]int32
		bt := testBatch(rng, s.steps, batch, s.cfg.InputDim)
		for i := range bt.Lengths {
			bt.Lengths[i] = s.steps
		}
		if s.vocab > 0 {
			if table, err = embed.New(s.vocab, s.cfg.InputDim, 0.3, rng); err != nil {
				b.Fatal(err)
			}
			seqs = make([][]int32, batch)
			for i := range seqs {
				for range s.steps {
					seqs[i] = append(seqs[i], int32(rng.IntN(s.vocab)))
				}
			}
		}
		q, err := New(m, table)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(s.name+"/float32", func(b *testing.B) {
			ws := m.NewWorkspace()
			ws.ForwardOnly = true
			for b.Loop() {
				if table != nil {
					table.FillTimeMajor(bt.X, seqs, s.steps)
				}
				m.Forward(ws, bt)
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "samples/s")
		})
		// The int8 model on each kernel path but pure Go (minutes a batch).
		for _, isa := range qkernel.ISAs()[1:] {
			b.Run(s.name+"/int8-"+isa, func(b *testing.B) {
				defer qkernel.UseISA(isa)()
				ws := q.NewWorkspace()
				qb := Batch{X: bt.X, Lengths: bt.Lengths, Steps: bt.Steps}
				if table != nil {
					qb = Batch{Tokens: seqs, Lengths: bt.Lengths, Steps: bt.Steps}
				}
				for b.Loop() {
					q.Forward(ws, qb)
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "samples/s")
			})
		}
	}
}

// TestSmallBatches runs batches of one sample, of none, and of samples without steps.
func TestSmallBatches(t *testing.T) {
	cfg := lstm.Config{InputDim: 5, NumUnits: 8, NumLayers: 1, Classes: 3, Pooling: lstm.PoolMean}
	rng := rand.New(rand.NewPCG(4, 4))
	m, err := lstm.New[float32](cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	q, err := New(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	ws := q.NewWorkspace()
	for _, c := range []struct{ steps, batch int }{{4, 1}, {3, 0}, {0, 2}, {6, 1}} {
		b := testBatch(rng, c.steps, c.batch, cfg.InputDim)
		want := m.Forward(m.NewWorkspace(), b)
		got := q.Forward(ws, Batch{X: b.X, Lengths: b.Lengths, Steps: b.Steps})
		if len(got) != c.batch*cfg.Classes {
			t.Fatalf("%d×%d: %d logits", c.steps, c.batch, len(got))
		}
		if d, mx := maxDiff(got, want); d > 0.02*mx+0.01 {
			t.Errorf("%d×%d: logits differ by %.4f", c.steps, c.batch, d)
		}
	}
}

// TestMemoTokens checks that a model that remembers its tokens' input projections (MemoTokens)
// gives the bits of the same model that does not, in both directions, in batches of one and
// many, on one thread or two, on every instruction set, with its memory filling as it goes,
// holding only some tokens, or warmed up (WarmTokens).
func TestMemoTokens(t *testing.T) {
	rng := rand.New(rand.NewPCG(30, 31))
	cfg := lstm.Config{InputDim: 12, NumUnits: 16, NumLayers: 2, Classes: 3, Pooling: lstm.PoolMax, Bidirectional: true}
	m, err := lstm.New[float32](cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	scaled(m)
	const vocab, steps = 40, 30
	table, err := embed.New(vocab, cfg.InputDim, 0.5, rng)
	if err != nil {
		t.Fatal(err)
	}
	var batches []Batch
	for _, size := range []int{1, 5, 20} {
		seqs := make([][]int32, size)
		lengths := make([]int, size)
		for i := range seqs {
			for range 1 + rng.IntN(steps) {
				seqs[i] = append(seqs[i], int32(rng.IntN(vocab)))
			}
			lengths[i] = len(seqs[i])
		}
		batches = append(batches, Batch{Tokens: seqs, Lengths: lengths, Steps: steps})
	}
	forEachISA(func(isa string) {
		plain, err := New(m, table)
		if err != nil {
			t.Fatal(err)
		}
		var want [][]float32
		for _, b := range batches {
			want = append(want, slices.Clone(plain.Forward(plain.NewWorkspace(), b)))
		}
		for _, c := range []struct {
			name   string
			tokens int // remembered
			warm   bool
		}{{"filling", vocab, false}, {"some", 10, false}, {"warm", vocab, true}} {
			q, err := New(m, table)
			if err != nil {
				t.Fatal(err)
			}
			q.MemoTokens(c.tokens * 16 * cfg.NumUnits)
			if c.warm {
				if held := q.WarmTokens(); held != c.tokens {
					t.Errorf("%s, %s: WarmTokens holds %d tokens, want %d", isa, c.name, held, c.tokens)
				}
			}
			for _, threads := range []int{1, 2} {
				for round := range 2 {
					for i, b := range batches {
						ws := q.NewWorkspace()
						ws.Threads = threads
						if got := q.Forward(ws, b); !slices.Equal(got, want[i]) {
							t.Errorf("%s, %s, %d threads, round %d: batch of %d differs from the model that does not remember", isa, c.name, threads, round, len(b.Lengths))
						}
					}
				}
			}
			if held := q.Layers[0].memo.held(); held == 0 || held > c.tokens {
				t.Errorf("%s, %s: the memory holds %d tokens, want 1 to %d", isa, c.name, held, c.tokens)
			}
		}
	})
}
