package main

import "fmt"

// A tile is the operands of the three loops: A, 4 rows of k values, and W, k rows of 16
// columns, the same small integers in each loop's layout (the kernels' packed ones), and the
// 4×16 sums each loop stores.
type tile struct {
	k        int
	a8, w8   []int8    // a8: rows of k; w8: groups of 4 rows, each column's 4 values together
	a16, w16 []int16   // a16: rows of k; w16: pairs of rows, each column's 2 values together
	af, wf   []float32 // af: rows of k; wf: rows of 16
	out8     []int32
	out16    []int32
	outf     []float32
}

// newTile returns the operands for k values (a multiple of 4): A[r][p] = (3r+p)%7 − 3 and
// W[p][c] = (16p+c)%11 − 5, nonzero for the most part, as a model's values are (the values
// change the loops' speeds: with every weight zero, the int8 loop's lead over float32 grew).
func newTile(k int) *tile {
	if k < 4 || k%4 != 0 {
		panic(fmt.Sprintf("int8loop: k %d is not a positive multiple of 4", k))
	}
	t := &tile{k: k, a8: make([]int8, 4*k), w8: make([]int8, 16*k), a16: make([]int16, 4*k), w16: make([]int16, 16*k),
		af: make([]float32, 4*k), wf: make([]float32, 16*k), out8: make([]int32, 64), out16: make([]int32, 64), outf: make([]float32, 64)}
	for r := range 4 {
		for p := range k {
			v := (3*r+p)%7 - 3
			t.a8[r*k+p], t.a16[r*k+p], t.af[r*k+p] = int8(v), int16(v), float32(v)
		}
	}
	for p := range k {
		for c := range 16 {
			v := (16*p+c)%11 - 5
			t.w8[(p/4*16+c)*4+p%4] = int8(v)
			t.w16[(p/2*16+c)*2+p%2] = int16(v)
			t.wf[p*16+c] = float32(v)
		}
	}
	return t
}

// want returns reps times A·W, row by row: what each loop's sums should be.
func (t *tile) want(reps int) []int64 {
	s := make([]int64, 64)
	for r := range 4 {
		for c := range 16 {
			for p := range t.k {
				s[r*16+c] += int64(t.a8[r*t.k+p]) * int64(t.wf[p*16+c])
			}
			s[r*16+c] *= int64(reps)
		}
	}
	return s
}

// check panics on a tile that newTile did not make: the loops read past short slices.
func (t *tile) check() {
	if len(t.a8) != 4*t.k || len(t.w8) != 16*t.k || len(t.out8) != 64 {
		panic("int8loop: a tile not made by newTile")
	}
}
