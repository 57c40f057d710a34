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

// TestQuantizeRows holds QuantizeRows to Quantize row by row, on every path, for rows of
// zeros and of an infinity too, and for every n up to past two vectors.
func TestQuantizeRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 1; n <= 40; n++ {
		const rows = 5
		pad := (n + 3) &^ 3
		ldx, ldd := n+3, pad+8
		x := make([]float32, rows*ldx)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 3)
		}
		clear(x[ldx : ldx+n])                // row 1: zeros
		x[3*ldx+n/2] = float32(math.Inf(-1)) // row 3: an infinity
		forEachISA(func(isa string) {
			dst := make([]int8, rows*ldd)
			for i := range dst {
				dst[i] = 99 // to see the padding cleared
			}
			scale, sum := make([]float32, rows), make([]int32, rows)
			QuantizeRows(rows, n, dst, ldd, x, ldx, scale, sum)
			for i := range rows {
				want := make([]int8, pad)
				ws, wsum := Quantize(want, x[i*ldx:i*ldx+n])
				if ws != scale[i] || wsum != sum[i] || !slices.Equal(want, dst[i*ldd:i*ldd+pad]) {
					t.Errorf("%s n=%d row %d: %v %d %v, Quantize %v %d %v", isa, n, i, scale[i], sum[i], dst[i*ldd:i*ldd+pad], ws, wsum, want)
				}
				if dst[i*ldd+pad] != 99 {
					t.Errorf("%s n=%d row %d: wrote past the padding", isa, n, i)
				}
			}
		})
	}
}

// TestDequantizeRows holds DequantizeRows to the values and sums written from its doc comment,
// on every path, for every dim up to past two vectors and long rows, with and without either
// output.
func TestDequantizeRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, dim := range []int{1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1030, 2100} {
		const rows = 4
		src := make([]int8, rows*dim)
		for i := range src {
			src[i] = int8(rng.IntN(256) - 128)
		}
		for i := range src[:dim] {
			src[i] = -128 // the lowest sum a row can have
		}
		scale := []float32{0.5, 1e-3, 3, 0}
		want, wsum := make([]float32, rows*dim), make([]int32, rows)
		for i := range rows {
			for k := range dim {
				want[i*dim+k] = float32(src[i*dim+k]) * scale[i]
				wsum[i] += int32(src[i*dim+k])
			}
		}
		forEachISA(func(isa string) {
			dst, sum := make([]float32, rows*dim+1), make([]int32, rows+1)
			DequantizeRows(rows, dim, dst, src, scale, sum)
			if !slices.Equal(dst[:rows*dim], want) || !slices.Equal(sum[:rows], wsum) || dst[rows*dim] != 0 || sum[rows] != 0 {
				t.Errorf("%s dim=%d: sums %v, want %v (or values differ)", isa, dim, sum, wsum)
			}
			sum = make([]int32, rows)
			DequantizeRows(rows, dim, nil, src, nil, sum)
			dst = make([]float32, rows*dim)
			DequantizeRows(rows, dim, dst, src, scale, nil)
			if !slices.Equal(dst, want) || !slices.Equal(sum, wsum) {
				t.Errorf("%s dim=%d: one output at a time: sums %v, want %v (or values differ)", isa, dim, sum, wsum)
			}
		})
	}
}
