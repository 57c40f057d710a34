//go:build purego || !amd64

package kernel

// Without assembly (another architecture, or the purego build tag) every float32 routine runs
// on gonum's blas32 and scalar Go.

func sgemmAsm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	return false
}
