//go:build !purego

package main

import "golang.org/x/sys/cpu"

func haveLoops() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA }

// The loops, on the operands of newTile; each stores its 4×16 sums in t's out (see
// loops_amd64.s). They panic on a tile of another K.

func (t *tile) runInt8(reps int) {
	t.check()
	int8Loop(t.k/4, &t.a8[0], t.k, &t.w8[0], 64, reps, &t.out8[0])
}

func (t *tile) runInt16(reps int) {
	t.check()
	int16Loop(t.k/2, &t.a16[0], 2*t.k, &t.w16[0], 64, reps, &t.out16[0])
}

func (t *tile) runFloat32(reps int) {
	t.check()
	float32Loop(t.k, &t.af[0], 4*t.k, &t.wf[0], 64, reps, &t.outf[0])
}

//go:noescape
func int8Loop(groups int, a *int8, lda int, w *int8, ldw int, reps int, out *int32)

//go:noescape
func int16Loop(pairs int, a *int16, lda int, w *int16, ldw int, reps int, out *int32)

//go:noescape
func float32Loop(k int, a *float32, lda int, w *float32, ldw int, reps int, out *float32)
