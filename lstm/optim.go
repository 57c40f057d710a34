package lstm

import (
	"fmt"
	"math"

	"github.com/seqclf/seqclf/lstm/internal/kernel"
)

// Optimizer updates parameters from their gradients. Its state (momentum, moments) is kept per
// parameter, by position: pass the same slice, in the same order, at every step.
type Optimizer[T Float] interface {
	Step(params []*Param[T])
}

// SGD is stochastic gradient descent with momentum and L2 weight decay, as torch.optim.SGD
// (dampening 0, no Nesterov): g ← g + λ·p; v ← μ·v + g (v = g at the first step); p ← p − lr·v.
type SGD[T Float] struct {
	LR, Momentum, WeightDecay float64
	// Velocity is the momentum buffer of each parameter, nil before the first step; a checkpoint
	// saves it to resume exactly.
	Velocity [][]T
}

// Step applies one update to params.
func (o *SGD[T]) Step(params []*Param[T]) {
	first := o.Velocity == nil && o.Momentum != 0
	if first {
		o.Velocity = make([][]T, len(params))
	}
	checkState(len(o.Velocity), len(params), o.Momentum != 0)
	lr, mu, wd := T(o.LR), T(o.Momentum), T(o.WeightDecay)
	for k, p := range params {
		var v []T
		if o.Momentum != 0 {
			if first {
				o.Velocity[k] = make([]T, len(p.Value))
			}
			v = o.Velocity[k]
		}
		for i, g := range p.Grad {
			g += wd * p.Value[i]
			if v != nil {
				if first {
					v[i] = g
				} else {
					v[i] = mu*v[i] + g
				}
				g = v[i]
			}
			p.Value[i] -= lr * g
		}
	}
}

// Adam is the Adam optimizer (Kingma & Ba) with bias correction, as torch.optim.Adam; WeightDecay
// adds λ·p to the gradient (L2). With Decoupled set it is AdamW (Loshchilov & Hutter), as
// torch.optim.AdamW: p ← p·(1 − lr·λ) before the Adam update, and the gradient is left alone.
type Adam[T Float] struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
	Decoupled                          bool
	// Steps counts the updates made; M and V are the first and second moments of each
	// parameter, nil before the first step. A checkpoint saves them to resume exactly.
	Steps int
	M, V  [][]T
}

// NewAdam returns Adam with PyTorch's defaults (β1 0.9, β2 0.999, ε 1e-8) and learning rate lr.
func NewAdam[T Float](lr float64) *Adam[T] {
	return &Adam[T]{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}

// NewAdamW returns AdamW with PyTorch's defaults (β1 0.9, β2 0.999, ε 1e-8, weight decay 0.01).
func NewAdamW[T Float](lr float64) *Adam[T] {
	return &Adam[T]{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, Decoupled: true}
}

// Step applies one update to params.
func (o *Adam[T]) Step(params []*Param[T]) {
	if o.M == nil {
		o.M, o.V = make([][]T, len(params)), make([][]T, len(params))
		for k, p := range params {
			o.M[k], o.V[k] = make([]T, len(p.Value)), make([]T, len(p.Value))
		}
	}
	checkState(len(o.M), len(params), true)
	o.Steps++
	b1, b2 := T(o.Beta1), T(o.Beta2)
	c := kernel.AdamArgs[T]{
		B1: b1, OneMinusB1: 1 - b1, B2: b2, OneMinusB2: 1 - b2,
		Step:  T(o.LR / (1 - math.Pow(o.Beta1, float64(o.Steps)))),
		BC2:   T(math.Sqrt(1 - math.Pow(o.Beta2, float64(o.Steps)))),
		Eps:   T(o.Eps),
		Decay: 1,
	}
	if o.Decoupled {
		c.Decay = T(1 - o.LR*o.WeightDecay)
	} else {
		c.WD = T(o.WeightDecay)
	}
	for k, p := range params {
		kernel.Adam(p.Value, p.Grad, o.M[k], o.V[k], &c)
	}
}

func checkState(have, want int, used bool) {
	if used && have != want {
		panic(fmt.Sprintf("lstm: optimizer state for %d parameters, stepped with %d", have, want))
	}
}

// ClipGradNorm scales the gradients of params so that their global L2 norm is at most maxNorm,
// as torch.nn.utils.clip_grad_norm_ does (by maxNorm/(norm+1e-6) when norm exceeds maxNorm). It
// returns the norm before clipping.
func ClipGradNorm[T Float](params []*Param[T], maxNorm float64) float64 {
	var ss float64
	for _, p := range params {
		ss += kernel.SumSquares(p.Grad)
	}
	norm := math.Sqrt(ss)
	if coef := maxNorm / (norm + 1e-6); coef < 1 {
		for _, p := range params {
			kernel.Scale(T(coef), p.Grad)
		}
	}
	return norm
}
