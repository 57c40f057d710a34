//go:build !purego

#include "textflag.h"

// LSTMStep's kernels: the gates of one LSTM step over a block of rows, each row's output then
// quantized as Quantize does it, in the operations and the order of lstmRowGo and Quantize (no
// fused multiply-adds), so that AVX-512, AVX2 and Go give the same bits. The AVX-512 kernel
// takes 16 units at a time (n a multiple of 16), the AVX2 one 8 (n a multiple of 8).

// The constants, eight copies each (32 bytes): AVX2 reads them as operands, AVX-512 broadcasts
// the first copy into a register.
DATA lstmc<>+0(SB)/4, $0x42200000 // 40, exp2c's clamp
DATA lstmc<>+4(SB)/4, $0x42200000
DATA lstmc<>+8(SB)/4, $0x42200000
DATA lstmc<>+12(SB)/4, $0x42200000
DATA lstmc<>+16(SB)/4, $0x42200000
DATA lstmc<>+20(SB)/4, $0x42200000
DATA lstmc<>+24(SB)/4, $0x42200000
DATA lstmc<>+28(SB)/4, $0x42200000
DATA lstmc<>+32(SB)/4, $0xc2200000 // -40
DATA lstmc<>+36(SB)/4, $0xc2200000
DATA lstmc<>+40(SB)/4, $0xc2200000
DATA lstmc<>+44(SB)/4, $0xc2200000
DATA lstmc<>+48(SB)/4, $0xc2200000
DATA lstmc<>+52(SB)/4, $0xc2200000
DATA lstmc<>+56(SB)/4, $0xc2200000
DATA lstmc<>+60(SB)/4, $0xc2200000
DATA lstmc<>+64(SB)/4, $0x3f800000 // 1
DATA lstmc<>+68(SB)/4, $0x3f800000
DATA lstmc<>+72(SB)/4, $0x3f800000
DATA lstmc<>+76(SB)/4, $0x3f800000
DATA lstmc<>+80(SB)/4, $0x3f800000
DATA lstmc<>+84(SB)/4, $0x3f800000
DATA lstmc<>+88(SB)/4, $0x3f800000
DATA lstmc<>+92(SB)/4, $0x3f800000
DATA lstmc<>+96(SB)/4, $0xbfb8aa3b // -log2(e)
DATA lstmc<>+100(SB)/4, $0xbfb8aa3b
DATA lstmc<>+104(SB)/4, $0xbfb8aa3b
DATA lstmc<>+108(SB)/4, $0xbfb8aa3b
DATA lstmc<>+112(SB)/4, $0xbfb8aa3b
DATA lstmc<>+116(SB)/4, $0xbfb8aa3b
DATA lstmc<>+120(SB)/4, $0xbfb8aa3b
DATA lstmc<>+124(SB)/4, $0xbfb8aa3b
DATA lstmc<>+128(SB)/4, $0xc038aa3b // -2·log2(e)
DATA lstmc<>+132(SB)/4, $0xc038aa3b
DATA lstmc<>+136(SB)/4, $0xc038aa3b
DATA lstmc<>+140(SB)/4, $0xc038aa3b
DATA lstmc<>+144(SB)/4, $0xc038aa3b
DATA lstmc<>+148(SB)/4, $0xc038aa3b
DATA lstmc<>+152(SB)/4, $0xc038aa3b
DATA lstmc<>+156(SB)/4, $0xc038aa3b
DATA lstmc<>+160(SB)/4, $0x3c1d0167 // p4
DATA lstmc<>+164(SB)/4, $0x3c1d0167
DATA lstmc<>+168(SB)/4, $0x3c1d0167
DATA lstmc<>+172(SB)/4, $0x3c1d0167
DATA lstmc<>+176(SB)/4, $0x3c1d0167
DATA lstmc<>+180(SB)/4, $0x3c1d0167
DATA lstmc<>+184(SB)/4, $0x3c1d0167
DATA lstmc<>+188(SB)/4, $0x3c1d0167
DATA lstmc<>+192(SB)/4, $0x3d64fe23 // p3
DATA lstmc<>+196(SB)/4, $0x3d64fe23
DATA lstmc<>+200(SB)/4, $0x3d64fe23
DATA lstmc<>+204(SB)/4, $0x3d64fe23
DATA lstmc<>+208(SB)/4, $0x3d64fe23
DATA lstmc<>+212(SB)/4, $0x3d64fe23
DATA lstmc<>+216(SB)/4, $0x3d64fe23
DATA lstmc<>+220(SB)/4, $0x3d64fe23
DATA lstmc<>+224(SB)/4, $0x3e7601bc // p2
DATA lstmc<>+228(SB)/4, $0x3e7601bc
DATA lstmc<>+232(SB)/4, $0x3e7601bc
DATA lstmc<>+236(SB)/4, $0x3e7601bc
DATA lstmc<>+240(SB)/4, $0x3e7601bc
DATA lstmc<>+244(SB)/4, $0x3e7601bc
DATA lstmc<>+248(SB)/4, $0x3e7601bc
DATA lstmc<>+252(SB)/4, $0x3e7601bc
DATA lstmc<>+256(SB)/4, $0x3f317096 // p1
DATA lstmc<>+260(SB)/4, $0x3f317096
DATA lstmc<>+264(SB)/4, $0x3f317096
DATA lstmc<>+268(SB)/4, $0x3f317096
DATA lstmc<>+272(SB)/4, $0x3f317096
DATA lstmc<>+276(SB)/4, $0x3f317096
DATA lstmc<>+280(SB)/4, $0x3f317096
DATA lstmc<>+284(SB)/4, $0x3f317096
DATA lstmc<>+288(SB)/4, $0x3f800000 // p0
DATA lstmc<>+292(SB)/4, $0x3f800000
DATA lstmc<>+296(SB)/4, $0x3f800000
DATA lstmc<>+300(SB)/4, $0x3f800000
DATA lstmc<>+304(SB)/4, $0x3f800000
DATA lstmc<>+308(SB)/4, $0x3f800000
DATA lstmc<>+312(SB)/4, $0x3f800000
DATA lstmc<>+316(SB)/4, $0x3f800000
DATA lstmc<>+320(SB)/4, $0x7fffffff // the mask of |·|
DATA lstmc<>+324(SB)/4, $0x7fffffff
DATA lstmc<>+328(SB)/4, $0x7fffffff
DATA lstmc<>+332(SB)/4, $0x7fffffff
DATA lstmc<>+336(SB)/4, $0x7fffffff
DATA lstmc<>+340(SB)/4, $0x7fffffff
DATA lstmc<>+344(SB)/4, $0x7fffffff
DATA lstmc<>+348(SB)/4, $0x7fffffff
DATA lstmc<>+352(SB)/4, $0x0000007f // 127, the exponent bias
DATA lstmc<>+356(SB)/4, $0x0000007f
DATA lstmc<>+360(SB)/4, $0x0000007f
DATA lstmc<>+364(SB)/4, $0x0000007f
DATA lstmc<>+368(SB)/4, $0x0000007f
DATA lstmc<>+372(SB)/4, $0x0000007f
DATA lstmc<>+376(SB)/4, $0x0000007f
DATA lstmc<>+380(SB)/4, $0x0000007f
DATA lstmc<>+384(SB)/4, $0x42fe0000 // 127.0
DATA lstmc<>+388(SB)/4, $0x42fe0000
DATA lstmc<>+392(SB)/4, $0x42fe0000
DATA lstmc<>+396(SB)/4, $0x42fe0000
DATA lstmc<>+400(SB)/4, $0x42fe0000
DATA lstmc<>+404(SB)/4, $0x42fe0000
DATA lstmc<>+408(SB)/4, $0x42fe0000
DATA lstmc<>+412(SB)/4, $0x42fe0000
GLOBL lstmc<>(SB), RODATA|NOPTR, $416

// EXP2C512 sets P = exp2c(T) (T is spent: it ends holding r), N a temporary.
#define EXP2C512(T, N, P) \
	VMINPS Z31, T, T; \
	VMAXPS Z30, T, T; \
	VRNDSCALEPS $8, T, N; \
	VSUBPS N, T, T; \
	VMULPS Z26, T, P; \
	VADDPS Z25, P, P; \
	VMULPS T, P, P; \
	VADDPS Z24, P, P; \
	VMULPS T, P, P; \
	VADDPS Z23, P, P; \
	VMULPS T, P, P; \
	VADDPS Z22, P, P; \
	VSCALEFPS N, P, P

// func lstmStep512(z *float32, ldz int, c *float32, ldc int, h *float32, ldh int, hq *int8, ldq int, hs *float32, hsum *int32, n int, rows int)
//
// The strides are in bytes; n is a multiple of 16, rows at least 1.
TEXT ·lstmStep512(SB), NOSPLIT, $0-96
	VBROADCASTSS lstmc<>+0(SB), Z31
	VBROADCASTSS lstmc<>+32(SB), Z30
	VBROADCASTSS lstmc<>+64(SB), Z29
	VBROADCASTSS lstmc<>+96(SB), Z28
	VBROADCASTSS lstmc<>+128(SB), Z27
	VBROADCASTSS lstmc<>+160(SB), Z26
	VBROADCASTSS lstmc<>+192(SB), Z25
	VBROADCASTSS lstmc<>+224(SB), Z24
	VBROADCASTSS lstmc<>+256(SB), Z23
	VBROADCASTSS lstmc<>+288(SB), Z22
	VBROADCASTSS lstmc<>+320(SB), Z21
	MOVQ z+0(FP), SI
	MOVQ c+16(FP), R8
	MOVQ h+32(FP), R9
	MOVQ hq+48(FP), DI
	MOVQ hs+64(FP), R10
	MOVQ hsum+72(FP), R11
	MOVQ n+80(FP), DX
	SHLQ $2, DX // the distance between gates, and the bytes of a row of c or h
	MOVQ rows+88(FP), R12
row:
	VPXORD Z20, Z20, Z20 // max |h|
	MOVQ n+80(FP), CX
unit:
	LEAQ (SI)(DX*2), BX
	VMULPS (SI), Z28, Z0
	VMULPS (SI)(DX*1), Z28, Z1
	VMULPS (SI)(DX*2), Z27, Z2
	VMULPS (BX)(DX*1), Z28, Z3
	EXP2C512(Z0, Z4, Z8)  // ei
	EXP2C512(Z1, Z5, Z9)  // ef
	EXP2C512(Z2, Z6, Z10) // eg
	EXP2C512(Z3, Z7, Z11) // eo
	VADDPS Z29, Z8, Z8    // a = ei+1
	VADDPS Z29, Z10, Z12  // b = eg+1
	VSUBPS Z10, Z29, Z10  // m = 1-eg
	VADDPS Z29, Z9, Z9    // d = ef+1
	VMULPS Z12, Z8, Z8    // a·b
	VMULPS (R8), Z8, Z12  // c·a·b
	VMULPS Z9, Z10, Z10   // m·d
	VADDPS Z10, Z12, Z12
	VMULPS Z9, Z8, Z8     // a·b·d
	VDIVPS Z8, Z12, Z12   // c'
	VMOVUPS Z12, (R8)
	VMULPS Z27, Z12, Z13
	EXP2C512(Z13, Z14, Z15) // ec
	VADDPS Z29, Z11, Z11  // eo+1
	VADDPS Z29, Z15, Z14  // ec+1
	VSUBPS Z15, Z29, Z15  // 1-ec
	VMULPS Z14, Z11, Z11
	VDIVPS Z11, Z15, Z15  // h
	VMOVUPS Z15, (R9)
	VANDPS Z21, Z15, Z15
	VMAXPS Z15, Z20, Z20
	ADDQ $64, SI
	ADDQ $64, R8
	ADDQ $64, R9
	SUBQ $16, CX
	JNE unit
	SUBQ DX, R9
	VMOVAPS Z20, Z4
	VEXTRACTF32X8 $1, Z4, Y5
	VMAXPS Y5, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VMAXPS X5, X4, X4
	VPSHUFD $0x4e, X4, X5
	VMAXPS X5, X4, X4
	VPSHUFD $0xb1, X4, X5
	VMAXPS X5, X4, X4 // max |h| of the row
	VXORPS X5, X5, X5
	VUCOMISS X5, X4
	JHI scaled
	MOVQ n+80(FP), CX
zeros:
	VMOVDQU X5, (DI)
	ADDQ $16, DI
	ADDQ $64, R9
	SUBQ $16, CX
	JNE zeros
	MOVL $0, (R10)
	MOVL $0, (R11)
	JMP next
scaled:
	VMOVSS lstmc<>+384(SB), X6
	VDIVSS X4, X6, X7 // 127/max
	VDIVSS X6, X4, X8 // max/127
	VMOVSS X8, (R10)
	VBROADCASTSS X7, Z7
	VPXORD Z0, Z0, Z0
	MOVQ n+80(FP), CX
quant:
	VMULPS (R9), Z7, Z2
	VCVTPS2DQ Z2, Z2
	VPADDD Z2, Z0, Z0
	VPMOVSDB Z2, (DI)
	ADDQ $64, R9
	ADDQ $16, DI
	SUBQ $16, CX
	JNE quant
	VEXTRACTI32X8 $1, Z0, Y2
	VPADDD Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X2
	VPADDD X2, X0, X0
	VPSHUFD $0x4e, X0, X2
	VPADDD X2, X0, X0
	VPSHUFD $0xb1, X0, X2
	VPADDD X2, X0, X0
	VMOVD X0, (R11)
next:
	SUBQ DX, SI
	ADDQ ldz+8(FP), SI
	SUBQ DX, R8
	ADDQ ldc+24(FP), R8
	SUBQ DX, R9
	ADDQ ldh+40(FP), R9
	SUBQ n+80(FP), DI
	ADDQ ldq+56(FP), DI
	ADDQ $4, R10
	ADDQ $4, R11
	DECQ R12
	JNE row
	VZEROUPPER
	RET

// EXP2C256 sets P = exp2c(T) (T is spent: it ends holding r), N a temporary.
#define EXP2C256(T, N, P) \
	VMINPS lstmc<>+0(SB), T, T; \
	VMAXPS lstmc<>+32(SB), T, T; \
	VROUNDPS $8, T, N; \
	VSUBPS N, T, T; \
	VMULPS lstmc<>+160(SB), T, P; \
	VADDPS lstmc<>+192(SB), P, P; \
	VMULPS T, P, P; \
	VADDPS lstmc<>+224(SB), P, P; \
	VMULPS T, P, P; \
	VADDPS lstmc<>+256(SB), P, P; \
	VMULPS T, P, P; \
	VADDPS lstmc<>+288(SB), P, P; \
	VCVTPS2DQ N, N; \
	VPADDD lstmc<>+352(SB), N, N; \
	VPSLLD $23, N, N; \
	VMULPS N, P, P

// func lstmStep256(z *float32, ldz int, c *float32, ldc int, h *float32, ldh int, hq *int8, ldq int, hs *float32, hsum *int32, n int, rows int)
//
// The strides are in bytes; n is a multiple of 8, rows at least 1.
TEXT ·lstmStep256(SB), NOSPLIT, $0-96
	MOVQ z+0(FP), SI
	MOVQ c+16(FP), R8
	MOVQ h+32(FP), R9
	MOVQ hq+48(FP), DI
	MOVQ hs+64(FP), R10
	MOVQ hsum+72(FP), R11
	MOVQ n+80(FP), DX
	SHLQ $2, DX
	MOVQ rows+88(FP), R12
row:
	VXORPS Y14, Y14, Y14 // max |h|
	MOVQ n+80(FP), CX
unit:
	LEAQ (SI)(DX*2), BX
	VMOVUPS (SI), Y0
	VMULPS lstmc<>+96(SB), Y0, Y0
	VMOVUPS (SI)(DX*1), Y1
	VMULPS lstmc<>+96(SB), Y1, Y1
	VMOVUPS (SI)(DX*2), Y2
	VMULPS lstmc<>+128(SB), Y2, Y2
	VMOVUPS (BX)(DX*1), Y3
	VMULPS lstmc<>+96(SB), Y3, Y3
	EXP2C256(Y0, Y4, Y8)  // ei
	EXP2C256(Y1, Y5, Y9)  // ef
	EXP2C256(Y2, Y6, Y10) // eg
	EXP2C256(Y3, Y7, Y11) // eo
	VADDPS lstmc<>+64(SB), Y8, Y8   // a = ei+1
	VADDPS lstmc<>+64(SB), Y10, Y12 // b = eg+1
	VMOVUPS lstmc<>+64(SB), Y13
	VSUBPS Y10, Y13, Y10            // m = 1-eg
	VADDPS lstmc<>+64(SB), Y9, Y9   // d = ef+1
	VMULPS Y12, Y8, Y8              // a·b
	VMULPS (R8), Y8, Y12            // c·a·b
	VMULPS Y9, Y10, Y10             // m·d
	VADDPS Y10, Y12, Y12
	VMULPS Y9, Y8, Y8               // a·b·d
	VDIVPS Y8, Y12, Y12             // c'
	VMOVUPS Y12, (R8)
	VMULPS lstmc<>+128(SB), Y12, Y13
	EXP2C256(Y13, Y4, Y15)          // ec
	VADDPS lstmc<>+64(SB), Y11, Y11 // eo+1
	VADDPS lstmc<>+64(SB), Y15, Y4  // ec+1
	VMOVUPS lstmc<>+64(SB), Y5
	VSUBPS Y15, Y5, Y15             // 1-ec
	VMULPS Y4, Y11, Y11
	VDIVPS Y11, Y15, Y15            // h
	VMOVUPS Y15, (R9)
	VANDPS lstmc<>+320(SB), Y15, Y15
	VMAXPS Y15, Y14, Y14
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	SUBQ $8, CX
	JNE unit
	SUBQ DX, R9
	VEXTRACTF128 $1, Y14, X5
	VMAXPS X5, X14, X4
	VPSHUFD $0x4e, X4, X5
	VMAXPS X5, X4, X4
	VPSHUFD $0xb1, X4, X5
	VMAXPS X5, X4, X4 // max |h| of the row
	VXORPS X5, X5, X5
	VUCOMISS X5, X4
	JHI scaled
	MOVQ n+80(FP), CX
zeros:
	MOVQ $0, (DI)
	ADDQ $8, DI
	ADDQ $32, R9
	SUBQ $8, CX
	JNE zeros
	MOVL $0, (R10)
	MOVL $0, (R11)
	JMP next
scaled:
	VMOVSS lstmc<>+384(SB), X6
	VDIVSS X4, X6, X7 // 127/max
	VDIVSS X6, X4, X8 // max/127
	VMOVSS X8, (R10)
	VBROADCASTSS X7, Y7
	VPXOR Y0, Y0, Y0
	MOVQ n+80(FP), CX
quant:
	VMULPS (R9), Y7, Y2
	VCVTPS2DQ Y2, Y2
	VPADDD Y2, Y0, Y0
	VEXTRACTI128 $1, Y2, X3
	VPACKSSDW X3, X2, X2
	VPACKSSWB X2, X2, X2
	VMOVQ X2, (DI)
	ADDQ $32, R9
	ADDQ $8, DI
	SUBQ $8, CX
	JNE quant
	VEXTRACTI128 $1, Y0, X2
	VPADDD X2, X0, X0
	VPSHUFD $0x4e, X0, X2
	VPADDD X2, X0, X0
	VPSHUFD $0xb1, X0, X2
	VPADDD X2, X0, X0
	VMOVD X0, (R11)
next:
	SUBQ DX, SI
	ADDQ ldz+8(FP), SI
	SUBQ DX, R8
	ADDQ ldc+24(FP), R8
	SUBQ DX, R9
	ADDQ ldh+40(FP), R9
	SUBQ n+80(FP), DI
	ADDQ ldq+56(FP), DI
	ADDQ $4, R10
	ADDQ $4, R11
	DECQ R12
	JNE row
	VZEROUPPER
	RET
