//go:build !purego

package kernel

// The matrix-vector kernels of gemv_amd64.s: y = alpha·x·op(B) + beta·y for x of k values, B
// row-major with rows ldb bytes apart, y of n values. k ≥ 1.
//
//go:noescape
func gemvN512(k int, x *float32, b *float32, ldb int, y *float32, n int, alpha, beta float32)

//go:noescape
func gemvT512(k int, x *float32, b *float32, ldb int, y *float32, n int, alpha, beta float32)

//go:noescape
func gemvN256(k int, x *float32, b *float32, ldb int, y *float32, n int, alpha, beta float32)

//go:noescape
func gemvT256(k int, x *float32, b *float32, ldb int, y *float32, n int, alpha, beta float32)

// gemvMaxRows[b2i(transB)] is the tallest op(A) that sgemmAsm multiplies a row at a time with gemv,
// reading B once per row, rather than with the register-blocked GEMM (BenchmarkGemv, which
// switches it). NN: one row only; a GEMM of one row keeps one or two FMA chains in flight
// and waits on their latency (36–41 GFLOP/s against 55–56 for gemv on 1×512×128), but from
// two rows on it beats gemv (76 against 62). NT: up to 8 rows, where gemv beat the GEMM's
// transposed panel of B (55 against 46 GFLOP/s on 8×128×512; 7 against 63 on one row) and
// lost from 16 (50 against 64).
var gemvMaxRows = [2]int{1, 8} // [0] NN, [1] NT

// gemv sets y = alpha·x·op(B) + beta·y, op(B) k×n, on the chosen instruction set (AVX2 or
// AVX-512). The arguments have been checked and k ≥ 1.
func gemv(transB bool, n, k int, alpha float32, x, b []float32, ldb int, beta float32, y []float32) {
	switch {
	case isa == isaAVX512 && transB:
		gemvT512(k, &x[0], &b[0], ldb*4, &y[0], n, alpha, beta)
	case isa == isaAVX512:
		gemvN512(k, &x[0], &b[0], ldb*4, &y[0], n, alpha, beta)
	case transB:
		gemvT256(k, &x[0], &b[0], ldb*4, &y[0], n, alpha, beta)
	default:
		gemvN256(k, &x[0], &b[0], ldb*4, &y[0], n, alpha, beta)
	}
}
