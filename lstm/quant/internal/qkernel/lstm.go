package qkernel

import (
	"fmt"
	"math"
)

// The constants of LSTMStep's exponential, as bits so that every path reads the same values.
var (
	negLog2e  = math.Float32frombits(0xbfb8aa3b) // -log2(e)
	neg2Log2e = math.Float32frombits(0xc038aa3b) // -2·log2(e)
	// 2^r on [-1/2, 1/2], degree 4, relative error 2.9e-6: 1 + p1·r + … + p4·r⁴, exactly 1 at 0,
	// so that a gate of 0 gives σ = 1/2 and tanh = 0 exactly.
	exp2P0 = math.Float32frombits(0x3f800000)
	exp2P1 = math.Float32frombits(0x3f317096)
	exp2P2 = math.Float32frombits(0x3e7601bc)
	exp2P3 = math.Float32frombits(0x3d64fe23)
	exp2P4 = math.Float32frombits(0x3c1d0167)
)

// exp2Clamp bounds the exponent of exp2c: 2^±40 keeps every product LSTMStep makes of up to
// three 1+2^t finite and every value normal.
const exp2Clamp = 40

// exp2c returns 2^t for t clamped to [-40, 40]: t = n + r with n = round(t) to even, 2^r by the
// polynomial, times 2^n. Each operation rounds to float32 on its own (no fused multiply-add),
// in the order the assembly takes.
func exp2c(t float32) float32 {
	t = max(min(t, exp2Clamp), -exp2Clamp)
	n := float32(math.RoundToEven(float64(t)))
	r := t - n
	p := float32(exp2P4 * r)
	p = float32((p + exp2P3) * r)
	p = float32((p + exp2P2) * r)
	p = float32((p + exp2P1) * r)
	p += exp2P0
	return float32(p * math.Float32frombits(uint32(int32(n)+127)<<23))
}

// LSTMStep finishes one LSTM step for rows samples and quantizes its outputs for the next
// step's product. Row i of z holds the pre-activations zi, zf, zg, zo (n each) at z[i·ldz:],
// row i of c the cell state (n values at c[i·ldc:]), which it updates in place; it writes the
// output h (n values) at h[i·ldh:], and h quantized as Quantize does it at hq[i·ldq:] (ldq at
// least n rounded up to 4), with its scale in hs[i] and its sum in hsum[i]. z is left as it is.
//
// With e(t) = 2^t as exp2c makes it and L = log2(e), the gates are
//
//	i = 1/(1+e(-L·zi)), f = 1/(1+e(-L·zf)), o = 1/(1+e(-L·zo)), g = (1-e(-2L·zg))/(1+e(-2L·zg))
//
// and the cell and the output are made over common denominators, two divisions a unit:
//
//	c' = f·c + i·g = (c·a·b + (1-eg)·d)/(a·b·d),  a = 1+ei, b = 1+eg, d = 1+ef
//	h  = o·tanh(c') = (1-ec)/((1+eo)·(1+ec)),     ec = e(-2L·c')
//
// which is the float32 gates' function within a few units of 1e-6. Every path (AVX-512, AVX2,
// Go) runs these operations in this order and gives the same bits.
func LSTMStep(rows, n int, z []float32, ldz int, c []float32, ldc int, h []float32, ldh int, hq []int8, ldq int, hs []float32, hsum []int32) {
	if rows == 0 || n == 0 {
		return
	}
	pad := (n + 3) &^ 3
	last := rows - 1
	if ldz < 4*n || ldc < n || ldh < n || ldq < pad || len(z) < last*ldz+4*n || len(c) < last*ldc+n || len(h) < last*ldh+n ||
		len(hq) < last*ldq+pad || len(hs) < rows || len(hsum) < rows {
		panic(fmt.Sprintf("qkernel: LSTMStep: %d rows of %d units: z %d (ld %d), c %d (ld %d), h %d (ld %d), hq %d (ld %d), %d scales, %d sums",
			rows, n, len(z), ldz, len(c), ldc, len(h), ldh, len(hq), ldq, len(hs), len(hsum)))
	}
	if lstmStepAsm(rows, n, z, ldz, c, ldc, h, ldh, hq, ldq, hs, hsum) {
		return
	}
	for i := range rows {
		lstmRowGo(z[i*ldz:i*ldz+4*n], c[i*ldc:i*ldc+n], h[i*ldh:i*ldh+n])
		hs[i], hsum[i] = Quantize(hq[i*ldq:i*ldq+pad], h[i*ldh:i*ldh+n])
	}
}

// lstmRowGo is LSTMStep's gates for one row, in Go.
func lstmRowGo(z, c, h []float32) {
	n := len(c)
	zi, zf, zg, zo := z[:n], z[n:2*n], z[2*n:3*n], z[3*n:4*n]
	for j := range n {
		ei := exp2c(float32(zi[j] * negLog2e))
		ef := exp2c(float32(zf[j] * negLog2e))
		eg := exp2c(float32(zg[j] * neg2Log2e))
		eo := exp2c(float32(zo[j] * negLog2e))
		a, b, m, d := ei+1, eg+1, 1-eg, ef+1
		ab := float32(a * b)
		num := float32(c[j]*ab) + float32(m*d)
		cn := num / float32(ab*d)
		c[j] = cn
		ec := exp2c(float32(cn * neg2Log2e))
		h[j] = (1 - ec) / float32(float32(eo+1)*float32(ec+1))
	}
}
