package quant

import "github.com/seqclf/seqclf/lstm/internal/kernel"

// gruStep finishes one GRU step for one sample as kernel.GRUForward does (PyTorch's nn.GRU: z
// holds the pre-activations r, z, n_x, n_h, 4·n values), but on the kernels' vector tanh:
// σ(a) = (1 + tanh(a/2))/2, so that
//
//	a_n = n_x + r⊙n_h = n_x + n_h/2 + tanh(a_r/2)⊙n_h/2,  n = tanh(a_n)
//	h   = n + u⊙(hPrev − n) = n + d/2 + tanh(a_z/2)⊙d/2,  d = hPrev − n
//
// It leaves z's values spent and uses tmp (2·n values) as scratch.
func gruStep(z, hPrev, h, tmp []float32) {
	n := len(h)
	ru, zn, zh := z[:2*n], z[2*n:3*n], z[3*n:4*n]
	tr, tu := ru[:n], ru[n:]
	kernel.Scale(0.5, ru)
	kernel.Tanhs(ru, ru)
	t, d := tmp[:n], tmp[n:2*n]
	kernel.Mul(t, tr, zh)
	kernel.Axpy(0.5, zh, zn)
	kernel.Axpy(0.5, t, zn)
	kernel.Tanhs(zn, zn)
	copy(d, hPrev[:n])
	kernel.Axpy(-1, zn, d)
	kernel.Mul(t, tu, d)
	copy(h, zn)
	kernel.Axpy(0.5, d, h)
	kernel.Axpy(0.5, t, h)
}
