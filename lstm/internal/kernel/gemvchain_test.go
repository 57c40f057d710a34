package kernel

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestGemvChain checks that GemvChain, over all rows at once and over runs of rows that continue
// each other, gives the bits of Gemm's one-row product with beta = 1, on every instruction set
// with a kernel, and reports false where there is none.
func TestGemvChain(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for _, s := range []struct{ k, n, ldb int }{
		{128, 256, 256}, {128, 512, 512}, {128, 256, 512}, {64, 128, 128}, {100, 384, 400}, {1, 128, 128},
		{64, 64, 64}, {128, 192, 256}, // AVX2's blocks of 64; none with AVX-512
	} {
		x, b, y0 := randSlice(rng, s.k), randSlice(rng, (s.k-1)*s.ldb+s.n), randSlice(rng, s.n)
		forEachISA(func(isaName string) {
			name := fmt.Sprintf("%s k=%d n=%d ldb=%d", isaName, s.k, s.n, s.ldb)
			want := slices.Clone(y0)
			Gemm(false, false, 1, s.n, s.k, 1, x, s.k, b, s.ldb, 1, want, s.n)
			got, acc := slices.Clone(y0), make([]float32, s.n)
			if !GemvChain(s.k, s.n, x, b, s.ldb, acc, false, got) {
				if isaName != "go" && s.n%gemvChainMultiple() == 0 {
					t.Errorf("%s: no kernel", name)
				}
				return
			}
			if isaName == "go" {
				t.Fatalf("%s: ran without assembly", name)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: one run differs from Gemm", name)
			}
			// Runs of rows cut at a few places: two runs, and three.
			for _, cuts := range [][]int{{s.k / 2}, {1}, {s.k / 3, s.k * 2 / 3}, {s.k - 1}} {
				if cuts[0] < 1 || cuts[len(cuts)-1] >= s.k {
					continue
				}
				got := slices.Clone(y0)
				for i := range acc {
					acc[i] = float32(rng.NormFloat64()) // overwritten by the first run
				}
				bounds := append(append([]int{0}, cuts...), s.k)
				for r := range len(bounds) - 1 {
					p0, p1 := bounds[r], bounds[r+1]
					var y []float32
					if r == len(bounds)-2 {
						y = got
					}
					GemvChain(p1-p0, s.n, x[p0:p1], b[p0*s.ldb:], s.ldb, acc, r > 0, y)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s: runs cut at %v differ from Gemm", name, cuts)
				}
			}
		})
	}
	// No kernel for n not a multiple of the kernel's block: nothing done.
	y := []float32{1, 2}
	if GemvChain(1, 2, []float32{1}, []float32{3, 4}, 2, make([]float32, 2), false, y) || !slices.Equal(y, []float32{1, 2}) {
		t.Errorf("n = 2: ran, or changed y to %v", y)
	}
}
