//go:build !purego

package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// gemvShapes are one-row multiplies: batch-1 inference of the benchmark models (the recurrence,
// an input projection, the head) and the backward's dh = dz·Whᵀ; then a few rows, to place
// gemvMaxRows.
var gemvShapes = []struct {
	name    string
	transB  bool
	m, n, k int
}{
	{"recurrence-NN", false, 1, 512, 128},
	{"input-NN", false, 1, 512, 28},
	{"dh-NT", true, 1, 128, 512},
	{"head-NN", false, 1, 2, 128},
	{"recurrence-NN", false, 2, 512, 128},
	{"recurrence-NN", false, 3, 512, 128},
	{"recurrence-NN", false, 4, 512, 128},
	{"dh-NT", true, 2, 128, 512},
	{"dh-NT", true, 4, 128, 512},
	{"dh-NT", true, 8, 128, 512},
	{"dh-NT", true, 12, 128, 512},
	{"dh-NT", true, 16, 128, 512},
}

// BenchmarkGemv reports GFLOP/s of Gemm on few rows, through the matrix-vector kernels a row at
// a time ("gemv") and through the register-blocked GEMM ("gemm"), on every instruction set.
func BenchmarkGemv(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 9))
	saved := gemvMaxRows
	defer func() { gemvMaxRows = saved }()
	for _, s := range gemvShapes {
		ldb := s.n
		if s.transB {
			ldb = s.k
		}
		a, bm, c := randSlice(rng, s.m*s.k), randSlice(rng, s.k*s.n), randSlice(rng, s.m*s.n)
		flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
		name := fmt.Sprintf("%s-%dx%dx%d", s.name, s.m, s.n, s.k)
		forEachISA(func(isaName string) {
			if isaName == "go" {
				return
			}
			for _, path := range []string{"gemv", "gemm"} {
				gemvMaxRows = [2]int{0, 0}
				if path == "gemv" {
					gemvMaxRows = [2]int{s.m, s.m}
				}
				b.Run(name+"/"+isaName+"/"+path, func(b *testing.B) {
					reportGFLOPs(b, flops, func() {
						Gemm(false, s.transB, s.m, s.n, s.k, 1, a, s.k, bm, ldb, 1, c, s.n)
					})
				})
			}
		})
	}
}
