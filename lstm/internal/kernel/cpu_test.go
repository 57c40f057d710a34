package kernel

import (
	"strings"
	"testing"
)

// TestChooseISA checks how SEQCLF_CPU picks the instruction set: a set the machine has is
// honoured, anything else gives the machine's best with a note, and nothing fails.
func TestChooseISA(t *testing.T) {
	for _, tc := range []struct {
		want     string
		hw, isa  int
		withNote bool
	}{
		{"", isaAVX512, isaAVX512, false},
		{"auto", isaAVX2, isaAVX2, false},
		{"avx2", isaAVX512, isaAVX2, false},
		{" AVX2 ", isaAVX512, isaAVX2, false},
		{"go", isaAVX512, isaGo, false},
		{"go", isaGo, isaGo, false},
		{"avx512", isaAVX512, isaAVX512, false},
		{"avx512", isaAVX2, isaAVX2, true},
		{"avx2", isaGo, isaGo, true},
		{"sse4", isaAVX512, isaAVX512, true},
		{"purego", isaAVX2, isaAVX2, true},
	} {
		got, note := chooseISA(tc.want, tc.hw)
		if got != tc.isa || (note != "") != tc.withNote {
			t.Errorf("chooseISA(%q, %s) = %s, %q; want %s, note %v", tc.want, isaNames[tc.hw], isaNames[got], note, isaNames[tc.isa], tc.withNote)
		}
		if note != "" && (!strings.Contains(note, CPUEnv) || !strings.Contains(note, isaNames[tc.isa])) {
			t.Errorf("chooseISA(%q, %s): note %q names neither the variable nor the set used", tc.want, isaNames[tc.hw], note)
		}
	}
}

// TestISA checks that ISA reports the set the kernels run on.
func TestISA(t *testing.T) {
	name, note := ISA()
	if name != isaNames[isa] || note != isaNote {
		t.Errorf("ISA() = %q, %q; want %q, %q", name, note, isaNames[isa], isaNote)
	}
	t.Logf("kernels: %s %s", name, note)
}
