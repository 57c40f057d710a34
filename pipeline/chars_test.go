package pipeline_test

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/seqclf/seqclf"
	"github.com/seqclf/seqclf/classify"
	"github.com/seqclf/seqclf/pipeline"
	"github.com/seqclf/seqclf/store"
	"github.com/seqclf/seqclf/vocab"
)

// TestCharacterModel trains configs/names.yaml, cut down, on 400 real first names
// (testdata/names-excerpt.tsv), and checks that the model written reads characters everywhere:
// the stored tokenizer, the dictionary, and Open/Classify, which builds its tokenizer from the
// store alone.
func TestCharacterModel(t *testing.T) {
	cfg, err := pipeline.LoadConfig("../configs/names.yaml", []string{
		"source.train=testdata/names-excerpt.tsv", "output_dir=" + t.TempDir(),
		"lstm.num_units=16", "embed.dim=8", "train.epochs=2", "train.early_stopping_patience=0",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Tokenize.Tokens != "characters" {
		t.Fatalf("configs/names.yaml: tokenize.tokens %q", cfg.Tokenize.Tokens)
	}
	res, err := pipeline.Run(context.Background(), cfg, pipeline.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Test == nil || res.Test.Samples != 80 || !slices.Equal(res.Test.Classes, []string{"female", "male"}) {
		t.Fatalf("test report %+v: want 80 of the 400 names, classes female and male", res.Test)
	}

	s, err := store.Open(res.ModelPath)
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.Input()
	if err != nil {
		t.Fatal(err)
	}
	if in.Tokenize.Tokens != "characters" {
		t.Errorf("stored tokenizer %+v: want characters", in.Tokenize)
	}
	v, err := s.Vocab()
	if err != nil {
		t.Fatal(err)
	}
	for id, tok := range v.Tokens() {
		if id > vocab.UnkID && utf8.RuneCountInString(tok) != 1 {
			t.Errorf("dictionary entry %d is %q, not one character", id, tok)
		}
	}
	for _, c := range []string{"a", "e", "n"} { // the commonest letters of English names
		if _, ok := v.Lookup(c); !ok {
			t.Errorf("dictionary of %d entries lacks %q", v.Len(), c)
		}
	}
	s.Close()

	m, err := seqclf.Open(res.ModelPath)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	preds, err := m.Classify(context.Background(), "Alexandra", "Bartholomew", "Anne-Marie")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range preds {
		if p.Label != "female" && p.Label != "male" || p.Probabilities["female"]+p.Probabilities["male"] < 0.999 {
			t.Errorf("prediction %+v", p)
		}
	}
	// The same tokenizer as training: "Anne" is four ids of letters, none of them <unk>.
	st, err := store.Open(res.ModelPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := classify.Load(st, 1)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := c.Encode("Anne")
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || len(runs[0]) != 4 || runs[0][1] != runs[0][2] || slices.Contains(runs[0], int32(vocab.UnkID)) {
		t.Errorf("Encode(Anne) = %v: want four letter ids, the two n the same", runs)
	}
}

// TestOldModelReadsWords checks that a model written before character tokens (no tokens key in
// its tokenizer record) is read with word tokens.
func TestOldModelReadsWords(t *testing.T) {
	for _, path := range []string{"model-v1-text.db", "model-v2-text.db", "model-v3-text.db"} {
		s, err := store.Open(filepath.Join("../store/testdata", path))
		if err != nil {
			t.Fatal(err)
		}
		in, err := s.Input()
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		if in.Tokenize.Tokens != "" {
			t.Fatalf("%s: stored tokens %q: the fixture predates the key", path, in.Tokenize.Tokens)
		}
		tok, err := classify.NewTokenizer(in.Tokenize)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := tok.Tokenize("Free cruise"), [][]string{{"free", "cruise"}}; !reflect.DeepEqual(got, want) {
			t.Errorf("%s tokenizes %q, want words %q", path, got, want)
		}
	}
	if _, err := classify.NewTokenizer(store.Tokenizer{Tokens: "bytes"}); err == nil {
		t.Error("tokens bytes gave a tokenizer")
	}
}
