package half

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	// Every non-negative finite half: Float32 then Bits gives it back, and Up keeps it.
	for b := uint16(0); b < 0x7c00; b++ {
		f := Float32(b)
		if Bits(f) != b || Up(f) != f {
			t.Fatalf("%#04x: %v → %#04x, up %v", b, f, Bits(f), Up(f))
		}
	}
	if Float32(0x3c00) != 1 || Float32(0x7bff) != Max || Float32(0x0001) != float32(math.Ldexp(1, -24)) || Float32(0xc000) != -2 {
		t.Fatal("known values")
	}
}

func TestUp(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		f := float32(math.Exp(rng.Float64()*30 - 25))
		u := Up(f)
		if u < f || Float32(Bits(u)) != u {
			t.Fatalf("Up(%v) = %v", f, u)
		}
		// The next half below u is below f.
		if b := Bits(u); b > 0 && Float32(b-1) >= f {
			t.Fatalf("Up(%v) = %v, but %v is above it too", f, u, Float32(b-1))
		}
	}
	if Up(1e9) != Max || Up(-1) != 0 {
		t.Fatal("out of range")
	}
}
