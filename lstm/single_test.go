package lstm

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/seqclf/seqclf/lstm/internal/kernel"
)

// oneResult is what a batch-1 pass leaves that anything reads: the logits, every layer's
// outputs, and, after a backward pass, the gradients.
type oneResult struct {
	logits []float32
	outs   [][]float32
	grads  [][]float32
	dx     []float32
}

func runOne(t *testing.T, m *Model[float32], ws *Workspace[float32], b Batch[float32], backward bool) oneResult {
	t.Helper()
	var r oneResult
	r.logits = slices.Clone(m.Forward(ws, b))
	for l := range m.Config.NumLayers {
		r.outs = append(r.outs, slices.Clone(ws.Outputs(l)))
	}
	if backward {
		ZeroGrad(m.Params())
		if _, err := m.Loss(ws, b.Labels, nil); err != nil {
			t.Fatal(err)
		}
		m.Backward(ws)
		for _, p := range m.Params() {
			r.grads = append(r.grads, slices.Clone(p.Grad))
		}
		r.dx = slices.Clone(ws.InputGrad())
	}
	return r
}

func (r oneResult) equal(o oneResult) bool {
	eq := func(a, b [][]float32) bool { return slices.EqualFunc(a, b, slices.Equal) }
	return slices.Equal(r.logits, o.logits) && eq(r.outs, o.outs) && eq(r.grads, o.grads) && slices.Equal(r.dx, o.dx)
}

// oneSample returns a batch of one random sample of the given steps.
func oneSample(rng *rand.Rand, steps, inputDim, classes int) Batch[float32] {
	x := make([]float32, steps*inputDim)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return Batch[float32]{X: x, Lengths: []int{steps}, Steps: steps, Labels: []int{rng.IntN(classes)}}
}

// TestOneSampleSameBits checks that a sample run alone through forwardOne (its units cut in two
// halves, on one goroutine or two) gives the same bits as the pass without it: logits, outputs,
// and the gradients of a backward pass after it.
func TestOneSampleSameBits(t *testing.T) {
	defer func() { oneOff = false }()
	isa, _ := kernel.ISA()
	hasAsm := isa != "go" // forwardOne runs on the assembly kernels only
	for _, cfg := range []Config{
		{InputDim: 100, NumUnits: 128, NumLayers: 1, Classes: 2, Pooling: PoolMax},
		{InputDim: 28, NumUnits: 128, NumLayers: 1, Classes: 10, Pooling: PoolLast},
		{InputDim: 5, NumUnits: 64, NumLayers: 2, Classes: 3, Pooling: PoolAttention, Bidirectional: true},
	} {
		rng := rand.New(rand.NewPCG(8, 9))
		m, err := New[float32](cfg, rng)
		if err != nil {
			t.Fatal(err)
		}
		for _, steps := range []int{oneMinSteps, 37, 130} {
			b := oneSample(rng, steps, cfg.InputDim, cfg.Classes)
			for _, backward := range []bool{false, true} {
				oneOff = true
				ws := m.NewWorkspace()
				ws.Threads, ws.ForwardOnly = 1, !backward
				want := runOne(t, m, ws, b, backward)
				if ws.passes[0].one != nil {
					t.Fatalf("H=%d, %d steps: forwardOne ran while off", cfg.NumUnits, steps)
				}
				oneOff = false
				for _, threads := range []int{1, 2} {
					ws := m.NewWorkspace()
					ws.Threads, ws.ForwardOnly = threads, !backward
					for round := range 3 { // the buffers reused
						got := runOne(t, m, ws, b, backward)
						if ran := ws.passes[0].one != nil; ran != hasAsm {
							t.Fatalf("H=%d, %d steps: forwardOne ran: %v, want %v (assembly kernels: %v)", cfg.NumUnits, steps, ran, hasAsm, hasAsm)
						}
						if !got.equal(want) {
							t.Errorf("H=%d, %d steps, %d threads, backward %v, round %d: differs from the pass without forwardOne",
								cfg.NumUnits, steps, threads, backward, round)
						}
					}
				}
			}
		}
	}
}

// TestOneSampleConcurrent runs batch-1 passes from several goroutines at once, as a server's
// requests do (one of them has the helper at a time, the others run alone): every answer must
// be the one of the pass run by itself.
func TestOneSampleConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	cfg := Config{InputDim: 20, NumUnits: 64, NumLayers: 1, Classes: 2, Pooling: PoolMean}
	m, err := New[float32](cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	var batches []Batch[float32]
	var want [][]float32
	for i := range 6 {
		b := oneSample(rng, oneHelperSteps+7*i, cfg.InputDim, cfg.Classes)
		batches = append(batches, b)
		want = append(want, slices.Clone(m.Forward(m.NewWorkspace(), b)))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ws := m.NewWorkspace()
			ws.ForwardOnly = true
			for i := range 30 {
				k := (g + i) % len(batches)
				if got := m.Forward(ws, batches[k]); !slices.Equal(got, want[k]) {
					errs <- fmt.Errorf("goroutine %d, pass %d: sample %d gives %v, want %v", g, i, k, got, want[k])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkOneSample times a forward pass of one sample of the benchmark models' shapes (text:
// 256 steps of 100 inputs, drawn from 2,000 rows as tokens are; MNIST rows: 28 of 28; 128
// units), without forwardOne ("off") and with it on one thread or two, on two once the model is
// frozen, and then for text remembering its input rows (MemoInputs, "memo": the memory warm
// after the first passes); "helped/op" is the share of half 1s the helper ran.
func BenchmarkOneSample(b *testing.B) {
	defer func() { oneOff = false }()
	for _, s := range []struct {
		name         string
		steps, input int
	}{{"text", 256, 100}, {"mnist", 28, 28}} {
		rng := rand.New(rand.NewPCG(1, 2))
		m, err := New[float32](Config{InputDim: s.input, NumUnits: 128, NumLayers: 1, Classes: 2, Pooling: PoolMax}, rng)
		if err != nil {
			b.Fatal(err)
		}
		batch := oneSample(rng, s.steps, s.input, 2)
		if s.name == "text" {
			vocab := oneSample(rng, 2000, s.input, 2).X
			for t := range s.steps {
				copy(batch.X[t*s.input:(t+1)*s.input], vocab[rng.IntN(2000)*s.input:])
			}
		}
		for _, v := range []struct {
			name         string
			off          bool
			threads      int
			frozen, memo bool
		}{{"off", true, 2, false, false}, {"1thread", false, 1, false, false}, {"2threads", false, 2, false, false},
			{"frozen", false, 2, true, false}, {"memo", false, 2, true, true}} {
			if v.memo && s.name != "text" {
				continue
			}
			b.Run(s.name+"/"+v.name, func(b *testing.B) {
				oneOff = v.off
				if v.frozen {
					m.Freeze()
				}
				if v.memo {
					m.MemoInputs(32 << 20)
				}
				ws := m.NewWorkspace()
				ws.Threads, ws.ForwardOnly = v.threads, true
				helped := 0
				for b.Loop() {
					m.Forward(ws, batch)
					if o := ws.passes[0].one; o != nil {
						helped += o.helped
					}
				}
				b.ReportMetric(float64(helped)/float64(b.N*s.steps), "helped/op")
			})
		}
	}
}

// TestOneBlock checks that oneRun.block gives each step the block whose range holds it.
func TestOneBlock(t *testing.T) {
	for steps := oneMinSteps; steps < 300; steps++ {
		o := &oneRun[float32]{steps: steps, blocks: oneBlocks(steps)}
		for s := range steps {
			j := o.block(s)
			if lo, hi := j*steps/o.blocks, (j+1)*steps/o.blocks; s < lo || s >= hi || j >= o.blocks {
				t.Fatalf("%d steps, step %d: block %d of %d holds [%d, %d)", steps, s, j, o.blocks, lo, hi)
			}
		}
	}
}

// TestAvoidHelper checks the wait after stalls: oneAvoidMin at the first, doubled at each
// next, at most oneAvoidMax.
func TestAvoidHelper(t *testing.T) {
	saved, savedUntil := oneAvoid.Load(), oneAvoidUntil.Load()
	defer func() { oneAvoid.Store(saved); oneAvoidUntil.Store(savedUntil) }()
	oneAvoid.Store(0)
	now := time.Unix(1000, 0)
	want := oneAvoidMin
	for range 12 {
		avoidHelper(now)
		if got := time.Duration(oneAvoidUntil.Load() - now.UnixNano()); got != want {
			t.Fatalf("wait %v, want %v", got, want)
		}
		want = min(2*want, oneAvoidMax)
	}
}

// TestOneSampleHelperRuns checks that the helper takes part: over passes of 1024 steps with two
// threads, it runs some half steps (the other tests would pass with the caller doing all).
func TestOneSampleHelperRuns(t *testing.T) {
	if isa, _ := kernel.ISA(); isa == "go" || runtime.GOMAXPROCS(0) < 2 {
		t.Skip("no helper: pure-Go kernels or one thread")
	}
	rng := rand.New(rand.NewPCG(12, 13))
	cfg := Config{InputDim: 16, NumUnits: 64, NumLayers: 1, Classes: 2, Pooling: PoolLast}
	m, err := New[float32](cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	b := oneSample(rng, 1024, cfg.InputDim, cfg.Classes)
	ws := m.NewWorkspace()
	ws.Threads, ws.ForwardOnly = 2, true
	helped := 0
	for pass := 0; pass < 50 && helped == 0; pass++ {
		oneAvoidUntil.Store(0) // a stall of an earlier pass (a busy machine) may not hold it out
		m.Forward(ws, b)
		helped += ws.passes[0].one.helped
	}
	if helped == 0 {
		t.Error("the helper ran no half step in 50 passes of 1024 steps")
	}
}

// TestFreeze checks that a frozen model answers one sample with the bits of the same model
// unfrozen, pass after pass and from several goroutines at once (its panels made once, then
// shared), and that training it panics.
func TestFreeze(t *testing.T) {
	defer func() { oneOff = false }()
	for _, cfg := range []Config{
		{InputDim: 28, NumUnits: 128, NumLayers: 1, Classes: 10, Pooling: PoolLast},
		{InputDim: 5, NumUnits: 64, NumLayers: 2, Classes: 3, Pooling: PoolMax, Bidirectional: true},
	} {
		rng := rand.New(rand.NewPCG(14, 15))
		m, err := New[float32](cfg, rng)
		if err != nil {
			t.Fatal(err)
		}
		samples := []Batch[float32]{oneSample(rng, 30, cfg.InputDim, cfg.Classes), oneSample(rng, 90, cfg.InputDim, cfg.Classes)}
		oneOff = true
		var want []oneResult
		for _, b := range samples {
			ws := m.NewWorkspace()
			ws.Threads, ws.ForwardOnly = 2, true
			want = append(want, runOne(t, m, ws, b, false))
		}
		oneOff = false
		m.Freeze()
		if !m.Frozen() {
			t.Fatal("Frozen is false after Freeze")
		}
		sameFromGoroutines(t, m, samples, want, 6, fmt.Sprintf("H=%d", cfg.NumUnits))
		func() {
			defer func() {
				if r := recover(); r != errFrozen {
					t.Errorf("TrainStep on a frozen model: recovered %v, want the panic %q", r, errFrozen)
				}
			}()
			ws := m.NewWorkspace()
			m.TrainStep(ws, samples[0], NewAdam[float32](0.01), TrainOptions[float32]{}, rng)
		}()
	}
}

// TestMemoInputs checks that a frozen model that remembers its input projections
// (MemoInputs) answers samples drawn from a few rows with the bits of the same model unfrozen,
// from several goroutines at once, whether its memory holds every row (warmed up by MemoRows)
// or fills up, and that it holds rows afterwards.
func TestMemoInputs(t *testing.T) {
	defer func() { oneOff = false }()
	for _, cfg := range []Config{
		{InputDim: 100, NumUnits: 128, NumLayers: 1, Classes: 2, Pooling: PoolMax},
		{InputDim: 5, NumUnits: 64, NumLayers: 2, Classes: 3, Pooling: PoolMean, Bidirectional: true},
	} {
		rng := rand.New(rand.NewPCG(16, 17))
		vocab := oneSample(rng, 12, cfg.InputDim, 1).X // 12 rows
		var samples []Batch[float32]
		for _, steps := range []int{oneMinSteps, 30, 90, 300} {
			b := Batch[float32]{X: make([]float32, steps*cfg.InputDim), Lengths: []int{steps}, Steps: steps, Labels: []int{0}}
			for s := range steps {
				copy(b.X[s*cfg.InputDim:(s+1)*cfg.InputDim], vocab[rng.IntN(12)*cfg.InputDim:])
			}
			samples = append(samples, b)
		}
		for _, rows := range []int{5, 100} { // fills up; holds every row
			m, err := New[float32](cfg, rand.New(rand.NewPCG(18, 19)))
			if err != nil {
				t.Fatal(err)
			}
			oneOff = true
			var want []oneResult
			for _, b := range samples {
				ws := m.NewWorkspace()
				ws.ForwardOnly = true
				want = append(want, runOne(t, m, ws, b, false))
			}
			oneOff = false
			m.Freeze()
			m.MemoInputs(rows * (cfg.InputDim + 4*cfg.NumUnits) * 4)
			isa, _ := kernel.ISA()
			wantHeld := min(rows, 12)
			if isa == "go" {
				wantHeld = 0 // forwardOne, which alone remembers, runs on the assembly kernels only
			}
			if rows > 12 {
				// Warmed up with the rows, then the same answers.
				if held := m.MemoRows(vocab); held != wantHeld {
					t.Errorf("H=%d: MemoRows of 12 rows holds %d, want %d", cfg.NumUnits, held, wantHeld)
				}
			}
			sameFromGoroutines(t, m, samples, want, 8, fmt.Sprintf("H=%d, memory of %d rows", cfg.NumUnits, rows))
			if held := m.MemoHeld(); held != wantHeld {
				t.Errorf("H=%d, memory of %d rows: holds %d rows, want %d", cfg.NumUnits, rows, held, wantHeld)
			}
		}
	}
	m, err := New[float32](Config{InputDim: 3, NumUnits: 64, NumLayers: 1, Classes: 2, Pooling: PoolLast}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r != errNotFrozen {
			t.Errorf("MemoInputs on a model not frozen: recovered %v, want the panic %q", r, errNotFrozen)
		}
	}()
	m.MemoInputs(1 << 20)
}

// TestMemoBatch checks that a frozen one-layer model that remembers its input projections
// answers each sample of a batch of any size from 2, on one thread or two, with the bits of the
// same model unfrozen answering it in a batch of two (whose passes make the projection first),
// where a model that does not remember sums in another order from five samples on.
func TestMemoBatch(t *testing.T) {
	for _, cfg := range []Config{
		{InputDim: 100, NumUnits: 128, NumLayers: 1, Classes: 2, Pooling: PoolMax},
		{InputDim: 5, NumUnits: 64, NumLayers: 1, Classes: 3, Pooling: PoolLast, Bidirectional: true},
	} {
		rng := rand.New(rand.NewPCG(20, 21))
		vocab := oneSample(rng, 12, cfg.InputDim, 1).X
		m, err := New[float32](cfg, rand.New(rand.NewPCG(22, 23)))
		if err != nil {
			t.Fatal(err)
		}
		var samples [][]float32 // each sample's steps, InputDim values each
		var want [][]float32
		for i := range 20 {
			steps := 1 + (i*37)%60
			x := make([]float32, steps*cfg.InputDim)
			for s := range steps {
				copy(x[s*cfg.InputDim:(s+1)*cfg.InputDim], vocab[rng.IntN(12)*cfg.InputDim:])
			}
			samples = append(samples, x)
			ws := m.NewWorkspace()
			ws.ForwardOnly = true
			want = append(want, slices.Clone(m.Forward(ws, timeMajor([][]float32{x, x}, cfg.InputDim))[:cfg.Classes]))
		}
		m.Freeze()
		m.MemoInputs(1 << 20)
		if isa, _ := kernel.ISA(); isa == "go" {
			// Without assembly kernels nothing is remembered, and batches of five or more sum
			// in one chain.
			m.Forward(m.NewWorkspace(), timeMajor(samples[:5], cfg.InputDim))
			if held := m.MemoHeld(); held != 0 {
				t.Errorf("H=%d: the memory holds %d rows without assembly kernels", cfg.NumUnits, held)
			}
			continue
		}
		for _, size := range []int{2, 5, 20} {
			for _, threads := range []int{1, 2} {
				for lo := 0; lo+size <= len(samples); lo += size {
					b := timeMajor(samples[lo:lo+size], cfg.InputDim)
					ws := m.NewWorkspace()
					ws.Threads, ws.ForwardOnly = threads, true
					got := m.Forward(ws, b)
					for i := range size {
						if g := got[i*cfg.Classes : (i+1)*cfg.Classes]; !slices.Equal(g, want[lo+i]) {
							t.Errorf("H=%d, batch of %d, %d threads: sample %d gives %v, want %v", cfg.NumUnits, size, threads, lo+i, g, want[lo+i])
						}
					}
				}
			}
		}
	}
}

// timeMajor returns a batch of the samples (each steps×dim values), padded with zeros to the
// longest, time-major.
func timeMajor(samples [][]float32, dim int) Batch[float32] {
	steps := 0
	lengths := make([]int, len(samples))
	for i, s := range samples {
		lengths[i] = len(s) / dim
		steps = max(steps, lengths[i])
	}
	x := make([]float32, steps*len(samples)*dim)
	for i, s := range samples {
		for t := range lengths[i] {
			copy(x[(t*len(samples)+i)*dim:], s[t*dim:(t+1)*dim])
		}
	}
	return Batch[float32]{X: x, Lengths: lengths, Steps: steps}
}

// sameFromGoroutines runs samples through m from 4 goroutines at once, rounds passes each
// (goroutine g's pass r takes sample (g+r) mod len(samples)), and reports under name each pass
// whose result is not want's.
func sameFromGoroutines(t *testing.T, m *Model[float32], samples []Batch[float32], want []oneResult, rounds int, name string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := range 4 {
		wg.Go(func() {
			ws := m.NewWorkspace()
			ws.Threads, ws.ForwardOnly = 2, true
			for round := range rounds {
				i := (g + round) % len(samples)
				if got := runOne(t, m, ws, samples[i], false); !got.equal(want[i]) {
					errs <- fmt.Sprintf("%s, goroutine %d, round %d, sample %d: differs from the unfrozen model", name, g, round, i)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
