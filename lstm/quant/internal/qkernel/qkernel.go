// Package qkernel holds the int8 routines of quantized inference: a row's dynamic quantization
// (Quantize, QuantizeRows), the multiply of int8 activations by int8 weights with a scale per
// output column, its int32 sums turned back into float32 in the same pass (Gemm), an LSTM
// step's gates with the quantization of its outputs (LSTMStep), and the opening of an int8
// table (DequantizeRows).
//
// # Kernels
//
// On amd64 the multiply runs on Go-assembly micro-kernels written by qasmgen: AVX-512 VNNI
// (VPDPBUSD, 6×64 blocks) when the CPU has AVX512_VNNI and AVX512BW, else AVX2 (VPMADDUBSW and
// VPMADDWD, 4×16 blocks, and 1×64 for a single row), else pure Go; Quantize and LSTMStep use
// AVX-512 or AVX2 likewise (quantize_amd64.s, lstm_amd64.s), QuantizeRows and DequantizeRows
// AVX-512 or Go. SEQCLF_CPU, which caps the float32 kernels of package lstm, caps these too:
// avx2 for the AVX2 kernels, go for pure Go. The purego build tag and other architectures take
// the Go path.
//
// # Caveats
//
// Every path sums the products exactly in int32 and turns them into float32 by the same
// operations in the same order, and LSTMStep runs the same float32 operations in the same order
// on every path (no fused multiply-adds), so all of them give the same bits: the tests hold them
// to it. Activations must lie in [-127, 127] (Quantize's range): the AVX2 kernel's pairs would
// saturate at -128.
package qkernel

import (
	"fmt"
	"math"
)

// Matrix is a K×N int8 matrix W packed for the kernels, with a float32 scale per column (the
// value of W[k][j] is W[k][j]·Scale[j]) and an optional bias per column. Its rows are cut into
// groups of four (the last one padded with zeros); a group holds N' = N rounded up to 64
// columns (padded with zeros), each column's four values side by side.
type Matrix struct {
	K, N   int
	groups int       // ⌈K/4⌉
	cols   int       // N rounded up to 64
	s8     []int8    // groups × cols × 4
	u8     []byte    // s8 + 128, for VNNI
	scale  []float32 // cols
	bias   []float32 // cols, or nil
}

// Pack returns W (k×n, row-major) packed, with the scales of its columns and a bias (n values,
// or nil for none) that Gemm adds. It copies its inputs.
func Pack(w []int8, k, n int, scale, bias []float32) *Matrix {
	if len(w) < k*n || len(scale) < n || bias != nil && len(bias) < n {
		panic(fmt.Sprintf("qkernel: Pack: %d values, %d scales, %d biases for %d×%d", len(w), len(scale), len(bias), k, n))
	}
	m := &Matrix{K: k, N: n, groups: (k + 3) / 4, cols: (n + 63) &^ 63}
	m.s8 = make([]int8, m.groups*m.cols*4)
	m.u8 = make([]byte, len(m.s8))
	for p := range k {
		for j := range n {
			m.s8[(p/4*m.cols+j)*4+p%4] = w[p*n+j]
		}
	}
	for i, v := range m.s8 {
		m.u8[i] = byte(v) ^ 0x80
	}
	m.scale = make([]float32, m.cols)
	copy(m.scale, scale[:n])
	if bias != nil {
		m.bias = make([]float32, m.cols)
		copy(m.bias, bias[:n])
	}
	return m
}

// RowBytes returns the bytes an activation row must take for W: K rounded up to 4, the bytes
// past K zero.
func (m *Matrix) RowBytes() int { return m.groups * 4 }

// Gemm computes, for the m rows of a (int8, lda bytes apart, each RowBytes long with zeros past
// w.K), C = [C +] (A·W)·Scale·sa + bias: row i of C gets ((Σ_p a[i][p]·W[p][j])·Scale[j])·sa[i]
// + bias[j], added to what C holds when accumulate is set. asum[i] must be Σ_p a[i][p], as
// Quantize returns it. C is m×w.N, ldc apart.
func Gemm(m int, a []int8, lda int, asum []int32, sa []float32, w *Matrix, accumulate bool, c []float32, ldc int) {
	if m == 0 {
		return
	}
	if lda < w.RowBytes() || len(a) < (m-1)*lda+w.RowBytes() || len(asum) < m || len(sa) < m || ldc < w.N || len(c) < (m-1)*ldc+w.N {
		panic(fmt.Sprintf("qkernel: Gemm: %d rows of %d bytes (lda %d, %d values), %d sums, %d scales, C %d values (ldc %d) for W %d×%d",
			m, w.RowBytes(), lda, len(a), len(asum), len(sa), len(c), ldc, w.K, w.N))
	}
	if gemmAsm(m, a, lda, asum, sa, w, accumulate, c, ldc) {
		return
	}
	gemmGo(0, m, 0, w.N, a, lda, sa, w, accumulate, c, ldc)
}

// gemmGo is Gemm in Go over rows [i0, i1) and columns [j0, j1).
func gemmGo(i0, i1, j0, j1 int, a []int8, lda int, sa []float32, w *Matrix, accumulate bool, c []float32, ldc int) {
	for i := i0; i < i1; i++ {
		row := a[i*lda : i*lda+w.RowBytes()]
		for j := j0; j < j1; j++ {
			var acc int32
			for g := range w.groups {
				q := w.s8[(g*w.cols+j)*4 : (g*w.cols+j)*4+4]
				r := row[4*g : 4*g+4]
				acc += int32(r[0])*int32(q[0]) + int32(r[1])*int32(q[1]) + int32(r[2])*int32(q[2]) + int32(r[3])*int32(q[3])
			}
			v := float32(float32(acc)*w.scale[j]) * sa[i]
			if w.bias != nil {
				v += w.bias[j]
			}
			if accumulate {
				v += c[i*ldc+j]
			}
			c[i*ldc+j] = v
		}
	}
}

// Quantize writes x as int8 into dst, q = round(x·127/max|x|) (to even), and returns the scale
// max|x|/127 that turns q back into x, and Σq. dst must hold len(x) rounded up to 4: the bytes
// past len(x) are set to zero. A row of zeros has scale 0. x must be finite (as a model's inputs
// must be): what a NaN or an infinity becomes depends on the path.
func Quantize(dst []int8, x []float32) (scale float32, sum int32) {
	n := len(x)
	pad := (n + 3) &^ 3
	if len(dst) < pad {
		panic(fmt.Sprintf("qkernel: Quantize: %d bytes for %d values", len(dst), n))
	}
	clear(dst[n:pad])
	mx := absMax(x)
	if !(mx > 0 && mx <= math.MaxFloat32) { // zeros, or a NaN or an infinity
		clear(dst[:n])
		return 0, 0
	}
	inv := 127 / mx
	if s, ok := quantizeAsm(dst, x, inv); ok {
		return mx / 127, s
	}
	return mx / 127, quantizeGo(dst, x, inv)
}

// QuantizeRows quantizes rows rows of n values, row i at x[i·ldx:], as Quantize does each:
// into dst[i·ldd:] (ldd at least n rounded up to 4), its scale into scale[i] and its sum into
// sum[i].
func QuantizeRows(rows, n int, dst []int8, ldd int, x []float32, ldx int, scale []float32, sum []int32) {
	if rows == 0 {
		return
	}
	pad := (n + 3) &^ 3
	if ldd < pad || ldx < n || len(dst) < (rows-1)*ldd+pad || len(x) < (rows-1)*ldx+n || len(scale) < rows || len(sum) < rows {
		panic(fmt.Sprintf("qkernel: QuantizeRows: %d rows of %d values: dst %d (ld %d), x %d (ld %d), %d scales, %d sums", rows, n, len(dst), ldd, len(x), ldx, len(scale), len(sum)))
	}
	if n > 0 && quantizeRowsAsm(rows, n, dst, ldd, x, ldx, scale, sum) {
		return
	}
	for i := range rows {
		scale[i], sum[i] = Quantize(dst[i*ldd:i*ldd+pad], x[i*ldx:i*ldx+n])
	}
}

// DequantizeRows writes rows rows of dim int8 values src, each with its scale, as float32 into
// dst (row i's value k is float32(src[i·dim+k])·scale[i], one rounding), and each row's sum into
// sum, either of which may be nil for none. It is how an int8 embedding table is opened.
func DequantizeRows(rows, dim int, dst []float32, src []int8, scale []float32, sum []int32) {
	if rows == 0 || dim == 0 {
		return
	}
	if len(src) < rows*dim || dst != nil && (len(dst) < rows*dim || len(scale) < rows) || sum != nil && len(sum) < rows {
		panic(fmt.Sprintf("qkernel: DequantizeRows: %d×%d from %d values into %d, %d scales, %d sums", rows, dim, len(src), len(dst), len(scale), len(sum)))
	}
	if dequantizeRowsAsm(rows, dim, dst, src, scale, sum) {
		return
	}
	for i := range rows {
		row := src[i*dim : (i+1)*dim]
		if sum != nil {
			sum[i] = rowSum(row)
		}
		if dst == nil {
			continue
		}
		s, out := scale[i], dst[i*dim:(i+1)*dim]
		for k, v := range row {
			out[k] = float32(v) * s
		}
	}
}

// rowSum returns Σ row, eight values at a time: each byte biased by 128 (b^0x80 is b+128 as an
// unsigned byte), added in four 16-bit lanes of a word, folded before a lane can overflow.
func rowSum(row []int8) int32 {
	var total int64
	i := 0
	for i+8 <= len(row) {
		var acc uint64
		for n := 0; n < 128 && i+8 <= len(row); n, i = n+1, i+8 {
			u := uint64(uint8(row[i])) | uint64(uint8(row[i+1]))<<8 | uint64(uint8(row[i+2]))<<16 | uint64(uint8(row[i+3]))<<24 |
				uint64(uint8(row[i+4]))<<32 | uint64(uint8(row[i+5]))<<40 | uint64(uint8(row[i+6]))<<48 | uint64(uint8(row[i+7]))<<56
			u ^= 0x8080808080808080
			acc += u&0x00ff00ff00ff00ff + u>>8&0x00ff00ff00ff00ff
		}
		total += int64(acc&0xffff + acc>>16&0xffff + acc>>32&0xffff + acc>>48)
	}
	full := i
	total -= 128 * int64(full)
	for ; i < len(row); i++ {
		total += int64(row[i])
	}
	return int32(total)
}

// absMax returns max |x|.
func absMax(x []float32) float32 {
	if m, ok := absMaxAsm(x); ok {
		return m
	}
	var m float32
	for _, v := range x {
		m = max(m, float32(math.Abs(float64(v))))
	}
	return m
}

// quantizeGo writes round(x·inv) into dst and returns the sum.
func quantizeGo(dst []int8, x []float32, inv float32) int32 {
	var s int32
	for i, v := range x {
		q := int32(math.RoundToEven(float64(v * inv)))
		q = min(max(q, -127), 127)
		dst[i] = int8(q)
		s += q
	}
	return s
}
