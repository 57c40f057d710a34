package rng

import (
	"math"
	"testing"
)

// TestStreamsNeverCoincide checks that no two uses of a seed can draw from the same stream: the
// fixed streams differ, none is a Shuffle stream of an allowed epoch, Dropout's streams lie
// apart from both, and Shuffle and Dropout are one-to-one over their ranges.
func TestStreamsNeverCoincide(t *testing.T) {
	seen := map[Stream]string{}
	for name, s := range Fixed {
		if other, dup := seen[s]; dup {
			t.Errorf("streams %s and %s are both %#x", name, other, uint64(s))
		}
		seen[s] = name
		if s&dropoutBit != 0 {
			t.Errorf("fixed stream %s (%#x) has the dropout bit", name, uint64(s))
		}
		if s&1 == 1 && uint64(s) < 2*MaxEpochs {
			t.Errorf("fixed stream %s (%#x) is Shuffle(%d)", name, uint64(s), s>>1)
		}
	}
	for e := range MaxEpochs {
		s := Shuffle(e)
		if name, dup := seen[s]; dup {
			t.Fatalf("Shuffle(%d) is %s or another epoch's", e, name)
		}
		seen[s] = "shuffle"
		if s&dropoutBit != 0 {
			t.Fatalf("Shuffle(%d) has the dropout bit", e)
		}
	}
	// Dropout: epoch and step occupy separate bits, so equal streams mean equal (epoch, step);
	// check it at the corners of the range, where an overlap would show.
	corners := []int{0, 1, 2, MaxEpochs - 1}
	steps := []int{0, 1, 2, 1<<31 - 1, math.MaxUint32}
	drop := map[Stream][2]int{}
	for _, e := range corners {
		for _, st := range steps {
			s := Dropout(Step{e, st})
			if s&dropoutBit == 0 {
				t.Fatalf("Dropout(%d, %d) = %#x lacks the dropout bit", e, st, uint64(s))
			}
			if _, dup := seen[s]; dup {
				t.Fatalf("Dropout(%d, %d) = %#x is another stream", e, st, uint64(s))
			}
			if prev, dup := drop[s]; dup {
				t.Fatalf("Dropout(%d, %d) = Dropout(%d, %d)", e, st, prev[0], prev[1])
			}
			drop[s] = [2]int{e, st}
			if int(uint64(s)>>32&^(dropoutBit>>32)) != e || int(uint32(s)) != st {
				t.Fatalf("Dropout(%d, %d) = %#x does not hold its epoch and step apart", e, st, uint64(s))
			}
		}
	}
}

// TestOutOfRangePanics checks that a stream beyond the ranges panics instead of repeating one.
func TestOutOfRangePanics(t *testing.T) {
	for name, f := range map[string]func(){
		"Shuffle(MaxEpochs)":    func() { Shuffle(MaxEpochs) },
		"Shuffle(-1)":           func() { Shuffle(-1) },
		"Dropout(MaxEpochs, 0)": func() { Dropout(Step{MaxEpochs, 0}) },
		"Dropout(0, 1<<32)":     func() { Dropout(Step{0, 1 << 32}) },
		"Dropout(0, -1)":        func() { Dropout(Step{0, -1}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", name)
				}
			}()
			f()
		}()
	}
}

// TestStreamsKeepTheirValues pins the streams that trained the models so far: a change here
// changes the weights every seed gives.
func TestStreamsKeepTheirValues(t *testing.T) {
	for s, want := range map[Stream]uint64{Init: 0x1417, Embed: 0x1416, Validation: 0x7a11d,
		TestSplit: 0x7e57, Shuffle(0): 1, Shuffle(3): 7} {
		if uint64(s) != want {
			t.Errorf("stream %#x, want %#x", uint64(s), want)
		}
	}
	a, b := New(42, Init).Uint64(), New(42, Init).Uint64()
	if a != b || a == New(42, Embed).Uint64() {
		t.Errorf("New(42, Init) gave %x then %x; Embed's first draw is %x", a, b, New(42, Embed).Uint64())
	}
}
