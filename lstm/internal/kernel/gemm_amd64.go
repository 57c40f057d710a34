//go:build !purego

package kernel

import (
	"sync/atomic"

	"golang.org/x/sys/cpu"
)

//go:generate go run ./asmgen

// The instruction sets the float32 kernels can use, best first; the fastest one the CPU and
// the OS support is chosen once, at start-up. Tests switch it to reach every path.
const (
	isaGo     = iota // gonum's blas32 and scalar Go
	isaAVX2          // AVX2 + FMA
	isaAVX512        // AVX-512F (implies the rest)
)

var isa = detectISA()

func detectISA() int {
	switch {
	case cpu.X86.HasAVX512F && cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return isaAVX512
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return isaAVX2
	}
	return isaGo
}

// The micro-kernels' signatures (see asmgen for what they compute). Strides are in bytes.
type (
	kern512       func(k int, a *float32, rsA, ksA int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, mask uint32)
	kern512x2     func(k1 int, a1 *float32, rs1, k2 int, a2 *float32, rs2 int, b *float32, ldb int, c *float32, ldc int, beta float32, mask uint32, bias *float32)
	kern256       func(k int, a *float32, rsA, ksA int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)
	kern256Masked func(k int, a *float32, rsA, ksA int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, mask *int32)
)

// The depth of one pass over C, by case, chosen on the benchmark shapes (BenchmarkGemm): 256
// for NN; 512 for NT, whose packed panel of B then holds the whole recurrent weight (7% better
// than 256 on dX, the same on dh); 64 for TN, 10–25% better than 128 or 256 on dWh and dWx,
// where a block of op(A) is a short run of each of kb rows of A, lda apart, and a deep one
// seems not to stay in L1.
const (
	kcNN = 256
	kcNT = 512
	kcTN = 64
)

// scaleC sets C = beta·C (C = 0 if beta is 0, without reading it).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// mask256 holds the lane masks of the AVX2 edge kernel: mask256[16-nr:] has nr leading -1s.
var mask256 = [32]int32{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}

// sgemmAsm is Gemm for float32 on the assembly kernels. It reports false, doing nothing, when
// the CPU has none. The arguments have been checked.
func sgemmAsm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	if isa == isaGo {
		return false
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return true
	}
	// A row of op(A) that is contiguous in memory (op(A) = A, or a column of A with lda = 1)
	// is a matrix-vector product: batch 1.
	if m <= gemvMaxRows[b2i(transB)] && (!transA || m == 1 && lda == 1) {
		for i := range m {
			gemv(transB, n, k, alpha, a[i*lda:], b, ldb, beta, c[i*ldc:])
		}
		return true
	}
	// A(i, p) sits at a[i·rsA + p·ksA].
	rsA, ksA := lda, 1
	if transA {
		rsA, ksA = 1, lda
	}
	nr := 32
	if isa == isaAVX2 {
		nr = 16
	}
	// NT reads B through a packed panel, transposed: op(B)'s rows are B's columns. NN and TN
	// read B in place.
	var panel *packPanel
	kc := kcNN
	switch {
	case transB:
		panel = getPanel()
		defer putPanel(panel)
		kc = kcNT
	case transA:
		kc = kcTN
	}
	nFull := n - n%nr
	for p0 := 0; p0 < k; p0 += kc {
		kb := min(kc, k-p0)
		bt := beta
		if p0 > 0 {
			bt = 1
		}
		if transB {
			panel.pack(b, ldb, n, p0, kb, nr)
		}
		// bAt returns op(B)[p0:, j0:] and its row stride.
		bAt := func(j0 int) ([]float32, int) {
			if transB {
				return panel.buf[j0*kb:], nr
			}
			return b[p0*ldb+j0:], ldb
		}
		ap := a[p0*ksA:]
		// Row blocks outside, column blocks inside: a block of A (mr×kb) stays in L1 while
		// it meets every column block of B. The right edge, narrower than nr, goes last.
		if nFull > 0 {
			forRowBlocks(m, maxRows(nr, nr), func(i0, mr int) {
				for j0 := 0; j0 < nFull; j0 += nr {
					bp, ldbp := bAt(j0)
					kernel(mr, nr, kb, ap[i0*rsA:], rsA, ksA, bp, ldbp, c[i0*ldc+j0:], ldc, alpha, bt)
				}
			})
		}
		if w := n - nFull; w > 0 {
			bp, ldbp := bAt(nFull)
			forRowBlocks(m, maxRows(nr, w), func(i0, mr int) {
				kernel(mr, w, kb, ap[i0*rsA:], rsA, ksA, bp, ldbp, c[i0*ldc+nFull:], ldc, alpha, bt)
			})
		}
	}
	return true
}

// sgemm2Asm is Gemm2 on the AVX-512 kernels, for k1, k2 > 0; it reports false, doing nothing,
// on other CPUs and for a few rows, where Gemm's matrix-vector kernels are faster. The arguments
// have been checked.
func sgemm2Asm(m, n, k1 int, a1 []float32, lda1, k2 int, a2 []float32, lda2 int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32) bool {
	if isa != isaAVX512 || m <= gemvMaxRows[0] {
		return false
	}
	forRowBlocks(m, max512Rows, func(i0, mr int) {
		for j0 := 0; j0 < n; j0 += 32 {
			w := min(32, n-j0)
			var bp *float32
			if bias != nil {
				bp = &bias[j0]
			}
			kernels512x2[mr](k1, &a1[i0*lda1], lda1*4, k2, &a2[i0*lda2], lda2*4, &b[j0], ldb*4, &c[i0*ldc+j0], ldc*4, beta, uint32(uint64(1)<<w-1), bp)
		}
	})
	return true
}

// one is the A of the bias's column sums in weightGradAsm: a 1-row block whose every A(0, p) is 1.
var one float32 = 1

// weightGradAsm is WeightGrad on the AVX-512 kernels, for k > 0; it reports false, doing
// nothing, on other CPUs. Each chunk of kcTN rows of B meets every row block of A1ᵀ and A2ᵀ and
// the bias's row of ones while it is in L2. The arguments have been checked.
func weightGradAsm(k, n int, a1 []float32, lda1, m1 int, a2 []float32, lda2, m2 int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32) bool {
	if isa != isaAVX512 {
		return false
	}
	for p0 := 0; p0 < k; p0 += kcTN {
		kb := min(kcTN, k-p0)
		bt := beta
		if p0 > 0 {
			bt = 1
		}
		bp := b[p0*ldb:]
		if m1 > 0 {
			ap := a1[p0*lda1:]
			forRowBlocks(m1, max512Rows, func(i0, mr int) {
				for j0 := 0; j0 < n; j0 += 32 {
					kernels512[mr](kb, &ap[i0], 4, lda1*4, &bp[j0], ldb*4, &c[i0*ldc+j0], ldc*4, 1, bt, colMask(n-j0))
				}
			})
		}
		if m2 > 0 {
			ap, cp := a2[p0*lda2:], c[m1*ldc:]
			forRowBlocks(m2, max512Rows, func(i0, mr int) {
				for j0 := 0; j0 < n; j0 += 32 {
					kernels512[mr](kb, &ap[i0], 4, lda2*4, &bp[j0], ldb*4, &cp[i0*ldc+j0], ldc*4, 1, bt, colMask(n-j0))
				}
			})
		}
		for j0 := 0; j0 < n; j0 += 32 {
			kernels512[1](kb, &one, 0, 0, &bp[j0], ldb*4, &bias[j0], 0, 1, bt, colMask(n-j0))
		}
	}
	return true
}

// colMask is the lane mask of a 32-column block with w columns left: all 32, or w.
func colMask(w int) uint32 {
	if w >= 32 {
		return 1<<32 - 1
	}
	return uint32(1)<<w - 1
}

// max512Rows is the tallest block of the AVX-512 kernels.
const max512Rows = len(kernels512) - 1

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// maxRows is the tallest block the kernels for w of nr columns take.
func maxRows(nr, w int) int {
	switch {
	case nr == 32:
		return len(kernels512) - 1
	case w == nr:
		return len(kernels256) - 1
	}
	return len(kernels256Masked) - 1
}

// kernel runs the micro-kernel for an mr×w block of C (w ≤ 32 with AVX-512, ≤ 16 with AVX2)
// over kb steps of p. a, b and c start at the block's first element; strides are in elements.
func kernel(mr, w, kb int, a []float32, rsA, ksA int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32) {
	switch {
	case isa == isaAVX512:
		kernels512[mr](kb, &a[0], rsA*4, ksA*4, &b[0], ldb*4, &c[0], ldc*4, alpha, beta, uint32(uint64(1)<<w-1))
	case w == 16:
		kernels256[mr](kb, &a[0], rsA*4, ksA*4, &b[0], ldb*4, &c[0], ldc*4, alpha, beta)
	default:
		kernels256Masked[mr](kb, &a[0], rsA*4, ksA*4, &b[0], ldb*4, &c[0], ldc*4, alpha, beta, &mask256[16-w])
	}
}

// forRowBlocks splits m rows into the fewest blocks of at most maxRows, as even as can be
// (128 rows in blocks of ≤ 14: eight of 13 and two of 12), and calls f on each.
func forRowBlocks(m, maxRows int, f func(i0, mr int)) {
	nb := (m + maxRows - 1) / maxRows
	size, extra := m/nb, m%nb
	i0 := 0
	for blk := range nb {
		mr := size
		if blk < extra {
			mr++
		}
		f(i0, mr)
		i0 += mr
	}
}

// packPanel is the scratch of NT: op(B)[p0:p0+kb, 0:n] = Bᵀ as column blocks of nr
// (the last one padded), each kb×nr and row-major, one after another: the block of column
// j0 starts at j0·kb. It grows to the largest block seen and is then reused.
type packPanel struct {
	busy atomic.Bool
	buf  []float32
}

// pack fills the panel from B, n×k with rows ldb apart.
func (pp *packPanel) pack(b []float32, ldb, n, p0, kb, nr int) {
	size := kb * ((n + nr - 1) / nr * nr)
	if cap(pp.buf) < size {
		pp.buf = make([]float32, size)
	}
	buf := pp.buf[:size]
	for j0 := 0; j0 < n; j0 += nr {
		w := min(nr, n-j0)
		blk := buf[j0*kb : (j0+nr)*kb]
		if isa == isaAVX512 && 15*ldb < 1<<29 {
			transpose512(&blk[0], nr*4, &b[j0*ldb+p0], ldb*4, w, kb)
			continue
		}
		for j := range w {
			row := b[(j0+j)*ldb+p0 : (j0+j)*ldb+p0+kb]
			for p, v := range row {
				blk[p*nr+j] = v
			}
		}
	}
}

// panels are the NT scratch buffers, one per concurrent caller; a caller that finds all of
// them busy gets a new one. Fixed slots rather than a sync.Pool: a pool may be emptied by any
// garbage collection, and a training step must not allocate.
var panels [8]packPanel

func getPanel() *packPanel {
	for i := range panels {
		if panels[i].busy.CompareAndSwap(false, true) {
			return &panels[i]
		}
	}
	return new(packPanel)
}

func putPanel(p *packPanel) {
	p.busy.Store(false)
}

// transposeAsm is Transpose on the AVX-512 gathers; it reports false on other CPUs.
func transposeAsm(dst, src []float32, rows, cols int) bool {
	if isa != isaAVX512 || 15*cols*4 >= 1<<31 {
		return false
	}
	transpose512(&dst[0], rows*4, &src[0], cols*4, rows, cols)
	return true
}

//go:noescape
func transpose512(dst *float32, ldDst int, src *float32, ldSrc int, rows, cols int)
