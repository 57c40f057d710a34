package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// sigmoids and tanhs apply the float32 activations that GatesForward uses to every element.
func sigmoids(dst, src []float32) {
	for i := sigmoidsAsm(dst, src); i < len(src); i++ {
		dst[i] = Sigmoid(src[i])
	}
}

func tanhs(dst, src []float32) {
	for i := tanhsAsm(dst, src); i < len(src); i++ {
		dst[i] = Tanh(src[i])
	}
}

// activationInputs returns every 331st float32 of either sign (from 0 to +Inf), the special
// values and the region where the forms of tanh meet.
func activationInputs() []float32 {
	var xs []float32
	for b := uint32(0); b <= 0x7f800000; b += 331 {
		x := math.Float32frombits(b)
		xs = append(xs, x, -x)
	}
	for x := float32(0.6); x < 0.65; x = math.Nextafter32(x, 1) {
		xs = append(xs, x, -x)
	}
	return append(xs, 0, float32(math.Copysign(0, -1)), math.MaxFloat32, -math.MaxFloat32,
		float32(math.Inf(1)), float32(math.Inf(-1)), 1e-45, -1e-45, 88, -88, 104, -104, 1, -1)
}

// TestActivations checks sigmoid and tanh against float64 math: relative error at most 1e-6
// where the result is a normal float32, absolute error below 1e-44 where it is subnormal.
func TestActivations(t *testing.T) {
	xs := activationInputs()
	got := make([]float32, len(xs))
	for _, fn := range []struct {
		name string
		vec  func(dst, src []float32)
		ref  func(float64) float64
	}{
		{"sigmoid", sigmoids, func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }},
		{"tanh", tanhs, math.Tanh},
	} {
		forEachISA(func(isaName string) {
			fn.vec(got, xs)
			var worst float64
			var worstX float32
			for i, x := range xs {
				want, g := fn.ref(float64(x)), float64(got[i])
				if math.Abs(want) < 0x1p-126 {
					if math.Abs(g-want) > 1e-44 {
						t.Errorf("%s/%s(%g) = %g, want %g", isaName, fn.name, x, g, want)
					}
					continue
				}
				rel := math.Abs(g-want) / math.Abs(want)
				if !(rel <= 1e-6) {
					t.Errorf("%s/%s(%g) = %g, want %g (relative error %.3g)", isaName, fn.name, x, g, want, rel)
				}
				if rel > worst {
					worst, worstX = rel, x
				}
			}
			t.Logf("%s/%s: %d inputs, max relative error %.3g at %g", isaName, fn.name, len(xs), worst, worstX)
		})
	}
}

func TestActivationsNaN(t *testing.T) {
	nan := float32(math.NaN())
	src := make([]float32, 20) // two vectors of 8 and a tail with AVX2, one and a tail with AVX-512
	for i := range src {
		src[i] = float32(i) - 10
	}
	isNaN := map[int]bool{0: true, 3: true, 9: true, 17: true}
	for i := range isNaN {
		src[i] = nan
	}
	src[3] = -nan
	dst := make([]float32, len(src))
	forEachISA(func(isaName string) {
		for _, f := range []func(dst, src []float32){sigmoids, tanhs} {
			f(dst, src)
			for i, v := range dst {
				if math.IsNaN(float64(v)) != isNaN[i] {
					t.Errorf("%s: f(%g) = %g", isaName, src[i], v)
				}
			}
		}
	})
}

// gatesRef is GatesForward and GatesBackward in float64.
func gatesRef(z, cPrev []float64, n int) (act, c, tc, h []float64) {
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	act = make([]float64, 4*n)
	c, tc, h = make([]float64, n), make([]float64, n), make([]float64, n)
	for j := range n {
		i, f, g, o := sig(z[j]), sig(z[n+j]), math.Tanh(z[2*n+j]), sig(z[3*n+j])
		act[j], act[n+j], act[2*n+j], act[3*n+j] = i, f, g, o
		c[j] = f*cPrev[j] + i*g
		tc[j] = math.Tanh(c[j])
		h[j] = o * tc[j]
	}
	return act, c, tc, h
}

func to64(s []float32) []float64 {
	d := make([]float64, len(s))
	for i, v := range s {
		d[i] = float64(v)
	}
	return d
}

func closeTo(t *testing.T, name string, got []float32, want []float64, tol float64) {
	t.Helper()
	for i, w := range want {
		if g := float64(got[i]); !(math.Abs(g-w) <= tol*(1+math.Abs(w))) {
			t.Fatalf("%s[%d] = %g, want %g", name, i, g, w)
		}
	}
}

func TestGates(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	forEachISA(func(isaName string) {
		for _, n := range []int{1, 5, 16, 17, 31, 128, 130} {
			name := fmt.Sprintf("%s/n%d", isaName, n)
			z := randSlice(rng, 4*n)
			for i := range z {
				z[i] *= 8
			}
			cPrev := randSlice(rng, n)
			z64, cPrev64 := to64(z), to64(cPrev)
			act, c64, tc64, h64 := gatesRef(z64, cPrev64, n)
			// One past the end of each output must stay untouched.
			c, tc, h := make([]float32, n+1), make([]float32, n+1), make([]float32, n+1)
			GatesForward(z, cPrev, c[:n], tc[:n], h[:n])
			closeTo(t, name+"/act", z, act, 1e-6)
			closeTo(t, name+"/c", c, c64, 1e-6)
			closeTo(t, name+"/tc", tc, tc64, 1e-6)
			closeTo(t, name+"/h", h, h64, 1e-6)
			if c[n] != 0 || tc[n] != 0 || h[n] != 0 {
				t.Fatalf("%s: wrote past n", name)
			}
			// A backward pass that did not keep tc makes it again with Tanhs: the same bits.
			again := make([]float32, n)
			Tanhs(again, c[:n])
			if !slices.Equal(again, tc[:n]) {
				t.Fatalf("%s: Tanhs(c) is not GatesForward's tc", name)
			}

			dh, dc := randSlice(rng, n), randSlice(rng, n)
			a64, tcv, dh64, dc64 := to64(z), to64(tc), to64(dh), to64(dc)
			dz64 := make([]float64, 4*n)
			for j := range n {
				i, f, g, o, tt := a64[j], a64[n+j], a64[2*n+j], a64[3*n+j], tcv[j]
				dcj := dc64[j] + dh64[j]*o*(1-tt*tt)
				dz64[3*n+j] = dh64[j] * tt * o * (1 - o)
				dz64[j] = dcj * g * i * (1 - i)
				dz64[n+j] = dcj * cPrev64[j] * f * (1 - f)
				dz64[2*n+j] = dcj * i * (1 - g*g)
				dc64[j] = dcj * f
			}
			dz := make([]float32, 4*n+1)
			GatesBackward(z, cPrev, tc[:n], dh, dc, dz[:4*n])
			closeTo(t, name+"/dz", dz, dz64, 1e-6)
			closeTo(t, name+"/dc", dc, dc64, 1e-6)
			if dz[4*n] != 0 {
				t.Fatalf("%s: GatesBackward wrote past 4n", name)
			}
		}
	})
}

// TestTanhsAcrossSamples checks that Tanhs over the cell states of several samples at once (as a
// backward pass that did not keep tanh(c) makes them again) gives each sample's GatesForward tc,
// whatever the number of units: every element takes the same formula, wherever it falls in a
// vector.
func TestTanhsAcrossSamples(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	forEachISA(func(isaName string) {
		for _, n := range []int{1, 3, 8, 12, 20, 33} {
			const samples = 5
			c, tc := make([]float32, samples*n), make([]float32, samples*n)
			for s := range samples {
				z := randSlice(rng, 4*n)
				for i := range z {
					z[i] *= 4
				}
				cPrev, h := randSlice(rng, n), make([]float32, n)
				GatesForward(z, cPrev, c[s*n:(s+1)*n], tc[s*n:(s+1)*n], h)
			}
			again := make([]float32, samples*n)
			Tanhs(again, c)
			if !slices.Equal(again, tc) {
				t.Errorf("%s n=%d: Tanhs over %d samples is not their GatesForward tc", isaName, n, samples)
			}
		}
	})
}

func TestElementwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	forEachISA(func(isaName string) {
		for n := 1; n <= 70; n++ {
			name := fmt.Sprintf("%s/n%d", isaName, n)
			a, b := randSlice(rng, n), randSlice(rng, n)
			a64, b64 := to64(a), to64(b)
			want := make([]float64, n)

			dst := make([]float32, n+1)
			Add(dst[:n], a, b)
			for i := range want {
				want[i] = a64[i] + b64[i]
			}
			closeTo(t, name+"/add", dst, append(want, 0), 1e-7)

			Mul(dst[:n], a, b)
			for i := range want {
				want[i] = a64[i] * b64[i]
			}
			closeTo(t, name+"/mul", dst, append(want, 0), 1e-7)

			y := append(append([]float32(nil), b...), 7)
			Axpy(-0.5, a, y[:n])
			for i := range want {
				want[i] = b64[i] - 0.5*a64[i]
			}
			closeTo(t, name+"/axpy", y, append(want, 7), 1e-7)

			Scale(3, y[:n])
			for i := range want {
				want[i] *= 3
			}
			closeTo(t, name+"/scale", y, append(want, 7), 1e-6)

			rows := 3
			x := randSlice(rng, rows*n)
			x64 := to64(x)
			bias := a
			AddBias(x, bias)
			sum := append([]float32(nil), b...)
			AddColumnSums(sum, x)
			wantX := make([]float64, rows*n)
			for i := range wantX {
				wantX[i] = x64[i] + a64[i%n]
			}
			closeTo(t, name+"/bias", x, wantX, 1e-7)
			for j := range want {
				want[j] = b64[j]
				for r := range rows {
					want[j] += float64(x[r*n+j])
				}
			}
			closeTo(t, name+"/colsums", sum, want, 1e-6)
		}
	})
}

// TestGRUForward holds GRUForward to PyTorch's GRU equations in float64, on every instruction
// set (the vector σ and tanh with assembly, the math package's without), for lengths with and
// without a tail of a vector, and checks that it writes nothing past its n outputs.
func TestGRUForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	forEachISA(func(isaName string) {
		for _, n := range []int{1, 5, 16, 17, 31, 128, 130} {
			name := fmt.Sprintf("%s/n%d", isaName, n)
			z, hPrev := randSlice(rng, 4*n), randSlice(rng, n)
			for i := range z {
				z[i] *= 8
			}
			z64, h64 := to64(z), to64(hPrev)
			act, want := make([]float64, 4*n), make([]float64, n)
			for j := range n {
				r, u := sig(z64[j]), sig(z64[n+j])
				c := math.Tanh(z64[2*n+j] + r*z64[3*n+j])
				act[j], act[n+j], act[2*n+j], act[3*n+j] = r, u, c, z64[3*n+j]
				want[j] = (1-u)*c + u*h64[j]
			}
			h := make([]float32, n+1)
			GRUForward(z, hPrev, h[:n])
			closeTo(t, name+"/act", z, act, 2e-6)
			closeTo(t, name+"/h", h, want, 2e-6)
			if h[n] != 0 {
				t.Fatalf("%s: wrote past n", name)
			}
		}
	})
}

// TestGatesBackwardInPlace checks that GatesBackward may write dz over act, as the engine does
// to keep one buffer of gates per step, on every instruction set.
func TestGatesBackwardInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	forEachISA(func(isaName string) {
		for _, n := range []int{1, 7, 16, 33, 128, 130} {
			act := make([]float32, 4*n)
			cPrev, tc, dh, dc := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
			for i := range act {
				act[i] = rng.Float32()
			}
			for i := range n {
				cPrev[i], tc[i], dh[i], dc[i] = rng.Float32(), rng.Float32(), rng.Float32(), rng.Float32()
			}
			dcInPlace := slices.Clone(dc)
			dz := make([]float32, 4*n)
			GatesBackward(act, cPrev, tc, dh, dc, dz)
			inPlace := slices.Clone(act)
			GatesBackward(inPlace, cPrev, tc, dh, dcInPlace, inPlace)
			if !slices.Equal(dz, inPlace) || !slices.Equal(dc, dcInPlace) {
				t.Errorf("%s, n=%d: GatesBackward in place differs from into another buffer", isaName, n)
			}
		}
	})
}

// TestAdam checks the Adam step on every instruction set against a float64 reference, and that
// every instruction set gives the same bits (the vector kernel keeps the scalar loop's rounding).
func TestAdam(t *testing.T) {
	for _, decoupled := range []bool{false, true} {
		for _, n := range []int{1, 7, 8, 15, 16, 37, 1000} {
			rng := rand.New(rand.NewPCG(uint64(n), 9))
			p0, g := randSlice(rng, n), randSlice(rng, n)
			m0, v0 := randSlice(rng, n), randSlice(rng, n)
			for i := range v0 {
				v0[i] *= v0[i] // a second moment is ≥ 0
			}
			c := AdamArgs[float32]{B1: 0.9, OneMinusB1: 1 - float32(0.9), B2: 0.999, OneMinusB2: 1 - float32(0.999),
				Step: 0.01, BC2: 0.05, Eps: 1e-8, Decay: 1}
			if decoupled {
				c.Decay = 0.999
			} else {
				c.WD = 0.01
			}
			var first []float32
			forEachISA(func(name string) {
				p, m, v := slices.Clone(p0), slices.Clone(m0), slices.Clone(v0)
				Adam(p, g, m, v, &c)
				for i := range p {
					gi := float64(g[i]) + float64(c.WD)*float64(p0[i])
					mi := 0.9*float64(m0[i]) + 0.1*gi
					vi := 0.999*float64(v0[i]) + 0.001*gi*gi
					want := float64(p0[i])*float64(c.Decay) - 0.01*mi/(math.Sqrt(vi)/0.05+1e-8)
					if d := math.Abs(float64(p[i]) - want); d > 1e-5*math.Max(1, math.Abs(want)) {
						t.Fatalf("%s n=%d decoupled=%v: p[%d] = %v, want %v", name, n, decoupled, i, p[i], want)
					}
				}
				if first == nil {
					first = p
				} else if !slices.Equal(p, first) {
					t.Errorf("%s n=%d decoupled=%v: not the bits of the scalar loop", name, n, decoupled)
				}
			})
		}
	}
}

// TestTranspose checks Transpose on every instruction set, on shapes with partial blocks of 16
// (AVX-512) and of 8 (AVX2), in either dimension or both.
func TestTranspose(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	forEachISA(func(isaName string) {
		for _, sh := range [][2]int{{1, 1}, {1, 40}, {40, 1}, {16, 16}, {17, 33}, {128, 512}, {100, 512}, {5, 3},
			{8, 8}, {8, 13}, {13, 8}, {9, 7}, {7, 9}, {24, 40}, {31, 47}, {28, 512}} {
			rows, cols := sh[0], sh[1]
			src := randSlice(rng, rows*cols)
			dst := make([]float32, rows*cols+1) // one past the end must stay untouched
			Transpose(dst[:rows*cols], src, rows, cols)
			for i := range rows {
				for j := range cols {
					if dst[j*rows+i] != src[i*cols+j] {
						t.Fatalf("%s %dx%d: dst[%d][%d] = %v, want %v", isaName, rows, cols, j, i, dst[j*rows+i], src[i*cols+j])
					}
				}
			}
			if dst[rows*cols] != 0 {
				t.Fatalf("%s %dx%d: wrote past the end", isaName, rows, cols)
			}
		}
	})
}
