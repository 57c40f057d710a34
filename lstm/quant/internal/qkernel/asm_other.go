//go:build purego || !amd64

package qkernel

// Without assembly (another architecture, or the purego build tag) every routine runs in Go.

func gemmAsm(m int, a []int8, lda int, asum []int32, sa []float32, w *Matrix, accumulate bool, c []float32, ldc int) bool {
	return false
}

func quantizeAsm(dst []int8, x []float32, inv float32) (int32, bool) { return 0, false }

func absMaxAsm(x []float32) (float32, bool) { return 0, false }

func quantizeRowsAsm(rows, n int, dst []int8, ldd int, x []float32, ldx int, scale []float32, sum []int32) bool {
	return false
}

// ISAs returns the names of the instruction sets the kernels can use: "go" alone.
func ISAs() []string { return []string{"go"} }

// UseISA switches to the named instruction set, which can only be "go".
func UseISA(name string) (restore func()) {
	if name != "go" {
		panic("qkernel: no instruction set " + name + " without assembly")
	}
	return func() {}
}

func lstmStepAsm(rows, n int, z []float32, ldz int, c []float32, ldc int, h []float32, ldh int, hq []int8, ldq int, hs []float32, hsum []int32) bool {
	return false
}

func dequantizeRowsAsm(rows, dim int, dst []float32, src []int8, scale []float32, sum []int32) bool {
	return false
}
