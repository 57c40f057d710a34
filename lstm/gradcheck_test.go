package lstm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// gradCase is a small float64 model and a padded batch of uneven lengths.
type gradCase struct {
	cfg          Config
	steps        int
	lengths      []int
	labels       []int
	classWeights []float64
}

func (gc gradCase) name() string {
	return fmt.Sprintf("%v/bi=%v/layers=%d/pool=%v/dropout=%v,%v,%v/weighted=%v", gc.cfg.Cell, gc.cfg.Bidirectional, gc.cfg.NumLayers, gc.cfg.Pooling, gc.cfg.InputDropout, gc.cfg.Dropout, gc.cfg.WordDropout, gc.classWeights != nil)
}

// TestGradientCheck compares every analytical gradient, of every parameter and of the inputs,
// with a central finite difference of the loss.
func TestGradientCheck(t *testing.T) {
	var cases []gradCase
	for _, cell := range []Cell{CellLSTM, CellGRU} {
		for _, bi := range []bool{false, true} {
			for _, layers := range []int{1, 2} {
				for _, pool := range []Pooling{PoolLast, PoolMean, PoolMax, PoolAttention} {
					cases = append(cases, gradCase{
						cfg:     Config{InputDim: 3, NumUnits: 4, NumLayers: layers, Classes: 3, Pooling: pool, Cell: cell, Bidirectional: bi},
						steps:   5,
						lengths: []int{5, 2, 4, 1, 0},
						labels:  []int{0, 2, 1, 2, 1},
					})
				}
			}
		}
	}
	cases = append(cases,
		gradCase{
			cfg:     Config{InputDim: 3, NumUnits: 4, NumLayers: 2, Classes: 3, Pooling: PoolLast, Dropout: 0.3, InputDropout: 0.2},
			steps:   5,
			lengths: []int{3, 5, 1},
			labels:  []int{1, 0, 2},
		},
		gradCase{
			cfg:     Config{InputDim: 3, NumUnits: 4, NumLayers: 2, Classes: 3, Pooling: PoolAttention, Dropout: 0.3, InputDropout: 0.2, Cell: CellGRU, Bidirectional: true},
			steps:   5,
			lengths: []int{3, 5, 1},
			labels:  []int{1, 0, 2},
		},
		gradCase{
			cfg:     Config{InputDim: 3, NumUnits: 4, NumLayers: 1, Classes: 3, Pooling: PoolMax, InputDropout: 0.2, WordDropout: 0.4, Bidirectional: true},
			steps:   5,
			lengths: []int{3, 5, 1},
			labels:  []int{1, 0, 2},
		},
		gradCase{
			cfg:          Config{InputDim: 2, NumUnits: 3, NumLayers: 1, Classes: 2, Pooling: PoolMean},
			steps:        4,
			lengths:      []int{4, 3, 2},
			labels:       []int{1, 0, 1},
			classWeights: []float64{0.3, 2},
		})
	for _, gc := range cases {
		t.Run(gc.name(), func(t *testing.T) { checkGradients(t, gc) })
	}
}

func checkGradients(t *testing.T, gc gradCase) {
	rng := rand.New(rand.NewPCG(1, 2))
	m, err := New[float64](gc.cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	// Random biases too, so that no gradient is special because a bias starts at 0 or 1.
	for _, p := range m.Params() {
		for i := range p.Value {
			p.Value[i] += 0.5 * rng.NormFloat64()
		}
	}
	// A GRU's zero blocks are not weights: they stay zero, and so do their gradients.
	structural := map[string][]bool{}
	for _, l := range append(append([]*Layer[float64]{}, m.Layers...), m.Reverse...) {
		if l.Cell != CellGRU {
			continue
		}
		l.clearZeroBlocks(l.W.Value)
		mask := make([]float64, len(l.W.Value))
		for i := range mask {
			mask[i] = 1
		}
		l.clearZeroBlocks(mask)
		zero := make([]bool, len(mask))
		for i, v := range mask {
			zero[i] = v == 0
		}
		structural[l.W.Name] = zero
	}
	batch := len(gc.lengths)
	x := make([]float64, gc.steps*batch*gc.cfg.InputDim)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	ws := m.NewWorkspace()
	bt := Batch[float64]{X: x, Lengths: gc.lengths, Steps: gc.steps, Labels: gc.labels}
	// Dropout redraws its masks from rng at every ForwardTrain; a fresh source with one seed
	// gives every evaluation the same masks.
	loss := func() float64 {
		m.ForwardTrain(ws, bt, rand.New(rand.NewPCG(7, 7)))
		l, err := m.Loss(ws, bt.Labels, gc.classWeights)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	ZeroGrad(m.Params())
	loss()
	m.Backward(ws)
	dx := append([]float64(nil), ws.InputGrad()...)

	const h, tol = 1e-6, 1e-3
	check := func(name string, v []float64, grad []float64) {
		worst := 0.0
		for i := range v {
			if zero := structural[name]; zero != nil && zero[i] {
				if grad[i] != 0 {
					t.Errorf("%s[%d]: gradient %g in a GRU's zero block, want 0", name, i, grad[i])
				}
				continue
			}
			old := v[i]
			v[i] = old + h
			lp := loss()
			v[i] = old - h
			lm := loss()
			v[i] = old
			num := (lp - lm) / (2 * h)
			rel := math.Abs(num-grad[i]) / math.Max(math.Max(math.Abs(num), math.Abs(grad[i])), 1e-6)
			worst = math.Max(worst, rel)
			if rel > tol {
				t.Errorf("%s[%d]: analytical %.8g, numerical %.8g, relative error %.2g", name, i, grad[i], num, rel)
			}
		}
		t.Logf("%s: worst relative error %.2g over %d values", name, worst, len(v))
	}
	for _, p := range m.Params() {
		check(p.Name, p.Value, p.Grad)
	}
	check("x", x, dx)

	// The inputs at padding steps cannot change the loss: their gradient is exactly zero.
	d := gc.cfg.InputDim
	for b, n := range gc.lengths {
		for s := n; s < gc.steps; s++ {
			for j := range d {
				if g := dx[(s*batch+b)*d+j]; g != 0 {
					t.Errorf("sample %d, padding step %d: input gradient %g, want 0", b, s, g)
				}
			}
		}
	}
}
