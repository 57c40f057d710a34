package pipeline

import (
	"strings"
	"testing"
	"time"
)

// TestPretrainProgress checks embed.pretrain's progress lines: none before pretrainLogEvery has
// passed, then one with the share, the pass and the time left; none at the end (loadText
// writes that one).
func TestPretrainProgress(t *testing.T) {
	var b strings.Builder
	now := time.Unix(100, 0)
	p := pretrainProgress(&b, func() time.Time { return now }, 5)
	p(0, 1000)
	now = now.Add(time.Second)
	p(100, 1000)
	if b.Len() != 0 {
		t.Fatalf("a line before %v: %q", pretrainLogEvery, b.String())
	}
	now = now.Add(pretrainLogEvery) // 6 s in
	p(300, 1000)
	want := "embed.pretrain: skip-gram 30% (pass 2 of 5), 6s, about 14s left\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
	now = now.Add(time.Hour)
	p(1000, 1000)
	if b.String() != want {
		t.Errorf("a line at the end: %q", b.String())
	}
}
