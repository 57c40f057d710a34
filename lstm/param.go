package lstm

import "github.com/seqclf/seqclf/lstm/internal/kernel"

// Float is the element type of a model: float32 for training and serving, float64 for gradient
// checks.
type Float = kernel.Float

// Param is one trainable tensor, stored row-major as Rows × Cols values, with the gradient that
// Backward accumulates into it.
type Param[T Float] struct {
	Name       string
	Rows, Cols int
	Value      []T
	Grad       []T
}

func newParam[T Float](name string, rows, cols int) *Param[T] {
	return &Param[T]{Name: name, Rows: rows, Cols: cols, Value: make([]T, rows*cols), Grad: make([]T, rows*cols)}
}

// ZeroGrad sets the gradients of params to zero.
func ZeroGrad[T Float](params []*Param[T]) {
	for _, p := range params {
		clear(p.Grad)
	}
}

// NumParams returns the number of values held by params.
func NumParams[T Float](params []*Param[T]) int {
	n := 0
	for _, p := range params {
		n += len(p.Value)
	}
	return n
}
