package lstm

import "github.com/seqclf/seqclf/lstm/internal/kernel"

// Kernels returns the instruction set the float32 kernels run on ("avx512", "avx2" or "go"),
// chosen once at start-up as the best the CPU has, capped by the environment variable
// SEQCLF_CPU, and a note when SEQCLF_CPU asked for something this CPU or build cannot run or
// a name it does not know (empty otherwise).
func Kernels() (isa, note string) {
	return kernel.ISA()
}
