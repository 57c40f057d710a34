package lstm

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// orderTask makes batches of the task "does token A come before token B?": sequences of one-hot
// tokens from a vocabulary of vocab, of random lengths in [4, steps], each holding A (id 0) and B
// (id 1) once at random places, padded to steps. The answer needs memory across steps.
type orderTask struct {
	vocab, steps int
	rng          *rand.Rand
}

func (o orderTask) batch(n int) Batch[float32] {
	x := make([]float32, o.steps*n*o.vocab)
	var lengths, labels []int
	for b := range n {
		length := 4 + o.rng.IntN(o.steps-3)
		ids := make([]int, length)
		for i := range ids {
			ids[i] = 2 + o.rng.IntN(o.vocab-2)
		}
		pa := o.rng.IntN(length)
		pb := o.rng.IntN(length - 1)
		if pb >= pa {
			pb++
		}
		ids[pa], ids[pb] = 0, 1
		for t, id := range ids {
			x[(t*n+b)*o.vocab+id] = 1
		}
		// Padding steps hold noise that the model must ignore.
		for t := length; t < o.steps; t++ {
			x[(t*n+b)*o.vocab+o.rng.IntN(o.vocab)] = 1
		}
		lengths = append(lengths, length)
		label := 0
		if pa < pb {
			label = 1
		}
		labels = append(labels, label)
	}
	return Batch[float32]{X: x, Lengths: lengths, Steps: o.steps, Labels: labels}
}

func trainOrderTask(t *testing.T, seed uint64, steps int) (*Model[float32], orderTask) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed))
	task := orderTask{vocab: 8, steps: 12, rng: rng}
	m, err := New[float32](Config{InputDim: task.vocab, NumUnits: 24, NumLayers: 1, Classes: 2}, rng)
	if err != nil {
		t.Fatal(err)
	}
	ws := m.NewWorkspace()
	opt := NewAdam[float32](0.01)
	for range steps {
		if _, err := m.TrainStep(ws, task.batch(32), opt, TrainOptions[float32]{ClipNorm: 5}, rng); err != nil {
			t.Fatal(err)
		}
	}
	return m, task
}

// TestLearnsOrder trains on the A-before-B task and checks accuracy on fresh samples.
func TestLearnsOrder(t *testing.T) {
	m, task := trainOrderTask(t, 1, 600)
	ws := m.NewWorkspace()
	test := task.batch(2000)
	m.Forward(ws, test)
	probs := m.Probs(ws)
	correct := 0
	for b, y := range test.Labels {
		pred := 0
		if probs[2*b+1] > probs[2*b] {
			pred = 1
		}
		if pred == y {
			correct++
		}
	}
	acc := float64(correct) / float64(len(test.Labels))
	t.Logf("accuracy on %d fresh samples: %.4f", len(test.Labels), acc)
	if acc < 0.95 {
		t.Errorf("accuracy %.4f, want > 0.95", acc)
	}
}

// TestDeterminism trains twice from one seed, with dropout between two layers, and wants
// bit-identical weights; a third run from another seed must differ.
func TestDeterminism(t *testing.T) {
	run := func(seed uint64) [][]float32 {
		rng := rand.New(rand.NewPCG(seed, 0))
		task := orderTask{vocab: 6, steps: 8, rng: rng}
		m, err := New[float32](Config{InputDim: 6, NumUnits: 8, NumLayers: 2, Classes: 2, Dropout: 0.25, Pooling: PoolMean}, rng)
		if err != nil {
			t.Fatal(err)
		}
		ws := m.NewWorkspace()
		opt := NewAdamW[float32](0.01)
		for range 20 {
			if _, err := m.TrainStep(ws, task.batch(16), opt, TrainOptions[float32]{ClipNorm: 1}, rng); err != nil {
				t.Fatal(err)
			}
		}
		var w [][]float32
		for _, p := range m.Params() {
			w = append(w, slices.Clone(p.Value))
		}
		return w
	}
	a, b, c := run(3), run(3), run(4)
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			t.Errorf("param %d differs between two runs with seed 3", i)
		}
	}
	if slices.EqualFunc(a, c, slices.Equal) {
		t.Error("seeds 3 and 4 gave the same weights")
	}
}
