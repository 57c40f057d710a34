package lstm

import (
	"fmt"
	"math/rand/v2"

	"github.com/seqclf/seqclf/lstm/internal/kernel"
)

// Layer is one LSTM layer: the fused weights W, (InputDim+NumUnits) × 4·NumUnits, and the bias
// B, 4·NumUnits, with the gates in the order i, f, g, o (see the package doc).
type Layer[T Float] struct {
	InputDim, NumUnits int
	W, B               *Param[T]
}

// init draws the layer's starting weights from rng: input weights Glorot-uniform per gate,
// recurrent weights orthogonal per gate, biases zero but the forget gate's, which are 1.
func (l *Layer[T]) init(rng *rand.Rand) {
	h, d := l.NumUnits, l.InputDim
	for g := range 4 {
		glorotUniform(l.W.Value, g*h, 4*h, d, h, rng)
	}
	for g := range 4 {
		orthogonal(l.W.Value, d*4*h+g*h, 4*h, h, rng)
	}
	clear(l.B.Value)
	for j := h; j < 2*h; j++ {
		l.B.Value[j] = 1
	}
}

// NumParams returns the layer's parameter count, 4·H·(H+input_dim) + 4·H.
func (l *Layer[T]) NumParams() int {
	return len(l.W.Value) + len(l.B.Value)
}

// layerBuffers holds what one layer's forward pass keeps for its backward pass, for one batch
// shape, and the scratch of the backward pass. Sizes: T steps, B samples, H units, D inputs.
type layerBuffers[T Float] struct {
	z  []T // T·B·4H: gate pre-activations, then activations i, f, g, o
	hs []T // (T+1)·B·H: h_{-1} = 0, then the output of each step
	cs []T // (T+1)·B·H: c_{-1} = 0, then the cell state of each step
	tc []T // T·B·H: tanh(c_t)

	dz     []T // T·B·4H: gradient with respect to the pre-activations
	dh     []T // T·B·H: gradient with respect to the outputs, filled by the layer above or pooling
	dx     []T // T·B·D: gradient with respect to the inputs
	dhCur  []T // B·H
	dhNext []T // B·H
	dcNext []T // B·H
}

func (b *layerBuffers[T]) resize(steps, batch, units, inputDim int) {
	h4 := 4 * units
	b.z = grow(b.z, steps*batch*h4)
	b.hs = grow(b.hs, (steps+1)*batch*units)
	b.cs = grow(b.cs, (steps+1)*batch*units)
	b.tc = grow(b.tc, steps*batch*units)
	b.dz = grow(b.dz, steps*batch*h4)
	b.dh = grow(b.dh, steps*batch*units)
	b.dx = grow(b.dx, steps*batch*inputDim)
	b.dhCur = grow(b.dhCur, batch*units)
	b.dhNext = grow(b.dhNext, batch*units)
	b.dcNext = grow(b.dcNext, batch*units)
}

// grow returns s resliced to n values, reallocated only when its capacity is too small.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// forward runs the layer over x ([steps][batch][InputDim], time-major) for samples of the given
// lengths, keeping in buf what backward needs.
func (l *Layer[T]) forward(buf *layerBuffers[T], x []T, lengths []int, steps int) {
	batch, h, d := len(lengths), l.NumUnits, l.InputDim
	h4 := 4 * h
	if len(x) != steps*batch*d {
		panic(fmt.Sprintf("lstm: input has %d values, want %d×%d×%d", len(x), steps, batch, d))
	}
	w := l.W.Value
	wx, wh := w[:d*h4], w[d*h4:]
	z := buf.z
	// The input projection of every step at once: z = X·Wx + b.
	kernel.Gemm(false, false, steps*batch, h4, d, 1, x, d, wx, h4, 0, z, h4)
	kernel.AddBias(z, l.B.Value)
	clear(buf.hs[:batch*h])
	clear(buf.cs[:batch*h])
	bh := batch * h
	for t := range steps {
		hPrev, cPrev := buf.hs[t*bh:(t+1)*bh], buf.cs[t*bh:(t+1)*bh]
		hCur, cCur := buf.hs[(t+1)*bh:(t+2)*bh], buf.cs[(t+1)*bh:(t+2)*bh]
		zt := z[t*batch*h4 : (t+1)*batch*h4]
		tct := buf.tc[t*bh : (t+1)*bh]
		// The recurrence for the whole batch: z_t += h_{t-1}·Wh.
		kernel.Gemm(false, false, batch, h4, h, 1, hPrev, h, wh, h4, 1, zt, h4)
		for b, n := range lengths {
			r := b * h
			if t >= n {
				copy(hCur[r:r+h], hPrev[r:r+h])
				copy(cCur[r:r+h], cPrev[r:r+h])
				continue
			}
			kernel.GatesForward(zt[b*h4:(b+1)*h4], cPrev[r:r+h], cCur[r:r+h], tct[r:r+h], hCur[r:r+h])
		}
	}
}

// backward propagates buf.dh, the gradient with respect to the layer's outputs, back through
// time: it adds the gradients of W and B into their Grad and writes the gradient with respect to
// the inputs x into buf.dx.
func (l *Layer[T]) backward(buf *layerBuffers[T], x []T, lengths []int, steps int) {
	batch, h, d := len(lengths), l.NumUnits, l.InputDim
	h4, bh := 4*h, batch*h
	w := l.W.Value
	wx, wh := w[:d*h4], w[d*h4:]
	dhNext, dcNext, dhCur := buf.dhNext, buf.dcNext, buf.dhCur
	clear(dhNext)
	clear(dcNext)
	for t := steps - 1; t >= 0; t-- {
		kernel.Add(dhCur, buf.dh[t*bh:(t+1)*bh], dhNext)
		zt := buf.z[t*batch*h4 : (t+1)*batch*h4]
		dzt := buf.dz[t*batch*h4 : (t+1)*batch*h4]
		cPrev := buf.cs[t*bh : (t+1)*bh]
		tct := buf.tc[t*bh : (t+1)*bh]
		for b, n := range lengths {
			r := b * h
			if t >= n {
				// A padding step passed h and c through unchanged: so do their gradients.
				clear(dzt[b*h4 : (b+1)*h4])
				continue
			}
			kernel.GatesBackward(zt[b*h4:(b+1)*h4], cPrev[r:r+h], tct[r:r+h], dhCur[r:r+h], dcNext[r:r+h], dzt[b*h4:(b+1)*h4])
		}
		// dh_{t-1} = dz_t·Whᵀ for the samples that ran this step, dh_t for those that did not.
		kernel.Gemm(false, true, batch, h, h4, 1, dzt, h4, wh, h4, 0, dhNext, h)
		for b, n := range lengths {
			if t >= n {
				r := b * h
				copy(dhNext[r:r+h], dhCur[r:r+h])
			}
		}
	}
	gw := l.W.Grad
	// Weight gradients over all steps at once: dWx += Xᵀ·dZ, dWh += H_prevᵀ·dZ, dB += Σ dZ.
	kernel.Gemm(true, false, d, h4, steps*batch, 1, x, d, buf.dz, h4, 1, gw[:d*h4], h4)
	kernel.Gemm(true, false, h, h4, steps*batch, 1, buf.hs[:steps*bh], h, buf.dz, h4, 1, gw[d*h4:], h4)
	kernel.AddColumnSums(l.B.Grad, buf.dz)
	// The inputs' gradient: dX = dZ·Wxᵀ.
	kernel.Gemm(false, true, steps*batch, d, h4, 1, buf.dz, h4, wx, h4, 0, buf.dx, d)
}
