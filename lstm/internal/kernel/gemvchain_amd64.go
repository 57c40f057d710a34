//go:build !purego

package kernel

// The kernels of gemvchain_amd64.s (GemvChain): flags&1 starts from acc, flags&2 adds the sums
// into y rather than storing them in acc. ldb is in bytes.
//
//go:noescape
func gemvChain512(k int, x *float32, b *float32, ldb int, acc *float32, n int, y *float32, flags int)

//go:noescape
func gemvChain256(k int, x *float32, b *float32, ldb int, acc *float32, n int, y *float32, flags int)

//go:noescape
func prefetchW(p *float32, n int)

// prefetchWAsm asks for s's cache lines for writing, reporting false without assembly.
func prefetchWAsm(s []float32) bool {
	if isa == isaGo {
		return false
	}
	prefetchW(&s[0], 4*len(s))
	return true
}

// gemvChainAsm runs GemvChain's kernel on the chosen instruction set, reporting false without
// one. The arguments have been checked.
func gemvChainAsm(k int, x, b *float32, ldb int, acc *float32, n int, y *float32, flags int) bool {
	switch isa {
	case isaAVX512:
		gemvChain512(k, x, b, ldb*4, acc, n, y, flags)
	case isaAVX2:
		gemvChain256(k, x, b, ldb*4, acc, n, y, flags)
	default:
		return false
	}
	return true
}
