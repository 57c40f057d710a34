package main

import (
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestModelQuantize writes an int8 copy of a saved model and classifies with it: the answers of
// the float32 model, and a second quantization refused.
func TestModelQuantize(t *testing.T) {
	in := "../../store/testdata/model-v3-mnist.db"
	out := filepath.Join(t.TempDir(), "int8.db")
	if _, err := run(t, "", "model", "quantize", in, out); err != nil {
		t.Fatal(err)
	}
	images := "../../idx/testdata/mnist-t10k-20-images-idx3-ubyte.gz"
	want, err := run(t, "", "classify", "--model", in, "--images", images)
	if err != nil {
		t.Fatal(err)
	}
	got, err := run(t, "", "classify", "--model", out, "--images", images)
	if err != nil {
		t.Fatal(err)
	}
	g, w := strings.Fields(got), strings.Fields(want)
	if len(g) != len(w) || len(g) == 0 {
		t.Fatalf("int8 model answers\n%s\nfloat32 model\n%s", got, want)
	}
	// label, probability, label, …: the probabilities within 0.01 (this model's classes are
	// close to a tie, so a label may differ).
	for i := 1; i < len(g); i += 2 {
		a, _ := strconv.ParseFloat(g[i], 64)
		b, _ := strconv.ParseFloat(w[i], 64)
		if math.Abs(a-b) > 0.01 {
			t.Errorf("int8 model answers\n%s\nfloat32 model\n%s", got, want)
			break
		}
	}
	if _, err := run(t, "", "model", "summary", out); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "", "model", "quantize", out, filepath.Join(t.TempDir(), "again.db")); err == nil || !strings.Contains(err.Error(), "quantized already") {
		t.Fatalf("quantizing twice: %v", err)
	}
}
