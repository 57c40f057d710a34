//go:build purego || !amd64

package kernel

// Without assembly (another architecture, or the purego build tag) every float32 routine runs
// on gonum's blas32 and scalar Go.

func hardwareISA() int { return isaGo }

func sgemmAsm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	return false
}

func sgemm2Asm(m, n, k1 int, a1 []float32, lda1, k2 int, a2 []float32, lda2 int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32) bool {
	return false
}

func weightGradAsm(k, n int, a1 []float32, lda1, m1 int, a2 []float32, lda2, m2 int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32, pack bool) bool {
	return false
}

func transposeAsm(dst, src []float32, rows, cols int) bool { return false }

func gatesForwardAsm(z, cPrev, c, tc, h []float32) int          { return 0 }
func gatesBackwardAsm(act, cPrev, tc, dh, dc, dz []float32) int { return 0 }
func sigmoidsAsm(dst, src []float32) int                        { return 0 }
func tanhsAsm(dst, src []float32) int                           { return 0 }
func axpyAsm(alpha float32, x, y []float32) int                 { return 0 }
func addAsm(dst, a, b []float32) int                            { return 0 }
func mulAsm(dst, a, b []float32) int                            { return 0 }
func scaleAsm(alpha float32, x []float32) int                   { return 0 }

func adamAsm(p, g, m, v []float32, c *AdamArgs[float32]) int { return 0 }

func prefetchAsm(p *byte, n int) bool { return false }

func packPays() bool { return false }

func sgemm2PackedAsm(m, n, k1 int, a1 []float32, lda1, k2 int, a2 []float32, lda2 int, blocks, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32) bool {
	return false
}

func sgemmPackedAsm(m, n, k int, a []float32, lda int, blocks, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	return false
}
