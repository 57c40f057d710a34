package lstm

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/seqclf/seqclf/lstm/internal/pooling"
)

func TestParamCountIsTheSeedsFormula(t *testing.T) {
	// The seed's MNIST model: 28 inputs, 128 units, 10 classes.
	m, err := New[float32](Config{InputDim: 28, NumUnits: 128, NumLayers: 1, Classes: 10}, testRNG())
	if err != nil {
		t.Fatal(err)
	}
	lstmParams := 4*128*(128+28) + 4*128
	if got := m.Layers[0].NumParams(); got != lstmParams {
		t.Errorf("layer has %d parameters, want 4·128·(128+28)+4·128 = %d", got, lstmParams)
	}
	if got, want := m.NumParams(), lstmParams+128*10+10; got != want {
		t.Errorf("model has %d parameters, want %d", got, want)
	}
}

func TestInitialisation(t *testing.T) {
	const in, h = 5, 7
	m, err := New[float64](Config{InputDim: in, NumUnits: h, NumLayers: 2, Classes: 3}, testRNG())
	if err != nil {
		t.Fatal(err)
	}
	for li, l := range m.Layers {
		for j, b := range l.B.Value {
			want := 0.0
			if j >= h && j < 2*h {
				want = 1
			}
			if b != want {
				t.Errorf("layer %d bias[%d] = %g, want %g (forget gate 1, others 0)", li, j, b, want)
			}
		}
		// Each gate's recurrent block is orthogonal: its Gram matrix is the identity.
		d := l.InputDim
		for g := range 4 {
			at := func(r, c int) float64 { return l.W.Value[(d+r)*4*h+g*h+c] }
			for a := range h {
				for b := range h {
					var dot float64
					for r := range h {
						dot += at(r, a) * at(r, b)
					}
					want := 0.0
					if a == b {
						want = 1
					}
					if math.Abs(dot-want) > 1e-12 {
						t.Fatalf("layer %d gate %d: column %d · column %d = %g, want %g", li, g, a, b, dot, want)
					}
				}
			}
		}
		// Input weights lie within the Glorot limit of one gate's layer.
		limit := math.Sqrt(6 / float64(d+h))
		for i, w := range l.W.Value[:d*4*h] {
			if math.Abs(w) > limit {
				t.Fatalf("layer %d input weight %d = %g beyond ±%g", li, i, w, limit)
			}
		}
	}
	m2, _ := New[float64](Config{InputDim: in, NumUnits: h, NumLayers: 2, Classes: 3}, testRNG())
	for i, p := range m.Params() {
		if !slices.Equal(p.Value, m2.Params()[i].Value) {
			t.Errorf("%s differs between two models from the same seed", p.Name)
		}
	}
}

// TestPaddingIsIgnored runs each sample of a padded batch alone, unpadded, and wants the same
// logits and the same per-step outputs at its real steps; at padding steps the outputs repeat
// the last real one.
func TestPaddingIsIgnored(t *testing.T) {
	for _, pool := range []Pooling{PoolLast, PoolMean, PoolMax} {
		cfg := Config{InputDim: 3, NumUnits: 5, NumLayers: 2, Classes: 4, Pooling: pool}
		m, err := New[float64](cfg, testRNG())
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(9, 9))
		const steps = 6
		lengths := []int{6, 2, 4}
		batch := len(lengths)
		x := make([]float64, steps*batch*cfg.InputDim)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		ws := m.NewWorkspace()
		logits := slices.Clone(m.Forward(ws, Batch[float64]{X: x, Lengths: lengths, Steps: steps}))
		out := slices.Clone(ws.Outputs(1))
		if len(out) != steps*batch*cfg.NumUnits {
			t.Fatalf("Outputs has %d values, want [%d][%d][%d]", len(out), steps, batch, cfg.NumUnits)
		}
		for b, n := range lengths {
			var xb []float64
			for s := range n {
				i := (s*batch + b) * cfg.InputDim
				xb = append(xb, x[i:i+cfg.InputDim]...)
			}
			one := m.NewWorkspace()
			lb := m.Forward(one, Batch[float64]{X: xb, Lengths: []int{n}, Steps: n})
			for c := range cfg.Classes {
				if d := math.Abs(lb[c] - logits[b*cfg.Classes+c]); d > 1e-12 {
					t.Errorf("%v: sample %d logit %d: %g alone, %g in the batch", pool, b, c, lb[c], logits[b*cfg.Classes+c])
				}
			}
			alone := one.Outputs(1)
			h := cfg.NumUnits
			for s := range steps {
				got := out[(s*batch+b)*h : (s*batch+b+1)*h]
				want := alone[min(s, n-1)*h : (min(s, n-1)+1)*h]
				for j := range h {
					if math.Abs(got[j]-want[j]) > 1e-12 {
						t.Fatalf("%v: sample %d step %d unit %d: %g in the batch, want %g", pool, b, s, j, got[j], want[j])
					}
				}
			}
		}
	}
}

func TestLossIsStableForLargeLogits(t *testing.T) {
	m, err := New[float32](Config{InputDim: 1, NumUnits: 2, NumLayers: 1, Classes: 3}, testRNG())
	if err != nil {
		t.Fatal(err)
	}
	ws := m.NewWorkspace()
	m.Forward(ws, Batch[float32]{X: []float32{0, 0}, Lengths: []int{1, 1}, Steps: 1})
	copy(ws.logits, []float32{1000, 0, -1000, 50, 1050, 1000})
	loss, err := m.Loss(ws, []int{0, 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Sample 0: -log p = log(1+e^-1000+e^-2000) ≈ 0; sample 1: log(1+e^-1000+e^-50) ≈ e^-50.
	if math.IsNaN(loss) || math.Abs(loss) > 1e-6 {
		t.Errorf("loss = %g, want ≈ 0", loss)
	}
	if _, err := m.Loss(ws, []int{0, 3}, nil); err == nil || !strings.Contains(err.Error(), "label 3") {
		t.Errorf("label 3 of 3 classes: error %v, want one naming the label", err)
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{InputDim: 2, NumUnits: 3, NumLayers: 1, Classes: 2}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.InputDim = 0 }, "input dimension"},
		{func(c *Config) { c.NumUnits = -1 }, "num_units"},
		{func(c *Config) { c.NumLayers = 0 }, "num_layers"},
		{func(c *Config) { c.Classes = 1 }, "classes"},
		{func(c *Config) { c.Dropout = 1 }, "dropout"},
		{func(c *Config) { c.Dropout = math.NaN() }, "dropout"},
		{func(c *Config) { c.InputDropout = -0.1 }, "input dropout"},
		{func(c *Config) { c.WordDropout = 1 }, "word dropout"},
		{func(c *Config) { c.Pooling = 7 }, "pooling"},
	} {
		cfg := good
		c.mod(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one naming %s", cfg, err, c.want)
		}
		if _, err := New[float32](cfg, testRNG()); err == nil {
			t.Errorf("New accepted %+v", cfg)
		}
	}
	if p, err := ParsePooling("max"); err != nil || p != PoolMax {
		t.Errorf("ParsePooling(max) = %v, %v", p, err)
	}
	if _, err := ParsePooling("avg"); err == nil || !strings.Contains(err.Error(), "last, mean, max") {
		t.Errorf("ParsePooling(avg): error %v, want one listing the modes", err)
	}
}

// TestTrainStepAllocatesNothing checks that once a workspace has seen its batch shape, a whole
// training step, dropout, Adam and the hand-off of half the batch to another goroutine included,
// allocates nothing.
func TestTrainStepAllocatesNothing(t *testing.T) {
	rng := testRNG()
	m, err := New[float32](Config{InputDim: 4, NumUnits: 8, NumLayers: 2, Classes: 3, Dropout: 0.2, Pooling: PoolMax}, rng)
	if err != nil {
		t.Fatal(err)
	}
	const steps, batch = 10, 16
	x := make([]float32, steps*batch*4)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	lengths, labels := make([]int, batch), make([]int, batch)
	for b := range batch {
		lengths[b], labels[b] = 1+rng.IntN(steps), rng.IntN(3)
	}
	b := Batch[float32]{X: x, Lengths: lengths, Steps: steps, Labels: labels}
	ws, opt := m.NewWorkspace(), NewAdam[float32](0.001)
	ws.Threads = 2 // two parts of 8 samples, on the worker pool
	step := func() {
		if _, err := m.TrainStep(ws, b, opt, TrainOptions[float32]{ClipNorm: 1}, rng); err != nil {
			t.Fatal(err)
		}
	}
	step()
	if n := testing.AllocsPerRun(20, step); n != 0 {
		t.Errorf("a training step allocates %v times, want 0", n)
	}
}

// TestProbsAfterLoss checks that Probs gives the softmax that Loss made (not made again) and
// never the one of an earlier Forward.
func TestProbsAfterLoss(t *testing.T) {
	m, err := New[float32](Config{InputDim: 2, NumUnits: 3, NumLayers: 1, Classes: 3}, testRNG())
	if err != nil {
		t.Fatal(err)
	}
	ws := m.NewWorkspace()
	b := Batch[float32]{X: []float32{0.5, -1, 2, 0.25}, Lengths: []int{1, 1}, Steps: 1, Labels: []int{0, 2}}
	m.Forward(ws, b)
	alone := slices.Clone(m.Probs(ws))
	m.Forward(ws, b)
	if _, err := m.Loss(ws, b.Labels, nil); err != nil {
		t.Fatal(err)
	}
	if got := m.Probs(ws); !slices.Equal(got, alone) {
		t.Errorf("Probs after Loss %v, without %v", got, alone)
	}
	m.Forward(ws, Batch[float32]{X: []float32{3, 3, -3, -3}, Lengths: []int{1, 1}, Steps: 1})
	if slices.Equal(m.Probs(ws), alone) {
		t.Error("Probs after a new Forward gave the earlier batch's")
	}
}

// TestForwardTrainNeedsRNG checks that a training pass that would draw dropout masks from a nil
// source says so, and that one that draws none accepts nil (one layer: Dropout sits between
// layers, so there is none).
func TestForwardTrainNeedsRNG(t *testing.T) {
	b := Batch[float32]{X: []float32{1, 2}, Lengths: []int{1, 1}, Steps: 1}
	for _, c := range []struct {
		cfg   Config
		panic bool
	}{
		{Config{InputDim: 1, NumUnits: 2, NumLayers: 1, Classes: 2, InputDropout: 0.1}, true},
		{Config{InputDim: 1, NumUnits: 2, NumLayers: 2, Classes: 2, Dropout: 0.1}, true},
		{Config{InputDim: 1, NumUnits: 2, NumLayers: 1, Classes: 2, WordDropout: 0.1}, true},
		{Config{InputDim: 1, NumUnits: 2, NumLayers: 1, Classes: 2, Dropout: 0.1}, false},
		{Config{InputDim: 1, NumUnits: 2, NumLayers: 2, Classes: 2}, false},
	} {
		m, err := New[float32](c.cfg, testRNG())
		if err != nil {
			t.Fatal(err)
		}
		func() {
			defer func() {
				r := recover()
				if msg, _ := r.(string); (r != nil) != c.panic || r != nil && !strings.Contains(msg, "nil rng") {
					t.Errorf("%+v: ForwardTrain with a nil rng panicked with %v, want a panic: %v", c.cfg, r, c.panic)
				}
			}()
			m.ForwardTrain(m.NewWorkspace(), b, nil)
		}()
	}
}

// TestWordDropoutDropsWholeSteps checks that word dropout zeroes a step's inputs all together,
// scales the kept ones by 1/(1-p), drops about p of the steps, and leaves Forward alone.
func TestWordDropoutDropsWholeSteps(t *testing.T) {
	const dim, steps, batch, p = 5, 40, 50, 0.3
	m, err := New[float64](Config{InputDim: dim, NumUnits: 2, NumLayers: 1, Classes: 2, WordDropout: p}, testRNG())
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, steps*batch*dim)
	for i := range x {
		x[i] = 1 + float64(i%7)
	}
	lengths := make([]int, batch)
	for i := range lengths {
		lengths[i] = steps
	}
	ws := m.NewWorkspace()
	m.ForwardTrain(ws, Batch[float64]{X: x, Lengths: lengths, Steps: steps}, rand.New(rand.NewPCG(3, 4)))
	in := ws.in[0]
	dropped := 0
	for r := range steps * batch {
		row, orig := in[r*dim:(r+1)*dim], x[r*dim:(r+1)*dim]
		zero := row[0] == 0
		if zero {
			dropped++
		}
		for i, v := range row {
			want := orig[i] / (1 - p)
			if zero {
				want = 0
			}
			if math.Abs(v-want) > 1e-12 {
				t.Fatalf("step row %d value %d is %v, want %v (a row is dropped whole or kept scaled)", r, i, v, want)
			}
		}
	}
	if frac := float64(dropped) / (steps * batch); math.Abs(frac-p) > 0.05 {
		t.Errorf("dropped %.3f of the steps, want about %v", frac, p)
	}
	m.Forward(ws, Batch[float64]{X: x, Lengths: lengths, Steps: steps})
	if &ws.in[0][0] != &x[0] {
		t.Error("Forward read dropped inputs: inference must use x as given")
	}
}

// TestSmoothedLossMatchesTorch checks SmoothedLoss's value and gradient against PyTorch 1.13's
// F.cross_entropy(z, y, weight=w, label_smoothing=0.1) on fixed logits, without and with
// class weights (the numbers were printed by torch in float64).
func TestSmoothedLossMatchesTorch(t *testing.T) {
	z := []float64{0.5, -1.2, 2.0, 0.1, 1.5, 0.3, -0.7, -2.2, -0.4, 0.9, 0.0, 1.1}
	labels := []int{2, 0, 3}
	for _, c := range []struct {
		weights []float64
		loss    float64
		grad    []float64
	}{
		{nil, 0.6619297481711175, []float64{0.044286951857156046, 0.0012795258019251878, -0.07250557631704517, 0.026939098657963977,
			-0.0763235295582548, 0.0615466766706061, 0.017374085695970706, -0.0025972328083219308,
			0.022986714632416784, 0.10658921429706843, 0.038390687753281916, -0.1679666166827671}},
		{[]float64{0.5, 2, 1, 3}, 0.8522996816310227, []float64{0.034494924232152196, -0.00430200255696966, -0.03851089433568479, 0.00831797266050226,
			-0.008040441236287397, 0.017423226307164152, 0.004941640548076925, -0.014324425618953678,
			0.05699131375686204, 0.2081994172835723, 0.0836094513514019, -0.3488001823918362}},
	} {
		m, err := New[float64](Config{InputDim: 1, NumUnits: 1, NumLayers: 1, Classes: 4}, testRNG())
		if err != nil {
			t.Fatal(err)
		}
		ws := m.NewWorkspace()
		ws.lengths, ws.logits = []int{1, 1, 1}, z
		loss, err := m.SmoothedLoss(ws, labels, c.weights, 0.1)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(loss-c.loss) > 1e-12 {
			t.Errorf("weights %v: loss %v, torch %v", c.weights, loss, c.loss)
		}
		for i, g := range ws.dlogits {
			if math.Abs(g-c.grad[i]) > 1e-12 {
				t.Errorf("weights %v: dlogits[%d] = %v, torch %v", c.weights, i, g, c.grad[i])
			}
		}
	}
}

// TestKeepBelowIsFloat64 checks that the integer test of the dropout masks decides as
// rng.Float64() < keep does on the same draws, for rates near 0 and 1 and in between.
func TestKeepBelowIsFloat64(t *testing.T) {
	for _, keep := range []float64{0.5, 0.8, 0.6, 1 - 0.3, 1 - 0.15, 0.999, 1e-9, 0.1 + 0.2} {
		a, b := rand.New(rand.NewPCG(5, 6)), rand.New(rand.NewPCG(5, 6))
		thr := keepBelow(keep)
		for i := range 200000 {
			if got, want := a.Uint64()&(1<<53-1) < thr, b.Float64() < keep; got != want {
				t.Fatalf("keep %v, draw %d: integer test %v, Float64 %v", keep, i, got, want)
			}
		}
		// At the boundary itself: the largest 53-bit draw below keep·2⁵³ is kept, the next not.
		x := uint64(math.Ceil(keep*(1<<53))) - 1
		if float64(x)/(1<<53) >= keep || float64(x+1)/(1<<53) < keep {
			t.Errorf("keep %v: threshold %d is not the boundary of Float64 < keep", keep, thr)
		}
	}
}

// TestPoolingKinds checks that package pooling numbers its kinds as Pooling does: pool passes
// one for the other.
func TestPoolingKinds(t *testing.T) {
	for p, k := range map[Pooling]pooling.Kind{PoolLast: pooling.Last, PoolMean: pooling.Mean, PoolMax: pooling.Max, PoolAttention: pooling.Attention} {
		if pooling.Kind(p) != k {
			t.Errorf("%v is pooling kind %d, want %d", p, pooling.Kind(p), k)
		}
	}
}
