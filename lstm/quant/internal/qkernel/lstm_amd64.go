//go:build !purego

package qkernel

import "unsafe"

//go:noescape
func lstmStep512(z *float32, ldz int, c *float32, ldc int, h *float32, ldh int, hq *int8, ldq int, hs *float32, hsum *int32, n int, rows int)

//go:noescape
func lstmStep256(z *float32, ldz int, c *float32, ldc int, h *float32, ldh int, hq *int8, ldq int, hs *float32, hsum *int32, n int, rows int)

// lstmStepAsm is LSTMStep on the assembly kernels, which take n in vectors: 32 units at a time
// with AVX-512, 8 with AVX2 (also under AVX-512, for an n that is not a multiple of 32). It
// reports false, doing nothing, for the other n. The arguments have been checked.
func lstmStepAsm(rows, n int, z []float32, ldz int, c []float32, ldc int, h []float32, ldh int, hq []int8, ldq int, hs []float32, hsum []int32) bool {
	k := lstmStep256
	switch {
	case isa == isaGo || n%8 != 0:
		return false
	case isa == isaVNNI && n%32 == 0:
		k = lstmStep512
	}
	k(unsafe.SliceData(z), 4*ldz, unsafe.SliceData(c), 4*ldc, unsafe.SliceData(h), 4*ldh, unsafe.SliceData(hq), ldq, unsafe.SliceData(hs), unsafe.SliceData(hsum), n, rows)
	return true
}
