package lstm_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/seqclf/seqclf/lstm"
)

// The seed's MNIST model: 28 rows of 28 pixels as 28 time steps, 128 units, 10 classes.
func Example() {
	rng := rand.New(rand.NewPCG(42, 0))
	m, err := lstm.New[float32](lstm.Config{InputDim: 28, NumUnits: 128, NumLayers: 1, Classes: 10}, rng)
	if err != nil {
		panic(err)
	}
	fmt.Println("LSTM layer:", m.Layers[0].NumParams(), "= 4·128·(128+28) + 4·128")
	fmt.Println("whole model:", m.NumParams())

	// One batch of two images, time-major: [28 steps][2 images][28 pixels].
	const steps, batch = 28, 2
	x := make([]float32, steps*batch*28)
	for i := range x {
		x[i] = rng.Float32()
	}
	ws := m.NewWorkspace()
	m.Forward(ws, lstm.Batch[float32]{X: x, Lengths: []int{steps, steps}, Steps: steps})
	probs := m.Probs(ws)
	fmt.Println("probabilities per image:", len(probs)/batch)
	fmt.Println("per-step outputs [time_step][batch_size][num_units]:", len(ws.Outputs(0)) == steps*batch*128)
	// Output:
	// LSTM layer: 80384 = 4·128·(128+28) + 4·128
	// whole model: 81674
	// probabilities per image: 10
	// per-step outputs [time_step][batch_size][num_units]: true
}

// Training on padded batches of sequences of different lengths, with dropout on the inputs, then
// inference: is the mean of a sequence's values above zero?
func ExampleModel_TrainStep() {
	rng := rand.New(rand.NewPCG(1, 0))
	cfg := lstm.Config{InputDim: 1, NumUnits: 8, NumLayers: 1, Classes: 2, Pooling: lstm.PoolMean, InputDropout: 0.1}
	m, err := lstm.New[float32](cfg, rng)
	if err != nil {
		panic(err)
	}
	// batch returns n sequences of 1 to 6 steps, padded with zeros to 6, time-major.
	batch := func(n int) lstm.Batch[float32] {
		const steps = 6
		b := lstm.Batch[float32]{X: make([]float32, steps*n), Lengths: make([]int, n), Steps: steps, Labels: make([]int, n)}
		for s := range n {
			b.Lengths[s] = 1 + rng.IntN(steps)
			var sum float32
			for t := range b.Lengths[s] {
				v := 2*rng.Float32() - 1
				b.X[t*n+s] = v
				sum += v
			}
			if sum > 0 {
				b.Labels[s] = 1
			}
		}
		return b
	}
	ws, opt := m.NewWorkspace(), lstm.NewAdam[float32](0.01)
	var first, last float64
	for i := range 300 {
		// rng draws the dropout masks.
		loss, err := m.TrainStep(ws, batch(32), opt, lstm.TrainOptions[float32]{ClipNorm: 5}, rng)
		if err != nil {
			panic(err)
		}
		if i == 0 {
			first = loss
		}
		last = loss
	}
	fmt.Println("loss fell:", last < first/2)

	// Inference: no dropout, and Labels is not read.
	test := batch(1000)
	m.Forward(ws, test)
	probs := m.Probs(ws)
	correct := 0
	for s, y := range test.Labels {
		if (probs[2*s+1] > probs[2*s]) == (y == 1) {
			correct++
		}
	}
	fmt.Println("accuracy above 90%:", correct > 900)
	// Output:
	// loss fell: true
	// accuracy above 90%: true
}
