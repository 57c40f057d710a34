package classify

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seqclf/seqclf/idx"
	"github.com/seqclf/seqclf/store"
)

// TestQuantizedModels quantizes the saved text and MNIST models and classifies with the int8
// files: the answers recorded for the float32 ones, each probability within 0.05; and, for the
// text model warmed up (WarmUp), the answers it gave before.
func TestQuantizedModels(t *testing.T) {
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
		{"model-v3-text.db", "text-answers.jsonl"},
		{"model-v3-mnist.db", "mnist-answers.jsonl"},
	} {
		out := filepath.Join(t.TempDir(), "int8.db")
		if _, _, err := store.QuantizeModelFile("../store/testdata/"+c.model, out); err != nil {
			t.Fatal(err)
		}
		s, err := store.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		cl, err := Load(s, 3)
		s.Close()
		if err != nil {
			t.Fatalf("%s: %v", c.model, err)
		}
		if cl.Model().Quant == nil {
			t.Fatalf("%s: the classifier does not run the int8 model", c.model)
		}
		var probs []float32
		if cl.Kind() == KindText {
			probs, err = cl.Classify(texts)
		} else {
			probs, err = cl.ClassifyImages(im, 0, im.Count)
		}
		if err != nil {
			t.Fatal(err)
		}
		want := readAnswers(t, "../store/testdata/"+c.answers)
		k := len(cl.Classes())
		if len(probs) != len(want)*k {
			t.Fatalf("%s: %d answers, recorded %d", c.model, len(probs)/k, len(want))
		}
		var worst float64
		for i, w := range want {
			row := probs[i*k : (i+1)*k]
			// The same label, unless the recorded answer was a near tie (this MNIST model, trained
			// on 20 images, is unsure of every one).
			if got := cl.Classes()[Argmax(row)]; got != w.Label && margin(w.Probabilities) > 0.01 {
				t.Errorf("%s: input %d: %s, recorded %s", c.model, i, got, w.Label)
			}
			for j, class := range cl.Classes() {
				worst = math.Max(worst, math.Abs(float64(row[j]-w.Probabilities[class])))
			}
		}
		if worst > 0.05 {
			t.Errorf("%s: a probability differs from the float32 model's by %.4f", c.model, worst)
		}
		t.Logf("%s: largest difference of a probability %.4f", c.model, worst)
		if cl.Kind() != KindText {
			continue
		}
		// Warmed up, its tokens' projections all remembered: the same answers.
		if s, err = store.Open(out); err != nil {
			t.Fatal(err)
		}
		warm, err := Load(s, 3)
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		if n := warm.WarmUp(); n == 0 {
			t.Errorf("%s: WarmUp remembers no token", c.model)
		}
		if got, err := warm.Classify(texts); err != nil || !slices.Equal(got, probs) {
			t.Errorf("%s: warmed up, other answers (%v)", c.model, err)
		}
	}
}

// margin returns the largest probability less the second largest.
func margin(p map[string]float32) float64 {
	var a, b float64
	for _, v := range p {
		switch v := float64(v); {
		case v > a:
			a, b = v, a
		case v > b:
			b = v
		}
	}
	return a - b
}
