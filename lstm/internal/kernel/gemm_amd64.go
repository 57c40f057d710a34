//go:build !purego

package kernel

import (
	"sync/atomic"
	"unsafe"

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
	kern256       func(k int, a *float32, rsA, ksA int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)
	kern256Masked func(k int, a *float32, rsA, ksA int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, mask *int32)
)

// kc is the depth of one pass over C: a kc×32 panel of B (32 KiB) stays in L1 while every
// row block of A streams past it.
const kc = 256

// mask256 holds the lane masks of the AVX2 edge kernel: mask256[16-nr:] has nr leading -1s.
var mask256 = [32]int32{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}

// at returns a pointer to s[i] without a bounds check; sgemm has checked every index it forms.
func at(s []float32, i int) *float32 {
	return (*float32)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(s)), uintptr(i)*4))
}

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
	// A(i, p) sits at a[i·rsA + p·ksA].
	rsA, ksA := lda, 1
	if transA {
		rsA, ksA = 1, lda
	}
	nr := 32
	if isa == isaAVX2 {
		nr = 16
	}
	var panel *packPanel
	if transB {
		panel = getPanel()
		defer putPanel(panel)
	}
	for p0 := 0; p0 < k; p0 += kc {
		kb := min(kc, k-p0)
		bt := beta
		if p0 > 0 {
			bt = 1
		}
		var bp []float32
		ldbp := ldb
		if transB {
			bp, ldbp = panel.pack(b, ldb, n, p0, kb), n
		} else {
			bp = b[p0*ldb:]
		}
		ap := a[p0*ksA:]
		// Row blocks outside, column blocks inside: a block of A (mr×kb) stays in L1 while
		// it meets every column block of B. The right edge, narrower than nr, goes last.
		nFull := n - n%nr
		if nFull > 0 {
			forRowBlocks(m, maxRows(nr, nr), func(i0, mr int) {
				for j0 := 0; j0 < nFull; j0 += nr {
					kernel(mr, nr, kb, ap[i0*rsA:], rsA, ksA, bp[j0:], ldbp, c[i0*ldc+j0:], ldc, alpha, bt)
				}
			})
		}
		if w := n - nFull; w > 0 {
			forRowBlocks(m, maxRows(nr, w), func(i0, mr int) {
				kernel(mr, w, kb, ap[i0*rsA:], rsA, ksA, bp[nFull:], ldbp, c[i0*ldc+nFull:], ldc, alpha, bt)
			})
		}
	}
	return true
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

// packPanel is the scratch of the NT case: op(B)[p0:p0+kb, 0:n] = B[0:n, p0:p0+kb]ᵀ,
// row-major with rows n apart. It grows to the largest kc×n seen and is then reused.
type packPanel struct {
	busy atomic.Bool
	buf  []float32
}

// pack fills the panel and returns it.
func (pp *packPanel) pack(b []float32, ldb, n, p0, kb int) []float32 {
	if cap(pp.buf) < kc*n {
		pp.buf = make([]float32, kc*n)
	}
	buf := pp.buf[:kb*n]
	if isa == isaAVX512 && 15*ldb < 1<<29 {
		transpose512(&buf[0], n*4, &b[p0], ldb*4, n, kb)
		return buf
	}
	for j := range n {
		row := b[j*ldb+p0 : j*ldb+p0+kb]
		for p, v := range row {
			buf[p*n+j] = v
		}
	}
	return buf
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

//go:noescape
func transpose512(dst *float32, ldDst int, src *float32, ldSrc int, rows, cols int)
