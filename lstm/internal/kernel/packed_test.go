package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemm2Packed checks that a multiply by a Packed B gives the bits of Gemm2 by B, on every
// instruction set, for row counts on either side of the matrix-vector kernels' and of a chunk,
// widths with and without a right edge, and B both read in place and copied; and that a Pack
// after B changes is seen.
func TestGemm2Packed(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	forEachISA(func(name string) {
		for _, s := range []struct{ m, n, k1, k2, ldb int }{
			{1, 512, 28, 128, 512}, {5, 64, 3, 8, 64}, {32, 512, 100, 128, 512},
			{200, 48, 28, 16, 50}, {64, 40, 7, 9, 40}, {7, 8, 4, 4, 8},
		} {
			k := s.k1 + s.k2
			a1, a2 := randSlice(rng, s.m*s.k1), randSlice(rng, s.m*s.k2)
			b, bias := randSlice(rng, (k-1)*s.ldb+s.n), randSlice(rng, s.n)
			c0 := randSlice(rng, s.m*s.n)
			var p Packed[float32]
			for round := range 2 {
				want, got := append([]float32(nil), c0...), append([]float32(nil), c0...)
				p.Pack(b, s.ldb, k, s.n)
				Gemm2(s.m, s.n, s.k1, a1, s.k1, s.k2, a2, s.k2, b, s.ldb, 0.5, want, s.n, bias)
				Gemm2Packed(s.m, s.n, s.k1, a1, s.k1, s.k2, a2, s.k2, &p, 0.5, got, s.n, bias)
				for i := range want {
					if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
						t.Fatalf("%s, %+v, round %d: C[%d] = %v, want Gemm2's %v", name, s, round, i, got[i], want[i])
					}
				}
				for i := range b { // a changed B, packed again
					b[i] = -b[i] / 2
				}
			}
		}
	})
}

// TestGemmPacked checks GemmPacked against Gemm as TestGemm2Packed checks Gemm2Packed, over
// depths on either side of a pass over C (kcNN).
func TestGemmPacked(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	forEachISA(func(name string) {
		for _, s := range []struct{ m, n, k, ldb int }{
			{2, 128, 512, 128}, {32, 128, 512, 128}, {64, 100, 512, 100}, {200, 40, 300, 48}, {9, 16, 7, 16},
		} {
			a, c0 := randSlice(rng, s.m*s.k), randSlice(rng, s.m*s.n)
			b := randSlice(rng, (s.k-1)*s.ldb+s.n)
			var p Packed[float32]
			for round := range 2 {
				want, got := append([]float32(nil), c0...), append([]float32(nil), c0...)
				p.Pack(b, s.ldb, s.k, s.n)
				Gemm(false, false, s.m, s.n, s.k, 1, a, s.k, b, s.ldb, 0.5, want, s.n)
				GemmPacked(s.m, s.n, s.k, a, s.k, &p, 0.5, got, s.n)
				for i := range want {
					if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
						t.Fatalf("%s, %+v, round %d: C[%d] = %v, want Gemm's %v", name, s, round, i, got[i], want[i])
					}
				}
				for i := range b {
					b[i] = -b[i] / 2
				}
			}
		}
	})
}
