package kernel

import "fmt"

// Packed is a matrix B (k×n, row-major) made ready for many multiplies by it, as an LSTM's
// weights are at every step of a pass: where the micro-kernels read a copy faster than B in
// place (AVX2), Pack copies B's full blocks of 16 columns into one run of memory, each block's
// k rows one after another, so that a block stays in L1 while it meets a chunk of A's rows
// (rows of B 2 KiB apart, 512 columns of float32, share two of L1's 64 sets). Elsewhere it keeps
// B as it is. A multiply by a Packed gives the bits of the one by B.
type Packed[T Float] struct {
	b      []T
	ldb    int
	k, n   int
	blocks []float32 // the copy of B's full column blocks; nil when B is read in place
}

// Pack sets p to B (k×n, rows ldb apart), copying it where that pays. p reads b (or its copy)
// until the next Pack: a change to B after Pack is not seen by a multiply by p that reads the
// copy, so pack again after each change (an optimizer's step).
func (p *Packed[T]) Pack(b []T, ldb, k, n int) {
	if k < 0 || n < 0 || ldb < max(n, 1) || k > 0 && len(b) < (k-1)*ldb+n {
		panic(fmt.Sprintf("kernel: Pack: k %d, n %d, ldb %d, len(b) %d", k, n, ldb, len(b)))
	}
	p.b, p.ldb, p.k, p.n = b, ldb, k, n
	nFull := n - n%16
	if !is32[T]() || !packPays() || nFull == 0 || k == 0 {
		p.blocks = p.blocks[:0]
		return
	}
	if cap(p.blocks) < k*nFull {
		p.blocks = make([]float32, k*nFull)
	}
	p.blocks = p.blocks[:k*nFull]
	packBlocks16(p.blocks, as32(b), ldb, k, nFull)
}

// packBlocks16 sets dst[j0·rows + p·16 + j] = src[p·ldSrc + j0 + j] for p < rows, j0 a
// multiple of 16 below n (a multiple of 16) and j < 16: the column blocks of AVX2's kernels,
// one after another.
func packBlocks16(dst, src []float32, ldSrc, rows, n int) {
	for p := range rows {
		row := src[p*ldSrc : p*ldSrc+n]
		for j0 := 0; j0 < n; j0 += 16 {
			copy(dst[j0*rows+p*16:j0*rows+p*16+16], row[j0:j0+16])
		}
	}
}

// Gemm2Packed is Gemm2 with B packed (Pack of k1+k2 rows and n columns): C = [A1 A2]·B +
// beta·C + bias, with Gemm2's bits.
func Gemm2Packed[T Float](m, n, k1 int, a1 []T, lda1 int, k2 int, a2 []T, lda2 int, p *Packed[T], beta T, c []T, ldc int, bias []T) {
	if p.k != k1+k2 || p.n != n {
		panic(fmt.Sprintf("kernel: Gemm2Packed: B packed as %d×%d, want %d×%d", p.k, p.n, k1+k2, n))
	}
	if len(p.blocks) > 0 && k1 > 0 && k2 > 0 && m > 0 {
		checkGemm(false, false, m, n, k1, lda1, len(a1), p.ldb, len(p.b), ldc, len(c))
		checkGemm(false, false, m, n, k2, lda2, len(a2), p.ldb, max(0, len(p.b)-k1*p.ldb), ldc, len(c))
		if bias != nil && len(bias) < n {
			panic(fmt.Sprintf("kernel: Gemm2Packed: bias has %d values, want %d", len(bias), n))
		}
		if sgemm2PackedAsm(m, n, k1, as32(a1), lda1, k2, as32(a2), lda2, p.blocks, as32(p.b), p.ldb, float32(beta), as32(c), ldc, as32(bias)) {
			return
		}
	}
	Gemm2(m, n, k1, a1, lda1, k2, a2, lda2, p.b, p.ldb, beta, c, ldc, bias)
}

// GemmPacked is Gemm(false, false, m, n, k, 1, a, lda, B, ldb, beta, c, ldc) with B packed (Pack
// of k rows and n columns), with its bits.
func GemmPacked[T Float](m, n, k int, a []T, lda int, p *Packed[T], beta T, c []T, ldc int) {
	if p.k != k || p.n != n {
		panic(fmt.Sprintf("kernel: GemmPacked: B packed as %d×%d, want %d×%d", p.k, p.n, k, n))
	}
	if len(p.blocks) > 0 && m > 0 {
		checkGemm(false, false, m, n, k, lda, len(a), p.ldb, len(p.b), ldc, len(c))
		if sgemmPackedAsm(m, n, k, as32(a), lda, p.blocks, as32(p.b), p.ldb, float32(beta), as32(c), ldc) {
			return
		}
	}
	Gemm(false, false, m, n, k, 1, a, lda, p.b, p.ldb, beta, c, ldc)
}
