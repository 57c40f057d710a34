//go:build !purego

#include "textflag.h"

// func packBlocks512(dst, src *float32, ldSrc, rows, blocks, ldBlock int)
//
// dst[jb·ldBlock + p·32 + j] = src[p·ldSrc + jb·32 + j] for p < rows, jb < blocks, j < 32
// (strides in bytes): the rows of src, read in order, laid out as column blocks of 32.
TEXT ·packBlocks512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ldSrc+16(FP), R8
	MOVQ rows+24(FP), CX
	MOVQ blocks+32(FP), DX
	MOVQ ldBlock+40(FP), R9
	TESTQ CX, CX
	JEQ done
	TESTQ DX, DX
	JEQ done
row:
	MOVQ SI, AX
	MOVQ DI, BX
	MOVQ DX, R10
block:
	VMOVUPS (AX), Z0
	VMOVUPS 64(AX), Z1
	VMOVUPS Z0, (BX)
	VMOVUPS Z1, 64(BX)
	ADDQ $128, AX
	ADDQ R9, BX
	DECQ R10
	JNE block
	ADDQ R8, SI
	ADDQ $128, DI
	DECQ CX
	JNE row
done:
	VZEROUPPER
	RET
