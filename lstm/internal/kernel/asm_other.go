//go:build purego || !amd64

package kernel

// Without assembly (another architecture, or the purego build tag) every float32 routine runs
// on gonum's blas32 and scalar Go.

func sgemmAsm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	return false
}

func gatesForwardAsm(z, cPrev, c, tc, h []float32) bool          { return false }
func gatesBackwardAsm(act, cPrev, tc, dh, dc, dz []float32) bool { return false }
func sigmoidsAsm(dst, src []float32) bool                        { return false }
func tanhsAsm(dst, src []float32) bool                           { return false }
func axpyAsm(alpha float32, x, y []float32) bool                 { return false }
func addAsm(dst, a, b []float32) bool                            { return false }
func mulAsm(dst, a, b []float32) bool                            { return false }
func scaleAsm(alpha float32, x []float32) bool                   { return false }
