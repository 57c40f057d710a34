//go:build !purego

package qkernel

import (
	"math"
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/seqclf/seqclf/lstm/internal/kernel"
)

//go:generate go run ./qasmgen

// The instruction sets the kernels can use, best first; the fastest one the CPU and the OS
// support is chosen once, at start-up. Tests switch it to reach every path.
const (
	isaGo   = iota // pure Go
	isaAVX2        // AVX2: VPMADDUBSW, VPMADDWD
	isaVNNI        // AVX-512 VNNI: VPDPBUSD
)

var isa = detectISA()

// detectISA returns the best instruction set of this CPU, capped as the float32 kernels are
// (kernel.CPUEnv, SEQCLF_CPU): avx2 or go there means AVX2 or pure Go here too.
func detectISA() int {
	hw := isaGo
	switch {
	case cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VNNI:
		hw = isaVNNI
	case cpu.X86.HasAVX2:
		hw = isaAVX2
	}
	switch name, _ := kernel.ISA(); name {
	case "go":
		return isaGo
	case "avx2":
		return min(hw, isaAVX2)
	}
	return hw
}

// kern is a micro-kernel's signature (see qasmgen for what it computes). lda, ldw and ldc are in
// bytes; accumulate is 0 or 1; blocks is the number of column blocks, each of nr columns.
type kern func(groups int, a *int8, lda int, w *byte, ldw int, c *float32, ldc int, ws *float32, bias *float32, sa *float32, asum *int32, accumulate int, blocks int)

// kernelsOneRow is kernels256's counterpart for a multiply of one row with AVX2.
var kernelsOneRow = [...]kern{nil, qgemv256}

// gemmAsm is Gemm on the assembly kernels; it reports false, doing nothing, without them. The
// arguments have been checked. The rows go in blocks of at most 6 (AVX-512) or 4 (AVX2), as
// even as can be, each block over every column block of 64 (or 16) in one call; a last column
// block that passes w.N goes through a scratch tile. A single row (one sample's step) goes in
// column blocks of 64 with AVX2 too (qgemv256).
func gemmAsm(m int, a []int8, lda int, asum []int32, sa []float32, w *Matrix, accumulate bool, c []float32, ldc int) bool {
	if isa == isaGo {
		return false
	}
	kernels, nr, mr, packed := kernels256[:], 16, 4, unsafe.Pointer(unsafe.SliceData(w.s8))
	switch {
	case isa == isaVNNI:
		kernels, nr, mr, packed = kernels512[:], 64, 6, unsafe.Pointer(unsafe.SliceData(w.u8))
	case m == 1:
		kernels, nr = kernelsOneRow[:], 64
	}
	acc := 0
	if accumulate {
		acc = 1
	}
	ldw := w.cols * 4
	full := w.N / nr // column blocks inside C
	var bias, edgeBias *float32
	if w.bias != nil {
		bias = &w.bias[0]
		if full*nr < w.N {
			edgeBias = &w.bias[full*nr]
		}
	}
	blocks := (m + mr - 1) / mr
	var tile [6 * 64]float32
	for b := range blocks {
		i0, i1 := m*b/blocks, m*(b+1)/blocks
		rows := i1 - i0
		k := kernels[rows]
		if full > 0 {
			k(w.groups, &a[i0*lda], lda, (*byte)(packed), ldw, &c[i0*ldc], ldc*4, &w.scale[0], bias, &sa[i0], &asum[i0], acc, full)
		}
		if j := full * nr; j < w.N {
			n := w.N - j
			for r := range rows {
				copy(tile[r*nr:r*nr+n], c[(i0+r)*ldc+j:(i0+r)*ldc+w.N])
			}
			k(w.groups, &a[i0*lda], lda, (*byte)(unsafe.Add(packed, j*4)), ldw, &tile[0], nr*4, &w.scale[j], edgeBias, &sa[i0], &asum[i0], acc, 1)
			for r := range rows {
				copy(c[(i0+r)*ldc+j:(i0+r)*ldc+w.N], tile[r*nr:r*nr+n])
			}
		}
	}
	return true
}

//go:noescape
func absMax512(x *float32, n int) float32

//go:noescape
func quantize512(dst *int8, x *float32, n int, inv float32) int32

//go:noescape
func absMax256(x *float32, n int) float32

//go:noescape
func quantize256(dst *int8, x *float32, n int, inv float32) int32

//go:noescape
func quantizeRows512(dst *int8, ldd int, x *float32, ldx int, n int, rows int, scale *float32, sum *int32)

// quantizeRowsAsm is QuantizeRows in one call on AVX-512; it reports false, doing nothing,
// elsewhere. The arguments have been checked.
func quantizeRowsAsm(rows, n int, dst []int8, ldd int, x []float32, ldx int, scale []float32, sum []int32) bool {
	if isa != isaVNNI {
		return false
	}
	quantizeRows512(&dst[0], ldd, &x[0], 4*ldx, n, rows, &scale[0], &sum[0])
	return true
}

//go:noescape
func dequantizeRows512(dst *float32, src *int8, scale *float32, sum *int32, dim int, rows int)

//go:noescape
func rowSums512(src *int8, sum *int32, dim int, rows int)

// dequantizeRowsAsm is DequantizeRows in one call on AVX-512, with both outputs or the sums
// alone; it reports false, doing nothing, elsewhere. The arguments have been checked.
func dequantizeRowsAsm(rows, dim int, dst []float32, src []int8, scale []float32, sum []int32) bool {
	switch {
	case isa != isaVNNI || sum == nil:
		return false
	case dst == nil:
		rowSums512(&src[0], &sum[0], dim, rows)
	default:
		dequantizeRows512(&dst[0], &src[0], &scale[0], &sum[0], dim, rows)
	}
	return true
}

func absMaxAsm(x []float32) (float32, bool) {
	if len(x) == 0 || isa == isaGo {
		return 0, false
	}
	if isa == isaVNNI {
		return absMax512(&x[0], len(x)), true
	}
	n := len(x) &^ 7
	m := absMax256(&x[0], n)
	for _, v := range x[n:] {
		m = max(m, float32(math.Abs(float64(v))))
	}
	return m, true
}

func quantizeAsm(dst []int8, x []float32, inv float32) (int32, bool) {
	if len(x) == 0 || isa == isaGo {
		return 0, false
	}
	if isa == isaVNNI {
		return quantize512(&dst[0], &x[0], len(x), inv), true
	}
	n := len(x) &^ 7
	return quantize256(&dst[0], &x[0], n, inv) + quantizeGo(dst[n:len(x)], x[n:], inv), true
}

var isaNames = []string{isaGo: "go", isaAVX2: "avx2", isaVNNI: "vnni"}

// ISAs returns the names of the instruction sets the kernels can use on this CPU, "go" (the
// pure-Go path) first, the one in use last.
func ISAs() []string { return isaNames[:detectISA()+1] }

// UseISA switches the kernels to the named instruction set, one of ISAs, and returns a function
// that switches them back: for tests and benchmarks, while no kernel runs.
func UseISA(name string) (restore func()) {
	saved := isa
	for i, n := range ISAs() {
		if n == name {
			isa = i
			return func() { isa = saved }
		}
	}
	panic("qkernel: no instruction set " + name + " on this CPU")
}
