package report

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

// The example of scikit-learn's classification_report documentation:
//
//	y_true = [0, 1, 2, 2, 2]; y_pred = [0, 0, 2, 2, 1]
//
//	              precision    recall  f1-score   support
//	     class 0       0.50      1.00      0.67         1
//	     class 1       0.00      0.00      0.00         1
//	     class 2       1.00      0.67      0.80         3
//	    accuracy                           0.60         5
//	   macro avg       0.50      0.56      0.49         5
//	weighted avg       0.70      0.60      0.61         5
//
// By hand: class 0 is predicted twice and right once (P 1/2, R 1/1, F1 2/3);
// class 1 once and never right (0, 0, 0); class 2 twice, both right, of 3
// (P 1, R 2/3, F1 0.8). Macro P = 1.5/3, R = (5/3)/3 = 5/9, F1 = (2/3 +
// 0.8)/3 = 22/45; weighted F1 = (2/3 + 3·0.8)/5 = 46/75; accuracy 3/5.
func classificationReportExample(t *testing.T) *Scores {
	t.Helper()
	r, err := Evaluate([]int{0, 1, 2, 2, 2}, []int{0, 0, 2, 2, 1}, []string{"class 0", "class 1", "class 2"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestEvaluateClassificationReportExample(t *testing.T) {
	r := classificationReportExample(t)
	want := []ClassScores{
		{"class 0", 0.5, 1, 2.0 / 3, 1, 2},
		{"class 1", 0, 0, 0, 1, 1},
		{"class 2", 1, 2.0 / 3, 0.8, 3, 2},
	}
	for i, w := range want {
		g := r.PerClass[i]
		if g.Class != w.Class || !near(g.Precision, w.Precision) || !near(g.Recall, w.Recall) ||
			!near(g.F1, w.F1) || g.Support != w.Support || g.Predicted != w.Predicted {
			t.Errorf("class %d = %+v, want %+v", i, g, w)
		}
	}
	if r.Samples != 5 || !near(r.Accuracy, 0.6) {
		t.Errorf("samples %d accuracy %v, want 5 0.6", r.Samples, r.Accuracy)
	}
	if !near(r.MacroPrecision, 0.5) || !near(r.MacroRecall, 5.0/9) || !near(r.MacroF1, 22.0/45) || !near(r.WeightedF1, 46.0/75) {
		t.Errorf("macro P %v R %v F1 %v weighted F1 %v, want 0.5 5/9 22/45 46/75",
			r.MacroPrecision, r.MacroRecall, r.MacroF1, r.WeightedF1)
	}
	wantConf := [][]int{{1, 0, 0}, {1, 0, 0}, {0, 1, 2}}
	for i := range wantConf {
		if !slices.Equal(r.Confusion[i], wantConf[i]) {
			t.Errorf("confusion = %v, want %v", r.Confusion, wantConf)
			break
		}
	}
}

// scikit-learn's f1_score documentation: y_true = [0, 1, 2, 0, 1, 2],
// y_pred = [0, 2, 1, 0, 0, 1] gives per-class F1 [0.8, 0, 0] and macro
// 0.2666…; by hand class 0 is predicted 3 times, right twice, of 2
// (P 2/3, R 1, F1 0.8); classes 1 and 2 are never predicted right.
func TestEvaluateF1ScoreExample(t *testing.T) {
	r, err := Evaluate([]int{0, 1, 2, 0, 1, 2}, []int{0, 2, 1, 0, 0, 1}, []string{"0", "1", "2"})
	if err != nil {
		t.Fatal(err)
	}
	f1 := []float64{r.PerClass[0].F1, r.PerClass[1].F1, r.PerClass[2].F1}
	if !near(f1[0], 0.8) || f1[1] != 0 || f1[2] != 0 {
		t.Errorf("per-class F1 = %v, want [0.8 0 0]", f1)
	}
	if !near(r.MacroF1, 0.8/3) || !near(r.WeightedF1, 0.8/3) || !near(r.Accuracy, 2.0/6) {
		t.Errorf("macro F1 %v weighted %v accuracy %v, want 0.8/3 0.8/3 1/3", r.MacroF1, r.WeightedF1, r.Accuracy)
	}
}

// scikit-learn's confusion_matrix documentation: y_true = [2, 0, 2, 2, 0, 1],
// y_pred = [0, 0, 2, 2, 0, 2] gives [[2 0 0] [0 0 1] [1 0 2]].
func TestEvaluateConfusionMatrixExample(t *testing.T) {
	r, err := Evaluate([]int{2, 0, 2, 2, 0, 1}, []int{0, 0, 2, 2, 0, 2}, []string{"ant", "bird", "cat"})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int{{2, 0, 0}, {0, 0, 1}, {1, 0, 2}}
	for i := range want {
		if !slices.Equal(r.Confusion[i], want[i]) {
			t.Fatalf("confusion = %v, want %v", r.Confusion, want)
		}
	}
}

// A class absent from both labels and predictions is left out of the
// macro averages, as scikit-learn does by default; one that is only
// predicted counts (with F1 0).
func TestEvaluateMacroOverPresentClasses(t *testing.T) {
	four, err := Evaluate([]int{0, 1, 2, 2, 2}, []int{0, 0, 2, 2, 1}, []string{"a", "b", "c", "unused"})
	if err != nil {
		t.Fatal(err)
	}
	if !near(four.MacroF1, 22.0/45) {
		t.Errorf("macro F1 with an unused class = %v, want 22/45", four.MacroF1)
	}
	predictedOnly, err := Evaluate([]int{0, 0}, []int{0, 1}, []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	// a: P 1, R 1/2, F1 2/3; b: 0; c: absent. Macro F1 = (2/3)/2.
	if !near(predictedOnly.MacroF1, 1.0/3) {
		t.Errorf("macro F1 = %v, want 1/3", predictedOnly.MacroF1)
	}
}

func TestEvaluateErrors(t *testing.T) {
	names := []string{"a", "b"}
	for _, c := range []struct {
		truth, pred []int
		names       []string
		want        string
	}{
		{[]int{0}, []int{0, 1}, names, "1 true labels but 2 predictions"},
		{nil, nil, names, "no samples"},
		{[]int{0}, []int{0}, nil, "no class names"},
		{[]int{0, 2}, []int{0, 1}, names, "true label 2 of sample 1"},
		{[]int{0, 1}, []int{-1, 1}, names, "predicted label -1 of sample 0"},
	} {
		_, err := Evaluate(c.truth, c.pred, c.names)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Evaluate(%v, %v) = %v, want error with %q", c.truth, c.pred, err, c.want)
		}
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := classificationReportExample(t).WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	want := `               precision    recall        f1   support
class 0           0.5000    1.0000    0.6667         1
class 1           0.0000    0.0000    0.0000         1
class 2           1.0000    0.6667    0.8000         3

accuracy                              0.6000         5
macro avg         0.5000    0.5556    0.4889         5
weighted avg      0.7000    0.6000    0.6133         5

confusion matrix (rows: true class, columns: predicted class)
              class 0  class 1  class 2
class 0             1        0        0
class 1             1        0        0
class 2             0        1        2
`
	if got := b.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteTableManyClasses(t *testing.T) {
	// 15 long names would make a confusion matrix 250 columns wide: the
	// columns are then numbered and each row carries number and name.
	names := []string{"adventure", "belles_lettres", "editorial", "fiction", "government", "hobbies", "humor",
		"learned", "lore", "mystery", "news", "religion", "reviews", "romance", "science_fiction"}
	truth := make([]int, 15)
	for i := range truth {
		truth[i] = i
	}
	r, err := Evaluate(truth, truth, names)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	header := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "confusion matrix") {
			header = i + 1
		}
	}
	if header < 0 {
		t.Fatalf("no confusion matrix:\n%s", b.String())
	}
	if got := strings.Fields(lines[header]); len(got) != 15 || got[0] != "0" || got[14] != "14" {
		t.Errorf("confusion header = %q, want 0 … 14", lines[header])
	}
	if !strings.HasPrefix(lines[header+2], " 1 belles_lettres") {
		t.Errorf("row 1 = %q", lines[header+2])
	}
	for _, l := range lines[header : header+16] {
		if n := len([]rune(l)); n > 100 || n != len([]rune(lines[header])) {
			t.Errorf("confusion line of width %d (header %d): %q", n, len(lines[header]), l)
		}
	}
}

func TestWriteMetricsJSON(t *testing.T) {
	var h History
	h.Add(EpochStats{Epoch: 1, TrainLoss: 0.5, TrainAccuracy: 0.8, ValLoss: 0.25, ValAccuracy: 0.9, Seconds: 2, SamplesPerSec: 1000, LearningRate: 0.001})
	h.Add(EpochStats{Epoch: 2, TrainLoss: 0.125, TrainAccuracy: 0.95, ValLoss: math.NaN(), ValAccuracy: math.NaN(), Seconds: 2, SamplesPerSec: 1000})
	path := filepath.Join(t.TempDir(), "metrics.json")
	if err := WriteMetricsJSON(path, classificationReportExample(t), &h); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Test struct {
			Accuracy  float64 `json:"accuracy"`
			MacroF1   float64 `json:"macro_f1"`
			Confusion [][]int `json:"confusion"`
			PerClass  []struct {
				Class string  `json:"class"`
				F1    float64 `json:"f1"`
			} `json:"per_class"`
		} `json:"test"`
		Epochs []map[string]any `json:"epochs"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if m.Test.Accuracy != 0.6 || !near(m.Test.MacroF1, 22.0/45) || len(m.Test.Confusion) != 3 ||
		m.Test.Confusion[2][2] != 2 || m.Test.PerClass[2].Class != "class 2" || m.Test.PerClass[2].F1 != 0.8 {
		t.Errorf("test = %+v", m.Test)
	}
	if len(m.Epochs) != 2 {
		t.Fatalf("epochs = %v", m.Epochs)
	}
	for _, k := range []string{"epoch", "train_loss", "val_loss", "val_accuracy", "seconds", "samples_per_sec", "learning_rate"} {
		if _, ok := m.Epochs[0][k]; !ok {
			t.Errorf("epoch record lacks %q: %v", k, m.Epochs[0])
		}
	}
	if m.Epochs[0]["val_loss"] != 0.25 || m.Epochs[1]["train_loss"] != 0.125 || m.Epochs[1]["epoch"] != 2.0 {
		t.Errorf("epochs = %v", m.Epochs)
	}
	if v, ok := m.Epochs[1]["val_loss"]; !ok || v != nil {
		t.Errorf("NaN val_loss written as %v (present %v), want null", v, ok)
	}

	// The history round-trips, NaN included.
	var back Metrics
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Epochs) != 2 || back.Epochs[0] != h.Epochs[0] || !math.IsNaN(back.Epochs[1].ValLoss) || back.Epochs[1].TrainLoss != 0.125 {
		t.Errorf("round trip: %+v", back.Epochs)
	}

	// No test set and no history: null and [].
	if err := WriteMetricsJSON(path, nil, nil); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); !bytes.Equal(data, []byte("{\n  \"test\": null,\n  \"epochs\": []\n}\n")) {
		t.Errorf("empty metrics = %q", data)
	}
}

func TestWriteMetricsJSONUnwritable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "missing", "metrics.json")
	err := WriteMetricsJSON(path, nil, nil)
	if err == nil || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), ".tmp") {
		t.Errorf("error = %v, want one naming %s and not the temporary file", err, path)
	}
	// Renaming onto a directory fails after the temporary file is written:
	// it must not be left behind.
	blocked := filepath.Join(dir, "metrics.json")
	if err := os.Mkdir(blocked, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteMetricsJSON(blocked, nil, nil); err == nil {
		t.Error("writing over a directory: no error")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("files left in %s: %v", dir, entries)
	}
}

func TestBestEpoch(t *testing.T) {
	var h History
	if _, ok := h.BestEpoch(); ok {
		t.Error("empty history has a best epoch")
	}
	h.Add(EpochStats{Epoch: 1, ValLoss: math.NaN()})
	h.Add(EpochStats{Epoch: 2, ValLoss: 0.3})
	h.Add(EpochStats{Epoch: 3, ValLoss: 0.2})
	h.Add(EpochStats{Epoch: 4, ValLoss: 0.2})
	if e, ok := h.BestEpoch(); !ok || e.Epoch != 3 {
		t.Errorf("best = %d %v, want 3", e.Epoch, ok)
	}
}

// countColor counts the pixels of exactly colour (r, g, b).
func countColor(img image.Image, r, g, b uint8) int {
	n := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if uint8(cr>>8) == r && uint8(cg>>8) == g && uint8(cb>>8) == b {
				n++
			}
		}
	}
	return n
}

func TestWriteCurves(t *testing.T) {
	var h History
	loss := []float64{0.9, 0.35, 0.2, 0.14, 0.11, 0.09}
	for i, l := range loss {
		h.Add(EpochStats{Epoch: i + 1, TrainLoss: l, TrainAccuracy: 1 - l/3, ValLoss: l * 1.1, ValAccuracy: 1 - l/2.5,
			Seconds: 10, SamplesPerSec: 6000})
	}
	img := writtenCurves(t, &h)
	if b := img.Bounds(); b.Dx() != 1000 || b.Dy() != 400 {
		t.Errorf("size %v, want 1000×400", b)
	}
	// Both series are drawn: pixels of the train blue and validation red.
	if n := countColor(img, 0x1f, 0x77, 0xb4); n < 200 {
		t.Errorf("%d train-blue pixels, want lines", n)
	}
	if n := countColor(img, 0xd6, 0x27, 0x28); n < 200 {
		t.Errorf("%d validation-red pixels, want lines", n)
	}
}

func TestWriteCurvesWithoutValidation(t *testing.T) {
	h := History{Epochs: []EpochStats{{Epoch: 1, TrainLoss: 0.7, TrainAccuracy: 0.6, ValLoss: math.NaN(), ValAccuracy: math.NaN()}}}
	img := writtenCurves(t, &h)
	if n := countColor(img, 0xd6, 0x27, 0x28); n != 0 {
		t.Errorf("%d validation-red pixels with no validation set", n)
	}

	path := filepath.Join(t.TempDir(), "curves.png")
	empty := History{}
	if err := empty.WriteCurves(path); err == nil || !strings.Contains(err.Error(), "no finished epoch") {
		t.Errorf("empty history: %v", err)
	}
	nothing := History{Epochs: []EpochStats{{Epoch: 1, TrainLoss: math.NaN(), TrainAccuracy: math.NaN(), ValLoss: math.NaN(), ValAccuracy: math.NaN()}}}
	if err := nothing.WriteCurves(path); err != nil {
		t.Errorf("history with no values: %v", err)
	}
}

// writtenCurves writes h's curves.png into a temporary folder and decodes it.
func writtenCurves(t *testing.T, h *History) image.Image {
	t.Helper()
	path := filepath.Join(t.TempDir(), "curves.png")
	if err := h.WriteCurves(path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("curves.png does not decode: %v", err)
	}
	return img
}
