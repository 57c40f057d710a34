package pipeline

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/tokenize"
	"github.com/seqclf/seqclf/vocab"
)

func TestCombineByDoc(t *testing.T) {
	probs := []float32{0.9, 0.1, 0.5, 0.5, 0.2, 0.8}
	samples := []Sample{{Doc: 0}, {Doc: 0}, {Doc: 1}}
	got := CombineByDoc(probs, samples, 2, 2)
	// Doc 0: mean log-probabilities (log .9 + log .5)/2 and (log .1 + log .5)/2, whose softmax
	// is √.45/(√.45+√.05) = 0.75 and 0.25.
	want := []float32{0.75, 0.25, 0.2, 0.8}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Errorf("combined[%d] = %g, want %g", i, got[i], want[i])
		}
	}
}

func newTestClassifier(t *testing.T, unit Unit) *Classifier {
	t.Helper()
	tok, err := tokenize.New(tokenize.Lowercase(true))
	if err != nil {
		t.Fatal(err)
	}
	c := vocab.NewCounter()
	for _, s := range tok.Tokenize("The cat sat on the mat. The dog ate the bone! A bird sang.") {
		c.Add(s)
	}
	v := c.Build(1, 100)
	rng := rand.New(rand.NewPCG(4, 4))
	table, err := embed.New(v.Len(), 4, 0.5, rng)
	if err != nil {
		t.Fatal(err)
	}
	m, err := lstm.New[float32](lstm.Config{InputDim: 4, NumUnits: 5, NumLayers: 1, Classes: 3}, rng)
	if err != nil {
		t.Fatal(err)
	}
	return NewClassifier(&Model{LSTM: m, Labels: []string{"a", "b", "c"}, Table: table}, v, tok, unit, 6, 4)
}

// TestClassifier checks shapes, that each text's answer does not depend on the texts beside it,
// and that many goroutines at once get the answers of one.
func TestClassifier(t *testing.T) {
	texts := []string{
		"The cat sat on the mat. The dog ate the bone!",
		"",
		"A bird sang. A bird sang. A bird sang. A bird sang. Unknown words here.",
		"the the the the the the the the the the the the",
		"cat",
	}
	for _, unit := range []Unit{UnitSentence, UnitDocument} {
		c := newTestClassifier(t, unit)
		all := c.Classify(texts)
		if len(all) != len(texts)*3 {
			t.Fatalf("%v: %d probabilities for %d texts × 3 classes", unit, len(all), len(texts))
		}
		for d, text := range texts {
			row := all[d*3 : d*3+3]
			var sum float32
			for _, p := range row {
				sum += p
			}
			if math.Abs(float64(sum)-1) > 1e-5 {
				t.Errorf("%v: text %d: probabilities sum to %g", unit, d, sum)
			}
			alone := c.Classify([]string{text})
			for j := range 3 {
				if math.Abs(float64(alone[j]-row[j])) > 1e-6 {
					t.Errorf("%v: text %d class %d: %g alone, %g among others", unit, d, j, alone[j], row[j])
				}
			}
		}
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for range 20 {
					if got := c.Classify(texts); !slices.Equal(got, all) {
						t.Errorf("%v: goroutine %d got other answers", unit, g)
						return
					}
				}
			})
		}
		wg.Wait()
	}
}

func TestEncodeText(t *testing.T) {
	c := newTestClassifier(t, UnitSentence)
	sents := EncodeText(c.tok, c.vocab, "The cat sat on the mat. The dog ate the bone!", UnitSentence, 4)
	if len(sents) != 2 || len(sents[0]) != 4 || len(sents[1]) != 4 {
		t.Errorf("sentences cut to 4: %v", sents)
	}
	doc := EncodeText(c.tok, c.vocab, "The cat sat on the mat. The dog ate the bone!", UnitDocument, 9)
	if len(doc) != 1 || len(doc[0]) != 9 {
		t.Errorf("document cut to 9: %v", doc)
	}
	if got := EncodeText(c.tok, c.vocab, "  ", UnitSentence, 4); len(got) != 1 || len(got[0]) != 0 {
		t.Errorf("empty text: %v, want one empty sequence", got)
	}
	if id := sents[0][1]; c.vocab.Token(int(id)) != "cat" {
		t.Errorf("second id of the first sentence is %q, want cat", c.vocab.Token(int(id)))
	}
}

// TestLoadedClassifierConcurrent loads a model trained by Run from its store and classifies
// from 8 goroutines at once (run it with -race): each must get exactly the single goroutine's
// answers, batch by batch.
func TestLoadedClassifierConcurrent(t *testing.T) {
	cfg := DefaultConfig()
	cfg.OutputDir = t.TempDir()
	cfg.Source = SourceConfig{Kind: "text", Format: "dir", Train: "testdata/spamassassin-mini", Extensions: []string{".txt"}, Slice: "rows"}
	cfg.Tokenize.Unit = "sentence"
	cfg.Vocab.MinCount = 1
	cfg.Embed.Dim = 8
	cfg.LSTM = LSTMConfig{NumUnits: 8, NumLayers: 2, TimeStep: 20, Pooling: "max"}
	cfg.Train.Epochs, cfg.Train.BatchSize = 1, 8
	res, err := Run(context.Background(), &cfg, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenStore(res.ModelPath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := LoadClassifier(s, 3)
	if err != nil {
		t.Fatal(err)
	}
	batches := [][]string{
		{"Click here to claim your FREE prize now!!!", "", "The meeting is moved to Tuesday. Bring the report."},
		{"caf\xe9 \x00\xff binary", strings.Repeat("money ", 500)},
		{"Re: your order. Thanks! See you soon.", "x"},
	}
	want := make([][]float32, len(batches))
	for i, b := range batches {
		want[i] = c.Classify(b)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for r := range 10 {
				i := (g + r) % len(batches)
				if got := c.Classify(batches[i]); !slices.Equal(got, want[i]) {
					t.Errorf("goroutine %d, batch %d: %v, alone %v", g, i, got, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
}
