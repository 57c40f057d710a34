//go:build !purego

package kernel

import (
	"sync/atomic"

	"golang.org/x/sys/cpu"
)

//go:generate go run ./asmgen

// hardwareISA returns the best instruction set this CPU and its OS support.
func hardwareISA() int {
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
	kern512         func(k int, a *float32, rsA, ksA int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, mask uint32)
	kern512x2       func(k1 int, a1 *float32, rs1, k2 int, a2 *float32, rs2 int, b *float32, ldb int, c *float32, ldc int, beta float32, mask uint32, bias *float32)
	kern256         func(k int, a *float32, rsA, ksA int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)
	kern256Masked   func(k int, a *float32, rsA, ksA int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, mask *int32)
	kern256x2       func(k1 int, a1 *float32, rs1, k2 int, a2 *float32, rs2 int, b *float32, ldb int, c *float32, ldc int, beta float32, bias *float32)
	kern256x2Masked func(k1 int, a1 *float32, rs1, k2 int, a2 *float32, rs2 int, b *float32, ldb int, c *float32, ldc int, beta float32, bias *float32, mask *int32)
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

// kcWeightGradAVX2 is weightGradAsm's depth with AVX2, where a chunk's block of 16 columns
// (packed, for WeightGradCold: 8 KiB) and a row block's kb lines of A fit in L1 together. On a
// Zen 3 EPYC, packed, on the training shapes, one thread, medians of 5 alternated rounds:
// 64 → 128 rows, MNIST rows 68.0 → 72.3 GFLOP/s, SpamAssassin 69.9 → 73.2 (256: 74.5 and
// 74.0).
const kcWeightGradAVX2 = 128

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
	nr := colsPerBlock()
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
	for p0 := 0; p0 < k; p0 += kc {
		kb := min(kc, k-p0)
		bt := beta
		if p0 > 0 {
			bt = 1
		}
		if transB {
			panel.pack(b, ldb, n, p0, kb, nr)
			blockPass(m, n, kb, a[p0*ksA:], rsA, ksA, panel.buf, nr, kb, c, ldc, alpha, bt)
			continue
		}
		blockPass(m, n, kb, a[p0*ksA:], rsA, ksA, b[p0*ldb:], ldb, 0, c, ldc, alpha, bt)
	}
	return true
}

// blockPass sets C = alpha·op(A)·op(B) + beta·C for one pass of kb steps of p over C (m×n): A(i, p)
// at a[i·rsA + p·ksA]; op(B) row p at b[p·ldb:], or, packed (bs > 0), in column blocks (block
// j0 at b[j0·bs:], its rows ldb = nr apart: NT's panel and weightGradAsm's, whose bs is kb, or
// a Packed). With AVX-512, row blocks outside, column blocks inside: a block of
// A (mr×kb) stays in L1 while it meets every column block of B; with AVX2, chunks of A of
// avx2ChunkBytes, each in column blocks outside and row blocks inside. The right edge, narrower than nr,
// goes last.
func blockPass(m, n, kb int, a []float32, rsA, ksA int, b []float32, ldb, bs int, c []float32, ldc int, alpha, beta float32) {
	nr := colsPerBlock()
	bAt := func(j0 int) []float32 {
		if bs > 0 {
			return b[j0*bs:]
		}
		return b[j0:]
	}
	nFull := n - n%nr
	if nFull > 0 && isa == isaAVX2 {
		forRowChunks(m, kb, func(r0, rows int) {
			for j0 := 0; j0 < nFull; j0 += nr {
				forRowBlocks(rows, maxRows(nr, nr), func(i0, mr int) {
					i0 += r0
					kernel(mr, nr, kb, a[i0*rsA:], rsA, ksA, bAt(j0), ldb, c[i0*ldc+j0:], ldc, alpha, beta)
				})
			}
		})
	} else if nFull > 0 {
		forRowBlocks(m, maxRows(nr, nr), func(i0, mr int) {
			for j0 := 0; j0 < nFull; j0 += nr {
				kernel(mr, nr, kb, a[i0*rsA:], rsA, ksA, bAt(j0), ldb, c[i0*ldc+j0:], ldc, alpha, beta)
			}
		})
	}
	if w := n - nFull; w > 0 {
		forRowBlocks(m, maxRows(nr, w), func(i0, mr int) {
			kernel(mr, w, kb, a[i0*rsA:], rsA, ksA, bAt(nFull), ldb, c[i0*ldc+nFull:], ldc, alpha, beta)
		})
	}
}

// colsPerBlock is the width of the micro-kernels' blocks of C: 32 with AVX-512, 16 with AVX2.
func colsPerBlock() int {
	if isa == isaAVX512 {
		return 32
	}
	return 16
}

// sgemm2Asm is Gemm2 on the x2 micro-kernels, for k1, k2 > 0; it reports false, doing nothing,
// without assembly and for a few rows, where Gemm's matrix-vector kernels are faster. The
// arguments have been checked.
func sgemm2Asm(m, n, k1 int, a1 []float32, lda1, k2 int, a2 []float32, lda2 int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32) bool {
	if isa == isaGo || m <= gemvMaxRows[0] {
		return false
	}
	if isa == isaAVX512 {
		forRowBlocks(m, max512Rows, func(i0, mr int) {
			for j0 := 0; j0 < n; j0 += 32 {
				kernels512x2[mr](k1, &a1[i0*lda1], lda1*4, k2, &a2[i0*lda2], lda2*4, &b[j0], ldb*4, &c[i0*ldc+j0], ldc*4, beta, colMask(n-j0), biasOf(bias, j0))
			}
		})
		return true
	}
	gemm2AVX2(m, n, k1, a1, lda1, k2, a2, lda2, nil, b, ldb, beta, c, ldc, bias)
	return true
}

// biasOf returns &bias[j0], or nil for no bias.
func biasOf(bias []float32, j0 int) *float32 {
	if bias == nil {
		return nil
	}
	return &bias[j0]
}

// gemm2AVX2 is sgemm2Asm's AVX2 case: full blocks of 16 columns, from blocks when it is not nil
// (Packed: block j0 at blocks[j0·K:], its K = k1+k2 rows 16 apart) or from b in place, then the
// right edge from b under a lane mask.
func gemm2AVX2(m, n, k1 int, a1 []float32, lda1, k2 int, a2 []float32, lda2 int, blocks, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32) {
	kk := k1 + k2
	nFull := n - n%16
	if nFull > 0 {
		forRowChunks(m, kk, func(r0, rows int) {
			for j0 := 0; j0 < nFull; j0 += 16 {
				bp, ldp := &b[j0], ldb*4
				if blocks != nil {
					bp, ldp = &blocks[j0*kk], 16*4
				}
				forRowBlocks(rows, len(kernels256x2)-1, func(i0, mr int) {
					i0 += r0
					kernels256x2[mr](k1, &a1[i0*lda1], lda1*4, k2, &a2[i0*lda2], lda2*4, bp, ldp, &c[i0*ldc+j0], ldc*4, beta, biasOf(bias, j0))
				})
			}
		})
	}
	if w := n - nFull; w > 0 {
		forRowBlocks(m, len(kernels256x2Masked)-1, func(i0, mr int) {
			kernels256x2Masked[mr](k1, &a1[i0*lda1], lda1*4, k2, &a2[i0*lda2], lda2*4, &b[nFull], ldb*4, &c[i0*ldc+nFull], ldc*4, beta, biasOf(bias, nFull), &mask256[16-w])
		})
	}
}

// packPays reports whether Packed copies B: with AVX2. (AVX-512's kernels keep reading B in
// place, the order measured on its own machine.)
func packPays() bool { return isa == isaAVX2 }

// sgemm2PackedAsm is sgemm2Asm with B's full blocks of 16 columns in blocks (Packed) and the
// right edge read from b in place. It reports false, doing nothing, where sgemm2Asm would: the
// caller then multiplies by b.
func sgemm2PackedAsm(m, n, k1 int, a1 []float32, lda1, k2 int, a2 []float32, lda2 int, blocks, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32) bool {
	if isa != isaAVX2 || m <= gemvMaxRows[0] {
		return false
	}
	gemm2AVX2(m, n, k1, a1, lda1, k2, a2, lda2, blocks, b, ldb, beta, c, ldc, bias)
	return true
}

// sgemmPackedAsm is sgemmAsm's NN case with alpha 1 and B's full blocks of 16 columns in blocks
// (Packed: block j0 at blocks[j0·k:], its k rows 16 apart), the right edge read from b in
// place. It reports false, doing nothing, where sgemmAsm would run the matrix-vector kernels:
// the caller then multiplies by b.
func sgemmPackedAsm(m, n, k int, a []float32, lda int, blocks, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	if isa != isaAVX2 || m <= gemvMaxRows[0] {
		return false
	}
	nFull := n - n%16
	for p0 := 0; p0 < k; p0 += kcNN {
		kb := min(kcNN, k-p0)
		bt := beta
		if p0 > 0 {
			bt = 1
		}
		blockPass(m, nFull, kb, a[p0:], lda, 1, blocks[p0*16:], 16, k, c, ldc, 1, bt)
		if nFull < n {
			blockPass(m, n-nFull, kb, a[p0:], lda, 1, b[p0*ldb+nFull:], ldb, 0, c[nFull:], ldc, 1, bt)
		}
	}
	return true
}

// ones is the A of the bias's column sums in weightGradAsm: a 1-row block whose every A(0, p)
// is 1 (both strides 0).
var ones = []float32{1}

// weightGradAsm is WeightGrad (WeightGradCold with pack set) on the micro-kernels, for k > 0;
// it reports false, doing nothing, without assembly. Each chunk of kcTN rows of B meets every row block of A1ᵀ and A2ᵀ and the
// bias's row of ones while it is in L2. The arguments have been checked.
func weightGradAsm(k, n int, a1 []float32, lda1, m1 int, a2 []float32, lda2, m2 int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32, pack bool) bool {
	if isa == isaGo {
		return false
	}
	// With AVX-512 and whole blocks of 32 columns, each chunk of B is first copied, row by row,
	// into a panel of column blocks: read in order, B streams from memory at the prefetchers'
	// pace, and each block's kb rows are then neighbours in L2 (a chunk of dZ read in place,
	// 32 columns of kb rows 4·ldb bytes apart, left the kernels waiting on memory).
	// (The same chunks as unpacked, so the same sums: 128 rows packed was no faster.) Only when
	// pack is set (WeightGradCold): packed, a B in cache, 3584 rows of 512 (7 MiB), went from
	// 221 to 197 GFLOP/s; 16384 rows (32 MiB), from 165 to 190.
	// With AVX2, the same in blocks of 16 columns, copied in Go, whether pack is set or not:
	// read in place, a block's kb rows, 2 KiB apart for 512 columns, share two of the 64 sets
	// of a 32 KiB L1 and came from L2 again for each row block they meet. On a Zen 3 EPYC, one
	// thread, medians of 5 alternated rounds, 128 rows deep (kcWeightGradAVX2) against 64 in
	// place: MNIST rows 68.2 → 71.2 GFLOP/s, SpamAssassin 66.3 → 72.6 (128 in place: 64.7
	// and 63.3).
	var panel *packPanel
	if (pack && isa == isaAVX512 && n%32 == 0 || isa == isaAVX2 && n%16 == 0) && n > 0 {
		panel = getPanel()
		defer putPanel(panel)
	}
	kcw := kcTN
	if isa == isaAVX2 {
		kcw = kcWeightGradAVX2
	}
	for p0 := 0; p0 < k; p0 += kcw {
		kb := min(kcw, k-p0)
		bt := beta
		if p0 > 0 {
			bt = 1
		}
		bp, ldp, bs := b[p0*ldb:], ldb, 0
		if panel != nil {
			size := kb * n
			if cap(panel.buf) < size {
				panel.buf = make([]float32, kcw*n)
			}
			if isa == isaAVX512 {
				packBlocks512(&panel.buf[0], &bp[0], ldb*4, kb, n/32, kb*32*4)
				bp, ldp, bs = panel.buf[:size], 32, kb
			} else {
				packBlocks16(panel.buf[:size], bp, ldb, kb, n)
				bp, ldp, bs = panel.buf[:size], 16, kb
			}
		}
		if m1 > 0 {
			blockPass(m1, n, kb, a1[p0*lda1:], 1, lda1, bp, ldp, bs, c, ldc, 1, bt)
		}
		if m2 > 0 {
			blockPass(m2, n, kb, a2[p0*lda2:], 1, lda2, bp, ldp, bs, c[m1*ldc:], ldc, 1, bt)
		}
		blockPass(1, n, kb, ones, 0, 0, bp, ldp, bs, bias, 0, 1, bt)
	}
	return true
}

// packBlocks512 sets dst[jb·ldBlock + p·32 + j] = src[p·ldSrc + jb·32 + j] for p < rows,
// jb < blocks and j < 32 (strides in bytes).
//
//go:noescape
func packBlocks512(dst, src *float32, ldSrc, rows, blocks, ldBlock int)

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
	case isa == isaAVX512 && w <= 16:
		// One vector a row (an LSTM's dX = dZ·Wxᵀ with 100 inputs ends in a block of 4).
		kernels512n[mr](kb, &a[0], rsA*4, ksA*4, &b[0], ldb*4, &c[0], ldc*4, alpha, beta, uint32(uint64(1)<<w-1))
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

// forRowChunks splits m rows into chunks whose block of A (rows × kb values) fits in
// avx2ChunkBytes, as even as can be, and calls f on each.
func forRowChunks(m, kb int, f func(r0, rows int)) {
	forRowBlocks(m, max(6, avx2ChunkBytes/(4*max(kb, 1))), f)
}

// avx2ChunkBytes is the size of the chunks of A in the AVX2 passes over C: within a chunk,
// column blocks outside and row blocks inside, so that a column block of B, read in place
// (rows ldb apart, which an L1 of 32 KiB and 8 ways holds few of when ldb is 2 KiB), is
// fetched from beyond L2 once per chunk and meets the chunk's row blocks from L2, while the
// chunk stays in L2. On an AMD EPYC of family 25 (Zen 3: 32 KiB L1, 512 KiB L2 per core), in
// runs alternated with the rows-outside order: SpamAssassin training 3.0% and batch-256
// inference 6–13% faster, MNIST rows 2.7% and 3.9% (medians of 8 and 6 pairs, 32 and 64 KiB
// alike). AVX-512 keeps rows outside, its order measured on its own machine.
const avx2ChunkBytes = 64 << 10

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
		// The gathers of AVX-512 take offsets of 32 bits; the shuffles of AVX2 any.
		if isa == isaAVX512 && 15*ldb < 1<<29 {
			transpose512(&blk[0], nr*4, &b[j0*ldb+p0], ldb*4, w, kb)
		} else {
			transposeAVX2(blk, nr, b[j0*ldb+p0:], ldb, w, kb)
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

// transposeAsm is Transpose on the AVX-512 gathers or the AVX2 shuffles; it reports false
// without assembly.
func transposeAsm(dst, src []float32, rows, cols int) bool {
	switch {
	case isa == isaAVX512 && 15*cols*4 < 1<<31:
		transpose512(&dst[0], rows*4, &src[0], cols*4, rows, cols)
		return true
	case isa >= isaAVX2:
		transposeAVX2(dst, rows, src, cols, rows, cols)
		return true
	}
	return false
}

//go:noescape
func transpose512(dst *float32, ldDst int, src *float32, ldSrc int, rows, cols int)

// transposeAVX2 sets dst[p·ldDst + j] = src[j·ldSrc + p] for j < rows and p < cols (strides in
// elements): the blocks of 8×8 with transpose256, the edges (the last rows%8 rows and
// cols%8 columns) in Go.
func transposeAVX2(dst []float32, ldDst int, src []float32, ldSrc int, rows, cols int) {
	r8, c8 := rows&^7, cols&^7
	if r8 > 0 && c8 > 0 {
		transpose256(&dst[0], ldDst*4, &src[0], ldSrc*4, r8, c8)
	}
	for j := range rows {
		from := c8
		if j >= r8 {
			from = 0
		}
		row := src[j*ldSrc : j*ldSrc+cols]
		for p := from; p < cols; p++ {
			dst[p*ldDst+j] = row[p]
		}
	}
}
