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
	m.Forward(ws, x, []int{steps, steps}, steps, false, nil)
	probs := m.Probs(ws)
	fmt.Println("probabilities per image:", len(probs)/batch)
	fmt.Println("per-step outputs [time_step][batch_size][num_units]:", len(ws.Outputs(0)) == steps*batch*128)
	// Output:
	// LSTM layer: 80384 = 4·128·(128+28) + 4·128
	// whole model: 81674
	// probabilities per image: 10
	// per-step outputs [time_step][batch_size][num_units]: true
}
