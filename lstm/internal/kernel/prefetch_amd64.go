//go:build !purego

package kernel

//go:noescape
func prefetch(p *byte, n int)

// prefetchAsm issues the prefetches of Prefetch; it reports false without assembly.
func prefetchAsm(p *byte, n int) bool {
	if isa == isaGo {
		return false
	}
	prefetch(p, n)
	return true
}
