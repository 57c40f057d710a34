package vocab

import (
	"errors"
	"math"
	"reflect"
	"testing"
)

var corpus = [][]string{
	{"the", "cat", "sat", "on", "the", "mat"},
	{"the", "dog", "sat"},
	{"a", "cat", "and", "a", "dog", "<pad>"},
}

func count(sents [][]string) *Counter {
	c := NewCounter()
	for _, s := range sents {
		c.Add(s)
	}
	return c
}

func TestBuildOrder(t *testing.T) {
	v := count(corpus).Build(Limits{MinCount: 1, MaxSize: 0})
	// the:3; a,cat,dog,sat:2 (by bytes); <pad> as a word is left out; and,mat,on:1.
	want := []string{Pad, Unk, "the", "a", "cat", "dog", "sat", "and", "mat", "on"}
	if !reflect.DeepEqual(v.Tokens(), want) {
		t.Fatalf("tokens %q, want %q", v.Tokens(), want)
	}
	if v.Count(2) != 3 || v.Count(UnkID) != 1 || v.Count(PadID) != 0 {
		t.Errorf("counts %v", v.Counts())
	}
}

func TestMinCountMaxSize(t *testing.T) {
	c := count(corpus)
	if got := c.Build(Limits{MinCount: 2, MaxSize: 0}).Tokens(); !reflect.DeepEqual(got, []string{Pad, Unk, "the", "a", "cat", "dog", "sat"}) {
		t.Errorf("min_count 2: %q", got)
	}
	if got := c.Build(Limits{MinCount: 1, MaxSize: 4}).Tokens(); !reflect.DeepEqual(got, []string{Pad, Unk, "the", "a"}) {
		t.Errorf("max_size 4: %q", got)
	}
	if got := c.Build(Limits{MinCount: 1, MaxSize: 1}).Len(); got != 2 {
		t.Errorf("max_size 1 still holds the specials: len %d", got)
	}
	if got := c.Build(Limits{MinCount: 100, MaxSize: 0}).Len(); got != 2 {
		t.Errorf("min_count above every count: len %d", got)
	}
}

func TestEncode(t *testing.T) {
	v := count(corpus).Build(Limits{MinCount: 2, MaxSize: 0})
	got := v.Encode([]string{"the", "cat", "zebra", "<pad>", "<unk>", "sat"})
	want := []int32{2, 4, UnkID, UnkID, UnkID, 6}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Encode = %v, want %v", got, want)
	}
	if id, ok := v.Lookup("zebra"); ok || id != 0 {
		t.Errorf("Lookup(zebra) = %d, %v", id, ok)
	}
	if v.Token(4) != "cat" || v.ID("cat") != 4 {
		t.Errorf("Token/ID disagree")
	}
}

func TestCoverage(t *testing.T) {
	c := count(corpus)
	v := c.Build(Limits{MinCount: 2, MaxSize: 0})
	cov := v.Coverage()
	// 15 tokens; kept the(3)+a,cat,dog,sat(2 each) = 11; 9 distinct tokens, 5 kept.
	if cov.Tokens != 15 || cov.Covered != 11 || cov.Types != 9 || cov.Kept != 5 {
		t.Fatalf("coverage %+v", cov)
	}
	if math.Abs(cov.Share-11.0/15) > 1e-12 || math.Abs(cov.OOVRate-4.0/15) > 1e-12 || math.Abs(cov.TypeShare-5.0/9) > 1e-12 {
		t.Errorf("rates %+v", cov)
	}
	test := count([][]string{{"the", "zebra", "cat", "zebra"}})
	m := v.Measure(test)
	if m.Tokens != 4 || m.Covered != 2 || m.OOVRate != 0.5 {
		t.Errorf("Measure %+v", m)
	}
}

func TestMerge(t *testing.T) {
	whole := count(corpus).Build(Limits{MinCount: 1, MaxSize: 0})
	a, b := count(corpus[:1]), count(corpus[1:])
	a.Merge(b)
	if merged := a.Build(Limits{MinCount: 1, MaxSize: 0}); !reflect.DeepEqual(merged, whole) {
		t.Errorf("merged counters build %q, want %q", merged.Tokens(), whole.Tokens())
	}
}

func TestBinaryRoundTrip(t *testing.T) {
	v := count(corpus).Build(Limits{MinCount: 1, MaxSize: 0})
	b, err := v.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got Vocab
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&got, v) {
		t.Fatalf("round trip differs: %q %v", got.Tokens(), got.Counts())
	}
	for i := range b { // every truncation is an error, never a panic
		if err := new(Vocab).UnmarshalBinary(b[:i]); !errors.Is(err, ErrInvalid) {
			t.Fatalf("truncated at %d: %v", i, err)
		}
	}
	bad := append([]byte(nil), b...)
	bad[len(binaryMagic)] = 9
	if err := new(Vocab).UnmarshalBinary(bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("version 9 accepted: %v", err)
	}
}

func TestNewRejects(t *testing.T) {
	for name, toks := range map[string][]string{
		"no specials": {"a", "b"},
		"duplicate":   {Pad, Unk, "a", "a"},
		"pad twice":   {Pad, Unk, Pad},
	} {
		if _, err := New(toks, make([]int64, len(toks)), 0); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err %v", name, err)
		}
	}
	if _, err := New([]string{Pad, Unk}, []int64{0}, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("short counts accepted")
	}
}
