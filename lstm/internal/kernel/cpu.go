package kernel

import (
	"fmt"
	"os"
	"strings"
)

// The instruction sets the float32 kernels can use, best first; the fastest one the CPU and
// the OS support (or the one SEQCLF_CPU names) is chosen once, at start-up. Tests switch it to
// reach every path.
const (
	isaGo     = iota // gonum's blas32 and scalar Go
	isaAVX2          // AVX2 + FMA
	isaAVX512        // AVX-512F (implies the rest)
)

// isaNames are the names SEQCLF_CPU takes and ISA returns, by instruction set.
var isaNames = [...]string{isaGo: "go", isaAVX2: "avx2", isaAVX512: "avx512"}

// CPUEnv is the environment variable that caps the instruction set of the float32 kernels:
// "avx512", "avx2" or "go" (pure Go); empty or "auto" for the best the CPU has. It is read
// once, when the program starts.
const CPUEnv = "SEQCLF_CPU"

// isa is the instruction set the kernels run on; isaNote says why it is not the one CPUEnv
// asked for, if it is not.
var isa, isaNote = detectISA()

// detectISA returns the instruction set to run on: the best that this CPU and build support
// (hardwareISA), or the one CPUEnv names if that is no better.
func detectISA() (int, string) {
	return chooseISA(os.Getenv(CPUEnv), hardwareISA())
}

// chooseISA returns the instruction set that the value want of CPUEnv selects on a machine whose
// best is hw, and a note when it cannot be honoured: an unknown name, or a set hw lacks, gives
// hw. It never fails: a setting meant for another machine must not stop this one.
func chooseISA(want string, hw int) (int, string) {
	want = strings.ToLower(strings.TrimSpace(want))
	if want == "" || want == "auto" {
		return hw, ""
	}
	for i, name := range isaNames {
		if name != want {
			continue
		}
		if i > hw {
			return hw, fmt.Sprintf("%s=%s: this CPU or build cannot run %s; using %s", CPUEnv, want, want, isaNames[hw])
		}
		return i, ""
	}
	return hw, fmt.Sprintf("%s=%q is not one of avx512, avx2, go or auto; using %s", CPUEnv, want, isaNames[hw])
}

// ISA returns the instruction set the float32 kernels run on, "avx512", "avx2" or "go", and,
// when CPUEnv asked for something else (a name it does not know, or a set this CPU or build
// cannot run), a note that says so; otherwise note is empty. The package itself prints nothing:
// a caller that shows its set-up (a version or diagnostics command) is the place for the note.
func ISA() (name, note string) {
	return isaNames[isa], isaNote
}
