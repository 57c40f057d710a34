//go:build !purego

#include "textflag.h"

// func transpose512(dst *float32, ldDst int, src *float32, ldSrc int, rows, cols int)
//
// dst[p·ldDst + j] = src[j·ldSrc + p] for j < rows, p < cols (strides in bytes): one gather of
// 16 rows per column, masked on the last block of rows. 15·ldSrc must fit in an int32.
TEXT ·transpose512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ ldDst+8(FP), R8
	MOVQ src+16(FP), SI
	MOVQ ldSrc+24(FP), R9
	MOVQ rows+32(FP), DX
	MOVQ cols+40(FP), R10
	TESTQ R10, R10
	JEQ done
	// Z1 = lane·ldSrc, the gather offsets.
	MOVL R9, AX
	VPBROADCASTD AX, Z2
	MOVQ $0x0706050403020100, AX
	MOVQ AX, X1
	MOVQ $0x0f0e0d0c0b0a0908, AX
	MOVQ AX, X3
	VPUNPCKLQDQ X3, X1, X1
	VPMOVZXBD X1, Z1
	VPMULLD Z2, Z1, Z1
	MOVQ R9, R11
	SHLQ $4, R11 // 16 rows of src

block:
	// K1 = the rows of this block: 16, or the rest.
	MOVQ $16, CX
	CMPQ DX, CX
	CMOVQLT DX, CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	MOVQ SI, AX // src column p
	MOVQ DI, BX // dst row p
	MOVQ R10, CX
col:
	KMOVW K1, K2
	VXORPS Z0, Z0, Z0
	VGATHERDPS (AX)(Z1*1), K2, Z0
	VMOVUPS Z0, K1, (BX)
	ADDQ $4, AX
	ADDQ R8, BX
	DECQ CX
	JNE col
	ADDQ R11, SI
	ADDQ $64, DI
	SUBQ $16, DX
	JGT block

done:
	VZEROUPPER
	RET
