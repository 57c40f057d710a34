//go:build !purego

#include "textflag.h"

// LSTMStep's kernels: the gates of one LSTM step over a block of rows, each row's output then
// quantized as Quantize does it, in the operations and the order of lstmRowGo and Quantize (no
// fused multiply-adds), so that AVX-512, AVX2 and Go give the same bits. The AVX-512 kernel
// takes 32 units at a time (n a multiple of 32), the AVX2 one 8 (n a multiple of 8). AVX-512
// clamps with VRANGEPS, sign(t)·min(|t|, 40), which is AVX2's max(min(t, 40), -40).

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

// func lstmStep512(z *float32, ldz int, c *float32, ldc int, h *float32, ldh int, hq *int8, ldq int, hs *float32, hsum *int32, n int, rows int)
//
// The strides are in bytes; n is a multiple of 32, rows at least 1. Two vectors of 16 units go
// together, each stage of their exponentials side by side; a row's outputs are quantized after
// the next row's gates, when their largest magnitude has long been known.
TEXT ·lstmStep512(SB), NOSPLIT, $0-96
	VBROADCASTSS lstmc<>+64(SB), Z24  // 1
	VBROADCASTSS lstmc<>+96(SB), Z25  // -log2(e)
	VBROADCASTSS lstmc<>+128(SB), Z26 // -2·log2(e)
	VBROADCASTSS lstmc<>+320(SB), Z27 // the mask of |·|
	VBROADCASTSS lstmc<>+0(SB), Z29   // 40
	MOVQ z+0(FP), SI
	MOVQ c+16(FP), R8
	MOVQ h+32(FP), R9
	MOVQ hq+48(FP), DI
	MOVQ hs+64(FP), R10
	MOVQ hsum+72(FP), R11
	MOVQ n+80(FP), DX
	SHLQ $2, DX // the distance between gates, and the bytes of a row of c or h
	MOVQ rows+88(FP), R12
	XORQ R14, R14 // a row waits for its quantization
row:
	VPXORD Z28, Z28, Z28 // max |h|
	MOVQ n+80(FP), CX
unit:
	LEAQ (SI)(DX*2), BX
	VMULPS (SI), Z25, Z0
	VMULPS (SI)(DX*1), Z25, Z1
	VMULPS (SI)(DX*2), Z26, Z2
	VMULPS (BX)(DX*1), Z25, Z3
	VMULPS 64(SI), Z25, Z4
	VMULPS 64(SI)(DX*1), Z25, Z5
	VMULPS 64(SI)(DX*2), Z26, Z6
	VMULPS 64(BX)(DX*1), Z25, Z7
	// ei, ef, eg, eo of both vectors: Z16–Z19, Z20–Z23
	VRANGEPS $2, Z29, Z0, Z0
	VRANGEPS $2, Z29, Z1, Z1
	VRANGEPS $2, Z29, Z2, Z2
	VRANGEPS $2, Z29, Z3, Z3
	VRANGEPS $2, Z29, Z4, Z4
	VRANGEPS $2, Z29, Z5, Z5
	VRANGEPS $2, Z29, Z6, Z6
	VRANGEPS $2, Z29, Z7, Z7
	VRNDSCALEPS $8, Z0, Z8
	VRNDSCALEPS $8, Z1, Z9
	VRNDSCALEPS $8, Z2, Z10
	VRNDSCALEPS $8, Z3, Z11
	VRNDSCALEPS $8, Z4, Z12
	VRNDSCALEPS $8, Z5, Z13
	VRNDSCALEPS $8, Z6, Z14
	VRNDSCALEPS $8, Z7, Z15
	VSUBPS Z8, Z0, Z0
	VSUBPS Z9, Z1, Z1
	VSUBPS Z10, Z2, Z2
	VSUBPS Z11, Z3, Z3
	VSUBPS Z12, Z4, Z4
	VSUBPS Z13, Z5, Z5
	VSUBPS Z14, Z6, Z6
	VSUBPS Z15, Z7, Z7
	VMULPS.BCST lstmc<>+160(SB), Z0, Z16
	VMULPS.BCST lstmc<>+160(SB), Z1, Z17
	VMULPS.BCST lstmc<>+160(SB), Z2, Z18
	VMULPS.BCST lstmc<>+160(SB), Z3, Z19
	VMULPS.BCST lstmc<>+160(SB), Z4, Z20
	VMULPS.BCST lstmc<>+160(SB), Z5, Z21
	VMULPS.BCST lstmc<>+160(SB), Z6, Z22
	VMULPS.BCST lstmc<>+160(SB), Z7, Z23
	VADDPS.BCST lstmc<>+192(SB), Z16, Z16
	VADDPS.BCST lstmc<>+192(SB), Z17, Z17
	VADDPS.BCST lstmc<>+192(SB), Z18, Z18
	VADDPS.BCST lstmc<>+192(SB), Z19, Z19
	VADDPS.BCST lstmc<>+192(SB), Z20, Z20
	VADDPS.BCST lstmc<>+192(SB), Z21, Z21
	VADDPS.BCST lstmc<>+192(SB), Z22, Z22
	VADDPS.BCST lstmc<>+192(SB), Z23, Z23
	VMULPS Z0, Z16, Z16
	VMULPS Z1, Z17, Z17
	VMULPS Z2, Z18, Z18
	VMULPS Z3, Z19, Z19
	VMULPS Z4, Z20, Z20
	VMULPS Z5, Z21, Z21
	VMULPS Z6, Z22, Z22
	VMULPS Z7, Z23, Z23
	VADDPS.BCST lstmc<>+224(SB), Z16, Z16
	VADDPS.BCST lstmc<>+224(SB), Z17, Z17
	VADDPS.BCST lstmc<>+224(SB), Z18, Z18
	VADDPS.BCST lstmc<>+224(SB), Z19, Z19
	VADDPS.BCST lstmc<>+224(SB), Z20, Z20
	VADDPS.BCST lstmc<>+224(SB), Z21, Z21
	VADDPS.BCST lstmc<>+224(SB), Z22, Z22
	VADDPS.BCST lstmc<>+224(SB), Z23, Z23
	VMULPS Z0, Z16, Z16
	VMULPS Z1, Z17, Z17
	VMULPS Z2, Z18, Z18
	VMULPS Z3, Z19, Z19
	VMULPS Z4, Z20, Z20
	VMULPS Z5, Z21, Z21
	VMULPS Z6, Z22, Z22
	VMULPS Z7, Z23, Z23
	VADDPS.BCST lstmc<>+256(SB), Z16, Z16
	VADDPS.BCST lstmc<>+256(SB), Z17, Z17
	VADDPS.BCST lstmc<>+256(SB), Z18, Z18
	VADDPS.BCST lstmc<>+256(SB), Z19, Z19
	VADDPS.BCST lstmc<>+256(SB), Z20, Z20
	VADDPS.BCST lstmc<>+256(SB), Z21, Z21
	VADDPS.BCST lstmc<>+256(SB), Z22, Z22
	VADDPS.BCST lstmc<>+256(SB), Z23, Z23
	VMULPS Z0, Z16, Z16
	VMULPS Z1, Z17, Z17
	VMULPS Z2, Z18, Z18
	VMULPS Z3, Z19, Z19
	VMULPS Z4, Z20, Z20
	VMULPS Z5, Z21, Z21
	VMULPS Z6, Z22, Z22
	VMULPS Z7, Z23, Z23
	VADDPS.BCST lstmc<>+288(SB), Z16, Z16
	VADDPS.BCST lstmc<>+288(SB), Z17, Z17
	VADDPS.BCST lstmc<>+288(SB), Z18, Z18
	VADDPS.BCST lstmc<>+288(SB), Z19, Z19
	VADDPS.BCST lstmc<>+288(SB), Z20, Z20
	VADDPS.BCST lstmc<>+288(SB), Z21, Z21
	VADDPS.BCST lstmc<>+288(SB), Z22, Z22
	VADDPS.BCST lstmc<>+288(SB), Z23, Z23
	VSCALEFPS Z8, Z16, Z16
	VSCALEFPS Z9, Z17, Z17
	VSCALEFPS Z10, Z18, Z18
	VSCALEFPS Z11, Z19, Z19
	VSCALEFPS Z12, Z20, Z20
	VSCALEFPS Z13, Z21, Z21
	VSCALEFPS Z14, Z22, Z22
	VSCALEFPS Z15, Z23, Z23
	// c' = (c·a·b + m·d)/(a·b·d)
	VADDPS Z24, Z16, Z16 // a = ei+1
	VADDPS Z24, Z20, Z20
	VADDPS Z24, Z18, Z0 // b = eg+1
	VADDPS Z24, Z22, Z4
	VSUBPS Z18, Z24, Z18 // m = 1-eg
	VSUBPS Z22, Z24, Z22
	VADDPS Z24, Z17, Z17 // d = ef+1
	VADDPS Z24, Z21, Z21
	VMULPS Z0, Z16, Z16 // a·b
	VMULPS Z4, Z20, Z20
	VMULPS (R8), Z16, Z0 // c·a·b
	VMULPS 64(R8), Z20, Z4
	VMULPS Z17, Z18, Z18 // m·d
	VMULPS Z21, Z22, Z22
	VADDPS Z18, Z0, Z0
	VADDPS Z22, Z4, Z4
	VMULPS Z17, Z16, Z16 // a·b·d
	VMULPS Z21, Z20, Z20
	VDIVPS Z16, Z0, Z0 // c'
	VDIVPS Z20, Z4, Z4
	VMOVUPS Z0, (R8)
	VMOVUPS Z4, 64(R8)
	VMULPS Z26, Z0, Z1
	VMULPS Z26, Z4, Z5
	// ec of both vectors: Z3, Z7
	VRANGEPS $2, Z29, Z1, Z1
	VRANGEPS $2, Z29, Z5, Z5
	VRNDSCALEPS $8, Z1, Z2
	VRNDSCALEPS $8, Z5, Z6
	VSUBPS Z2, Z1, Z1
	VSUBPS Z6, Z5, Z5
	VMULPS.BCST lstmc<>+160(SB), Z1, Z3
	VMULPS.BCST lstmc<>+160(SB), Z5, Z7
	VADDPS.BCST lstmc<>+192(SB), Z3, Z3
	VADDPS.BCST lstmc<>+192(SB), Z7, Z7
	VMULPS Z1, Z3, Z3
	VMULPS Z5, Z7, Z7
	VADDPS.BCST lstmc<>+224(SB), Z3, Z3
	VADDPS.BCST lstmc<>+224(SB), Z7, Z7
	VMULPS Z1, Z3, Z3
	VMULPS Z5, Z7, Z7
	VADDPS.BCST lstmc<>+256(SB), Z3, Z3
	VADDPS.BCST lstmc<>+256(SB), Z7, Z7
	VMULPS Z1, Z3, Z3
	VMULPS Z5, Z7, Z7
	VADDPS.BCST lstmc<>+288(SB), Z3, Z3
	VADDPS.BCST lstmc<>+288(SB), Z7, Z7
	VSCALEFPS Z2, Z3, Z3
	VSCALEFPS Z6, Z7, Z7
	// h = (1-ec)/((eo+1)·(ec+1))
	VADDPS Z24, Z19, Z19
	VADDPS Z24, Z23, Z23
	VADDPS Z24, Z3, Z2
	VADDPS Z24, Z7, Z6
	VSUBPS Z3, Z24, Z3
	VSUBPS Z7, Z24, Z7
	VMULPS Z2, Z19, Z19
	VMULPS Z6, Z23, Z23
	VDIVPS Z19, Z3, Z3
	VDIVPS Z23, Z7, Z7
	VMOVUPS Z3, (R9)
	VMOVUPS Z7, 64(R9)
	VANDPS Z27, Z3, Z3
	VANDPS Z27, Z7, Z7
	VMAXPS Z3, Z28, Z28
	VMAXPS Z7, Z28, Z28
	ADDQ $128, SI
	ADDQ $128, R8
	ADDQ $128, R9
	SUBQ $32, CX
	JNE unit
	SUBQ DX, R9 // this row's h
	TESTQ R14, R14
	JEQ pend
quant:
	// The waiting row: h at R13, max |h| in Z30, its hq, scale and sum at DI, R10 and R11.
	VEXTRACTF32X8 $1, Z30, Y4
	VMAXPS Y4, Y30, Y4
	VEXTRACTF32X4 $1, Y4, X5
	VMAXPS X5, X4, X4
	VPSHUFD $0x4e, X4, X5
	VMAXPS X5, X4, X4
	VPSHUFD $0xb1, X4, X5
	VMAXPS X5, X4, X4
	VXORPS X5, X5, X5
	VUCOMISS X5, X4
	JHI scaled
	MOVQ n+80(FP), CX
zeros:
	VMOVDQU X5, (DI)
	ADDQ $16, DI
	SUBQ $16, CX
	JNE zeros
	MOVL $0, (R10)
	MOVL $0, (R11)
	JMP quantized
scaled:
	VMOVSS lstmc<>+384(SB), X6
	VDIVSS X4, X6, X7 // 127/max
	VDIVSS X6, X4, X8 // max/127
	VMOVSS X8, (R10)
	VBROADCASTSS X7, Z7
	VPXORD Z0, Z0, Z0
	MOVQ n+80(FP), CX
	MOVQ R13, BX
qloop:
	VMULPS (BX), Z7, Z2
	VCVTPS2DQ Z2, Z2
	VPADDD Z2, Z0, Z0
	VPMOVSDB Z2, (DI)
	ADDQ $64, BX
	ADDQ $16, DI
	SUBQ $16, CX
	JNE qloop
	VEXTRACTI32X8 $1, Z0, Y2
	VPADDD Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X2
	VPADDD X2, X0, X0
	VPSHUFD $0x4e, X0, X2
	VPADDD X2, X0, X0
	VPSHUFD $0xb1, X0, X2
	VPADDD X2, X0, X0
	VMOVD X0, (R11)
quantized:
	SUBQ n+80(FP), DI
	ADDQ ldq+56(FP), DI
	ADDQ $4, R10
	ADDQ $4, R11
	TESTQ R12, R12
	JEQ end
pend:
	// This row waits for its quantization; on to the next.
	MOVQ R9, R13
	VMOVAPS Z28, Z30
	MOVQ $1, R14
	SUBQ DX, SI
	ADDQ ldz+8(FP), SI
	SUBQ DX, R8
	ADDQ ldc+24(FP), R8
	ADDQ ldh+40(FP), R9
	DECQ R12
	JNE row
	JMP quant // the last row's
end:
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
// The strides are in bytes; n is a multiple of 8, rows at least 1. A row's units go in two
// passes, the four exponentials and c' of every unit, then tanh(c') and h: the same operations
// on each unit as in one pass, but the chain of one group of 8 (two exponentials and two
// divides after each other) no longer holds up the next. h holds eo+1 between the passes.
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
	VADDPS lstmc<>+64(SB), Y11, Y11 // eo+1
	VMOVUPS Y11, (R9)               // kept in h's place for the second pass
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	SUBQ $8, CX
	JNE unit
	// The second pass: h = o·tanh(c') from c' and eo+1, and max |h|.
	SUBQ DX, R8
	SUBQ DX, R9
	MOVQ n+80(FP), CX
cell:
	VMOVUPS (R8), Y12
	VMULPS lstmc<>+128(SB), Y12, Y13
	EXP2C256(Y13, Y4, Y15)          // ec
	VMOVUPS (R9), Y11               // eo+1
	VADDPS lstmc<>+64(SB), Y15, Y4  // ec+1
	VMOVUPS lstmc<>+64(SB), Y5
	VSUBPS Y15, Y5, Y15             // 1-ec
	VMULPS Y4, Y11, Y11
	VDIVPS Y11, Y15, Y15            // h
	VMOVUPS Y15, (R9)
	VANDPS lstmc<>+320(SB), Y15, Y15
	VMAXPS Y15, Y14, Y14
	ADDQ $32, R8
	ADDQ $32, R9
	SUBQ $8, CX
	JNE cell
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
