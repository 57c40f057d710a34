package lstm

import (
	"fmt"
	"math/rand/v2"

	"github.com/seqclf/seqclf/lstm/internal/kernel"
)

// Layer is one direction of one recurrent layer: the fused weights W, (InputDim+NumUnits) ×
// 4·NumUnits, and the bias B, 4·NumUnits. An LSTM layer's columns hold the gates in the order
// i, f, g, o; a GRU layer's the blocks r, z, n_x, n_h, where the input rows of n_h and the
// recurrent rows of n_x are zero and stay so (see the package doc).
type Layer[T Float] struct {
	InputDim, NumUnits int
	Cell               Cell
	W, B               *Param[T]
	// frozen holds copies of W made once for a model that only answers (Model.Freeze); nil
	// otherwise.
	frozen *frozenLayer[T]
}

// init draws the layer's starting weights from rng: input weights Glorot-uniform per gate,
// recurrent weights orthogonal per gate, biases zero but an LSTM's forget gate's, which are 1.
// A GRU's zero blocks are left zero.
func (l *Layer[T]) init(rng *rand.Rand) {
	h, d := l.NumUnits, l.InputDim
	if l.Cell == CellGRU {
		for g := range 3 { // r, z, n_x
			glorotUniform(l.W.Value, g*h, 4*h, d, h, rng)
		}
		for _, g := range []int{0, 1, 3} { // r, z, n_h
			orthogonal(l.W.Value, d*4*h+g*h, 4*h, h, rng)
		}
		clear(l.B.Value)
		return
	}
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

// NumParams returns the layer's count of free parameters: 4·H·(H+input_dim) + 4·H for an LSTM,
// 3·H·(H+input_dim) + 4·H for a GRU (PyTorch counts 6·H biases, its b_ir and b_hr being two
// names for one sum, as b_iz and b_hz are).
func (l *Layer[T]) NumParams() int {
	n := len(l.W.Value) + len(l.B.Value)
	if l.Cell == CellGRU {
		n -= (l.InputDim + l.NumUnits) * l.NumUnits
	}
	return n
}

// clearZeroBlocks sets to zero the values of s (shaped as W) in a GRU's zero blocks: the input
// rows of n_h and the recurrent rows of n_x.
func (l *Layer[T]) clearZeroBlocks(s []T) {
	h, d := l.NumUnits, l.InputDim
	for r := range d + h {
		g := 3
		if r >= d {
			g = 2
		}
		clear(s[r*4*h+g*h : r*4*h+(g+1)*h])
	}
}

// layerBuffers holds what one layer's forward pass keeps for its backward pass, for one batch
// shape, and the scratch of the backward pass. Sizes: T steps, B samples, H units, D inputs.
// A forward-only pass keeps z, tc for one step and cs for two (the one before and the one being
// made): the slot of step t is t mod the slots held. A training pass of more than keepTanhUpTo
// values a step set keeps one step of tc too: backward makes tanh(c_t) again from cs, the same
// bits, a vector kernel's pass over each step's c for a quarter less memory than z.
type layerBuffers[T Float] struct {
	z []T // T·B·4H: gate pre-activations, then activations i, f, g, o; after backward, the
	// gradient with respect to the pre-activations, written over the activations step by step
	hs []T // (T+1)·B·H: h_{-1} = 0, then the output of each step
	cs []T // (T+1)·B·H: c_{-1} = 0, then the cell state of each step
	tc []T // T·B·H: tanh(c_t)

	zSlots, cSlots, tcSlots int // the steps that z, cs and tc hold: all (T, T+1, T), or 1, 2, 1

	// dh, T·B·H: the gradient with respect to the outputs, filled by the layer above or the
	// pooling; the steps below the pass's dhFrom are zero, neither filled nor read (zeros, B·H,
	// is read in their place).
	dh     []T
	zeros  []T
	dx     []T // T·B·D: gradient with respect to the inputs (in dh's place when D ≤ H)
	dhCur  []T // B·H
	dhNext []T // B·H
	dcNext []T // B·H
	whT    []T // 4H·H: Whᵀ
	wxT    []T // 4H·D: Wxᵀ
	// gradSum holds the weight and bias gradients of row slices 1… (see gradSlices).
	gradSum []T
}

// resize sizes the buffers of a forward pass: for a backward pass too when all is set. A GRU has
// no cell state: cs and tc stay empty.
func (b *layerBuffers[T]) resize(steps, batch, units int, all bool, cell Cell) {
	b.zSlots, b.cSlots = steps, steps+1
	if !all {
		b.zSlots, b.cSlots = 1, 2
	}
	b.tcSlots = b.zSlots
	if steps*batch*units > keepTanhUpTo {
		b.tcSlots = 1
	}
	b.z = grow(b.z, b.zSlots*batch*4*units)
	b.hs = grow(b.hs, (steps+1)*batch*units)
	if cell == CellGRU {
		b.cs, b.tc = b.cs[:0], b.tc[:0]
		return
	}
	b.cs = grow(b.cs, b.cSlots*batch*units)
	b.tc = grow(b.tc, b.tcSlots*batch*units)
}

// keepTanhUpTo is the most values (steps·batch·units) of tanh(c) a training pass keeps: the
// MNIST rows model keeps them (a 4% faster step), a batch of 64 mails of 256 tokens does not
// (8 MiB less).
var keepTanhUpTo = 1 << 20

// resizeBackward sizes the buffers of a backward pass, which inference never allocates.
func (b *layerBuffers[T]) resizeBackward(steps, batch, units, inputDim int) {
	b.dh = grow(b.dh, steps*batch*units)
	if inputDim <= units {
		// dx is made after the pass through time, which is the last to read dh: it takes its place.
		b.dx = b.dh[:steps*batch*inputDim]
	} else {
		b.dx = grow(b.dx, steps*batch*inputDim)
	}
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

// pass is one layer's forward or backward pass over one batch, cut into parts that up to
// threads goroutines take as they come free (dispatch.parallel). Part p of the recurrence,
// forward and back, owns the samples sampleCuts[p] to sampleCuts[p+1] through every step; part
// p of the weight gradients is one item (gradItems) and the inputs' gradient of a run of steps.
// No two parts write the same value, and each value is summed in the same order whatever the
// number of parts or threads.
//
// At each step a part multiplies only its rows up to its last sample that runs the step (at
// least two rows, so that a row never goes through the one-row kernels because of where a part
// ends): the rows of samples that have ended are padding. A batch whose samples go longest first
// (train.Trainer sorts each batch so) thus computes little padding.
type pass[T Float] struct {
	l       *Layer[T]
	buf     *layerBuffers[T]
	x       []T
	lengths []int
	steps   int
	threads int
	parts   int
	skipDX  bool // nothing reads the inputs' gradient: spare its multiply
	// dhFrom is the first step whose rows of buf.dh backward reads: the gradient with respect
	// to the outputs of the steps before is zero (the top layer of PoolLast: only the last
	// step's, 8 MiB that a text batch need not clear and read back).
	dhFrom int
	// active[t] is 1 + the last sample of the batch that runs step t (0: none does). The rows
	// past it are padding at step t: no multiply reads or writes them.
	active []int
	// sliceCuts and itemCuts cut the steps into the weight gradients' slices and into the items
	// of the inputs' gradient (cutSteps); sampleCuts cuts the samples into the parts of the
	// recurrence (cutSamples).
	sliceCuts, itemCuts, sampleCuts []int

	recur, bptt, grads func(part int) // the parts' methods, bound once
	d                  *dispatch

	forwardOnly bool        // no backward pass will follow (Workspace.ForwardOnly)
	one         *onePass[T] // the buffers of forwardOne, made on its first use
	// w is the fused W packed for the steps' multiplies (kernel.Packed), once per forward pass,
	// and whT and wxT Whᵀ and Wxᵀ, once per backward pass: the weights may change between
	// passes, never during one.
	w, whT, wxT kernel.Packed[T]
	// memoSc[p] is part p's buffers for a layer's memory of input projections (inputMemo).
	memoSc []memoScratch[T]
}

func newPass[T Float]() *pass[T] {
	r := &pass[T]{d: newDispatch()}
	r.recur, r.bptt, r.grads = r.recurPart, r.bpttPart, r.gradsPart
	return r
}

// forward runs the layer over x ([steps][batch][InputDim], time-major) for samples of the given
// lengths, keeping in buf what backward needs, or with buf's one-step slots only what the next
// step needs.
func (r *pass[T]) forward() {
	batch, d := len(r.lengths), r.l.InputDim
	if len(r.x) != r.steps*batch*d {
		panic(fmt.Sprintf("lstm: input has %d values, want %d×%d×%d", len(r.x), r.steps, batch, d))
	}
	r.setActive()
	r.cutSamples()
	if r.forwardOne() {
		return
	}
	h4 := 4 * r.l.NumUnits
	switch {
	case r.projectsAll():
		kernel.Gemm(false, false, r.steps*batch, h4, d, 1, r.x, d, r.l.W.Value[:d*h4], h4, 0, r.buf.z, h4)
		kernel.AddBias(r.buf.z[:r.steps*batch*h4], r.l.B.Value)
	case r.memo() != nil:
		if len(r.memoSc) < r.parts {
			r.memoSc = make([]memoScratch[T], r.parts)
		}
	default:
		r.w.Pack(r.l.W.Value, h4, d+r.l.NumUnits, h4)
	}
	r.d.parallel(r.threads, r.parts, r.recur)
}

// setActive fills r.active from r.lengths.
func (r *pass[T]) setActive() {
	r.active = grow(r.active, r.steps)
	clear(r.active)
	for b, n := range r.lengths {
		for t := range min(n, r.steps) {
			r.active[t] = b + 1
		}
	}
}

// cutSamples cuts the samples into r.parts runs of about the same steps to run (Σ length,
// at least one sample each while there are enough): a batch sorted longest first in parts of
// as many samples left its last part, of the shortest, done long before the others, and a
// thread idle. Where the cuts fall changes no value.
func (r *pass[T]) cutSamples() {
	batch := len(r.lengths)
	r.sampleCuts = append(r.sampleCuts[:0], 0)
	total := 0
	for _, n := range r.lengths {
		total += min(n, r.steps)
	}
	b, sum := 0, 0
	for p := 1; p < r.parts; p++ {
		goal := total * p / r.parts
		for b < batch-(r.parts-p) && (sum < goal || b < r.sampleCuts[p-1]+1) {
			sum += min(r.lengths[b], r.steps)
			b++
		}
		r.sampleCuts = append(r.sampleCuts, b)
	}
	r.sampleCuts = append(r.sampleCuts, batch)
}

// rowsAt returns how many rows from lo a part [lo, hi) multiplies at step t: up to its last
// sample that runs the step, 0 if none does, and at least two when the part has two.
func (r *pass[T]) rowsAt(lo, hi, t int) int {
	for b := hi - 1; b >= lo; b-- {
		if r.lengths[b] > t {
			return max(b+1-lo, min(2, hi-lo))
		}
	}
	return 0
}

// projectAllBelow is the batch size up to which a pass that keeps every step makes the input
// projection of all steps first, one multiply of steps·batch rows: a step of one sample is
// then one matrix-vector product rather than two (the recurrent weights alone are read).
const projectAllBelow = 4

// projectsAll reports whether forward makes the input projection of all steps before the
// recurrence: a pass that keeps every step, over at most projectAllBelow samples.
func (r *pass[T]) projectsAll() bool {
	return r.buf.zSlots == r.steps && len(r.lengths) <= projectAllBelow
}

// memo returns the layer's memory of input projections (Model.MemoInputs), or nil.
func (r *pass[T]) memo() *inputMemo[T] {
	if f := r.l.frozen; f != nil {
		return f.memo
	}
	return nil
}

// recurPart runs its samples through every step: z_t = x_t·Wx + h_{t-1}·Wh + b, one multiply
// by the fused W (kernel.Gemm2), then the gates; or, with the projection made (projectsAll),
// z_t += h_{t-1}·Wh; or, for a layer that remembers its input projections, z_t set to them
// (inputMemo.project), then z_t += h_{t-1}·Wh, the bits of the projectsAll passes.
func (r *pass[T]) recurPart(p int) {
	batch, h, d := len(r.lengths), r.l.NumUnits, r.l.InputDim
	h4, bh := 4*h, batch*h
	lo, hi := r.sampleCuts[p], r.sampleCuts[p+1]
	if lo == hi {
		return
	}
	w := r.l.W.Value
	buf := r.buf
	gru := r.l.Cell == CellGRU
	clear(buf.hs[lo*h : hi*h])
	if !gru {
		clear(buf.cs[lo*h : hi*h])
	}
	projected := r.projectsAll()
	var memo *inputMemo[T]
	if !projected {
		memo = r.memo()
	}
	for t := range r.steps {
		zs := t % buf.zSlots
		hPrev, hCur := buf.hs[t*bh:(t+1)*bh], buf.hs[(t+1)*bh:(t+2)*bh]
		zt := buf.z[zs*batch*h4 : (zs+1)*batch*h4]
		switch n := r.rowsAt(lo, hi, t); {
		case n == 0:
		case projected:
			kernel.Gemm(false, false, n, h4, h, 1, hPrev[lo*h:], h, w[d*h4:], h4, 1, zt[lo*h4:], h4)
		case memo != nil:
			r0 := t*batch + lo
			memo.project(&r.memoSc[p], r.x, r0, r0+n, func(r int, z []T) { copy(zt[(lo+r-r0)*h4:(lo+r-r0+1)*h4], z) })
			kernel.GemmPacked(n, h4, h, hPrev[lo*h:], h, &memo.wh, 1, zt[lo*h4:], h4)
		default:
			kernel.Gemm2Packed(n, h4, d, r.x[(t*batch+lo)*d:], d, h, hPrev[lo*h:], h, &r.w, 0, zt[lo*h4:(lo+n)*h4], h4, r.l.B.Value)
		}
		if gru {
			for b := lo; b < hi; b++ {
				o := b * h
				if t >= r.lengths[b] {
					copy(hCur[o:o+h], hPrev[o:o+h])
					continue
				}
				kernel.GRUForward(zt[b*h4:(b+1)*h4], hPrev[o:o+h], hCur[o:o+h])
			}
			continue
		}
		cs, next := t%buf.cSlots, (t+1)%buf.cSlots
		cPrev, cCur := buf.cs[cs*bh:(cs+1)*bh], buf.cs[next*bh:(next+1)*bh]
		ts := t % buf.tcSlots
		tct := buf.tc[ts*bh : (ts+1)*bh]
		ahead := buf.zSlots == r.steps && !projected && memo == nil && t+1 < r.steps
		for b := lo; b < hi; b++ {
			o := b * h
			if t >= r.lengths[b] {
				copy(hCur[o:o+h], hPrev[o:o+h])
				copy(cCur[o:o+h], cPrev[o:o+h])
				continue
			}
			if ahead {
				// The sample's row of the gates at the next step, which the next multiply
				// writes: a text batch's gates (T·B·4H) are far out of cache.
				n := (t+1)*batch + b
				kernel.Prefetch(buf.z[n*h4 : (n+1)*h4])
			}
			kernel.GatesForward(zt[b*h4:(b+1)*h4], cPrev[o:o+h], cCur[o:o+h], tct[o:o+h], hCur[o:o+h])
		}
	}
}

// backward propagates buf.dh, the gradient with respect to the layer's outputs, back through
// time: it adds the gradients of W and B into their Grad and, unless skipDX, writes the gradient
// with respect to the inputs x into buf.dx.
func (r *pass[T]) backward() {
	h, d := r.l.NumUnits, r.l.InputDim
	h4 := 4 * h
	w, buf := r.l.W.Value, r.buf
	// Whᵀ and Wxᵀ, once per pass, so that the multiplies by them read rows in place.
	buf.whT = grow(buf.whT, h4*h)
	kernel.Transpose(buf.whT, w[d*h4:], h, h4)
	r.whT.Pack(buf.whT, h, h4, h)
	if !r.skipDX {
		buf.wxT = grow(buf.wxT, h4*d)
		kernel.Transpose(buf.wxT, w[:d*h4], d, h4)
		r.wxT.Pack(buf.wxT, d, h4, d)
	}
	buf.zeros = grow(buf.zeros, len(r.lengths)*h)
	clear(buf.zeros)
	r.d.parallel(r.threads, r.parts, r.bptt)
	buf.gradSum = grow(buf.gradSum, (gradSlices-1)*(len(r.l.W.Grad)+len(r.l.B.Grad)))
	items, _ := gradItems(r.threads)
	r.sliceCuts = r.cutSteps(r.sliceCuts, gradSlices)
	r.itemCuts = r.cutSteps(r.itemCuts, items)
	r.d.parallel(r.threads, items, r.grads)
	r.addGradSlices()
	if r.l.Cell == CellGRU {
		r.l.clearZeroBlocks(r.l.W.Grad)
	}
}

// bpttPart takes its samples back through every step, leaving dz, the gradient with respect to
// the gates' pre-activations.
func (r *pass[T]) bpttPart(p int) {
	batch, h := len(r.lengths), r.l.NumUnits
	h4, bh := 4*h, batch*h
	lo, hi := r.sampleCuts[p], r.sampleCuts[p+1]
	if lo == hi {
		return
	}
	buf := r.buf
	dhNext, dcNext, dhCur := buf.dhNext[lo*h:hi*h], buf.dcNext[lo*h:hi*h], buf.dhCur[lo*h:hi*h]
	clear(dhNext)
	clear(dcNext)
	gru := r.l.Cell == CellGRU
	for t := r.steps - 1; t >= 0; t-- {
		rows := r.rowsAt(lo, hi, t)
		dht := buf.dh[t*bh+lo*h : t*bh+hi*h]
		if t < r.dhFrom {
			dht = buf.zeros[lo*h : hi*h] // the same sum as over cleared rows
		}
		kernel.Add(dhCur, dht, dhNext)
		zt := buf.z[(t*batch+lo)*h4 : (t*batch+hi)*h4]
		dzt := zt // the gradient takes the place of the activations it is computed from
		var beta T
		if gru {
			// GRUBackward leaves dh_t⊙u in dhNext: the multiply below adds dz_t·Whᵀ to it.
			beta = 1
			hPrev := buf.hs[t*bh+lo*h : t*bh+hi*h]
			for i, n := range r.lengths[lo:hi] {
				if t >= n {
					clear(dzt[i*h4 : (i+1)*h4])
					continue
				}
				kernel.GRUBackward(zt[i*h4:(i+1)*h4], hPrev[i*h:(i+1)*h], dhCur[i*h:(i+1)*h], dzt[i*h4:(i+1)*h4], dhNext[i*h:(i+1)*h])
			}
		} else {
			cPrev := buf.cs[t*bh+lo*h : t*bh+hi*h]
			var tct []T
			if buf.tcSlots == r.steps {
				tct = buf.tc[t*bh+lo*h : t*bh+hi*h]
			} else {
				tct = buf.tc[lo*h : hi*h]
				kernel.Tanhs(tct, buf.cs[(t+1)*bh+lo*h:(t+1)*bh+hi*h])
			}
			for i, n := range r.lengths[lo:hi] {
				if t >= n {
					// A padding step passed h and c through unchanged: so do their gradients.
					clear(dzt[i*h4 : (i+1)*h4])
					continue
				}
				if t > 0 {
					// The sample's gates and cell state at the step before, which the
					// pass reads next; a text batch's gates (T·B·4H) are far out of cache.
					b := (t-1)*batch + lo + i
					kernel.Prefetch(buf.z[b*h4 : (b+1)*h4])
					kernel.Prefetch(buf.cs[b*h : (b+1)*h])
				}
				kernel.GatesBackward(zt[i*h4:(i+1)*h4], cPrev[i*h:(i+1)*h], tct[i*h:(i+1)*h], dhCur[i*h:(i+1)*h], dcNext[i*h:(i+1)*h], dzt[i*h4:(i+1)*h4])
			}
		}
		// dh_{t-1} = dz_t·Whᵀ (+ dh_t⊙u for a GRU) for the samples that ran this step, dh_t for
		// those that did not.
		if rows > 0 {
			kernel.GemmPacked(rows, h, h4, dzt, h4, &r.whT, beta, dhNext, h)
		}
		for i, n := range r.lengths[lo:hi] {
			if t >= n {
				copy(dhNext[i*h:(i+1)*h], dhCur[i*h:(i+1)*h])
			}
		}
	}
}

// The weight gradients sum over every row (step and sample) of the batch. The steps are cut into
// gradSlices runs of about as many rows to multiply (cutSteps: from the lengths alone), each
// summed on its own (the first into Grad, the others into scratch) and then added in order: each
// core streams its own run of dZ rather than half of every row, and the sums are the same
// whatever the number of parts. More parts than slices also split the columns.
const gradSlices = 2

// gradItems returns how many (slice, column group) items the weight gradients are cut into for
// threads goroutines, and the column groups per slice. (Two items a thread, for a core slowed by
// others, made a SpamAssassin training step about 5% slower on a quiet machine: each column
// group reads the slice's X and H_prev again.)
func gradItems(threads int) (items, groups int) {
	groups = (threads + gradSlices - 1) / gradSlices
	return gradSlices * groups, groups
}

// gradsPart computes its item of the weight gradients, dWx += Xᵀ·dZ, dWh += H_prevᵀ·dZ,
// dB += Σ dZ (kernel.WeightGrad), over its slice of the steps, and the inputs' gradient dX =
// dZ·Wxᵀ of its steps, itemCuts[p] to itemCuts[p+1]: over the rows of each step up to its last
// sample that ran it (at least two), zeros past them.
func (r *pass[T]) gradsPart(p int) {
	_, groups := gradItems(r.threads)
	if groups == 1 && !r.skipDX {
		// One item a slice: the item makes the inputs' gradient of its slice too, a block of
		// rows at a time right after their weight gradients, while dZ's rows are in cache.
		r.gradItemDX(p)
		return
	}
	r.gradItem(p/groups, p%groups, groups)
	if r.skipDX {
		return
	}
	batch, d := len(r.lengths), r.l.InputDim
	t0, t1 := r.itemCuts[p], r.itemCuts[p+1]
	start := t0 // the first step of the run of whole steps under way
	for t := t0; t < t1; t++ {
		a := r.active[t]
		if a == batch {
			continue
		}
		r.inputGrad(start*batch, t*batch)
		if a > 0 {
			a = max(a, min(2, batch))
			r.inputGrad(t*batch, t*batch+a)
		}
		clear(r.buf.dx[(t*batch+a)*d : (t+1)*batch*d])
		start = t + 1
	}
	r.inputGrad(start*batch, t1*batch)
}

// inputGrad sets the inputs' gradient of rows [k0, k1): dX = dZ·Wxᵀ.
func (r *pass[T]) inputGrad(k0, k1 int) {
	if k1 > k0 {
		d, h4 := r.l.InputDim, 4*r.l.NumUnits
		kernel.GemmPacked(k1-k0, d, h4, r.buf.z[k0*h4:], h4, &r.wxT, 0, r.buf.dx[k0*d:k1*d], d)
	}
}

// cutSteps returns in cuts the parts+1 step boundaries that cut the steps into parts with about
// the same number of rows to multiply (Σ active): they depend on the lengths alone.
func (r *pass[T]) cutSteps(cuts []int, parts int) []int {
	total := 0
	for _, a := range r.active {
		total += a
	}
	cuts = append(cuts[:0], 0)
	sum, t := 0, 0
	for p := 1; p < parts; p++ {
		for goal := total * p / parts; t < r.steps && sum < goal; t++ {
			sum += r.active[t]
		}
		cuts = append(cuts, t)
	}
	return append(cuts, r.steps)
}

// gradItem adds the weight gradients of step slice s (sliceCuts), column group g of groups:
// over the rows of each step up to its last sample that ran it, the padding rows past it left
// out (their dZ is zero), one multiply for each run of steps that every sample ran.
func (r *pass[T]) gradItem(s, g, groups int) {
	h, d, batch := r.l.NumUnits, r.l.InputDim, len(r.lengths)
	h4 := 4 * h
	buf := r.buf
	t0, t1 := r.sliceCuts[s], r.sliceCuts[s+1]
	// Column groups of whole 32-column blocks (the kernels' width).
	c0, c1 := span(h4/32, groups, g)
	c0, c1 = c0*32, c1*32
	if g == groups-1 {
		c1 = h4
	}
	if c1 == c0 {
		return
	}
	gw, gb, beta := r.l.W.Grad, r.l.B.Grad, T(1)
	if s > 0 {
		n := len(gw) + len(gb)
		gw, gb, beta = buf.gradSum[(s-1)*n:(s-1)*n+len(gw)], buf.gradSum[(s-1)*n+len(gw):s*n], 0
	}
	start := t0 * batch // the first row of the run of whole steps under way
	for t := t0; t < t1; t++ {
		if a := r.active[t]; a < batch {
			beta = r.weightGrad(start, t*batch+a, c0, c1, gw, gb, beta)
			start = (t + 1) * batch
		}
	}
	beta = r.weightGrad(start, t1*batch, c0, c1, gw, gb, beta)
	if beta == 0 {
		// No row: the slice's sums are zero.
		for i := range d + h {
			clear(gw[i*h4+c0 : i*h4+c1])
		}
		clear(gb[c0:c1])
	}
}

// dxBlockRows is how many rows of dZ gradItemDX multiplies for the weight gradients before it
// makes their inputs' gradient: a multiple of the weight gradient's chunks (kernel.WeightGrad
// sums 64 rows at a time with AVX-512, 128 with AVX2, from the first of each call), so that the
// sums are those of one call.
const dxBlockRows = 128

// gradItemDX is gradItem(s, 0, 1) and the inputs' gradient of slice s's steps, block by block:
// the weight gradients of dxBlockRows rows, then their dX = dZ·Wxᵀ (at least two rows a call,
// as gradsPart's, so that no row goes through the one-row kernels), zeros past each step's
// last sample that ran it.
func (r *pass[T]) gradItemDX(s int) {
	h, d, batch := r.l.NumUnits, r.l.InputDim, len(r.lengths)
	h4 := 4 * h
	t0, t1 := r.sliceCuts[s], r.sliceCuts[s+1]
	gw, gb, beta := r.l.W.Grad, r.l.B.Grad, T(1)
	if s > 0 {
		n := len(gw) + len(gb)
		gw, gb, beta = r.buf.gradSum[(s-1)*n:(s-1)*n+len(gw)], r.buf.gradSum[(s-1)*n+len(gw):s*n], 0
	}
	lo, hi := t0*batch, t1*batch // the slice's rows
	// run does the rows [k0, k1) of a run of steps that every sample ran, and of the part of the
	// next step that its samples ran.
	run := func(k0, k1 int) {
		for b0 := k0; b0 < k1; b0 += dxBlockRows {
			b1 := min(b0+dxBlockRows, k1)
			beta = r.weightGrad(b0, b1, 0, h4, gw, gb, beta)
			x0, x1 := b0, b1
			if x1-x0 == 1 && batch > 1 {
				// Another row of the slice, made again with the same bits, or a padding row
				// (dZ zero), cleared below.
				if x1 < hi {
					x1++
				} else {
					x0--
				}
			}
			r.inputGrad(x0, x1)
		}
	}
	start := lo // the first row of the run of whole steps under way
	for t := t0; t < t1; t++ {
		if a := r.active[t]; a < batch {
			run(start, t*batch+a)
			clear(r.buf.dx[(t*batch+a)*d : (t+1)*batch*d])
			start = (t + 1) * batch
		}
	}
	run(start, hi)
	if beta == 0 {
		// No row: the slice's sums are zero.
		clear(gw)
		clear(gb)
	}
}

// weightGrad adds the weight gradients of rows [k0, k1), columns [c0, c1), to gw and gb (set
// them when beta is 0) and returns the beta of the next rows: 1 once a row was added.
func (r *pass[T]) weightGrad(k0, k1, c0, c1 int, gw, gb []T, beta T) T {
	if k1 <= k0 {
		return beta
	}
	h, d := r.l.NumUnits, r.l.InputDim
	h4 := 4 * h
	wg := kernel.WeightGrad[T]
	if len(r.buf.z) >= coldGatesFrom {
		wg = kernel.WeightGradCold[T]
	}
	wg(k1-k0, c1-c0, r.x[k0*d:], d, d, r.buf.hs[k0*h:], h, h, r.buf.z[k0*h4+c0:], h4, beta, gw[c0:], h4, gb[c0:c1])
	return 1
}

// coldGatesFrom is the size of the gates' buffer, in values, from which the weight gradients
// read dZ as memory rather than cache (kernel.WeightGradCold): 8 MiB, a quarter of this
// machine's L3. MNIST rows' 7 MiB stay in cache; a text batch of 64×256 has 32 MiB.
var coldGatesFrom = 2 << 20

// addGradSlices adds the sums of slices 1… into the gradients, in order.
func (r *pass[T]) addGradSlices() {
	gw, gb := r.l.W.Grad, r.l.B.Grad
	n := len(gw) + len(gb)
	for s := 1; s < gradSlices; s++ {
		part := r.buf.gradSum[(s-1)*n : s*n]
		kernel.Add(gw, gw, part[:len(gw)])
		kernel.Add(gb, gb, part[len(gw):])
	}
}
