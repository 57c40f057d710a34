//go:build !purego

package kernel

// forEachISA runs f once for every instruction set this CPU supports, whatever SEQCLF_CPU
// says, the kernels switched to it, and restores the chosen one.
func forEachISA(f func(name string)) {
	saved := isa
	defer func() { isa = saved }()
	for i := isaGo; i <= hardwareISA(); i++ {
		isa = i
		f(isaNames[i])
	}
}
