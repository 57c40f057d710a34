package source

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSplitByGroup writes 40 groups of 5 sentences (one of them a repeated text) as JSON Lines and
// checks that every group lands whole in one part, that the shares are as asked, that repeated
// texts are left out, and that the same seed gives the same split.
func TestSplitByGroup(t *testing.T) {
	var b strings.Builder
	for g := range 40 {
		for s := range 5 {
			text := fmt.Sprintf("sentence %d of file %d", s, g)
			if g == 39 && s == 4 {
				text = "sentence 4 of file 0" // a repeated text
			}
			fmt.Fprintf(&b, `{"text": %q, "label": "l%d", "file": "f%02d"}`+"\n", text, g%3, g)
		}
	}
	path := filepath.Join(t.TempDir(), "s.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := Options{Format: "jsonl", GroupColumn: "file"}
	shares := Shares{Test: 0.25, Validation: 0.2, Seed: 42}
	parts := func() []Part {
		split, err := NewSplit(path, opts, shares)
		if err != nil {
			t.Fatal(err)
		}
		var ps []Part
		i := 0
		for doc, err := range Read(path, opts) {
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, split.Of(i, doc))
			i++
		}
		return ps
	}
	ps := parts()
	count := map[Part]int{}
	for g := range 40 {
		p := ps[5*g]
		for s := range 5 {
			if ps[5*g+s] != p && !(g == 39 && ps[5*g+s] == PartDuplicate) {
				t.Errorf("file %d: sentence %d in part %d, sentence 0 in part %d", g, s, ps[5*g+s], p)
			}
		}
		count[p]++
	}
	if count[PartTest] != 10 {
		t.Errorf("%d of 40 files in the test set, want 10 (test_split 0.25)", count[PartTest])
	}
	if ps[5*39+4] != PartDuplicate {
		t.Errorf("the repeated text is in part %d, want PartDuplicate", ps[5*39+4])
	}
	if count[PartValidation] < 3 || count[PartValidation] > 12 {
		t.Errorf("%d files for validation, want about 0.2 of the 30 left", count[PartValidation])
	}
	if again := parts(); fmt.Sprint(again) != fmt.Sprint(ps) {
		t.Error("the same seed gave another split")
	}
	shares.Seed++
	if other := parts(); fmt.Sprint(other) == fmt.Sprint(ps) {
		t.Error("another seed gave the same split")
	}
}
