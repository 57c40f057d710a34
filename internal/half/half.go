// Package half converts between float32 and IEEE 754 half precision (binary16), the encoding of
// a quantized model's scales: 11 significant bits, from 2⁻²⁴ to 65504.
package half

import "math"

// Max is the largest finite half-precision value.
const Max = 65504

// Up returns the smallest half-precision value at or above f, for 0 ≤ f ≤ Max; a larger f gives
// Max, and a negative one or a NaN gives 0.
func Up(f float32) float32 {
	if !(f > 0) {
		return 0
	}
	if f >= Max {
		return Max
	}
	_, exp := math.Frexp(float64(f))
	step := math.Ldexp(1, max(exp-1, -14)-10)
	return float32(math.Ceil(float64(f)/step) * step)
}

// Bits returns the half-precision encoding of f, which must be a value Up can return (exactly a
// half-precision value, not negative).
func Bits(f float32) uint16 {
	if f == 0 {
		return 0
	}
	frac, exp := math.Frexp(float64(f))
	e := exp - 1
	if e < -14 {
		return uint16(math.Ldexp(float64(f), 24))
	}
	return uint16(e+15)<<10 | uint16(math.Ldexp(frac*2-1, 10))
}

// Float32 returns the value of the half-precision encoding b.
func Float32(b uint16) float32 {
	e, m := int(b>>10&0x1f), float64(b&0x3ff)
	var v float64
	switch {
	case e == 0:
		v = math.Ldexp(m, -24)
	case e == 0x1f && m == 0:
		v = math.Inf(1)
	case e == 0x1f:
		v = math.NaN()
	default:
		v = math.Ldexp(1+m/1024, e-15)
	}
	if b&0x8000 != 0 {
		v = -v
	}
	return float32(v)
}
