package kernel

import "fmt"

// GemvChain computes one run of rows of a one-row product x·B that is cut into runs of rows:
// for each column j of B (k×n, row-major, rows ldb apart), s_j = a_j + Σ_p x[p]·B[p, j], one
// fused multiply-add per row in row order, from a_j = acc[j] if cont is set and 0 otherwise.
// With y nil it stores s in acc (a run that another continues); otherwise it sets y[j] += s_j
// (the last run), leaving acc as it was. In one run (cont unset, y set) it gives the bits of
// Gemm(false, false, 1, n, k, 1, x, k, b, ldb, 1, y, n), and cut into runs, the same bits: a
// core can run the rows whose x it has while it waits for the others'.
//
// It reports false, doing nothing, when there is no kernel for it: float64, no assembly, or n
// not a multiple of the kernel's block (64 columns with AVX2, 128 with AVX-512). Bad lengths
// panic.
func GemvChain[T Float](k, n int, x, b []T, ldb int, acc []T, cont bool, y []T) bool {
	if k < 1 || n < 0 || ldb < n || len(x) < k || len(b) < (k-1)*ldb+n || (y == nil || cont) && len(acc) < n || y != nil && len(y) < n {
		panic(fmt.Sprintf("kernel: GemvChain: k %d, n %d, ldb %d, lengths x %d, b %d, acc %d, y %d", k, n, ldb, len(x), len(b), len(acc), len(y)))
	}
	if !is32[T]() || n%gemvChainMultiple() != 0 {
		return false
	}
	flags := 0
	if cont {
		flags |= 1
	}
	var pa, py *float32
	if len(acc) > 0 {
		pa = &as32(acc)[0]
	}
	if y != nil {
		flags |= 2
		py = &as32(y)[0]
	}
	return n == 0 || gemvChainAsm(k, &as32(x)[0], &as32(b)[0], ldb, pa, n, py, flags)
}

// gemvChainMultiple returns the columns of GemvChain's narrowest block on this instruction set.
func gemvChainMultiple() int {
	if isa == isaAVX2 {
		return 64
	}
	return 128
}

// GemvChainBlock returns the width of the column blocks in which a B that GemvChain reads again
// and again is best laid out, each block's rows one after another (a block then read as one run
// of memory): 64 with AVX2, whose kernel read such blocks at 94–109 GB/s against 64–74 for the
// same columns in rows 1 KiB apart, on a Zen 3 EPYC; 0 elsewhere, for B's rows whole (the layout
// measured with AVX-512). A width it returns is a multiple of GemvChain's block.
func GemvChainBlock() int {
	if isa == isaAVX2 {
		return 64
	}
	return 0
}

// PrefetchW asks the CPU to bring s's cache lines into this core's cache, owned, for values it
// will soon read and write that another core wrote last. It only hints: nothing without
// assembly, or for float64.
func PrefetchW[T Float](s []T) {
	if len(s) > 0 && is32[T]() {
		prefetchWAsm(as32(s))
	}
}
