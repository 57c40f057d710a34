package qkernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/seqclf/seqclf/lstm/internal/kernel"
)

// refGemm is Gemm written from its doc comment, on the unpacked W.
func refGemm(m, k, n int, a []int8, lda int, sa []float32, w []int8, scale, bias []float32, accumulate bool, c []float32, ldc int) {
	for i := range m {
		for j := range n {
			var acc int32
			for p := range k {
				acc += int32(a[i*lda+p]) * int32(w[p*n+j])
			}
			v := float32(float32(acc)*scale[j]) * sa[i]
			if bias != nil {
				v += bias[j]
			}
			if accumulate {
				v += c[i*ldc+j]
			}
			c[i*ldc+j] = v
		}
	}
}

func randInt8(rng *rand.Rand, n int) []int8 {
	s := make([]int8, n)
	for i := range s {
		s[i] = int8(rng.IntN(255) - 127)
	}
	return s
}

func TestGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := [][3]int{{1, 4, 16}, {1, 1, 1}, {1, 128, 512}, {1, 100, 200}, {1, 28, 40}, {3, 7, 17}, {6, 28, 64}, {7, 28, 512}, {13, 128, 130}, {4, 100, 48}, {25, 37, 200}, {2, 132, 65}}
	for _, s := range shapes {
		m, k, n := s[0], s[1], s[2]
		lda := (k+3)&^3 + 4
		a := make([]int8, m*lda)
		asum := make([]int32, m)
		sa := make([]float32, m)
		for i := range m {
			row := randInt8(rng, k)
			if i == 0 {
				for p := range row { // the extremes
					row[p] = int8(127 * (1 - 2*(p%2)))
				}
			}
			copy(a[i*lda:], row)
			for _, v := range row {
				asum[i] += int32(v)
			}
			sa[i] = rng.Float32()
		}
		w := randInt8(rng, k*n)
		for j := range n {
			w[j] = -127
		}
		scale, bias := make([]float32, n), make([]float32, n)
		for j := range n {
			scale[j], bias[j] = rng.Float32()/100, rng.Float32()-0.5
		}
		for _, withBias := range []bool{false, true} {
			b := bias
			if !withBias {
				b = nil
			}
			pw := Pack(w, k, n, scale, b)
			for _, accumulate := range []bool{false, true} {
				ldc := n + 3
				c0 := make([]float32, m*ldc)
				for i := range c0 {
					c0[i] = rng.Float32()
				}
				want := append([]float32(nil), c0...)
				refGemm(m, k, n, a, lda, sa, w, scale, b, accumulate, want, ldc)
				forEachISA(func(isa string) {
					got := append([]float32(nil), c0...)
					Gemm(m, a, lda, asum, sa, pw, accumulate, got, ldc)
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s %d×%d×%d bias %v accumulate %v: c[%d] = %v, want %v", isa, m, k, n, withBias, accumulate, i, got[i], want[i])
						}
					}
				})
			}
		}
	}
}

func TestQuantize(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 3, 15, 16, 17, 28, 100, 128, 131} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		var wantQ []int8
		var wantS float32
		var wantSum int32
		forEachISA(func(isa string) {
			q := make([]int8, (n+3)&^3)
			for i := range q {
				q[i] = 99
			}
			s, sum := Quantize(q, x)
			var check int32
			for i, v := range x {
				if d := math.Abs(float64(q[i])*float64(s) - float64(v)); d > float64(s)/2*1.0001 {
					t.Fatalf("%s n=%d: q[%d]·s = %v, x = %v", isa, n, i, float64(q[i])*float64(s), v)
				}
				check += int32(q[i])
			}
			for _, v := range q[n:] {
				if v != 0 {
					t.Fatalf("%s n=%d: padding %v", isa, n, q[n:])
				}
			}
			if check != sum {
				t.Fatalf("%s n=%d: sum %d, want %d", isa, n, sum, check)
			}
			if wantQ == nil {
				wantQ, wantS, wantSum = q, s, sum
				return
			}
			if s != wantS || sum != wantSum || fmt.Sprint(q) != fmt.Sprint(wantQ) {
				t.Fatalf("%s n=%d: differs from the Go path", isa, n)
			}
		})
	}
	q := make([]int8, 4)
	if s, sum := Quantize(q, make([]float32, 3)); s != 0 || sum != 0 {
		t.Fatalf("zeros: scale %v sum %v", s, sum)
	}
}

func BenchmarkGemm(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range [][3]int{{32, 128, 512}, {32, 28, 512}, {1, 128, 512}} {
		m, k, n := s[0], s[1], s[2]
		a, w := randInt8(rng, m*k), randInt8(rng, k*n)
		pw := Pack(w, k, n, make([]float32, n), nil)
		asum, sa, c := make([]int32, m), make([]float32, m), make([]float32, m*n)
		forEachISA(func(isa string) {
			b.Run(fmt.Sprintf("%s/%dx%dx%d", isa, m, k, n), func(b *testing.B) {
				for b.Loop() {
					Gemm(m, a, k, asum, sa, pw, true, c, n)
				}
				b.ReportMetric(float64(m*k*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		})
	}
}

// BenchmarkVsFloat32 runs the int8 Gemm and the float32 one that the float32 model runs
// (kernel.GemmPacked, B packed) on the same shapes in turn, call after call on one goroutine,
// and reports each one's multiply-adds per second and the median of the pairs' ratios (int8
// over float32): the int8 path's gain where it is all multiply. The shapes are a row block's
// recurrent and MNIST-input multiplies at batch 256 on two threads.
func BenchmarkVsFloat32(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range [][3]int{{128, 128, 512}, {128, 28, 512}} {
		m, k, n := s[0], s[1], s[2]
		a, w := randInt8(rng, m*k), randInt8(rng, k*n)
		pw := Pack(w, k, n, make([]float32, n), nil)
		lda := pw.RowBytes()
		ap := make([]int8, m*lda)
		for i := range m {
			copy(ap[i*lda:], a[i*k:(i+1)*k])
		}
		asum, sa, c := make([]int32, m), make([]float32, m), make([]float32, m*n)
		fa, fw, fc := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
		for i, v := range a {
			fa[i] = float32(v)
		}
		for i, v := range w {
			fw[i] = float32(v)
		}
		var fp kernel.Packed[float32]
		fp.Pack(fw, n, k, n)
		b.Run(fmt.Sprintf("%dx%dx%d", m, k, n), func(b *testing.B) {
			var qt, ft time.Duration
			var ratios []float64
			for b.Loop() {
				t0 := time.Now()
				kernel.GemmPacked(m, n, k, fa, k, &fp, 0, fc, n)
				t1 := time.Now()
				Gemm(m, ap, lda, asum, sa, pw, false, c, n)
				t2 := time.Now()
				ft, qt = ft+t1.Sub(t0), qt+t2.Sub(t1)
				ratios = append(ratios, float64(t1.Sub(t0))/float64(t2.Sub(t1)))
			}
			slices.Sort(ratios)
			macs := float64(m*k*n) * float64(b.N)
			b.ReportMetric(macs/ft.Seconds()/1e9, "float32-GMAC/s")
			b.ReportMetric(macs/qt.Seconds()/1e9, "int8-GMAC/s")
			b.ReportMetric(ratios[len(ratios)/2], "median-ratio")
		})
	}
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
