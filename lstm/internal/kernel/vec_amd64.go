//go:build !purego

package kernel

// The vector kernels of vec_amd64.s (AVX-512) and vec256_amd64.s (AVX2+FMA); lengths are in
// elements. The wrappers below check that the slices hold what the kernels touch and return
// how many leading elements (units, for the gates) they did: all with AVX-512, whole vectors of
// 8 with AVX2, none without either; the callers do the rest in scalar Go.

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

func gatesForwardAsm(z, cPrev, c, tc, h []float32) int {
	n := len(c)
	k := vecCount(n)
	if k == 0 || len(z) < 4*n || len(cPrev) < n || len(tc) < n || len(h) < n {
		return 0
	}
	if isa == isaAVX512 {
		gatesForward512(&z[0], &cPrev[0], &c[0], &tc[0], &h[0], n)
	} else {
		gatesForward256(&z[0], &cPrev[0], &c[0], &tc[0], &h[0], n, k)
	}
	return k
}

func gatesBackwardAsm(act, cPrev, tc, dh, dc, dz []float32) int {
	n := len(dc)
	k := vecCount(n)
	if k == 0 || len(act) < 4*n || len(cPrev) < n || len(tc) < n || len(dh) < n || len(dz) < 4*n {
		return 0
	}
	if isa == isaAVX512 {
		gatesBackward512(&act[0], &cPrev[0], &tc[0], &dh[0], &dc[0], &dz[0], n)
	} else {
		gatesBackward256(&act[0], &cPrev[0], &tc[0], &dh[0], &dc[0], &dz[0], n, k)
	}
	return k
}

func sigmoidsAsm(dst, src []float32) int {
	k := vecCount(len(src))
	if k == 0 || len(dst) < len(src) {
		return 0
	}
	if isa == isaAVX512 {
		sigmoid512(&dst[0], &src[0], k)
	} else {
		sigmoid256(&dst[0], &src[0], k)
	}
	return k
}

func tanhsAsm(dst, src []float32) int {
	k := vecCount(len(src))
	if k == 0 || len(dst) < len(src) {
		return 0
	}
	if isa == isaAVX512 {
		tanh512(&dst[0], &src[0], k)
	} else {
		tanh256(&dst[0], &src[0], k)
	}
	return k
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
	if isa != isaAVX512 || n == 0 || len(g) < n || len(m) < n || len(v) < n {
		return 0
	}
	adam512(&p[0], &g[0], &m[0], &v[0], n, c)
	return n
}
