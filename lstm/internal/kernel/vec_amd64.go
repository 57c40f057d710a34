//go:build !purego

package kernel

// The AVX-512 elementwise kernels of vec_amd64.s; lengths are in elements. The callers below
// check that the slices hold what the kernels read and write.

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

// vec reports whether the vector kernels run on this CPU.
func vec() bool { return isa == isaAVX512 }

func gatesForwardAsm(z, cPrev, c, tc, h []float32) bool {
	n := len(c)
	if !vec() || n == 0 || len(z) < 4*n || len(cPrev) < n || len(tc) < n || len(h) < n {
		return false
	}
	gatesForward512(&z[0], &cPrev[0], &c[0], &tc[0], &h[0], n)
	return true
}

func gatesBackwardAsm(act, cPrev, tc, dh, dc, dz []float32) bool {
	n := len(dc)
	if !vec() || n == 0 || len(act) < 4*n || len(cPrev) < n || len(tc) < n || len(dh) < n || len(dz) < 4*n {
		return false
	}
	gatesBackward512(&act[0], &cPrev[0], &tc[0], &dh[0], &dc[0], &dz[0], n)
	return true
}

func sigmoidsAsm(dst, src []float32) bool {
	if !vec() || len(src) == 0 || len(dst) < len(src) {
		return false
	}
	sigmoid512(&dst[0], &src[0], len(src))
	return true
}

func tanhsAsm(dst, src []float32) bool {
	if !vec() || len(src) == 0 || len(dst) < len(src) {
		return false
	}
	tanh512(&dst[0], &src[0], len(src))
	return true
}

func axpyAsm(alpha float32, x, y []float32) bool {
	if !vec() || len(x) == 0 || len(y) < len(x) {
		return false
	}
	axpy512(alpha, &x[0], &y[0], len(x))
	return true
}

func addAsm(dst, a, b []float32) bool {
	if !vec() || len(a) == 0 || len(b) < len(a) || len(dst) < len(a) {
		return false
	}
	add512(&dst[0], &a[0], &b[0], len(a))
	return true
}

func mulAsm(dst, a, b []float32) bool {
	if !vec() || len(a) == 0 || len(b) < len(a) || len(dst) < len(a) {
		return false
	}
	mul512(&dst[0], &a[0], &b[0], len(a))
	return true
}

func scaleAsm(alpha float32, x []float32) bool {
	if !vec() || len(x) == 0 {
		return false
	}
	scale512(alpha, &x[0], len(x))
	return true
}
