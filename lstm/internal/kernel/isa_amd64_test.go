//go:build !purego

package kernel

// forEachISA runs f once for every instruction set this CPU supports, the kernels switched to
// it, and restores the chosen one.
func forEachISA(f func(name string)) {
	saved := isa
	defer func() { isa = saved }()
	names := []string{isaGo: "go", isaAVX2: "avx2", isaAVX512: "avx512"}
	for i := isaGo; i <= detectISA(); i++ {
		isa = i
		f(names[i])
	}
}
