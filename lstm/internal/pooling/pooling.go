// Package pooling reduces a layer's outputs over each sample's real steps to one vector a sample:
// the pooling of package lstm's float32 and float64 models and of package lstm/quant's int8
// one, in one place so that both pool with the same arithmetic.
package pooling

import (
	"math"

	"github.com/seqclf/seqclf/lstm/internal/kernel"
)

// Kind is how outputs are pooled, numbered as lstm.Pooling numbers them.
type Kind int

// The kinds of pooling.
const (
	Last Kind = iota
	Mean
	Max
	Attention
)

// Outputs are the top layer's outputs of one batch and what pooling them needs.
type Outputs[T kernel.Float] struct {
	Out     []T   // [Steps][len(Lengths)][E], time-major
	Lengths []int // the real steps of each sample
	Steps   int
	E       int // values a step: H, or 2·H side by side with two directions
	// H is the units of one direction when there are two (the backward direction's last output
	// is then at step 0), 0 with one.
	H int
}

// Attend holds additive attention's parameters, W (E×A), B (A) and V (A), and its buffers, U
// (Steps·batch×A) and Alpha (Steps·batch), sized by the caller.
type Attend[T kernel.Float] struct {
	W, B, V  []T
	U, Alpha []T
}

// Reduce writes the pooling of o into pooled ([batch][E]): the last real step's output (both
// directions' last), the mean or the elementwise max over the real steps, or additive attention
// (att): u_t = tanh(out_t·W + B), s_t = u_t·V, α = softmax(s) over the real steps, pooled =
// Σ α_t·out_t, α left in att.Alpha. A sample of no real step pools to zero. For Max, argmax, when
// not nil ([batch][E]), receives the step each value came from (-1 for none).
func Reduce[T kernel.Float](kind Kind, o Outputs[T], pooled []T, argmax []int32, att *Attend[T]) {
	batch, e, steps := len(o.Lengths), o.E, o.Steps
	be := batch * e
	out := o.Out
	switch kind {
	case Last:
		if steps == 0 {
			clear(pooled)
			return
		}
		// Padding steps repeat the last real output, so the final step holds the forward
		// direction's; the backward direction's last is at step 0.
		copy(pooled, out[(steps-1)*be:steps*be])
		if h := o.H; h > 0 {
			for b := range batch {
				copy(pooled[b*e+h:(b+1)*e], out[b*e+h:(b+1)*e])
			}
		}
	case Mean:
		clear(pooled)
		for b, n := range o.Lengths {
			p := pooled[b*e : (b+1)*e]
			for t := range n {
				kernel.Axpy(1, out[t*be+b*e:t*be+(b+1)*e], p)
			}
			if n > 0 {
				kernel.Scale(1/T(n), p)
			}
		}
	case Max:
		for b, n := range o.Lengths {
			p := pooled[b*e : (b+1)*e]
			clear(p)
			var arg []int32
			if argmax != nil {
				arg = argmax[b*e : (b+1)*e]
				for j := range arg {
					arg[j] = -1
				}
			}
			for t := range n {
				for j, v := range out[t*be+b*e : t*be+(b+1)*e] {
					if t == 0 || v > p[j] {
						p[j] = v
						if arg != nil {
							arg[j] = int32(t)
						}
					}
				}
			}
		}
	case Attention:
		attend(o, pooled, att)
	}
}

// attend pools o by additive attention into pooled (see Reduce).
func attend[T kernel.Float](o Outputs[T], pooled []T, att *Attend[T]) {
	batch, e, out := len(o.Lengths), o.E, o.Out
	a := len(att.B)
	rows := o.Steps * batch
	u := att.U[:rows*a]
	kernel.Gemm(false, false, rows, a, e, 1, out, e, att.W, a, 0, u, a)
	kernel.AddBias(u, att.B)
	kernel.Tanhs(u, u)
	clear(pooled)
	for b, n := range o.Lengths {
		mx := math.Inf(-1)
		for t := range n {
			i := t*batch + b
			var s float64
			for j, x := range u[i*a : (i+1)*a] {
				s += float64(x) * float64(att.V[j])
			}
			att.Alpha[i] = T(s)
			mx = math.Max(mx, s)
		}
		var sum float64
		for t := range n {
			i := t*batch + b
			x := math.Exp(float64(att.Alpha[i]) - mx)
			att.Alpha[i] = T(x)
			sum += x
		}
		p := pooled[b*e : (b+1)*e]
		for t := range n {
			i := t*batch + b
			att.Alpha[i] = T(float64(att.Alpha[i]) / sum)
			kernel.Axpy(att.Alpha[i], out[i*e:(i+1)*e], p)
		}
	}
}
