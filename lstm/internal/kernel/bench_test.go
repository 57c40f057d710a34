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
