package seqclf_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/seqclf/seqclf"
	"github.com/seqclf/seqclf/idx"
	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/store"
)

// The saved models of store/testdata, their recorded answers, and the inputs they answered.
const (
	textModel   = "store/testdata/model-v3-text.db"
	imageModel  = "store/testdata/model-v3-mnist.db"
	textInputs  = "store/testdata/texts.txt"
	imageInputs = "idx/testdata/mnist-t10k-20-images-idx3-ubyte.gz"
)

func readTexts(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(textInputs)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	return lines
}

func open(t *testing.T, path string, opts ...seqclf.Option) *seqclf.Model {
	t.Helper()
	m, err := seqclf.Open(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestSavedModels opens every saved model of store/testdata and wants, for each input, the JSON
// line that seqclf classify --json recorded when the model was written, byte for byte: a
// Prediction encodes as that line.
func TestSavedModels(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct{ model, answers string }{
		{"model-v1-text.db", "text-answers.jsonl"},
		{"model-v2-text.db", "text-answers.jsonl"},
		{"model-v1-mnist.db", "mnist-answers.jsonl"},
		{"model-v2-mnist.db", "mnist-answers.jsonl"},
		{"model-v3-text.db", "text-answers.jsonl"},
		{"model-v3-mnist.db", "mnist-answers.jsonl"},
	} {
		m := open(t, "store/testdata/"+c.model)
		var preds []seqclf.Prediction
		var err error
		if m.Info().Kind == seqclf.KindText {
			preds, err = m.Classify(ctx, readTexts(t)...)
		} else {
			preds, err = m.ClassifyImageFile(ctx, imageInputs)
		}
		if err != nil {
			t.Fatalf("%s: %v", c.model, err)
		}
		want := readLines(t, "store/testdata/"+c.answers)
		if len(preds) != len(want) {
			t.Fatalf("%s: %d answers, recorded %d", c.model, len(preds), len(want))
		}
		for i, p := range preds {
			got, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			if !sameAnswer(got, want[i]) {
				t.Errorf("%s: input %d:\n got %s\nwant %s", c.model, i, got, want[i])
			}
		}
	}
}

// sameAnswer reports whether got, a prediction's JSON, is want, the line recorded for it: byte
// for byte on the AVX-512 kernels the answers were recorded with; on the others (AVX2, pure Go,
// whose sums run in another order) the same label and every probability within 1e-6.
func sameAnswer(got, want []byte) bool {
	if isa, _ := lstm.Kernels(); isa == "avx512" {
		return bytes.Equal(got, want)
	}
	var g, w struct {
		Label         string
		Probabilities map[string]float64
	}
	if json.Unmarshal(got, &g) != nil || json.Unmarshal(want, &w) != nil || g.Label != w.Label || len(g.Probabilities) != len(w.Probabilities) {
		return false
	}
	for class, p := range w.Probabilities {
		if q, ok := g.Probabilities[class]; !ok || math.Abs(p-q) > 1e-6 {
			return false
		}
	}
	return true
}

func TestInfo(t *testing.T) {
	text := open(t, textModel).Info()
	want := seqclf.Info{
		Path: textModel,
		Kind: seqclf.KindText,
		Input: store.Input{Kind: "text", Unit: "sentence", TimeStep: 32,
			Tokenize: store.Tokenizer{Lowercase: true, NFKC: true, Numbers: true, SplitSentences: true}},
		Shape: store.Shape{InputDim: 8, NumUnits: 8, NumLayers: 1, Classes: 2, Pooling: "max", Cell: "lstm"},
		// As seqclf model summary counts them: the table 300·8, the layer 4·8·(8+8)+4·8, the
		// head 8·2+2.
		Parameters: 2400 + 544 + 18,
		Vocab:      300,
	}
	if !reflect.DeepEqual(text, want) {
		t.Errorf("text model:\n got %+v\nwant %+v", text, want)
	}
	images := open(t, imageModel)
	want = seqclf.Info{
		Path:       imageModel,
		Kind:       seqclf.KindImages,
		Input:      store.Input{Kind: "mnist", TimeStep: 28, Slice: "rows"},
		Shape:      store.Shape{InputDim: 28, NumUnits: 8, NumLayers: 1, Classes: 10, Pooling: "last", Cell: "lstm"},
		Parameters: 1184 + 90,
	}
	if got := images.Info(); !reflect.DeepEqual(got, want) {
		t.Errorf("image model:\n got %+v\nwant %+v", got, want)
	}
	classes := images.Classes()
	if strings.Join(classes, " ") != "0 1 2 3 4 5 6 7 8 9" {
		t.Errorf("classes %q", classes)
	}
	classes[0] = "changed"
	if images.Classes()[0] != "0" {
		t.Error("Classes returned the model's own slice")
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	text, images := open(t, textModel), open(t, imageModel)
	if _, err := text.ClassifyImageFile(ctx, "no-such-file.idx"); !errors.Is(err, seqclf.ErrKind) {
		t.Errorf("images to a text model: %v, want ErrKind (before the file is read)", err)
	}
	if _, err := text.ClassifyImages(ctx, &idx.Images{Count: 1, Rows: 28, Cols: 28, Pixels: make([]byte, 28*28)}); !errors.Is(err, seqclf.ErrKind) {
		t.Errorf("images to a text model: %v, want ErrKind", err)
	}
	if _, err := images.Classify(ctx, "a text"); !errors.Is(err, seqclf.ErrKind) || !strings.Contains(err.Error(), imageModel) {
		t.Errorf("text to an image model: %v, want ErrKind naming the model", err)
	}
	var shape *seqclf.ShapeError
	small := &idx.Images{Path: "small.idx", Count: 2, Rows: 20, Cols: 20, Pixels: make([]byte, 2*20*20)}
	if _, err := images.ClassifyImages(ctx, small); !errors.As(err, &shape) || shape.Path != "small.idx" {
		t.Errorf("20×20 images to a 28×28 model: %v, want a *ShapeError", err)
	}
	if _, err := seqclf.Open("store/testdata/none.db"); !errors.Is(err, store.ErrMissing) {
		t.Errorf("a missing file: %v, want store.ErrMissing", err)
	}
	if _, err := seqclf.Open(textModel, seqclf.WithBatchSize(0)); err == nil {
		t.Error("batch size 0: no error")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := text.Classify(cancelled, "a text"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	if preds, err := text.Classify(ctx); err != nil || len(preds) != 0 {
		t.Errorf("no texts: %v, %v", preds, err)
	}

	m := open(t, textModel)
	m.Close()
	if _, err := m.Classify(ctx, "a text"); !errors.Is(err, seqclf.ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

// TestOpenLetsGoOfTheFile opens a copy of a model and then opens the copy for writing, as a new
// training run does: the model must not hold the file, and must answer as before once the file
// is gone.
func TestOpenLetsGoOfTheFile(t *testing.T) {
	b, err := os.ReadFile(textModel)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.db")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	m := open(t, path)
	s, err := store.Create(path) // ErrInUse after a second if Open kept its read lock
	if err != nil {
		t.Fatalf("writing the model's file after Open: %v", err)
	}
	s.Close()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	preds, err := m.Classify(context.Background(), readTexts(t)[0])
	if err != nil || preds[0].Label != "spam" {
		t.Errorf("after the file went: %v, %v", preds, err)
	}
}

// TestBatching classifies the same texts in batches of 1, 4 and 64: the answers may differ in
// their last bits only.
func TestBatching(t *testing.T) {
	texts := readTexts(t)
	texts = append(texts, texts...)
	var first []seqclf.Prediction
	for _, n := range []int{1, 4, 64} {
		preds, err := open(t, textModel, seqclf.WithBatchSize(n)).Classify(context.Background(), texts...)
		if err != nil {
			t.Fatal(err)
		}
		if len(preds) != len(texts) {
			t.Fatalf("batch size %d: %d answers for %d texts", n, len(preds), len(texts))
		}
		if first == nil {
			first = preds
			continue
		}
		for i, p := range preds {
			if p.Label != first[i].Label {
				t.Errorf("batch size %d, text %d: %s, alone %s", n, i, p.Label, first[i].Label)
			}
			for class, q := range p.Probabilities {
				if math.Abs(float64(q-first[i].Probabilities[class])) > 1e-6 {
					t.Errorf("batch size %d, text %d, class %s: %g, alone %g", n, i, class, q, first[i].Probabilities[class])
				}
			}
		}
	}
}

// TestConcurrent shares one text model and one image model among 8 goroutines (run it with
// -race): each must get the answers of a single goroutine, exactly.
func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	texts := readTexts(t)
	im, err := idx.ReadImages(imageInputs)
	if err != nil {
		t.Fatal(err)
	}
	text := open(t, textModel, seqclf.WithBatchSize(2))
	images := open(t, imageModel, seqclf.WithBatchSize(3))
	wantText, err := text.Classify(ctx, texts...)
	if err != nil {
		t.Fatal(err)
	}
	wantImages, err := images.ClassifyImages(ctx, im)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for range 10 {
				var got, want []seqclf.Prediction
				var err error
				if g%2 == 0 {
					got, err = text.Classify(ctx, texts...)
					want = wantText
				} else {
					got, err = images.ClassifyImages(ctx, im)
					want = wantImages
				}
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("goroutine %d: other answers (%v)", g, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestOpenLinksNoConfigOrPlots lists what a program that opens a model and classifies links
// and fails if it reaches the config, plotting or command-line libraries, or the training
// packages that use them.
func TestOpenLinksNoConfigOrPlots(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/seqclf/seqclf").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps gave %d packages: %q", len(deps), out)
	}
	for _, d := range deps {
		for _, banned := range []string{"github.com/spf13/viper", "gonum.org/v1/plot", "github.com/spf13/cobra",
			"github.com/seqclf/seqclf/pipeline", "github.com/seqclf/seqclf/report", "github.com/seqclf/seqclf/train"} {
			if d == banned || strings.HasPrefix(d, banned+"/") {
				t.Errorf("package seqclf imports %s", d)
			}
		}
	}
}
