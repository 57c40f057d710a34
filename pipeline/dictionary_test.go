package pipeline

import (
	"math/rand/v2"
	"slices"
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

// TestPretrainCache checks that a build given a PretrainCache learns the embed.pretrain vectors
// the first time and takes them back later, with the table of a build without the cache,
// learns them again for another seed, and forgets the oldest beyond pretrainCacheSize.
func TestPretrainCache(t *testing.T) {
	words := strings.Fields("red green blue cat dog bird runs sleeps sings the a one two three fast slow")
	rng := rand.New(rand.NewPCG(3, 4))
	var texts []string
	for range 120 {
		var sb strings.Builder
		for range 12 {
			sb.WriteString(words[rng.IntN(len(words))] + " ")
		}
		texts = append(texts, sb.String()+".")
	}
	build := func(seed uint64, cache *PretrainCache) *Dictionary {
		t.Helper()
		cfg := DefaultConfig()
		cfg.Seed = seed
		cfg.Embed.Pretrain = "skipgram"
		cfg.Embed.Dim = 8
		cfg.Tokenize.SplitSentences = false
		tok, err := NewTokenizer(cfg.Tokenize)
		if err != nil {
			t.Fatal(err)
		}
		d, err := BuildDictionary(slices.Values(texts), tok, &cfg, 2, nil, DictionaryOptions{Pretrained: cache})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	want := build(7, nil)
	var cache PretrainCache
	for i, c := range []struct {
		seed   uint64
		reused bool
	}{{7, false}, {7, true}, {8, false}, {8, true}, {7, true}, {9, false}, {10, false}, {7, false}} {
		d := build(c.seed, &cache)
		if d.PretrainReused != c.reused {
			t.Errorf("build %d (seed %d): reused %v, want %v", i, c.seed, d.PretrainReused, c.reused)
		}
		if same := slices.Equal(d.Table.Data, want.Table.Data); same != (c.seed == 7) {
			t.Errorf("build %d (seed %d): the table of seed 7's build without the cache: %v", i, c.seed, same)
		}
	}
}
