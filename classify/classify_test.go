package classify

import (
	"bufio"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/feed"
	"github.com/seqclf/seqclf/idx"
	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/source"
	"github.com/seqclf/seqclf/store"
	"github.com/seqclf/seqclf/tokenize"
	"github.com/seqclf/seqclf/vocab"
)

func TestCombineByDoc(t *testing.T) {
	probs := []float32{0.9, 0.1, 0.5, 0.5, 0.2, 0.8}
	samples := []feed.Sample{{Doc: 0}, {Doc: 0}, {Doc: 1}}
	got := CombineByDoc(probs, 2, samples, 2)
	// Doc 0: mean log-probabilities (log .9 + log .5)/2 and (log .1 + log .5)/2, whose softmax
	// is √.45/(√.45+√.05) = 0.75 and 0.25.
	want := []float32{0.75, 0.25, 0.2, 0.8}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Errorf("combined[%d] = %g, want %g", i, got[i], want[i])
		}
	}
}

func newTestClassifier(t *testing.T, unit string) *Classifier {
	t.Helper()
	tok, err := tokenize.New(tokenize.Lowercase(true))
	if err != nil {
		t.Fatal(err)
	}
	c := vocab.NewCounter()
	for _, s := range tok.Tokenize("The cat sat on the mat. The dog ate the bone! A bird sang.") {
		c.Add(s)
	}
	v := c.Build(vocab.Limits{MinCount: 1, MaxSize: 100})
	rng := rand.New(rand.NewPCG(4, 4))
	table, err := embed.New(v.Len(), 4, 0.5, rng)
	if err != nil {
		t.Fatal(err)
	}
	m, err := lstm.New[float32](lstm.Config{InputDim: 4, NumUnits: 5, NumLayers: 1, Classes: 3}, rng)
	if err != nil {
		t.Fatal(err)
	}
	sm := &store.Model{LSTM: m, Labels: []string{"a", "b", "c"}, Table: table,
		Input: store.Input{Kind: KindText, Unit: unit, TimeStep: 6}}
	cl, err := New(sm, v, tok, 4)
	if err != nil {
		t.Fatal(err)
	}
	return cl
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
	for _, unit := range []string{"sentence", "document"} {
		c := newTestClassifier(t, unit)
		all, err := c.Classify(texts)
		if err != nil {
			t.Fatal(err)
		}
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
			alone, _ := c.Classify([]string{text})
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
					if got, _ := c.Classify(texts); !slices.Equal(got, all) {
						t.Errorf("%v: goroutine %d got other answers", unit, g)
						return
					}
				}
			})
		}
		wg.Wait()
		if _, err := c.ClassifyImages(&idx.Images{}, 0, 0); err == nil {
			t.Errorf("%v: a text model classified images", unit)
		}
	}
}

// answer is one line of seqclf classify --json.
type answer struct {
	Label         string             `json:"label"`
	Probabilities map[string]float32 `json:"probabilities"`
}

func readAnswers(t *testing.T, path string) []answer {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []answer
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var a answer
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// TestSavedModels loads every model of ../store/testdata, each written by a seqclf of its day and
// layout version, and checks that it gives the answers recorded when it was written: a change
// that breaks a saved model, or changes what it answers, fails here.
func TestSavedModels(t *testing.T) {
	b, err := os.ReadFile("../store/testdata/texts.txt")
	if err != nil {
		t.Fatal(err)
	}
	texts := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	im, err := idx.ReadImages("../idx/testdata/mnist-t10k-20-images-idx3-ubyte.gz")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ model, answers string }{
		{"model-v1-text.db", "text-answers.jsonl"},
		{"model-v2-text.db", "text-answers.jsonl"},
		{"model-v1-mnist.db", "mnist-answers.jsonl"},
		{"model-v2-mnist.db", "mnist-answers.jsonl"},
		{"model-v3-text.db", "text-answers.jsonl"},
		{"model-v3-mnist.db", "mnist-answers.jsonl"},
		{"model-v4-text.db", "text-answers.jsonl"},
		{"model-v4-mnist.db", "mnist-answers.jsonl"},
	} {
		want := readAnswers(t, "../store/testdata/"+c.answers)
		s, err := store.Open("../store/testdata/" + c.model)
		if err != nil {
			t.Fatalf("%s: %v", c.model, err)
		}
		cl, err := Load(s, 3)
		s.Close()
		if err != nil {
			t.Fatalf("%s: %v", c.model, err)
		}
		var probs []float32
		if cl.Kind() == KindText {
			probs, err = cl.Classify(texts)
		} else {
			probs, err = cl.ClassifyImages(im, 0, im.Count)
		}
		if err != nil {
			t.Fatalf("%s: %v", c.model, err)
		}
		k := len(cl.Classes())
		if len(probs) != len(want)*k {
			t.Fatalf("%s: %d answers, recorded %d", c.model, len(probs)/k, len(want))
		}
		for i, w := range want {
			row := probs[i*k : (i+1)*k]
			if got := cl.Classes()[Argmax(row)]; got != w.Label {
				t.Errorf("%s: input %d: %s, recorded %s", c.model, i, got, w.Label)
			}
			for j, class := range cl.Classes() {
				if math.Abs(float64(row[j]-w.Probabilities[class])) > 1e-6 {
					t.Errorf("%s: input %d, class %s: %g, recorded %g", c.model, i, class, row[j], w.Probabilities[class])
				}
			}
		}
	}
}

// TestLoadedClassifierConcurrent classifies with a saved model from 8 goroutines at once (run
// it with -race): each must get exactly the single goroutine's answers, batch by batch.
func TestLoadedClassifierConcurrent(t *testing.T) {
	s, err := store.Open("../store/testdata/model-v3-text.db")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := Load(s, 3)
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
		want[i], _ = c.Classify(b)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for r := range 10 {
				i := (g + r) % len(batches)
				if got, _ := c.Classify(batches[i]); !slices.Equal(got, want[i]) {
					t.Errorf("goroutine %d, batch %d: %v, alone %v", g, i, got, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestEncodeAsFeed checks that the classifier's encoding over a Dictionary gives
// feed.EncodeText's ids for the same vocab.Vocab, for both units and time steps shorter and
// longer than the sentences, with the dictionary as a vocab.Vocab and as a store.Dictionary
// mapped from a file.
func TestEncodeAsFeed(t *testing.T) {
	s, err := store.Open("../store/testdata/model-v4-text.db")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v, err := s.Vocab()
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Dictionary()
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.Input()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := NewTokenizer(in.Tokenize)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../store/testdata/texts.txt")
	if err != nil {
		t.Fatal(err)
	}
	texts := append(strings.Split(string(b), "\n"), "", "<pad> <unk> <PAD>", "one. two three. four five six!", "caf\xe9")
	for _, unit := range []feed.Unit{feed.UnitSentence, feed.UnitDocument} {
		for _, steps := range []int{1, 3, 32, 1000} {
			for _, dict := range []Dictionary{v, d} {
				c := &Classifier{model: &store.Model{Input: store.Input{Kind: KindText, TimeStep: steps}}, dict: dict, tok: tok, unit: unit}
				for _, text := range texts {
					want := feed.EncodeText(tok, v, source.DecodeString(text), unit, steps)
					if got, _ := c.Encode(text); !reflect.DeepEqual(got, want) {
						t.Fatalf("%v, %d steps, %T: %q encodes as %v, feed as %v", unit, steps, dict, text, got, want)
					}
				}
			}
		}
	}
}

// TestLoadMapped loads a copy of a model of this layout, whose table and dictionary are mapped
// from the file, then opens the file for writing and removes it, as a new training run may: the
// classifier answers as recorded throughout, and after a garbage collection.
func TestLoadMapped(t *testing.T) {
	b, err := os.ReadFile("../store/testdata/model-v4-text.db")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.db")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(s, 3)
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	w, err := store.Create(path)
	if err != nil {
		t.Fatalf("opening the file for writing after Load: %v", err)
	}
	w.Close()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	texts, err := os.ReadFile("../store/testdata/texts.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := readAnswers(t, "../store/testdata/text-answers.jsonl")
	probs, err := c.Classify(strings.Split(strings.TrimSuffix(string(texts), "\n"), "\n"))
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		for j, class := range c.Classes() {
			if got := probs[i*len(c.Classes())+j]; math.Abs(float64(got-w.Probabilities[class])) > 1e-6 {
				t.Errorf("input %d, class %s: %g, recorded %g", i, class, got, w.Probabilities[class])
			}
		}
	}
}

// TestFreezeMemo checks that New readies a float32 text model to remember its tokens'
// input projections (Freeze), which one-sample passes then fill, or WarmUp with the whole
// dictionary, with the answers of the model that does not.
func TestFreezeMemo(t *testing.T) {
	tok, err := tokenize.New(tokenize.Lowercase(true))
	if err != nil {
		t.Fatal(err)
	}
	text := "The cat sat on the mat. The dog ate the bone! A bird sang on the mat."
	c := vocab.NewCounter()
	for _, s := range tok.Tokenize(text) {
		c.Add(s)
	}
	v := c.Build(vocab.Limits{MinCount: 1, MaxSize: 100})
	newModel := func() *store.Model {
		rng := rand.New(rand.NewPCG(5, 5))
		table, err := embed.New(v.Len(), 8, 0.5, rng)
		if err != nil {
			t.Fatal(err)
		}
		m, err := lstm.New[float32](lstm.Config{InputDim: 8, NumUnits: 64, NumLayers: 1, Classes: 2, Pooling: lstm.PoolMax}, rng)
		if err != nil {
			t.Fatal(err)
		}
		return &store.Model{LSTM: m, Labels: []string{"a", "b"}, Table: table,
			Input: store.Input{Kind: KindText, Unit: "document", TimeStep: 32}}
	}
	sm := newModel()
	cl, err := New(sm, v, tok, 1)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := cl.Encode(text)
	if err != nil || len(ids) != 1 || len(ids[0]) < 16 {
		t.Fatalf("Encode: %d samples, %v", len(ids), err)
	}
	plain := newModel()
	want, _ := (&Predictor{Model: plain.LSTM, Features: &feed.Embeddings{Table: plain.Table}, BatchSize: 1}).Predict([]feed.Sample{{IDs: ids[0]}})
	if !sm.LSTM.Frozen() {
		t.Fatal("New left the model unfrozen")
	}
	for range 2 {
		got, err := cl.Classify([]string{text})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("frozen, remembering: %v, want %v", got, want)
		}
	}
	isa, _ := lstm.Kernels()
	if isa != "go" && sm.LSTM.MemoHeld() == 0 {
		t.Errorf("the model remembers no token after two texts (kernels %s)", isa)
	}
	// Warmed up with the whole dictionary, then the same answer.
	warm, err := New(newModel(), v, tok, 1)
	if err != nil {
		t.Fatal(err)
	}
	if held, want := warm.WarmUp(), v.Len(); isa != "go" && held != want {
		t.Errorf("WarmUp remembers %d tokens, want the dictionary's %d", held, want)
	}
	if got, err := warm.Classify([]string{text}); err != nil || !slices.Equal(got, want) {
		t.Errorf("warmed up: %v (%v), want %v", got, err, want)
	}
}
