//go:build !purego

#include "textflag.h"

// func prefetch(p *byte, n int)
//
// PREFETCHT0 on every cache line of the n bytes from p (n > 0).
TEXT ·prefetch(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), AX
	MOVQ n+8(FP), CX
	LEAQ (AX)(CX*1), CX
	ANDQ $-64, AX
loop:
	PREFETCHT0 (AX)
	ADDQ $64, AX
	CMPQ AX, CX
	JLT loop
	RET
