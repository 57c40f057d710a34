//go:build purego || !amd64

package kernel

func gemvChainAsm(k int, x, b *float32, ldb int, acc *float32, n int, y *float32, flags int) bool {
	return false
}

func prefetchWAsm(s []float32) bool { return false }
