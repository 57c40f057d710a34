package export

import (
	"errors"
	"fmt"

	"github.com/seqclf/seqclf/lstm"
)

// ErrNotExportable is wrapped by the error of a model that a format cannot hold: a cell or a
// pooling that this package does not know.
var ErrNotExportable = errors.New("export: the model cannot be written in this format")

// gateLayout maps a format's gate blocks to seqclf's column blocks of a layer's fused W and B.
// A format keeps, per gate block k, an input matrix (rows of its H units over the layer's
// inputs), a recurrent matrix (over h) and a bias of each. Block k of the input matrix is
// seqclf's column block x[k] of W's input rows, block k of the recurrent matrix its column block
// h[k] of W's recurrent rows. Where x[k] = h[k] the block has one bias in seqclf, the sum of the
// format's two: export writes it as the input bias and zeros as the recurrent one. Where they
// differ (a GRU's n, whose recurrent part sits inside r ⊙ (…)) B holds both: B[x[k]] is the input
// bias, B[h[k]] the recurrent one. The column blocks in no x[k] or in no h[k] are a GRU's zero
// blocks, left out of the format.
type gateLayout struct {
	x, h []int
}

var (
	// PyTorch's nn.LSTM: i, f, g, o, seqclf's own order.
	torchLSTM = gateLayout{x: []int{0, 1, 2, 3}, h: []int{0, 1, 2, 3}}
	// PyTorch's nn.GRU: r, z, n; n's input part is seqclf's n_x, its recurrent part n_h.
	torchGRU = gateLayout{x: []int{0, 1, 2}, h: []int{0, 1, 3}}
	// ONNX's LSTM: i, o, f, c (= g).
	onnxLSTM = gateLayout{x: []int{0, 3, 1, 2}, h: []int{0, 3, 1, 2}}
	// ONNX's GRU: z, r, h (= n), with linear_before_reset = 1 as PyTorch's.
	onnxGRU = gateLayout{x: []int{1, 0, 2}, h: []int{1, 0, 3}}
)

// torchLayout returns PyTorch's gate layout for cell.
func torchLayout(cell lstm.Cell) (gateLayout, error) {
	switch cell {
	case lstm.CellLSTM:
		return torchLSTM, nil
	case lstm.CellGRU:
		return torchGRU, nil
	}
	return gateLayout{}, fmt.Errorf("%w: cell %v", ErrNotExportable, cell)
}

// onnxLayout returns ONNX's gate layout for cell.
func onnxLayout(cell lstm.Cell) (gateLayout, error) {
	switch cell {
	case lstm.CellLSTM:
		return onnxLSTM, nil
	case lstm.CellGRU:
		return onnxGRU, nil
	}
	return gateLayout{}, fmt.Errorf("%w: cell %v", ErrNotExportable, cell)
}

// split returns layer l's weights in layout g: the input matrix wi (G·H × D, a row per gate
// unit), the recurrent matrix wh (G·H × H), and the biases bi and bh (G·H each), for G gates.
func (g gateLayout) split(l *lstm.Layer[float32]) (wi, wh, bi, bh []float32) {
	d, h := l.InputDim, l.NumUnits
	n := len(g.x) * h
	wi, wh = make([]float32, n*d), make([]float32, n*h)
	bi, bh = make([]float32, n), make([]float32, n)
	w, b := l.W.Value, l.B.Value // (D+H) × 4H
	for k := range g.x {
		for j := range h {
			row, xc, hc := k*h+j, g.x[k]*h+j, g.h[k]*h+j
			for i := range d {
				wi[row*d+i] = w[i*4*h+xc]
			}
			for i := range h {
				wh[row*h+i] = w[(d+i)*4*h+hc]
			}
			bi[row] = b[xc]
			if hc != xc {
				bh[row] = b[hc]
			}
		}
	}
	return wi, wh, bi, bh
}

// join writes into layer l, whose W and B are zero, the weights that split returns: a block with
// one bias in seqclf gets bi + bh, added in float32 as PyTorch adds them.
func (g gateLayout) join(l *lstm.Layer[float32], wi, wh, bi, bh []float32) {
	d, h := l.InputDim, l.NumUnits
	w, b := l.W.Value, l.B.Value
	for k := range g.x {
		for j := range h {
			row, xc, hc := k*h+j, g.x[k]*h+j, g.h[k]*h+j
			for i := range d {
				w[i*4*h+xc] = wi[row*d+i]
			}
			for i := range h {
				w[(d+i)*4*h+hc] = wh[row*h+i]
			}
			if hc == xc {
				b[xc] = bi[row] + bh[row]
			} else {
				b[xc], b[hc] = bi[row], bh[row]
			}
		}
	}
}
