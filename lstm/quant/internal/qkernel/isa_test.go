package qkernel

// forEachISA runs f once for every instruction set this CPU supports, the kernels switched to
// it, and restores the chosen one.
func forEachISA(f func(name string)) {
	for _, name := range ISAs() {
		restore := UseISA(name)
		f(name)
		restore()
	}
}
