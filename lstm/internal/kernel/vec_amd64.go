//go:build !purego

package kernel

// The vector kernels of vec_amd64.s (AVX-512), vec256_amd64.s and avx2_amd64.s (AVX2+FMA);
// lengths are in elements. The wrappers below check that the slices hold what the kernels touch
// and return how many leading elements (units, for the gates) they did: all with assembly (the
// activations and the gates), or all with AVX-512 and whole vectors of 8 with AVX2 (the helpers);
// none without either. The callers do the rest in scalar Go.

//go:noescape
func sigmoid512(dst, src *float32, n int)

//go:noescape
func tanh512(dst, src *float32, n int)

//go:noescape
func gatesForward512(z, cPrev, c, tc, h *float32, n int)

//go:noescape
func gatesBackward512(act, cPrev, tc, dh, dc, dz *float32, n int)

//go:noescape
func axpy512(alpha float32, x, y *float32, n int)

//go:noescape
func add512(dst, a, b *float32, n int)

//go:noescape
func mul512(dst, a, b *float32, n int)

//go:noescape
func scale512(alpha float32, x *float32, n int)

//go:noescape
func sigmoid256(dst, src *float32, n int)

//go:noescape
func tanh256(dst, src *float32, n int)

//go:noescape
func gatesForward256(z, cPrev, c, tc, h *float32, n, count int)

//go:noescape
func gatesBackward256(act, cPrev, tc, dh, dc, dz *float32, n, count int)

//go:noescape
func axpy256(alpha float32, x, y *float32, n int)

//go:noescape
func add256(dst, a, b *float32, n int)

//go:noescape
func mul256(dst, a, b *float32, n int)

//go:noescape
func scale256(alpha float32, x *float32, n int)

// vecCount returns how many of n elements the vector kernels take: all with AVX-512, a
// multiple of 8 with AVX2, none otherwise.
func vecCount(n int) int {
	switch isa {
	case isaAVX512:
		return n
	case isaAVX2:
		return n &^ 7
	}
	return 0
}

// The activations and the gates take every element with AVX2 too: the last n%8 go through the
// same vector kernel in a padded vector on the stack. tanh(x) must be the same bits wherever x
// falls in a vector, since Tanhs makes GatesForward's tc again over many samples at once.

func gatesForwardAsm(z, cPrev, c, tc, h []float32) int {
	n := len(c)
	if isa == isaGo || n == 0 || len(z) < 4*n || len(cPrev) < n || len(tc) < n || len(h) < n {
		return 0
	}
	if isa == isaAVX512 {
		gatesForward512(&z[0], &cPrev[0], &c[0], &tc[0], &h[0], n)
		return n
	}
	k := n &^ 7
	if k > 0 {
		gatesForward256(&z[0], &cPrev[0], &c[0], &tc[0], &h[0], n, k)
	}
	if k < n {
		var z8 [32]float32
		var cPrev8, c8, tc8, h8 [8]float32
		for g := range 4 {
			copy(z8[8*g:], z[g*n+k:(g+1)*n])
		}
		copy(cPrev8[:], cPrev[k:n])
		gatesForward256(&z8[0], &cPrev8[0], &c8[0], &tc8[0], &h8[0], 8, 8)
		for g := range 4 {
			copy(z[g*n+k:(g+1)*n], z8[8*g:])
		}
		copy(c[k:n], c8[:])
		copy(tc[k:n], tc8[:])
		copy(h[k:n], h8[:])
	}
	return n
}

func gatesBackwardAsm(act, cPrev, tc, dh, dc, dz []float32) int {
	n := len(dc)
	if isa == isaGo || n == 0 || len(act) < 4*n || len(cPrev) < n || len(tc) < n || len(dh) < n || len(dz) < 4*n {
		return 0
	}
	if isa == isaAVX512 {
		gatesBackward512(&act[0], &cPrev[0], &tc[0], &dh[0], &dc[0], &dz[0], n)
		return n
	}
	k := n &^ 7
	if k > 0 {
		gatesBackward256(&act[0], &cPrev[0], &tc[0], &dh[0], &dc[0], &dz[0], n, k)
	}
	if k < n {
		var act8, dz8 [32]float32
		var cPrev8, tc8, dh8, dc8 [8]float32
		for g := range 4 {
			copy(act8[8*g:], act[g*n+k:(g+1)*n])
		}
		copy(cPrev8[:], cPrev[k:n])
		copy(tc8[:], tc[k:n])
		copy(dh8[:], dh[k:n])
		copy(dc8[:], dc[k:n])
		gatesBackward256(&act8[0], &cPrev8[0], &tc8[0], &dh8[0], &dc8[0], &dz8[0], 8, 8)
		for g := range 4 {
			copy(dz[g*n+k:(g+1)*n], dz8[8*g:])
		}
		copy(dc[k:n], dc8[:])
	}
	return n
}

func sigmoidsAsm(dst, src []float32) int {
	return activationsAsm(dst, src, false)
}

func tanhsAsm(dst, src []float32) int {
	return activationsAsm(dst, src, true)
}

// activationsAsm sets dst[i] = tanh(src[i]), or sigmoid, for every i of src; it returns how many
// it did: all, or none without assembly. (The kernel is chosen by a flag, not passed as a
// function: an indirect call would move the padded vector to the heap.)
func activationsAsm(dst, src []float32, tanh bool) int {
	n := len(src)
	if isa == isaGo || n == 0 || len(dst) < n {
		return 0
	}
	switch {
	case isa == isaAVX512 && tanh:
		tanh512(&dst[0], &src[0], n)
		return n
	case isa == isaAVX512:
		sigmoid512(&dst[0], &src[0], n)
		return n
	}
	k := n &^ 7
	if k > 0 {
		act256(&dst[0], &src[0], k, tanh)
	}
	if k < n {
		var in, out [8]float32
		copy(in[:], src[k:n])
		act256(&out[0], &in[0], 8, tanh)
		copy(dst[k:n], out[:])
	}
	return n
}

// act256 is tanh256 or sigmoid256.
func act256(dst, src *float32, n int, tanh bool) {
	if tanh {
		tanh256(dst, src, n)
	} else {
		sigmoid256(dst, src, n)
	}
}

func axpyAsm(alpha float32, x, y []float32) int {
	k := vecCount(len(x))
	if k == 0 || len(y) < len(x) {
		return 0
	}
	if isa == isaAVX512 {
		axpy512(alpha, &x[0], &y[0], k)
	} else {
		axpy256(alpha, &x[0], &y[0], k)
	}
	return k
}

func addAsm(dst, a, b []float32) int {
	k := vecCount(len(a))
	if k == 0 || len(b) < len(a) || len(dst) < len(a) {
		return 0
	}
	if isa == isaAVX512 {
		add512(&dst[0], &a[0], &b[0], k)
	} else {
		add256(&dst[0], &a[0], &b[0], k)
	}
	return k
}

func mulAsm(dst, a, b []float32) int {
	k := vecCount(len(a))
	if k == 0 || len(b) < len(a) || len(dst) < len(a) {
		return 0
	}
	if isa == isaAVX512 {
		mul512(&dst[0], &a[0], &b[0], k)
	} else {
		mul256(&dst[0], &a[0], &b[0], k)
	}
	return k
}

func scaleAsm(alpha float32, x []float32) int {
	k := vecCount(len(x))
	if k == 0 {
		return 0
	}
	if isa == isaAVX512 {
		scale512(alpha, &x[0], k)
	} else {
		scale256(alpha, &x[0], k)
	}
	return k
}

//go:noescape
func adam512(param, grad, m, v *float32, n int, c *AdamArgs[float32])

func adamAsm(p, g, m, v []float32, c *AdamArgs[float32]) int {
	n := len(p)
	k := vecCount(n)
	if k == 0 || len(g) < n || len(m) < n || len(v) < n {
		return 0
	}
	if isa == isaAVX512 {
		adam512(&p[0], &g[0], &m[0], &v[0], n, c)
	} else {
		adam256(&p[0], &g[0], &m[0], &v[0], k, c)
	}
	return k
}
