package main

import "testing"

// TestLoopsAgree runs each loop on the same tile and holds its sums to A·W times the passes:
// the three do the same multiply-adds, so their speeds compare.
func TestLoopsAgree(t *testing.T) {
	if !haveLoops() {
		t.Skip("no AVX2 loops on this build")
	}
	for _, k := range []int{4, 28, 128} {
		tl := newTile(k)
		const reps = 3
		tl.runInt8(reps)
		tl.runInt16(reps)
		tl.runFloat32(reps)
		want := tl.want(reps)
		for i, w := range want {
			if int64(tl.out8[i]) != w || int64(tl.out16[i]) != w || int64(tl.outf[i]) != w {
				t.Fatalf("k %d, row %d column %d: int8 %d, int16 %d, float32 %v, want %d", k, i/16, i%16, tl.out8[i], tl.out16[i], tl.outf[i], w)
			}
		}
	}
}
