package qkernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// refGates returns c' and h of one LSTM unit in float64.
func refGates(zi, zf, zg, zo, c float32) (cn, h float64) {
	sig := func(x float32) float64 { return 1 / (1 + math.Exp(-float64(x))) }
	cn = sig(zf)*float64(c) + sig(zi)*math.Tanh(float64(zg))
	return cn, sig(zo) * math.Tanh(cn)
}

// TestLSTMStep holds LSTMStep to the gates computed in float64, its quantized outputs to
// Quantize's, and every path to the Go path's bits; a row whose outputs are all zero (g = 0,
// c = 0) gets scale 0.
func TestLSTMStep(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 5, 8, 16, 24, 40, 64, 96, 128} {
		for _, rows := range []int{1, 3, 7} {
			ldz, ldc, ldh, ldq := 4*n+3, n+1, n+2, (n+3)&^3+4
			z := make([]float32, rows*ldz)
			for i := range z {
				z[i] = float32(rng.NormFloat64() * 4)
				if i%37 == 0 {
					z[i] *= 30 // past the clamp
				}
			}
			c := make([]float32, rows*ldc)
			for i := range c {
				c[i] = float32(rng.NormFloat64() * 2)
			}
			// The last row: g = 0 and c = 0, so that c' = 0 and h = 0.
			clear(z[(rows-1)*ldz+2*n : (rows-1)*ldz+3*n])
			clear(c[(rows-1)*ldc:])
			var first []string
			forEachISA(func(isa string) {
				cc, h := slices.Clone(c), make([]float32, rows*ldh)
				zz := slices.Clone(z)
				hq, hs, hsum := make([]int8, rows*ldq), make([]float32, rows), make([]int32, rows)
				LSTMStep(rows, n, zz, ldz, cc, ldc, h, ldh, hq, ldq, hs, hsum)
				if !slices.Equal(zz, z) {
					t.Errorf("%s n=%d: z changed", isa, n)
				}
				for i := range rows {
					for j := range n {
						wc, wh := refGates(z[i*ldz+j], z[i*ldz+n+j], z[i*ldz+2*n+j], z[i*ldz+3*n+j], c[i*ldc+j])
						gc, gh := float64(cc[i*ldc+j]), float64(h[i*ldh+j])
						if math.Abs(gc-wc) > 1e-5*(1+math.Abs(wc)) || math.Abs(gh-wh) > 1e-5 {
							t.Fatalf("%s n=%d row %d unit %d: c' %v h %v, want %v %v", isa, n, i, j, gc, gh, wc, wh)
						}
					}
					wq := make([]int8, (n+3)&^3)
					ws, wsum := Quantize(wq, h[i*ldh:i*ldh+n])
					if ws != hs[i] || wsum != hsum[i] || !slices.Equal(wq, hq[i*ldq:i*ldq+len(wq)]) {
						t.Errorf("%s n=%d row %d: quantized as %v %d, Quantize %v %d", isa, n, i, hs[i], hsum[i], ws, wsum)
					}
				}
				if hs[rows-1] != 0 {
					t.Errorf("%s n=%d: a row of zeros has scale %v", isa, n, hs[rows-1])
				}
				got := []string{fmt.Sprint(cc), fmt.Sprint(h), fmt.Sprint(hq), fmt.Sprint(hs), fmt.Sprint(hsum)}
				if first == nil {
					first = got
				} else if !slices.Equal(got, first) {
					t.Errorf("%s n=%d rows=%d: differs from the Go path", isa, n, rows)
				}
			})
		}
	}
}

func BenchmarkLSTMStep(b *testing.B) {
	const rows, n = 1, 4096
	rng := rand.New(rand.NewPCG(1, 2))
	z, c, h := make([]float32, rows*4*n), make([]float32, rows*n), make([]float32, rows*n)
	for i := range z {
		z[i] = float32(rng.NormFloat64() * 2)
	}
	hq, hs, hsum := make([]int8, rows*n), make([]float32, rows), make([]int32, rows)
	forEachISA(func(isa string) {
		b.Run(isa, func(b *testing.B) {
			for b.Loop() {
				clear(c)
				LSTMStep(rows, n, z, 4*n, c, n, h, n, hq, n, hs, hsum)
			}
			b.ReportMetric(float64(b.N*rows*n)/b.Elapsed().Seconds()/1e9, "Gunits/s")
		})
	})
}
