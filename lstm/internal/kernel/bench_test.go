package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas/blas32"
)

// gemmShapes are the multiplies of a training step of the two benchmark models (lstm's
// bench_test.go): MNIST rows (T=28, B=128, D=28, H=128) and text (T=256, B=64, D=100, H=128).
var gemmShapes = []struct {
	name           string
	transA, transB bool
	m, n, k        int
}{
	{"mnist-input-NN", false, false, 28 * 128, 512, 28},
	{"recurrence-NN", false, false, 128, 512, 128},
	{"dh-NT", false, true, 128, 128, 512},
	{"dWh-TN", true, false, 128, 512, 28 * 128},
	{"dWx-TN", true, false, 28, 512, 28 * 128},
	{"dX-NT", false, true, 28 * 128, 28, 512},
	{"text-input-NN", false, false, 256 * 64, 512, 100},
}

// BenchmarkGemm reports GFLOP/s (2·m·n·k per multiply) of Gemm, on every instruction set the
// CPU has (one goroutine, and "par": GOMAXPROCS goroutines at once), and of gonum's blas32 on
// the same shapes: per second of wall time and per second
// of the process's CPU time (GFLOP/cpu-s), which moves less on a shared machine. (gonum runs
// its larger multiplies on several goroutines; Gemm uses one.)
func BenchmarkGemm(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range gemmShapes {
		lda, ldb := s.k, s.n
		if s.transA {
			lda = s.m
		}
		if s.transB {
			ldb = s.k
		}
		a, bm, c := randSlice(rng, s.m*s.k), randSlice(rng, s.k*s.n), randSlice(rng, s.m*s.n)
		flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
		name := fmt.Sprintf("%s-%dx%dx%d", s.name, s.m, s.n, s.k)
		forEachISA(func(isaName string) {
			if isaName == "go" {
				return // gonum's, below
			}
			b.Run(name+"/"+isaName, func(b *testing.B) {
				reportGFLOPs(b, flops, func() {
					Gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 1, c, s.n)
				})
			})
			// GOMAXPROCS goroutines at once, each with its own C: the GEMM peak of the
			// machine's cores together, as a training step uses them.
			b.Run(name+"/"+isaName+"par", func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					c := make([]float32, len(c))
					for pb.Next() {
						Gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 1, c, s.n)
					}
				})
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		})
		b.Run(name+"/gonum", func(b *testing.B) {
			impl := blas32.Implementation()
			reportGFLOPs(b, flops, func() {
				impl.Sgemm(trans(s.transA), trans(s.transB), s.m, s.n, s.k, 1, a, lda, bm, ldb, 1, c, s.n)
			})
		})
	}
}

func reportGFLOPs(b *testing.B, flops float64, f func()) {
	cpu0 := cpuSeconds()
	for b.Loop() {
		f()
	}
	cpu := cpuSeconds() - cpu0
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu > 0 {
		b.ReportMetric(flops*float64(b.N)/cpu/1e9, "GFLOP/cpu-s")
	}
}

// BenchmarkGates reports ns per unit of one step's GatesForward and GatesBackward for a
// batch of 128 samples of 128 units, on the chosen instruction set and in scalar Go.
func BenchmarkGates(b *testing.B) {
	const batch, n = 128, 128
	rng := rand.New(rand.NewPCG(7, 8))
	z, cPrev := randSlice(rng, batch*4*n), randSlice(rng, batch*n)
	c, tc, h := make([]float32, batch*n), make([]float32, batch*n), make([]float32, batch*n)
	dh, dc, dz := randSlice(rng, batch*n), randSlice(rng, batch*n), make([]float32, batch*4*n)
	forEachISA(func(isaName string) {
		b.Run("forward/"+isaName, func(b *testing.B) {
			for b.Loop() {
				for s := range batch {
					r := s * n
					GatesForward(z[4*r:4*r+4*n], cPrev[r:r+n], c[r:r+n], tc[r:r+n], h[r:r+n])
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch*n), "ns/unit")
		})
		b.Run("backward/"+isaName, func(b *testing.B) {
			for b.Loop() {
				for s := range batch {
					r := s * n
					GatesBackward(z[4*r:4*r+4*n], cPrev[r:r+n], tc[r:r+n], dh[r:r+n], dc[r:r+n], dz[4*r:4*r+4*n])
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch*n), "ns/unit")
		})
	})
}

// fusedShapes are the Gemm2 and WeightGrad calls of a training step of the two benchmark models,
// on one thread: a step's z = [x_t h_{t-1}]·W + b over the batch (m rows, k1 = input, k2 = H),
// and the weight gradients over all T·B rows (k), m1 = input, m2 = H.
var fusedShapes = []struct {
	name          string
	batch, steps  int
	input, hidden int
}{
	{"mnist", 128, 28, 28, 128},
	{"text", 64, 256, 100, 128},
}

// BenchmarkFused reports GFLOP/s of Gemm2 and WeightGrad on every instruction set with assembly,
// and of the same work as separate calls ("split": two Gemm calls and the bias's loop), which is
// what they fall back to without their own kernels.
func BenchmarkFused(b *testing.B) {
	rng := rand.New(rand.NewPCG(11, 13))
	for _, s := range fusedShapes {
		m, h4, d, h := s.batch, 4*s.hidden, s.input, s.hidden
		x, hp := randSlice(rng, m*d), randSlice(rng, m*h)
		w, bias, z := randSlice(rng, (d+h)*h4), randSlice(rng, h4), make([]float32, m*h4)
		rows := s.batch * s.steps
		xs, hs, dz := randSlice(rng, rows*d), randSlice(rng, rows*h), randSlice(rng, rows*h4)
		gw, gb := make([]float32, (d+h)*h4), make([]float32, h4)
		forEachISA(func(isaName string) {
			if isaName == "go" {
				return
			}
			flops := 2 * float64(m) * float64(h4) * float64(d+h)
			b.Run(fmt.Sprintf("Gemm2-%s-%dx%dx(%d+%d)/%s", s.name, m, h4, d, h, isaName), func(b *testing.B) {
				reportGFLOPs(b, flops, func() { Gemm2(m, h4, d, x, d, h, hp, h, w, h4, 0, z, h4, bias) })
			})
			b.Run(fmt.Sprintf("Gemm2-%s-%dx%dx(%d+%d)/%s-split", s.name, m, h4, d, h, isaName), func(b *testing.B) {
				reportGFLOPs(b, flops, func() {
					Gemm(false, false, m, h4, d, 1, x, d, w, h4, 0, z, h4)
					Gemm(false, false, m, h4, h, 1, hp, h, w[d*h4:], h4, 1, z, h4)
					AddBias(z, bias)
				})
			})
			flops = 2 * float64(d+h) * float64(h4) * float64(rows)
			b.Run(fmt.Sprintf("WeightGrad-%s-%dx%dx%d/%s", s.name, d+h, h4, rows, isaName), func(b *testing.B) {
				reportGFLOPs(b, flops, func() { WeightGrad(rows, h4, xs, d, d, hs, h, h, dz, h4, 1, gw, h4, gb) })
			})
			b.Run(fmt.Sprintf("WeightGrad-%s-%dx%dx%d/%s-split", s.name, d+h, h4, rows, isaName), func(b *testing.B) {
				reportGFLOPs(b, flops, func() {
					Gemm(true, false, d, h4, rows, 1, xs, d, dz, h4, 1, gw, h4)
					Gemm(true, false, h, h4, rows, 1, hs, h, dz, h4, 1, gw[d*h4:], h4)
					AddColumnSums(gb, dz)
				})
			})
		})
	}
}
