//go:build !purego

#include "textflag.h"

// func absMax512(x *float32, n int) float32
TEXT ·absMax512(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VPXORD Z0, Z0, Z0
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z1
loop:
	CMPQ CX, $16
	JLT tail
	VANDPS (SI), Z1, Z2
	VMAXPS Z2, Z0, Z0
	ADDQ $64, SI
	SUBQ $16, CX
	JMP loop
tail:
	TESTQ CX, CX
	JEQ reduce
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z2
	VANDPS Z2, Z1, Z2
	VMAXPS Z2, Z0, Z0
reduce:
	VEXTRACTF32X8 $1, Z0, Y2
	VMAXPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X2
	VMAXPS X2, X0, X0
	VPSHUFD $0x4e, X0, X2
	VMAXPS X2, X0, X0
	VPSHUFD $0xb1, X0, X2
	VMAXPS X2, X0, X0
	VZEROUPPER
	MOVSS X0, ret+16(FP)
	RET

// func quantize512(dst *int8, x *float32, n int, inv float32) int32
TEXT ·quantize512(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS inv+24(FP), Z1
	VPXORD Z0, Z0, Z0
loop:
	CMPQ CX, $16
	JLT tail
	VMULPS (SI), Z1, Z2
	VCVTPS2DQ Z2, Z2
	VPADDD Z2, Z0, Z0
	VPMOVSDB Z2, (DI)
	ADDQ $64, SI
	ADDQ $16, DI
	SUBQ $16, CX
	JMP loop
tail:
	TESTQ CX, CX
	JEQ reduce
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z2
	VMULPS Z2, Z1, Z2
	VCVTPS2DQ Z2, Z2
	VPADDD Z2, Z0, Z0
	VPMOVSDB Z2, K1, (DI)
reduce:
	VEXTRACTI32X8 $1, Z0, Y2
	VPADDD Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X2
	VPADDD X2, X0, X0
	VPSHUFD $0x4e, X0, X2
	VPADDD X2, X0, X0
	VPSHUFD $0xb1, X0, X2
	VPADDD X2, X0, X0
	VMOVD X0, AX
	VZEROUPPER
	MOVL AX, ret+32(FP)
	RET

// func absMax256(x *float32, n int) float32
// n is a multiple of 8.
TEXT ·absMax256(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPS Y0, Y0, Y0
	MOVL $0x7fffffff, AX
	MOVQ AX, X1
	VPBROADCASTD X1, Y1
loop:
	CMPQ CX, $8
	JLT reduce
	VANDPS (SI), Y1, Y2
	VMAXPS Y2, Y0, Y0
	ADDQ $32, SI
	SUBQ $8, CX
	JMP loop
reduce:
	VEXTRACTF128 $1, Y0, X2
	VMAXPS X2, X0, X0
	VPSHUFD $0x4e, X0, X2
	VMAXPS X2, X0, X0
	VPSHUFD $0xb1, X0, X2
	VMAXPS X2, X0, X0
	VZEROUPPER
	MOVSS X0, ret+16(FP)
	RET

// func quantize256(dst *int8, x *float32, n int, inv float32) int32
// n is a multiple of 8.
TEXT ·quantize256(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS inv+24(FP), Y1
	VPXOR Y0, Y0, Y0
loop:
	CMPQ CX, $8
	JLT reduce
	VMULPS (SI), Y1, Y2
	VCVTPS2DQ Y2, Y2
	VPADDD Y2, Y0, Y0
	VEXTRACTI128 $1, Y2, X3
	VPACKSSDW X3, X2, X2
	VPACKSSWB X2, X2, X2
	VMOVQ X2, (DI)
	ADDQ $32, SI
	ADDQ $8, DI
	SUBQ $8, CX
	JMP loop
reduce:
	VEXTRACTI128 $1, Y0, X2
	VPADDD X2, X0, X0
	VPSHUFD $0x4e, X0, X2
	VPADDD X2, X0, X0
	VPSHUFD $0xb1, X0, X2
	VPADDD X2, X0, X0
	VMOVD X0, AX
	VZEROUPPER
	MOVL AX, ret+32(FP)
	RET

// func quantizeRows512(dst *int8, ldd int, x *float32, ldx int, n int, rows int, scale *float32, sum *int32)
//
// Quantize over rows rows of n values (ldx bytes apart), each into dst (ldd bytes apart) with
// the bytes past n up to n rounded up to 4 set to zero, its scale and sum into scale and sum:
// the same operations as absMax512, Quantize's test of the largest magnitude, and quantize512.
TEXT ·quantizeRows512(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ x+16(FP), SI
	MOVQ scale+48(FP), R10
	MOVQ sum+56(FP), R11
	MOVQ rows+40(FP), R12
	MOVQ n+32(FP), R8
	ANDQ $-16, R8 // full vectors, in units
	MOVQ n+32(FP), CX
	SUBQ R8, CX // units in the last, partial vector
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1 // its lanes to load
	ADDQ $3, CX
	ANDQ $-4, CX // with the bytes to zero
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K2 // its bytes to store
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z1
	VPXORD Z9, Z9, Z9
	MOVL $0x42fe0000, AX // 127
	VMOVD AX, X6
	MOVL $0x7f7fffff, AX // math.MaxFloat32
	VMOVD AX, X10
	TESTQ R12, R12
	JEQ done
row:
	VPXORD Z0, Z0, Z0
	XORQ BX, BX
	CMPQ BX, R8
	JEQ maxtail
maxloop:
	VANDPS (SI)(BX*4), Z1, Z2
	VMAXPS Z2, Z0, Z0
	ADDQ $16, BX
	CMPQ BX, R8
	JLT maxloop
maxtail:
	KORTESTW K1, K1
	JEQ reduce
	VMOVUPS.Z (SI)(BX*4), K1, Z2
	VANDPS Z2, Z1, Z2
	VMAXPS Z2, Z0, Z0
reduce:
	VEXTRACTF32X8 $1, Z0, Y2
	VMAXPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X2
	VMAXPS X2, X0, X0
	VPSHUFD $0x4e, X0, X2
	VMAXPS X2, X0, X0
	VPSHUFD $0xb1, X0, X2
	VMAXPS X2, X0, X0
	VUCOMISS X9, X0
	JLS zero // not above 0 (or NaN)
	VUCOMISS X10, X0
	JHI zero // above math.MaxFloat32
	VDIVSS X0, X6, X7 // 127/max
	VDIVSS X6, X0, X8 // max/127
	VMOVSS X8, (R10)
	VBROADCASTSS X7, Z7
	VPXORD Z3, Z3, Z3
	XORQ BX, BX
	MOVQ DI, DX
	CMPQ BX, R8
	JEQ qtail
qloop:
	VMULPS (SI)(BX*4), Z7, Z2
	VCVTPS2DQ Z2, Z2
	VPADDD Z2, Z3, Z3
	VPMOVSDB Z2, (DX)
	ADDQ $16, DX
	ADDQ $16, BX
	CMPQ BX, R8
	JLT qloop
qtail:
	KORTESTW K2, K2
	JEQ qsum
	VMOVUPS.Z (SI)(BX*4), K1, Z2
	VMULPS Z2, Z7, Z2
	VCVTPS2DQ Z2, Z2
	VPADDD Z2, Z3, Z3
	VPMOVSDB Z2, K2, (DX)
qsum:
	VEXTRACTI32X8 $1, Z3, Y2
	VPADDD Y2, Y3, Y3
	VEXTRACTI128 $1, Y3, X2
	VPADDD X2, X3, X3
	VPSHUFD $0x4e, X3, X2
	VPADDD X2, X3, X3
	VPSHUFD $0xb1, X3, X2
	VPADDD X2, X3, X3
	VMOVD X3, (R11)
	JMP next
zero:
	XORQ BX, BX
	MOVQ DI, DX
	CMPQ BX, R8
	JEQ ztail
zloop:
	VMOVDQU X9, (DX)
	ADDQ $16, DX
	ADDQ $16, BX
	CMPQ BX, R8
	JLT zloop
ztail:
	VMOVDQU8 Z9, K2, (DX)
	MOVL $0, (R10)
	MOVL $0, (R11)
next:
	ADDQ ldd+8(FP), DI
	ADDQ ldx+24(FP), SI
	ADDQ $4, R10
	ADDQ $4, R11
	DECQ R12
	JNE row
done:
	VZEROUPPER
	RET

// func dequantizeRows512(dst *float32, src *int8, scale *float32, sum *int32, dim int, rows int)
//
// DequantizeRows: dst = float32(src)·scale of the row, and each row's sum, 16 values at a time,
// the last vector of a row under a mask.
TEXT ·dequantizeRows512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ scale+16(FP), R10
	MOVQ sum+24(FP), R11
	MOVQ dim+32(FP), R8
	MOVQ rows+40(FP), R12
	MOVQ R8, R9
	ANDQ $-16, R9 // full vectors, in values
	MOVQ R8, CX
	SUBQ R9, CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1 // the lanes of the last, partial vector
	TESTQ R12, R12
	JEQ done
row:
	VBROADCASTSS (R10), Z1
	VPXORD Z0, Z0, Z0
	XORQ BX, BX
	CMPQ BX, R9
	JEQ tail
loop:
	VPMOVSXBD (SI)(BX*1), Z2
	VPADDD Z2, Z0, Z0
	VCVTDQ2PS Z2, Z2
	VMULPS Z1, Z2, Z2
	VMOVUPS Z2, (DI)(BX*4)
	ADDQ $16, BX
	CMPQ BX, R9
	JLT loop
tail:
	KORTESTW K1, K1
	JEQ reduce
	VPMOVSXBD.Z (SI)(BX*1), K1, Z2
	VPADDD Z2, Z0, Z0
	VCVTDQ2PS Z2, Z2
	VMULPS Z1, Z2, Z2
	VMOVUPS Z2, K1, (DI)(BX*4)
reduce:
	VEXTRACTI32X8 $1, Z0, Y2
	VPADDD Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X2
	VPADDD X2, X0, X0
	VPSHUFD $0x4e, X0, X2
	VPADDD X2, X0, X0
	VPSHUFD $0xb1, X0, X2
	VPADDD X2, X0, X0
	VMOVD X0, (R11)
	ADDQ R8, SI
	LEAQ (DI)(R8*4), DI
	ADDQ $4, R10
	ADDQ $4, R11
	DECQ R12
	JNE row
done:
	VZEROUPPER
	RET

// func rowSums512(src *int8, sum *int32, dim int, rows int)
//
// DequantizeRows without dst: each row's sum alone.
TEXT ·rowSums512(SB), NOSPLIT, $0-32
	MOVQ src+0(FP), SI
	MOVQ sum+8(FP), R11
	MOVQ dim+16(FP), R8
	MOVQ rows+24(FP), R12
	MOVQ R8, R9
	ANDQ $-16, R9
	MOVQ R8, CX
	SUBQ R9, CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	TESTQ R12, R12
	JEQ done
row:
	VPXORD Z0, Z0, Z0
	XORQ BX, BX
	CMPQ BX, R9
	JEQ tail
loop:
	VPMOVSXBD (SI)(BX*1), Z2
	VPADDD Z2, Z0, Z0
	ADDQ $16, BX
	CMPQ BX, R9
	JLT loop
tail:
	KORTESTW K1, K1
	JEQ reduce
	VPMOVSXBD.Z (SI)(BX*1), K1, Z2
	VPADDD Z2, Z0, Z0
reduce:
	VEXTRACTI32X8 $1, Z0, Y2
	VPADDD Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X2
	VPADDD X2, X0, X0
	VPSHUFD $0x4e, X0, X2
	VPADDD X2, X0, X0
	VPSHUFD $0xb1, X0, X2
	VPADDD X2, X0, X0
	VMOVD X0, (R11)
	ADDQ R8, SI
	ADDQ $4, R11
	DECQ R12
	JNE row
done:
	VZEROUPPER
	RET
