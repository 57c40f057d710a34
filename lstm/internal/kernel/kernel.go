// Package kernel is the small set of numeric routines that the LSTM's heavy work goes through:
// the matrix multiply, the fused gate activations of one time step and their derivatives, and a
// few elementwise loops. The model code calls nothing else for its O(T·B·H²) work, so a faster
// implementation can replace this package without touching the model.
//
// All matrices are dense and row-major, described BLAS-style by a slice and a leading dimension.
// The routines are generic over float32 (training and inference) and float64 (gradient checks).
//
// # Kernels
//
// On amd64 the float32 routines run on Go-assembly kernels, AVX-512 or AVX2+FMA, whichever the
// CPU has (chosen once at start-up with golang.org/x/sys/cpu, or capped by SEQCLF_CPU, below);
// on other CPUs and architectures, and under the purego build tag, they run on gonum's pure-Go
// BLAS (blas32) and scalar Go. float64 always takes the pure-Go path (blas64).
//
//   - gemm_amd64.s (written by asmgen): register-blocked micro-kernels that read A and B in
//     place, 14×32 with AVX-512 (masked at the right edge), 6×16 and a masked 5×16 with AVX2.
//     gemm_amd64.go splits C into row blocks of at most 14 (or 6) rows, as even as can be, and
//     column blocks of 32 (or 16), and k into passes (kcNN, kcNT, kcTN). TN needs no copy: for
//     one p the rows of op(A) = Aᵀ are neighbours in A. NT transposes each pass of B into a
//     reused panel (a gather per 16 values with AVX-512, 8×8 shuffles with AVX2). Gemm2 runs on
//     the x2 variants of the same blocks, which sum two A's over one B from the bias up;
//     WeightGrad on the plain ones, TN, with a row of ones for the bias; WeightGradCold, with
//     AVX-512, first copies each chunk of B (dZ) into column blocks (pack_amd64.s), read in
//     order.
//   - gemv_amd64.s: matrix-vector kernels for a GEMM of one row (batch 1), which stream B once
//     with many FMAs in flight where the one-row GEMM waits on one or two chains: NN with
//     columns in blocks of 256/128 (AVX-512) or 64 (AVX2), NT as dot products of rows of B.
//     sgemmAsm sends NN with m = 1 and NT with m ≤ 8 to them, a row at a time.
//   - vec_amd64.s, vec256_amd64.s: sigmoid and tanh from a degree-5 polynomial exp (Cephes'
//     expf) and a division, fused into GatesForward; GatesBackward and the vector helpers.
//     Their relative error against float64 math is below 2e-7 (TestActivations). vec_amd64.s
//     also holds the AVX-512 Adam step.
//   - transpose_amd64.s: Transpose by AVX-512 gathers. avx2_amd64.s (written by asmgen): the
//     AVX2 Adam step and Transpose in blocks of 8×8 (unpacks, shuffles and lane permutes).
//
// # Choosing the instruction set
//
// The environment variable SEQCLF_CPU (CPUEnv), read once when the program starts, caps what
// the float32 kernels use: "avx2" turns AVX-512 off (to measure or reproduce an AVX2-only
// machine on a newer one), "go" turns the assembly off altogether, "avx512", "auto" or unset
// take the best the CPU has. A value this package does not know, or a set the CPU (or a purego
// build) cannot run, is not an error: the kernels take the best set there is, and ISA returns a
// note saying so; nothing is printed.
//
// # Caveats
//
// Results differ from the pure-Go path in the last bits (another summation order, other
// activations), and between AVX-512 and AVX2 (so between SEQCLF_CPU settings on one machine);
// each path is deterministic. Adam gives the same bits on every path.
package kernel

import (
	"fmt"
	"math"
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
)

// Float is the element type of every buffer: float32 or float64.
type Float interface{ ~float32 | ~float64 }

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// is32 reports whether T is float32 (or a type based on it).
func is32[T Float]() bool {
	var zero T
	return unsafe.Sizeof(zero) == 4
}

// as32 and as64 reinterpret a slice of a Float type whose size is known; they never copy.
func as32[T Float](s []T) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

func as64[T Float](s []T) []float64 {
	return unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

// Gemm computes C = alpha·op(A)·op(B) + beta·C, where op(X) is X or Xᵀ as transA and transB
// say, op(A) is m×k, op(B) is k×n and C is m×n, all row-major with leading dimensions lda, ldb
// and ldc. It works in place on c. With beta = 0, C is not read. Bad shapes, leading
// dimensions or slice lengths panic.
func Gemm[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	checkGemm(transA, transB, m, n, k, lda, len(a), ldb, len(b), ldc, len(c))
	if m == 0 || n == 0 {
		return
	}
	if unsafe.Sizeof(alpha) == 4 {
		if sgemmAsm(transA, transB, m, n, k, float32(alpha), as32(a), lda, as32(b), ldb, float32(beta), as32(c), ldc) {
			return
		}
		blas32.Implementation().Sgemm(trans(transA), trans(transB), m, n, k,
			float32(alpha), as32(a), lda, as32(b), ldb, float32(beta), as32(c), ldc)
		return
	}
	blas64.Implementation().Dgemm(trans(transA), trans(transB), m, n, k,
		float64(alpha), as64(a), lda, as64(b), ldb, float64(beta), as64(c), ldc)
}

// Gemm2 computes C = [A1 A2]·B + beta·C + bias: A1 is m×k1 and A2 is m×k2, side by side (each
// row-major with its own leading dimension), B is (k1+k2)×n, C is m×n, and bias (nil, or n
// values) is added to every row. An LSTM step's x_t·Wx + h_{t-1}·Wh + b is one Gemm2 over its
// fused W = [Wx; Wh], which with assembly runs as one pass of the micro-kernels, not two
// multiplies and a pass for the bias. Bad shapes panic, as Gemm's.
func Gemm2[T Float](m, n, k1 int, a1 []T, lda1 int, k2 int, a2 []T, lda2 int, b []T, ldb int, beta T, c []T, ldc int, bias []T) {
	checkGemm(false, false, m, n, k1, lda1, len(a1), ldb, len(b), ldc, len(c))
	checkGemm(false, false, m, n, k2, lda2, len(a2), ldb, max(0, len(b)-k1*ldb), ldc, len(c))
	if bias != nil && len(bias) < n {
		panic(fmt.Sprintf("kernel: Gemm2: bias has %d values, want %d", len(bias), n))
	}
	if m == 0 || n == 0 {
		return
	}
	if k1 > 0 && k2 > 0 && unsafe.Sizeof(beta) == 4 && sgemm2Asm(m, n, k1, as32(a1), lda1, k2, as32(a2), lda2, as32(b), ldb, float32(beta), as32(c), ldc, as32(bias)) {
		return
	}
	Gemm(false, false, m, n, k1, 1, a1, lda1, b, ldb, beta, c, ldc)
	Gemm(false, false, m, n, k2, 1, a2, lda2, b[k1*ldb:], ldb, 1, c, ldc)
	if bias != nil {
		for i := range m {
			Add(c[i*ldc:i*ldc+n], c[i*ldc:i*ldc+n], bias[:n])
		}
	}
}

// WeightGrad computes the weight and bias gradients of a dense map over k rows in one pass over
// B = dZ: C = beta·C + [A1 A2]ᵀ·B, where A1 is k×m1 and A2 is k×m2 (row-major, leading dimensions
// lda1 and lda2), B is k×n and C is (m1+m2)×n, its first m1 rows A1ᵀ·B and the next m2 rows
// A2ᵀ·B; and bias = beta·bias + the column sums of B (n values). For an LSTM layer, A1 = X,
// A2 = H_prev and C = [dWx; dWh]: with assembly each block of rows of dZ is read from memory
// once for the three, not three times. Bad shapes panic, as Gemm's.
func WeightGrad[T Float](k, n int, a1 []T, lda1, m1 int, a2 []T, lda2, m2 int, b []T, ldb int, beta T, c []T, ldc int, bias []T) {
	weightGrad(k, n, a1, lda1, m1, a2, lda2, m2, b, ldb, beta, c, ldc, bias, false)
}

// WeightGradCold is WeightGrad for a B that the caches do not hold (the gates' gradient of a
// text batch, tens of MiB): with AVX-512 each chunk of B is first copied, in order, into
// column blocks, which the kernels then read from L2 (with AVX2, WeightGrad's chunks are
// copied too). The results are WeightGrad's, bit for bit; only the speed differs (slower on a
// B in cache, with AVX-512).
func WeightGradCold[T Float](k, n int, a1 []T, lda1, m1 int, a2 []T, lda2, m2 int, b []T, ldb int, beta T, c []T, ldc int, bias []T) {
	weightGrad(k, n, a1, lda1, m1, a2, lda2, m2, b, ldb, beta, c, ldc, bias, true)
}

func weightGrad[T Float](k, n int, a1 []T, lda1, m1 int, a2 []T, lda2, m2 int, b []T, ldb int, beta T, c []T, ldc int, bias []T, pack bool) {
	checkGemm(true, false, m1, n, k, lda1, len(a1), ldb, len(b), ldc, len(c))
	checkGemm(true, false, m2, n, k, lda2, len(a2), ldb, len(b), ldc, max(0, len(c)-m1*ldc))
	if len(bias) < n {
		panic(fmt.Sprintf("kernel: WeightGrad: bias has %d values, want %d", len(bias), n))
	}
	if n == 0 {
		return
	}
	if k > 0 && unsafe.Sizeof(beta) == 4 && weightGradAsm(k, n, as32(a1), lda1, m1, as32(a2), lda2, m2, as32(b), ldb, float32(beta), as32(c), ldc, as32(bias), pack) {
		return
	}
	Gemm(true, false, m1, n, k, 1, a1, lda1, b, ldb, beta, c, ldc)
	Gemm(true, false, m2, n, k, 1, a2, lda2, b, ldb, beta, c[m1*ldc:], ldc)
	sum := bias[:n]
	switch beta {
	case 0:
		clear(sum)
	case 1:
	default:
		Scale(beta, sum)
	}
	for p := range k {
		Add(sum, sum, b[p*ldb:p*ldb+n])
	}
}

// checkGemm panics unless the operands of Gemm hold the matrices it will read and write: the
// assembly kernels index the slices unchecked.
func checkGemm(transA, transB bool, m, n, k, lda, lenA, ldb, lenB, ldc, lenC int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernel: Gemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	rowsA, colsA := m, k
	if transA {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if transB {
		rowsB, colsB = n, k
	}
	check := func(name string, rows, cols, ld, length int) {
		if ld < max(1, cols) {
			panic(fmt.Sprintf("kernel: Gemm: ld%s = %d < %d columns", name, ld, cols))
		}
		if rows > 0 && cols > 0 && length < (rows-1)*ld+cols {
			panic(fmt.Sprintf("kernel: Gemm: %s has %d values, want %d for %d×%d with ld %d",
				name, length, (rows-1)*ld+cols, rows, cols, ld))
		}
	}
	check("a", rowsA, colsA, lda, lenA)
	check("b", rowsB, colsB, ldb, lenB)
	check("c", m, n, ldc, lenC)
}

// Sigmoid returns 1/(1+e^-x).
func Sigmoid[T Float](x T) T {
	return T(1 / (1 + math.Exp(-float64(x))))
}

// Tanh returns the hyperbolic tangent of x.
func Tanh[T Float](x T) T {
	return T(math.Tanh(float64(x)))
}

// Transpose writes the transpose of src (rows×cols, row-major) into dst (cols×rows).
func Transpose[T Float](dst, src []T, rows, cols int) {
	if len(src) < rows*cols || len(dst) < rows*cols {
		panic(fmt.Sprintf("kernel: Transpose: %d×%d with %d and %d values", rows, cols, len(src), len(dst)))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if is32[T]() && transposeAsm(as32(dst), as32(src), rows, cols) {
		return
	}
	// Tiles of 16×16, so that both sides stay in a few cache lines.
	const tile = 16
	for i0 := 0; i0 < rows; i0 += tile {
		for j0 := 0; j0 < cols; j0 += tile {
			for i := i0; i < min(i0+tile, rows); i++ {
				row := src[i*cols : (i+1)*cols]
				for j := j0; j < min(j0+tile, cols); j++ {
					dst[j*rows+i] = row[j]
				}
			}
		}
	}
}

// Tanhs sets dst[i] = tanh(src[i]) for every i of src, on the kernel GatesForward uses for
// tanh(c): the same bits as its tc.
func Tanhs[T Float](dst, src []T) {
	from := 0
	if is32[T]() {
		from = tanhsAsm(as32(dst), as32(src))
	}
	dst = dst[:len(src)]
	for i := from; i < len(src); i++ {
		dst[i] = Tanh(src[i])
	}
}

// GatesForward finishes one LSTM step for one sample. On entry z holds the pre-activations of
// the four gates in the order i, f, g, o (4·n values); on return it holds their activations
// σ(z_i), σ(z_f), tanh(z_g), σ(z_o). It writes the new cell state c = f⊙cPrev + i⊙g, its tanh
// tc, and the output h = o⊙tc (n values each).
func GatesForward[T Float](z, cPrev, c, tc, h []T) {
	from := 0
	if is32[T]() {
		from = gatesForwardAsm(as32(z), as32(cPrev), as32(c), as32(tc), as32(h))
	}
	n := len(c)
	zi, zf, zg, zo := z[:n], z[n:2*n], z[2*n:3*n], z[3*n:4*n]
	cPrev, tc, h = cPrev[:n], tc[:n], h[:n]
	for j := from; j < n; j++ {
		i := Sigmoid(zi[j])
		f := Sigmoid(zf[j])
		g := Tanh(zg[j])
		o := Sigmoid(zo[j])
		cj := f*cPrev[j] + i*g
		t := Tanh(cj)
		zi[j], zf[j], zg[j], zo[j] = i, f, g, o
		c[j], tc[j], h[j] = cj, t, o*t
	}
}

// GatesBackward undoes GatesForward for one sample. act holds the activations i, f, g, o that
// GatesForward left in z, cPrev and tc the step's previous cell state and tanh of its cell state,
// dh the gradient of the loss with respect to the step's output h. dc holds on entry the gradient
// arriving at the step's cell state from the next step and on return the gradient with respect to
// cPrev. It writes the gradient with respect to the pre-activations into dz (4·n values), which
// may be act itself: each position is read before it is written.
func GatesBackward[T Float](act, cPrev, tc, dh, dc, dz []T) {
	from := 0
	if is32[T]() {
		from = gatesBackwardAsm(as32(act), as32(cPrev), as32(tc), as32(dh), as32(dc), as32(dz))
	}
	n := len(dc)
	ai, af, ag, ao := act[:n], act[n:2*n], act[2*n:3*n], act[3*n:4*n]
	di, df, dg, do := dz[:n], dz[n:2*n], dz[2*n:3*n], dz[3*n:4*n]
	cPrev, tc, dh = cPrev[:n], tc[:n], dh[:n]
	for j := from; j < n; j++ {
		i, f, g, o, t := ai[j], af[j], ag[j], ao[j], tc[j]
		dcj := dc[j] + dh[j]*o*(1-t*t)
		do[j] = dh[j] * t * o * (1 - o)
		di[j] = dcj * g * i * (1 - i)
		df[j] = dcj * cPrev[j] * f * (1 - f)
		dg[j] = dcj * i * (1 - g*g)
		dc[j] = dcj * f
	}
}

// GRUForward finishes one GRU step for one sample, with PyTorch's nn.GRU equations. On entry z
// holds 4·n pre-activations in the blocks r, z, n_x, n_h: a_r = x·W_ir + h·W_hr + b_r, a_z
// likewise, a_nx = x·W_in + b_in and a_nh = h·W_hn + b_hn. It computes r = σ(a_r), u = σ(a_z),
// n = tanh(a_nx + r⊙a_nh) and writes the output h = (1−u)⊙n + u⊙hPrev; z then holds r, u, n and
// a_nh, what GRUBackward reads. With assembly, σ and tanh are the vector kernels GatesForward
// uses (a few float32 ulps from the math package's, as GatesForward's are), over all of r and u
// in one call, then over n.
func GRUForward[T Float](z, hPrev, h []T) {
	n := len(h)
	zr, zu, zn, zh := z[:n], z[n:2*n], z[2*n:3*n], z[3*n:4*n]
	hPrev = hPrev[:n]
	if is32[T]() && n > 0 && sigmoidsAsm(as32(z[:2*n]), as32(z[:2*n])) == 2*n {
		for j := range n {
			zn[j] += T(zr[j] * zh[j]) // rounded before the add: no fused multiply-add
		}
		tanhsAsm(as32(zn), as32(zn))
		for j := range n {
			c := zn[j]
			h[j] = c + T(zu[j]*(hPrev[j]-c))
		}
		return
	}
	for j := range n {
		r := Sigmoid(zr[j])
		u := Sigmoid(zu[j])
		c := Tanh(zn[j] + r*zh[j])
		zr[j], zu[j], zn[j] = r, u, c
		h[j] = c + u*(hPrev[j]-c)
	}
}

// GRUBackward undoes GRUForward for one sample. act holds what GRUForward left in z (r, u, n,
// a_nh), hPrev the step's previous output, dh the gradient with respect to the step's output. It
// writes the gradient with respect to the four blocks of pre-activations into dz (which may be
// act itself) and the part of the gradient with respect to hPrev that does not pass through the
// weights, dh⊙u, into dhPrev; the rest is dz·W_hᵀ.
func GRUBackward[T Float](act, hPrev, dh, dz, dhPrev []T) {
	n := len(dh)
	ar, au, an, ah := act[:n], act[n:2*n], act[2*n:3*n], act[3*n:4*n]
	dr, du, dn, dhn := dz[:n], dz[n:2*n], dz[2*n:3*n], dz[3*n:4*n]
	hPrev, dhPrev = hPrev[:n], dhPrev[:n]
	for j := range n {
		r, u, c, a, g := ar[j], au[j], an[j], ah[j], dh[j]
		dc := g * (1 - u) * (1 - c*c)
		dhPrev[j] = g * u
		du[j] = g * (hPrev[j] - c) * u * (1 - u)
		dr[j] = dc * a * r * (1 - r)
		dn[j] = dc
		dhn[j] = dc * r
	}
}

// AddBias adds the vector bias to each of the rows of the row-major matrix x (len(bias) columns).
func AddBias[T Float](x, bias []T) {
	n := len(bias)
	for r := 0; r+n <= len(x); r += n {
		row := x[r : r+n]
		from := 0
		if is32[T]() {
			from = axpyAsm(1, as32(bias), as32(row))
		}
		for j := from; j < n; j++ {
			row[j] += bias[j]
		}
	}
}

// AddColumnSums adds the column sums of the row-major matrix x (len(sum) columns) to sum.
func AddColumnSums[T Float](sum, x []T) {
	n := len(sum)
	for r := 0; r+n <= len(x); r += n {
		row := x[r : r+n]
		from := 0
		if is32[T]() {
			from = axpyAsm(1, as32(row), as32(sum))
		}
		for j := from; j < n; j++ {
			sum[j] += row[j]
		}
	}
}

// Add sets dst[i] = a[i] + b[i].
func Add[T Float](dst, a, b []T) {
	from := 0
	if is32[T]() {
		from = addAsm(as32(dst), as32(a), as32(b))
	}
	b = b[:len(a)]
	dst = dst[:len(a)]
	for i := from; i < len(a); i++ {
		dst[i] = a[i] + b[i]
	}
}

// Mul sets dst[i] = a[i] · b[i].
func Mul[T Float](dst, a, b []T) {
	from := 0
	if is32[T]() {
		from = mulAsm(as32(dst), as32(a), as32(b))
	}
	b = b[:len(a)]
	dst = dst[:len(a)]
	for i := from; i < len(a); i++ {
		dst[i] = a[i] * b[i]
	}
}

// Axpy adds alpha·x to y.
func Axpy[T Float](alpha T, x, y []T) {
	from := 0
	if is32[T]() {
		from = axpyAsm(float32(alpha), as32(x), as32(y))
	}
	y = y[:len(x)]
	for i := from; i < len(x); i++ {
		y[i] += alpha * x[i]
	}
}

// Scale multiplies every element of x by alpha.
func Scale[T Float](alpha T, x []T) {
	from := 0
	if is32[T]() {
		from = scaleAsm(float32(alpha), as32(x))
	}
	for i := from; i < len(x); i++ {
		x[i] *= alpha
	}
}

// SumSquares returns Σ x[i]² accumulated in float64.
func SumSquares[T Float](x []T) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s
}

// AdamArgs are the constants of one Adam step (see Adam).
type AdamArgs[T Float] struct {
	B1, OneMinusB1, B2, OneMinusB2 T
	Step, BC2, Eps                 T // the learning rate over 1-β1ᵗ; √(1-β2ᵗ); ε
	Decay, WD                      T // p's factor (AdamW's 1-lr·λ, else 1); L2's λ (Adam's, else 0)
}

// Adam applies one Adam step to the parameters p with gradients g and moments m and v:
//
//	g += WD·p; p *= Decay
//	m = B1·m + (1-B1)·g; v = B2·v + (1-B2)·g·g
//	p -= Step·m / (√v/BC2 + Eps)
//
// The vector kernel and the scalar loop give the same bits.
func Adam[T Float](p, g, m, v []T, c *AdamArgs[T]) {
	from := 0
	if c32, ok := any(c).(*AdamArgs[float32]); ok {
		from = adamAsm(as32(p), as32(g), as32(m), as32(v), c32)
	}
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	for i := from; i < len(p); i++ {
		// The conversions round each product, as the kernel does: Go may otherwise fuse
		// a multiply and an add.
		gi := g[i] + T(c.WD*p[i])
		pi := p[i] * c.Decay
		m[i] = T(c.B1*m[i]) + T(c.OneMinusB1*gi)
		v[i] = T(c.B2*v[i]) + T(T(c.OneMinusB2*gi)*gi)
		denom := T(math.Sqrt(float64(v[i])))/c.BC2 + c.Eps
		p[i] = pi - T(c.Step*m[i])/denom
	}
}

// Prefetch asks the CPU to start bringing s into its caches and returns at once: a hint, which
// changes no value, for data a loop will read a little later (the next step's rows of a pass
// back through time, which a page-bound hardware prefetcher does not foresee). Without assembly
// it does nothing.
func Prefetch[T Float](s []T) {
	if len(s) > 0 {
		prefetchAsm((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(s[0])))
	}
}
