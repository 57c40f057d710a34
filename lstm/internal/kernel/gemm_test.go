package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// refGemm is C = alpha·op(A)·op(B) + beta·C by the definition, in float64.
func refGemm(transA, transB bool, m, n, k int, alpha float64, a []float32, lda int, b []float32, ldb int, beta float64, c []float64, ldc int) {
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				ia, ib := i*lda+p, p*ldb+j
				if transA {
					ia = p*lda + i
				}
				if transB {
					ib = j*ldb + p
				}
				av, bv := a[ia], b[ib]
				s += float64(av) * float64(bv)
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.Float64()*2 - 1)
	}
	return s
}

func TestGemm32(t *testing.T) {
	shapes := [][3]int{{1, 1, 1}, {1, 7, 3}, {5, 1, 9}, {3, 33, 1}, {14, 32, 17}, {15, 31, 16}, {28, 64, 300},
		{37, 61, 77}, {129, 513, 127}, {13, 17, 600}, {128, 10, 128}, {2, 100, 5}, {4, 0, 3}, {0, 4, 3}, {6, 7, 0}}
	rng := rand.New(rand.NewPCG(1, 2))
	forEachISA(func(isaName string) {
		for _, sh := range shapes {
			m, n, k := sh[0], sh[1], sh[2]
			for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
				for _, ab := range [][2]float32{{1, 0}, {1, 1}, {0.5, -1.5}, {-2, 0}, {0, 2}} {
					for _, pad := range []int{0, 3} {
						name := fmt.Sprintf("%s/%dx%dx%d/t%v/a%v-b%v/pad%d", isaName, m, n, k, tr, ab[0], ab[1], pad)
						checkGemm32(t, name, rng, tr[0], tr[1], m, n, k, ab[0], ab[1], pad)
					}
				}
			}
		}
	})
}

// TestGemm32Blocks reaches every row count of every micro-kernel, with full and partial
// column blocks.
func TestGemm32Blocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	forEachISA(func(isaName string) {
		for m := 1; m <= 29; m++ {
			for _, n := range []int{5, 9, 16, 25, 32, 47, 64} {
				for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}} {
					name := fmt.Sprintf("%s/%dx%dx7/t%v", isaName, m, n, tr)
					checkGemm32(t, name, rng, tr[0], tr[1], m, n, 7, 1, 1, 1)
				}
			}
		}
	})
}

// TestGemv32 covers the one-row multiplies (batch 1) that run on the matrix-vector kernels:
// every column block (128 and 16 wide with AVX-512, 64 and 8 with AVX2, masked edges), k by
// steps of 1 and 4 and their tails, and every row group of NT.
func TestGemv32(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	ns := []int{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 28, 33, 63, 64, 65, 127, 128, 129, 143, 200, 512, 530}
	ks := []int{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 100, 128, 512, 515}
	forEachISA(func(isaName string) {
		for _, n := range ns {
			for _, k := range ks {
				for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
					ab := [][2]float32{{1, 0}, {0.5, -1.5}}[(n+k)%2]
					pad := (n * k) % 3
					name := fmt.Sprintf("%s/1x%dx%d/t%v/a%v-b%v/pad%d", isaName, n, k, tr, ab[0], ab[1], pad)
					checkGemm32(t, name, rng, tr[0], tr[1], 1, n, k, ab[0], ab[1], pad)
				}
			}
		}
	})
}

func checkGemm32(t *testing.T, name string, rng *rand.Rand, transA, transB bool, m, n, k int, alpha, beta float32, pad int) {
	t.Helper()
	rowsA, colsA, rowsB, colsB := m, k, k, n
	if transA {
		rowsA, colsA = k, m
	}
	if transB {
		rowsB, colsB = n, k
	}
	lda, ldb, ldc := max(1, colsA)+pad, max(1, colsB)+pad, max(1, n)+pad
	a := randSlice(rng, max(0, (rowsA-1)*lda+colsA))
	b := randSlice(rng, max(0, (rowsB-1)*ldb+colsB))
	c := randSlice(rng, max(0, (m-1)*ldc+n+pad)) // pad past the end: must stay untouched
	if beta == 0 {
		for i := range c { // C must not be read when beta is 0
			c[i] = float32(math.NaN())
		}
	}
	want := make([]float64, len(c))
	for i, v := range c {
		want[i] = float64(v)
	}
	refGemm(transA, transB, m, n, k, float64(alpha), a, lda, b, ldb, float64(beta), want, ldc)
	Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	tol := 1e-5 * float64(k+1)
	for i := range c {
		g, w := float64(c[i]), want[i]
		inside := i/ldc < m && i%ldc < n
		if !inside {
			if math.Float32bits(c[i]) != math.Float32bits(float32(w)) && !(math.IsNaN(g) && math.IsNaN(w)) {
				t.Fatalf("%s: C[%d] outside the matrix changed: %v, was %v", name, i, g, w)
			}
			continue
		}
		if !(math.Abs(g-w) <= tol*(1+math.Abs(w))) {
			t.Fatalf("%s: C[%d,%d] = %v, want %v", name, i/ldc, i%ldc, g, w)
		}
	}
}

func TestGemmPanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"short a", func() {
			Gemm[float32](false, false, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		}},
		{"small lda", func() {
			Gemm[float32](false, false, 2, 2, 2, 1, make([]float32, 4), 1, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		}},
		{"short c", func() {
			Gemm[float32](false, true, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 3), 2)
		}},
		{"negative", func() { Gemm[float32](false, false, -1, 2, 2, 1, nil, 2, nil, 2, 0, nil, 2) }},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tc.name)
				}
			}()
			tc.f()
		}()
	}
}

// TestGemmConcurrent runs NT multiplies (the packed case) from several goroutines at once,
// more than there are scratch panels.
func TestGemmConcurrent(t *testing.T) {
	const workers, m, n, k = 12, 33, 70, 300
	var wg sync.WaitGroup
	errs := make([]string, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			a, b := randSlice(rng, m*k), randSlice(rng, n*k)
			want := make([]float64, m*n)
			refGemm(false, true, m, n, k, 1, a, k, b, k, 0, want, n)
			c := make([]float32, m*n)
			for range 20 {
				Gemm(false, true, m, n, k, 1, a, k, b, k, 0, c, n)
				for i, v := range c {
					if math.Abs(float64(v)-want[i]) > 1e-4 {
						errs[w] = fmt.Sprintf("worker %d: C[%d] = %g, want %g", w, i, v, want[i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			t.Error(e)
		}
	}
}

// TestGemm2 checks C = [A1 A2]·B + beta·C + bias against the definition: every row count of
// the micro-kernels (1–14 with AVX-512, 1–6 and masked 1–5 with AVX2), full and masked column
// blocks, empty segments, beta 0 (C unread) and not, with and without a bias.
func TestGemm2(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	forEachISA(func(isaName string) {
		for _, m := range []int{1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 28, 29, 64} {
			for _, n := range []int{7, 16, 32, 45, 512} {
				for _, ks := range [][2]int{{28, 128}, {1, 1}, {0, 5}, {6, 0}, {100, 37}} {
					for bi, beta := range []float32{0, 1, -0.5} {
						k1, k2 := ks[0], ks[1]
						var bias []float32
						if (bi+m)%2 == 0 {
							bias = randSlice(rng, n)
						}
						lda1, lda2, ldb, ldc := k1+2, k2+1, n+3, n+1
						a1 := randSlice(rng, m*lda1)
						a2 := randSlice(rng, m*lda2)
						b := randSlice(rng, (k1+k2)*ldb)
						c := randSlice(rng, m*ldc)
						if beta == 0 {
							for i := range c {
								c[i] = float32(math.NaN())
							}
						}
						want := make([]float64, len(c))
						for i := range m {
							for j := range n {
								var s float64
								for p := range k1 {
									s += float64(a1[i*lda1+p]) * float64(b[p*ldb+j])
								}
								for p := range k2 {
									s += float64(a2[i*lda2+p]) * float64(b[(k1+p)*ldb+j])
								}
								if beta != 0 {
									s += float64(beta) * float64(c[i*ldc+j])
								}
								if bias != nil {
									s += float64(bias[j])
								}
								want[i*ldc+j] = s
							}
							for j := n; j < ldc; j++ {
								want[i*ldc+j] = float64(c[i*ldc+j])
							}
						}
						Gemm2(m, n, k1, a1, lda1, k2, a2, lda2, b, ldb, beta, c, ldc, bias)
						tol := 1e-5 * float64(k1+k2+1)
						for i := range c {
							g, w := float64(c[i]), want[i]
							if i%ldc >= n {
								if !(g == w || math.IsNaN(g) && math.IsNaN(w)) {
									t.Fatalf("%s m%d n%d k%v beta%v: C[%d] outside the matrix changed", isaName, m, n, ks, beta, i)
								}
								continue
							}
							if !(math.Abs(g-w) <= tol*(1+math.Abs(w))) {
								t.Fatalf("%s m%d n%d k%v beta%v bias %v: C[%d,%d] = %v, want %v", isaName, m, n, ks, beta, bias != nil, i/ldc, i%ldc, g, w)
							}
						}
					}
				}
			}
		}
	})
}

// TestWeightGrad checks C = beta·C + [A1 A2]ᵀ·B and bias = beta·bias + Σ_p B[p, :] against the
// definition: chunks of k with a partial last one, full and masked column blocks, an empty A1,
// row blocks of every height.
func TestWeightGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	testWeightGrad(t, rng, "WeightGrad ", WeightGrad[float32])
	testWeightGrad(t, rng, "WeightGradCold ", WeightGradCold[float32])
}

func testWeightGrad(t *testing.T, rng *rand.Rand, prefix string, weightGrad func(k, n int, a1 []float32, lda1, m1 int, a2 []float32, lda2, m2 int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32)) {
	forEachISA(func(isaName string) {
		for _, k := range []int{1, 7, 64, 65, 200} {
			for _, n := range []int{7, 16, 32, 45, 256} {
				for _, ms := range [][2]int{{0, 3}, {3, 14}, {1, 2}, {6, 12}, {28, 29}} {
					for _, beta := range []float32{0, 1, 0.5} {
						m1, m2 := ms[0], ms[1]
						lda1, lda2, ldb, ldc := m1+1, m2+2, n+3, n+1
						a1, a2 := randSlice(rng, k*lda1), randSlice(rng, k*lda2)
						b := randSlice(rng, k*ldb)
						c := randSlice(rng, (m1+m2)*ldc)
						bias := randSlice(rng, n+1) // one past n must stay untouched
						if beta == 0 {
							for i := range c {
								c[i] = float32(math.NaN())
							}
							for j := range n {
								bias[j] = float32(math.NaN())
							}
						}
						want := make([]float64, len(c))
						for i := range m1 + m2 {
							for j := range ldc {
								if j >= n {
									want[i*ldc+j] = float64(c[i*ldc+j])
									continue
								}
								var s float64
								for p := range k {
									var av float64
									if i < m1 {
										av = float64(a1[p*lda1+i])
									} else {
										av = float64(a2[p*lda2+i-m1])
									}
									s += av * float64(b[p*ldb+j])
								}
								if beta != 0 {
									s += float64(beta) * float64(c[i*ldc+j])
								}
								want[i*ldc+j] = s
							}
						}
						wantBias := make([]float64, n+1)
						for j := range n {
							var s float64
							for p := range k {
								s += float64(b[p*ldb+j])
							}
							if beta != 0 {
								s += float64(beta) * float64(bias[j])
							}
							wantBias[j] = s
						}
						wantBias[n] = float64(bias[n])
						weightGrad(k, n, a1, lda1, m1, a2, lda2, m2, b, ldb, beta, c, ldc, bias[:n])
						name := fmt.Sprintf("%s%s k%d n%d m%v beta%v", prefix, isaName, k, n, ms, beta)
						tol := 1e-5 * float64(k+1)
						for i := range c {
							g, w := float64(c[i]), want[i]
							if i%ldc >= n {
								if !(g == w || math.IsNaN(g) && math.IsNaN(w)) {
									t.Fatalf("%s: C[%d] outside the matrix changed", name, i)
								}
								continue
							}
							if !(math.Abs(g-w) <= tol*(1+math.Abs(w))) {
								t.Fatalf("%s: C[%d,%d] = %v, want %v", name, i/ldc, i%ldc, g, w)
							}
						}
						for j := range bias {
							g, w := float64(bias[j]), wantBias[j]
							if !(math.Abs(g-w) <= tol*(1+math.Abs(w))) {
								t.Fatalf("%s: bias[%d] = %v, want %v", name, j, g, w)
							}
						}
					}
				}
			}
		}
	})
}

// TestWeightGradColdSameBits checks that WeightGradCold's packed chunks give WeightGrad's bits:
// the same sums in the same order, on whole and partial chunks of k.
func TestWeightGradColdSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	forEachISA(func(isaName string) {
		for _, k := range []int{1, 64, 200} {
			const m1, m2, n = 13, 30, 96
			a1, a2, b := randSlice(rng, k*m1), randSlice(rng, k*m2), randSlice(rng, k*n)
			c0, bias0 := randSlice(rng, (m1+m2)*n), randSlice(rng, n)
			c1, bias1 := slices.Clone(c0), slices.Clone(bias0)
			WeightGrad(k, n, a1, m1, m1, a2, m2, m2, b, n, 1, c0, n, bias0)
			WeightGradCold(k, n, a1, m1, m1, a2, m2, m2, b, n, 1, c1, n, bias1)
			if !slices.Equal(c0, c1) || !slices.Equal(bias0, bias1) {
				t.Errorf("%s k%d: WeightGradCold differs from WeightGrad", isaName, k)
			}
		}
	})
}
