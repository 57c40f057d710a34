//go:build !purego

#include "textflag.h"

// AVX2+FMA versions of the elementwise kernels of vec_amd64.s, for CPUs without AVX-512: the
// same formulas, 8 floats at a time, on whole vectors only (the Go callers do the last n%8
// elements in scalar Go). Without VSCALEFPS, 2ⁿ is built in the exponent bits, in two
// factors 2^(n>>1) and 2^(n-(n>>1)) so that results down to the subnormals stay exact
// before the last rounding. The constants are stored as whole vectors.

#define C8(off, v) \
	DATA c8<>+(off)(SB)/8, $v; \
	DATA c8<>+(off+8)(SB)/8, $v; \
	DATA c8<>+(off+16)(SB)/8, $v; \
	DATA c8<>+(off+24)(SB)/8, $v

C8(0, 0x3fb8aa3b3fb8aa3b)   // log2(e)
C8(32, 0x3f3180003f318000)  // ln2, high part
C8(64, 0xb95e8083b95e8083)  // ln2, low part
C8(96, 0x3950696739506967)  // P
C8(128, 0x3ab743ce3ab743ce)
C8(160, 0x3c0889083c088908)
C8(192, 0x3d2aa9c13d2aa9c1)
C8(224, 0x3e2aaaaa3e2aaaaa)
C8(256, 0x3f0000003f000000)
C8(288, 0x3f8000003f800000) // 1
C8(320, 0x8000000080000000) // sign bit
C8(352, 0x7fffffff7fffffff) // all but the sign bit
C8(384, 0xc2dc0000c2dc0000) // -110
C8(416, 0x3f2000003f200000) // 0.625
C8(448, 0xbbbaf0eabbbaf0ea) // Q
C8(480, 0x3ca9134e3ca9134e)
C8(512, 0xbd5c1e2dbd5c1e2d)
C8(544, 0x3e0883933e088393)
C8(576, 0xbeaaaa99beaaaa99)
C8(608, 0x0000007f0000007f) // the exponent bias, 127
GLOBL c8<>(SB), RODATA|NOPTR, $640

// Y14 = 1 and Y15 = -110 stay in registers (VMAXPS must take the clamp as its first source to
// keep a NaN argument; VBLENDVPS and VSUBPS take 1 there).
#define CONSTS8 \
	VMOVUPS c8<>+288(SB), Y14; \
	VMOVUPS c8<>+384(SB), Y15

// EXPNEG8 sets E = exp(Y) for Y ≤ 0 (Y is clamped in place). Clobbers Y10, Y11.
#define EXPNEG8(Y, E) \
	VMAXPS Y, Y15, Y; \
	VMULPS c8<>+0(SB), Y, Y10; \
	VROUNDPS $0, Y10, Y10; \
	VMOVAPS Y, Y11; \
	VFNMADD231PS c8<>+32(SB), Y10, Y11; \
	VFNMADD231PS c8<>+64(SB), Y10, Y11; \
	VMOVUPS c8<>+96(SB), E; \
	VFMADD213PS c8<>+128(SB), Y11, E; \
	VFMADD213PS c8<>+160(SB), Y11, E; \
	VFMADD213PS c8<>+192(SB), Y11, E; \
	VFMADD213PS c8<>+224(SB), Y11, E; \
	VFMADD213PS c8<>+256(SB), Y11, E; \
	VFMADD213PS Y14, Y11, E; \
	VFMADD213PS Y14, Y11, E; \
	VCVTPS2DQ Y10, Y10; \
	VPSRAD $1, Y10, Y11; \
	VPSUBD Y11, Y10, Y10; \
	VPADDD c8<>+608(SB), Y11, Y11; \
	VPSLLD $23, Y11, Y11; \
	VPADDD c8<>+608(SB), Y10, Y10; \
	VPSLLD $23, Y10, Y10; \
	VMULPS Y11, E, E; \
	VMULPS Y10, E, E

// SIGMOID8 sets S = sigmoid(X). Clobbers Y8–Y13.
#define SIGMOID8(X, S) \
	VORPS c8<>+320(SB), X, Y8; \
	EXPNEG8(Y8, Y9); \
	VADDPS Y14, Y9, Y12; \
	VBLENDVPS X, Y9, Y14, Y13; \
	VDIVPS Y12, Y13, S

// TANH8 sets T = tanh(X). Clobbers Y8–Y13.
#define TANH8(X, T) \
	VORPS c8<>+320(SB), X, Y8; \
	VADDPS Y8, Y8, Y8; \
	EXPNEG8(Y8, Y9); \
	VSUBPS Y9, Y14, Y13; \
	VADDPS Y14, Y9, Y12; \
	VDIVPS Y12, Y13, T; \
	VANDPS c8<>+320(SB), X, Y8; \
	VORPS Y8, T, T; \
	VANDPS c8<>+352(SB), X, Y8; \
	VCMPPS $1, c8<>+416(SB), Y8, Y12; \
	VMULPS X, X, Y11; \
	VMOVUPS c8<>+448(SB), Y13; \
	VFMADD213PS c8<>+480(SB), Y11, Y13; \
	VFMADD213PS c8<>+512(SB), Y11, Y13; \
	VFMADD213PS c8<>+544(SB), Y11, Y13; \
	VFMADD213PS c8<>+576(SB), Y11, Y13; \
	VMULPS Y11, Y13, Y13; \
	VFMADD213PS X, X, Y13; \
	VBLENDVPS Y12, Y13, T, T

// func sigmoid256(dst, src *float32, n int)
TEXT ·sigmoid256(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	CONSTS8
	SUBQ $8, CX
	JLT sdone
sloop:
	VMOVUPS (SI), Y0
	SIGMOID8(Y0, Y1)
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JGE sloop
sdone:
	VZEROUPPER
	RET

// func tanh256(dst, src *float32, n int)
TEXT ·tanh256(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	CONSTS8
	SUBQ $8, CX
	JLT tdone
tloop:
	VMOVUPS (SI), Y0
	TANH8(Y0, Y1)
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JGE tloop
tdone:
	VZEROUPPER
	RET

// func gatesForward256(z, cPrev, c, tc, h *float32, n, count int)
//
// gatesForward512 for the first count units (a multiple of 8) of n, in two passes: the four
// activations of every unit, then the cell states, their tanh and the outputs. Each unit's
// values are the same operations as in one pass, but an activation's long chain of latencies
// (the exponential's polynomial, the divide) no longer holds up the next units' behind its
// tanh(c): on 64 units, 0.30–0.42 µs in one pass (latency-bound, a Zen 3 core).
TEXT ·gatesForward256(SB), NOSPLIT, $0-56
	MOVQ z+0(FP), SI
	MOVQ cPrev+8(FP), R8
	MOVQ c+16(FP), R9
	MOVQ tc+24(FP), R10
	MOVQ h+32(FP), R11
	MOVQ n+40(FP), DX
	SHLQ $2, DX
	MOVQ count+48(FP), CX
	CONSTS8
	SUBQ $8, CX
	JLT fdone
	MOVQ CX, AX
	MOVQ SI, DI
	LEAQ (SI)(DX*2), BX
factloop:
	VMOVUPS (DI), Y4
	SIGMOID8(Y4, Y0)              // i
	VMOVUPS Y0, (DI)
	VMOVUPS (DI)(DX*1), Y5
	SIGMOID8(Y5, Y1)              // f
	VMOVUPS Y1, (DI)(DX*1)
	VMOVUPS (DI)(DX*2), Y6
	TANH8(Y6, Y2)                 // g
	VMOVUPS Y2, (DI)(DX*2)
	VMOVUPS (BX)(DX*1), Y7
	SIGMOID8(Y7, Y3)              // o
	VMOVUPS Y3, (BX)(DX*1)
	ADDQ $32, DI
	ADDQ $32, BX
	SUBQ $8, AX
	JGE factloop
	LEAQ (SI)(DX*2), BX
fcloop:
	VMOVUPS (SI)(DX*1), Y1        // f
	VMULPS (R8), Y1, Y3
	VMOVUPS (SI), Y0              // i
	VMOVUPS (SI)(DX*2), Y2        // g
	VFMADD231PS Y2, Y0, Y3        // c = f·cPrev + i·g
	VMOVUPS Y3, (R9)
	TANH8(Y3, Y1)                 // tanh(c)
	VMOVUPS (BX)(DX*1), Y0        // o
	VMULPS Y1, Y0, Y2             // h
	VMOVUPS Y1, (R10)
	VMOVUPS Y2, (R11)
	ADDQ $32, SI
	ADDQ $32, BX
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	SUBQ $8, CX
	JGE fcloop
fdone:
	VZEROUPPER
	RET

// func gatesBackward256(act, cPrev, tc, dh, dc, dz *float32, n, count int)
//
// gatesBackward512 for the first count units (a multiple of 8) of n.
TEXT ·gatesBackward256(SB), NOSPLIT, $0-64
	MOVQ act+0(FP), SI
	MOVQ cPrev+8(FP), R8
	MOVQ tc+16(FP), R9
	MOVQ dh+24(FP), R10
	MOVQ dc+32(FP), R11
	MOVQ dz+40(FP), DI
	MOVQ n+48(FP), DX
	SHLQ $2, DX
	MOVQ count+56(FP), CX
	LEAQ (SI)(DX*2), BX
	LEAQ (DI)(DX*2), R12
	CONSTS8
	SUBQ $8, CX
	JLT bdone
bloop:
	VMOVUPS (SI), Y0              // i
	VMOVUPS (SI)(DX*1), Y1        // f
	VMOVUPS (SI)(DX*2), Y2        // g
	VMOVUPS (BX)(DX*1), Y3        // o
	VMOVUPS (R9), Y4              // tc
	VMOVUPS (R10), Y6             // dh
	VMOVUPS (R11), Y7             // dc
	VMULPS Y3, Y6, Y9             // dh·o
	VMULPS Y4, Y4, Y8
	VSUBPS Y8, Y14, Y8            // 1-tc²
	VFMADD231PS Y8, Y9, Y7        // dcⱼ
	VMULPS Y4, Y6, Y11
	VMULPS Y3, Y11, Y11
	VSUBPS Y3, Y14, Y10
	VMULPS Y10, Y11, Y11          // do
	VMOVUPS Y11, (R12)(DX*1)
	VMULPS Y2, Y7, Y13
	VMULPS Y0, Y13, Y13
	VSUBPS Y0, Y14, Y12
	VMULPS Y12, Y13, Y13          // di
	VMOVUPS Y13, (DI)
	VMULPS (R8), Y7, Y5
	VMULPS Y1, Y5, Y5
	VSUBPS Y1, Y14, Y12
	VMULPS Y12, Y5, Y5            // df
	VMOVUPS Y5, (DI)(DX*1)
	VMULPS Y2, Y2, Y8
	VSUBPS Y8, Y14, Y8
	VMULPS Y0, Y7, Y9
	VMULPS Y8, Y9, Y9             // dg
	VMOVUPS Y9, (DI)(DX*2)
	VMULPS Y1, Y7, Y10            // dc for the step before
	VMOVUPS Y10, (R11)
	ADDQ $32, SI
	ADDQ $32, BX
	ADDQ $32, DI
	ADDQ $32, R12
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	SUBQ $8, CX
	JGE bloop
bdone:
	VZEROUPPER
	RET

// func axpy256(alpha float32, x, y *float32, n int)
TEXT ·axpy256(SB), NOSPLIT, $0-32
	VBROADCASTSS alpha+0(FP), Y15
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ n+24(FP), CX
	SUBQ $8, CX
	JLT adone
aloop:
	VMOVUPS (DI), Y0
	VFMADD231PS (SI), Y15, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JGE aloop
adone:
	VZEROUPPER
	RET

// func add256(dst, a, b *float32, n int)
TEXT ·add256(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	SUBQ $8, CX
	JLT ddone
dloop:
	VMOVUPS (SI), Y0
	VADDPS (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JGE dloop
ddone:
	VZEROUPPER
	RET

// func mul256(dst, a, b *float32, n int)
TEXT ·mul256(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	SUBQ $8, CX
	JLT mdone
mloop:
	VMOVUPS (SI), Y0
	VMULPS (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JGE mloop
mdone:
	VZEROUPPER
	RET

// func scale256(alpha float32, x *float32, n int)
TEXT ·scale256(SB), NOSPLIT, $0-24
	VBROADCASTSS alpha+0(FP), Y15
	MOVQ x+8(FP), DI
	MOVQ n+16(FP), CX
	SUBQ $8, CX
	JLT cdone
cloop:
	VMULPS (DI), Y15, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JGE cloop
cdone:
	VZEROUPPER
	RET
