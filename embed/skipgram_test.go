package embed

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// twoTopics returns sentences over two sets of ids that never share a sentence: 2–6 and 7–11.
func twoTopics(r *rand.Rand, n int) [][]int32 {
	var sents [][]int32
	for i := range n {
		base := int32(2 + 5*(i%2))
		s := make([]int32, 8)
		for j := range s {
			s[j] = base + int32(r.IntN(5))
		}
		sents = append(sents, s)
	}
	return sents
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

// TestSkipGramLearnsCooccurrence trains on two topics whose words never meet: words of one
// topic must end closer to each other than to the other topic's, the pad row zero, and the
// unknown token's row on the learnt rows' scale.
func TestSkipGramLearnsCooccurrence(t *testing.T) {
	tab, err := New(13, 16, 0.1, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	sents := twoTopics(rand.New(rand.NewPCG(2, 2)), 400)
	sents = append(sents, []int32{1, 0, 3}) // special ids are dropped: one token is left
	if err := (SkipGram{Epochs: 10, Subsample: -1}).Train(tab, sents, rand.New(rand.NewPCG(3, 3))); err != nil {
		t.Fatal(err)
	}
	var same, other float64
	for a := 2; a < 12; a++ {
		for b := a + 1; b < 12; b++ {
			c := cosine(tab.Row(a), tab.Row(b))
			if (a < 7) == (b < 7) {
				same += c / 20
			} else {
				other += c / 25
			}
		}
	}
	if same < other+0.5 {
		t.Errorf("mean cosine within a topic %.3f, across %.3f: want within well above across", same, other)
	}
	if slices.ContainsFunc(tab.Row(PadID), func(x float32) bool { return x != 0 }) {
		t.Errorf("pad row %v, want zeros", tab.Row(PadID))
	}
	learnt := tab.Std(func(id int) bool { return id >= 2 && id < 12 })
	if unk := tab.Std(func(id int) bool { return id == 1 || id == 12 }); math.Abs(unk-learnt) > 1e-3*learnt {
		t.Errorf("unknown and unseen rows' std %.4g, learnt rows' %.4g: want the same scale", unk, learnt)
	}
}

// TestSkipGramIsDeterministic trains twice from the same source: the same table; another source
// gives another.
func TestSkipGramIsDeterministic(t *testing.T) {
	sents := twoTopics(rand.New(rand.NewPCG(2, 2)), 50)
	train := func(seed uint64) []float32 {
		tab, _ := New(13, 8, 0.1, rand.New(rand.NewPCG(1, 1)))
		if err := (SkipGram{}).Train(tab, sents, rand.New(rand.NewPCG(seed, 9))); err != nil {
			t.Fatal(err)
		}
		return tab.Data
	}
	if a, b := train(4), train(4); !slices.Equal(a, b) {
		t.Error("the same source gave two tables")
	}
	if slices.Equal(train(4), train(5)) {
		t.Error("two sources gave the same table")
	}
}

// TestSkipGramErrors: nothing to learn from, ids outside the table, and bad settings.
func TestSkipGramErrors(t *testing.T) {
	tab, _ := New(5, 4, 0.1, rand.New(rand.NewPCG(1, 1)))
	r := rand.New(rand.NewPCG(1, 2))
	if err := (SkipGram{}).Train(tab, [][]int32{{2}, {0, 1, 3}}, r); !errors.Is(err, ErrNoText) {
		t.Errorf("sentences of one dictionary token: %v, want ErrNoText", err)
	}
	if err := (SkipGram{}).Train(tab, [][]int32{{2, 9}}, r); err == nil {
		t.Error("an id past the table's rows was accepted")
	}
	if err := (SkipGram{Window: -1}).Train(tab, [][]int32{{2, 3}}, r); err == nil {
		t.Error("a negative window was accepted")
	}
}

// TestSkipGramProgress checks Progress: the tokens done rise to the total of all passes, which
// the last call reports, about a hundred calls in all, and the table is the one learnt without it.
func TestSkipGramProgress(t *testing.T) {
	sents := twoTopics(rand.New(rand.NewPCG(2, 2)), 200)
	var done []int64
	var total int64
	train := func(progress func(d, n int64)) []float32 {
		tab, _ := New(13, 8, 0.1, rand.New(rand.NewPCG(1, 1)))
		if err := (SkipGram{Epochs: 3, Progress: progress}).Train(tab, sents, rand.New(rand.NewPCG(4, 9))); err != nil {
			t.Fatal(err)
		}
		return tab.Data
	}
	with := train(func(d, n int64) { done, total = append(done, d), n })
	if !slices.Equal(with, train(nil)) {
		t.Error("Progress changed the table learnt")
	}
	if len(done) < 50 || len(done) > 110 || done[len(done)-1] != total || !slices.IsSorted(done) || done[0] != 0 {
		t.Errorf("%d calls, first %v, last %v of %d: want about 100, rising from 0 to the total", len(done), done[:min(1, len(done))], done[len(done)-1:], total)
	}
}
