//go:build !purego

#include "textflag.h"

// AVX-512 elementwise kernels: the gate activations and the cell update of one LSTM step and
// their derivatives, and the vector helpers. Each loop takes 16 floats at a time; the last,
// partial vector is loaded and stored under the mask K1.
//
// exp(y) for y ≤ 0 is Cephes' expf: y = n·ln2 + r with n = round(y·log2e) and |r| ≤ ln2/2,
// e^r = 1 + r + r²·P(r) with P of degree 5, then VSCALEFPS multiplies by 2ⁿ (reaching the
// subnormals). y is clamped at -110 first, where e^y is 0 in float32.
//
//	sigmoid(x) = 1/(1+e) for x ≥ 0, e/(1+e) for x < 0, with e = exp(-|x|)
//	tanh(x)    = sign(x)·(-m)/(2+m) with m = exp(-2|x|) - 1 = 2ⁿ·(e^r - 1) + (2ⁿ - 1),
//	             e^r - 1 = r·(1 + r·P(r)) made without adding 1
//
// Neither cancels: sigmoid's intermediates are ≥ 0, and m keeps its relative accuracy as x goes
// to 0 (no 1 - e). NaN in gives NaN out (VMAXPS returns its NaN operand in the order used
// here); ±Inf gives the limits.

DATA vconst<>+0(SB)/4, $0x3fb8aa3b  // log2(e)
DATA vconst<>+4(SB)/4, $0x3f318000  // ln2, high part: 0.693359375
DATA vconst<>+8(SB)/4, $0xb95e8083  // ln2, low part: -2.12194440e-4
DATA vconst<>+12(SB)/4, $0x39506967 // P: 1.9875691500e-4
DATA vconst<>+16(SB)/4, $0x3ab743ce //    1.3981999507e-3
DATA vconst<>+20(SB)/4, $0x3c088908 //    8.3334519073e-3
DATA vconst<>+24(SB)/4, $0x3d2aa9c1 //    4.1665795894e-2
DATA vconst<>+28(SB)/4, $0x3e2aaaaa //    1.6666665459e-1
DATA vconst<>+32(SB)/4, $0x3f000000 //    5.0000001201e-1
DATA vconst<>+36(SB)/4, $0x3f800000 // 1
DATA vconst<>+40(SB)/4, $0x80000000 // sign bit
DATA vconst<>+44(SB)/4, $0x40000000 // 2
DATA vconst<>+48(SB)/4, $0xc2dc0000 // -110, the clamp of exp's argument
GLOBL vconst<>(SB), RODATA|NOPTR, $52

// Z30 = 1 and Z31 = -110 stay in registers: VMAXPS must take the clamp as a register to keep
// a NaN argument.
#define CONSTS \
	VBROADCASTSS vconst<>+36(SB), Z30; \
	VBROADCASTSS vconst<>+48(SB), Z31

// EXPNEG sets E = exp(Y) for Y ≤ 0 (Y is clamped in place). Clobbers Z26, Z27.
#define EXPNEG(Y, E) \
	VMAXPS Y, Z31, Y; \
	VMULPS.BCST vconst<>+0(SB), Y, Z26; \
	VRNDSCALEPS $8, Z26, Z26; \
	VMOVAPS Y, Z27; \
	VFNMADD231PS.BCST vconst<>+4(SB), Z26, Z27; \
	VFNMADD231PS.BCST vconst<>+8(SB), Z26, Z27; \
	VBROADCASTSS vconst<>+12(SB), E; \
	VFMADD213PS.BCST vconst<>+16(SB), Z27, E; \
	VFMADD213PS.BCST vconst<>+20(SB), Z27, E; \
	VFMADD213PS.BCST vconst<>+24(SB), Z27, E; \
	VFMADD213PS.BCST vconst<>+28(SB), Z27, E; \
	VFMADD213PS.BCST vconst<>+32(SB), Z27, E; \
	VFMADD213PS Z30, Z27, E; \
	VFMADD213PS Z30, Z27, E; \
	VSCALEFPS Z26, E, E

// SIGMOID sets S = sigmoid(X). Clobbers Z22–Z27 and K2.
#define SIGMOID(X, S) \
	VPORD.BCST vconst<>+40(SB), X, Z22; \
	EXPNEG(Z22, Z23); \
	VADDPS Z30, Z23, Z24; \
	VMOVAPS Z30, Z25; \
	VPTESTMD.BCST vconst<>+40(SB), X, K2; \
	VMOVAPS Z23, K2, Z25; \
	VDIVPS Z24, Z25, S

// EXPM1NEG sets E = exp(Y) - 1 for Y ≤ 0 (Y is clamped in place) without cancellation near 0:
// with q = e^r - 1 = r·(1 + r·P(r)) (no 1 added), E = 2ⁿ·q + (2ⁿ - 1). Clobbers Z24, Z26, Z27.
#define EXPM1NEG(Y, E) \
	VMAXPS Y, Z31, Y; \
	VMULPS.BCST vconst<>+0(SB), Y, Z26; \
	VRNDSCALEPS $8, Z26, Z26; \
	VMOVAPS Y, Z27; \
	VFNMADD231PS.BCST vconst<>+4(SB), Z26, Z27; \
	VFNMADD231PS.BCST vconst<>+8(SB), Z26, Z27; \
	VBROADCASTSS vconst<>+12(SB), E; \
	VFMADD213PS.BCST vconst<>+16(SB), Z27, E; \
	VFMADD213PS.BCST vconst<>+20(SB), Z27, E; \
	VFMADD213PS.BCST vconst<>+24(SB), Z27, E; \
	VFMADD213PS.BCST vconst<>+28(SB), Z27, E; \
	VFMADD213PS.BCST vconst<>+32(SB), Z27, E; \
	VFMADD213PS Z30, Z27, E; \
	VMULPS Z27, E, E; \
	VSCALEFPS Z26, E, E; \
	VSCALEFPS Z26, Z30, Z24; \
	VSUBPS Z30, Z24, Z24; \
	VADDPS Z24, E, E

// TANH sets T = tanh(X) = sign(x)·(-m)/(2 + m) with m = e^(-2|x|) - 1 (EXPM1NEG), accurate near
// 0 too. Clobbers Z22–Z27 and K2.
#define TANH(X, T) \
	VPORD.BCST vconst<>+40(SB), X, Z22; \
	VADDPS Z22, Z22, Z22; \
	EXPM1NEG(Z22, Z23); \
	VADDPS.BCST vconst<>+44(SB), Z23, Z25; \
	VDIVPS Z25, Z23, T; \
	VPANDND.BCST vconst<>+40(SB), X, Z25; \
	VPXORD Z25, T, T

// LANES sets K1 to the lanes left of n (in CX): all 16, or n. Clobbers AX.
#define LANES \
	MOVL $0xffff, AX; \
	CMPQ CX, $16; \
	JGE 4(PC); \
	MOVL $1, AX; \
	SHLL CX, AX; \
	DECL AX; \
	KMOVW AX, K1

// func sigmoid512(dst, src *float32, n int)
TEXT ·sigmoid512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	CONSTS
	TESTQ CX, CX
	JLE sdone
sloop:
	LANES
	VMOVUPS.Z (SI), K1, Z0
	SIGMOID(Z0, Z1)
	VMOVUPS Z1, K1, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JGT sloop
sdone:
	VZEROUPPER
	RET

// func tanh512(dst, src *float32, n int)
TEXT ·tanh512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	CONSTS
	TESTQ CX, CX
	JLE tdone
tloop:
	LANES
	VMOVUPS.Z (SI), K1, Z0
	TANH(Z0, Z1)
	VMOVUPS Z1, K1, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JGT tloop
tdone:
	VZEROUPPER
	RET

// GATES loads the next vector of zi, zf, zg, zo and cPrev (lanes K1, set from CX), writes
// i, f, g, o over z and c = f·cPrev + i·g to c, and leaves o in Z8 and c in Z9; it advances
// SI, R8 and R9 by a vector and takes 16 from CX. Clobbers AX, BX, K2, Z0–Z9, Z22–Z27.
#define GATES \
	LANES; \
	VMOVUPS.Z (SI), K1, Z0; \
	VMOVUPS.Z (SI)(DX*1), K1, Z1; \
	VMOVUPS.Z (SI)(DX*2), K1, Z2; \
	LEAQ (SI)(DX*2), BX; \
	VMOVUPS.Z (BX)(DX*1), K1, Z3; \
	VMOVUPS.Z (R8), K1, Z4; \
	SIGMOID(Z1, Z6); \
	SIGMOID(Z0, Z5); \
	TANH(Z2, Z7); \
	SIGMOID(Z3, Z8); \
	VMULPS Z6, Z4, Z9; \
	VFMADD231PS Z7, Z5, Z9; \
	VMOVUPS Z5, K1, (SI); \
	VMOVUPS Z6, K1, (SI)(DX*1); \
	VMOVUPS Z7, K1, (SI)(DX*2); \
	VMOVUPS Z8, K1, (BX)(DX*1); \
	VMOVUPS Z9, K1, (R9); \
	ADDQ $64, SI; \
	ADDQ $64, R8; \
	ADDQ $64, R9; \
	SUBQ $16, CX

// OUTPUT finishes the vector before: tc = tanh(c) and h = o·tc from the c in Z12 and the o in
// Z13, stored under the lanes K3 at R10 and R11, which it advances.
#define OUTPUT \
	TANH(Z12, Z10); \
	VMULPS Z10, Z13, Z11; \
	VMOVUPS Z10, K3, (R10); \
	VMOVUPS Z11, K3, (R11); \
	ADDQ $64, R10; \
	ADDQ $64, R11

// func gatesForward512(z, cPrev, c, tc, h *float32, n int)
//
// GatesForward for one sample: z holds zi, zf, zg, zo (n each) and gets i, f, g, o;
// c = f·cPrev + i·g, tc = tanh(c), h = o·tc. Software-pipelined: each round makes the gates and
// c of a vector and the outputs of the one before, two independent chains of dependent
// operations that the core overlaps (one vector at a time waited on its whole chain).
TEXT ·gatesForward512(SB), NOSPLIT, $0-48
	MOVQ z+0(FP), SI
	MOVQ cPrev+8(FP), R8
	MOVQ c+16(FP), R9
	MOVQ tc+24(FP), R10
	MOVQ h+32(FP), R11
	MOVQ n+40(FP), CX
	MOVQ CX, DX
	SHLQ $2, DX // the distance between gates, in bytes
	CONSTS
	TESTQ CX, CX
	JLE fdone
	GATES
floop:
	VMOVAPS Z9, Z12
	VMOVAPS Z8, Z13
	KMOVW K1, K3
	TESTQ CX, CX
	JLE flast
	GATES
	OUTPUT
	JMP floop
flast:
	OUTPUT
fdone:
	VZEROUPPER
	RET

// func gatesBackward512(act, cPrev, tc, dh, dc, dz *float32, n int)
//
// GatesBackward for one sample, in the order of the scalar code:
//	dcⱼ = dc + dh·o·(1-tc²)
//	do = dh·tc·o·(1-o), di = dcⱼ·g·i·(1-i), df = dcⱼ·cPrev·f·(1-f), dg = dcⱼ·i·(1-g²)
//	dc = dcⱼ·f
TEXT ·gatesBackward512(SB), NOSPLIT, $0-56
	MOVQ act+0(FP), SI
	MOVQ cPrev+8(FP), R8
	MOVQ tc+16(FP), R9
	MOVQ dh+24(FP), R10
	MOVQ dc+32(FP), R11
	MOVQ dz+40(FP), DI
	MOVQ n+48(FP), CX
	MOVQ CX, DX
	SHLQ $2, DX
	CONSTS
	TESTQ CX, CX
	JLE bdone
bloop:
	LANES
	LEAQ (SI)(DX*2), BX
	LEAQ (DI)(DX*2), R12
	VMOVUPS.Z (SI), K1, Z0        // i
	VMOVUPS.Z (SI)(DX*1), K1, Z1  // f
	VMOVUPS.Z (SI)(DX*2), K1, Z2  // g
	VMOVUPS.Z (BX)(DX*1), K1, Z3  // o
	VMOVUPS.Z (R9), K1, Z4        // tc
	VMOVUPS.Z (R8), K1, Z5        // cPrev
	VMOVUPS.Z (R10), K1, Z6       // dh
	VMOVUPS.Z (R11), K1, Z7       // dc
	VMULPS Z3, Z6, Z9             // dh·o
	VMULPS Z4, Z4, Z8
	VSUBPS Z8, Z30, Z8            // 1-tc²
	VFMADD231PS Z8, Z9, Z7        // dcⱼ
	VMULPS Z4, Z6, Z11
	VMULPS Z3, Z11, Z11
	VSUBPS Z3, Z30, Z10
	VMULPS Z10, Z11, Z11          // do
	VMULPS Z2, Z7, Z13
	VMULPS Z0, Z13, Z13
	VSUBPS Z0, Z30, Z12
	VMULPS Z12, Z13, Z13          // di
	VMULPS Z5, Z7, Z15
	VMULPS Z1, Z15, Z15
	VSUBPS Z1, Z30, Z14
	VMULPS Z14, Z15, Z15          // df
	VMULPS Z2, Z2, Z16
	VSUBPS Z16, Z30, Z16
	VMULPS Z0, Z7, Z17
	VMULPS Z16, Z17, Z17          // dg
	VMULPS Z1, Z7, Z18            // dc for the step before
	VMOVUPS Z13, K1, (DI)
	VMOVUPS Z15, K1, (DI)(DX*1)
	VMOVUPS Z17, K1, (DI)(DX*2)
	VMOVUPS Z11, K1, (R12)(DX*1)
	VMOVUPS Z18, K1, (R11)
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, R8
	ADDQ $64, R9
	ADDQ $64, R10
	ADDQ $64, R11
	SUBQ $16, CX
	JGT bloop
bdone:
	VZEROUPPER
	RET

// func axpy512(alpha float32, x, y *float32, n int)
//
// y += alpha·x.
TEXT ·axpy512(SB), NOSPLIT, $0-32
	VBROADCASTSS alpha+0(FP), Z31
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ n+24(FP), CX
	JMP acheck
aloop:
	VMOVUPS (DI), Z0
	VMOVUPS 64(DI), Z1
	VFMADD231PS (SI), Z31, Z0
	VFMADD231PS 64(SI), Z31, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
acheck:
	CMPQ CX, $32
	JGE aloop
	TESTQ CX, CX
	JLE adone
atail:
	LANES
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (SI), K1, Z1
	VFMADD231PS Z1, Z31, Z0
	VMOVUPS Z0, K1, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JGT atail
adone:
	VZEROUPPER
	RET

// func add512(dst, a, b *float32, n int)
//
// dst = a + b.
TEXT ·add512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	TESTQ CX, CX
	JLE ddone
dloop:
	LANES
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z (DX), K1, Z1
	VADDPS Z1, Z0, Z0
	VMOVUPS Z0, K1, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	SUBQ $16, CX
	JGT dloop
ddone:
	VZEROUPPER
	RET

// func mul512(dst, a, b *float32, n int)
//
// dst = a ⊙ b.
TEXT ·mul512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	TESTQ CX, CX
	JLE mdone
mloop:
	LANES
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z (DX), K1, Z1
	VMULPS Z1, Z0, Z0
	VMOVUPS Z0, K1, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	SUBQ $16, CX
	JGT mloop
mdone:
	VZEROUPPER
	RET

// func scale512(alpha float32, x *float32, n int)
//
// x *= alpha.
TEXT ·scale512(SB), NOSPLIT, $0-24
	VBROADCASTSS alpha+0(FP), Z31
	MOVQ x+8(FP), DI
	MOVQ n+16(FP), CX
	TESTQ CX, CX
	JLE cdone
cloop:
	LANES
	VMOVUPS.Z (DI), K1, Z0
	VMULPS Z31, Z0, Z0
	VMOVUPS Z0, K1, (DI)
	ADDQ $64, DI
	SUBQ $16, CX
	JGT cloop
cdone:
	VZEROUPPER
	RET

// func adam512(param, grad, m, v *float32, n int, c *AdamArgs[float32])
//
// One Adam step over n parameters, in the order of Adam's scalar loop (no fused multiply-adds,
// so that both give the same bits): g += wd·p; p *= decay; m = b1·m + (1-b1)·g;
// v = b2·v + (1-b2)·g·g; p -= step·m / (√v/bc2 + eps).
TEXT ·adam512(SB), NOSPLIT, $0-48
	MOVQ param+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ c+40(FP), AX
	VBROADCASTSS 0(AX), Z20  // b1
	VBROADCASTSS 4(AX), Z21  // 1-b1
	VBROADCASTSS 8(AX), Z22  // b2
	VBROADCASTSS 12(AX), Z23 // 1-b2
	VBROADCASTSS 16(AX), Z24 // step
	VBROADCASTSS 20(AX), Z25 // bc2
	VBROADCASTSS 24(AX), Z26 // eps
	VBROADCASTSS 28(AX), Z27 // decay
	VBROADCASTSS 32(AX), Z28 // wd
	TESTQ CX, CX
	JLE adone2
aloop2:
	LANES
	VMOVUPS.Z (DI), K1, Z0 // p
	VMOVUPS.Z (SI), K1, Z1 // g
	VMOVUPS.Z (R8), K1, Z2 // m
	VMOVUPS.Z (R9), K1, Z3 // v
	VMULPS Z28, Z0, Z4
	VADDPS Z4, Z1, Z1      // g + wd·p
	VMULPS Z27, Z0, Z0     // p·decay
	VMULPS Z20, Z2, Z2
	VMULPS Z21, Z1, Z5
	VADDPS Z5, Z2, Z2      // m
	VMULPS Z22, Z3, Z3
	VMULPS Z23, Z1, Z6
	VMULPS Z1, Z6, Z6
	VADDPS Z6, Z3, Z3      // v
	VSQRTPS Z3, Z7
	VDIVPS Z25, Z7, Z7
	VADDPS Z26, Z7, Z7     // √v/bc2 + eps
	VMULPS Z24, Z2, Z8
	VDIVPS Z7, Z8, Z8      // step·m / denominator
	VSUBPS Z8, Z0, Z0
	VMOVUPS Z0, K1, (DI)
	VMOVUPS Z2, K1, (R8)
	VMOVUPS Z3, K1, (R9)
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, R8
	ADDQ $64, R9
	SUBQ $16, CX
	JGT aloop2
adone2:
	VZEROUPPER
	RET
