package quant

import (
	"fmt"
	"math"

	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/internal/half"
	"github.com/seqclf/seqclf/lstm/quant/internal/qkernel"
)

// Weights is an int8 matrix with a float32 scale per column: the value at row k, column j is
// Values[k·Cols+j]·Scale[j].
type Weights struct {
	Rows, Cols int
	Values     []int8    // Rows×Cols, row-major
	Scale      []float32 // Cols
}

// QuantizeWeights returns w (rows×cols, row-major) quantized with a scale per column: max|column|
// /127 rounded up to a half-precision value, which is how a file keeps it (a column of zeros
// has scale 0).
func QuantizeWeights(w []float32, rows, cols int) Weights {
	if len(w) != rows*cols {
		panic(fmt.Sprintf("quant: %d values for %d×%d weights", len(w), rows, cols))
	}
	q := Weights{Rows: rows, Cols: cols, Values: make([]int8, rows*cols), Scale: make([]float32, cols)}
	for j := range cols {
		var mx float64
		for k := range rows {
			mx = math.Max(mx, math.Abs(float64(w[k*cols+j])))
		}
		if mx == 0 {
			continue
		}
		q.Scale[j] = half.Up(float32(mx / 127))
		s := float64(q.Scale[j])
		for k := range rows {
			q.Values[k*cols+j] = int8(math.Max(-127, math.Min(127, math.Round(float64(w[k*cols+j])/s))))
		}
	}
	return q
}

// Dequantize returns the float32 values the weights stand for, rows×cols row-major.
func (w Weights) Dequantize() []float32 {
	out := make([]float32, len(w.Values))
	for k := range w.Rows {
		row := out[k*w.Cols : (k+1)*w.Cols]
		for j, v := range w.Values[k*w.Cols : (k+1)*w.Cols] {
			row[j] = float32(v) * w.Scale[j]
		}
	}
	return out
}

// check returns an error if the weights' slices do not fit their shape.
func (w Weights) check(name string, rows, cols int) error {
	if w.Rows != rows || w.Cols != cols || len(w.Values) != rows*cols || len(w.Scale) != cols {
		return fmt.Errorf("quant: %s is %d×%d with %d values and %d scales, want %d×%d", name, w.Rows, w.Cols, len(w.Values), len(w.Scale), rows, cols)
	}
	return nil
}

// Table is an int8 embedding table with a float32 scale per row: row id stands for
// Values[id·Dim : (id+1)·Dim]·Scale[id].
type Table struct {
	Rows, Dim int
	Values    []int8    // Rows×Dim
	Scale     []float32 // Rows
}

// QuantizeTable returns t quantized with a scale per row, max|row|/127 rounded up to a
// half-precision value.
func QuantizeTable(t *embed.Table) *Table {
	rows, dim := t.Rows(), t.Dim()
	q := QuantizeWeights(transposeOf(t.Data, rows, dim), dim, rows)
	out := &Table{Rows: rows, Dim: dim, Values: make([]int8, rows*dim), Scale: q.Scale}
	for id := range rows {
		for k := range dim {
			out.Values[id*dim+k] = q.Values[k*rows+id]
		}
	}
	return out
}

// NewTable returns the table of the given values and scales (a stored table); it takes
// ownership of both, and does not read the values: a table mapped from a file opens without
// touching its pages, and a forward pass reads only the rows of its tokens.
func NewTable(rows, dim int, values []int8, scale []float32) (*Table, error) {
	if rows < 1 || dim < 1 || len(values) != rows*dim || len(scale) != rows {
		return nil, fmt.Errorf("quant: %d values and %d scales for a %d×%d table", len(values), len(scale), rows, dim)
	}
	return &Table{Rows: rows, Dim: dim, Values: values, Scale: scale}, nil
}

// Dequantize returns the float32 table the int8 one stands for.
func (t *Table) Dequantize() *embed.Table {
	data := make([]float32, len(t.Values))
	qkernel.DequantizeRows(t.Rows, t.Dim, data, t.Values, t.Scale, nil)
	e, _ := embed.FromData(t.Rows, t.Dim, data)
	e.Trainable = false
	return e
}

func transposeOf(x []float32, rows, cols int) []float32 {
	out := make([]float32, len(x))
	for i := range rows {
		for j := range cols {
			out[j*rows+i] = x[i*cols+j]
		}
	}
	return out
}
