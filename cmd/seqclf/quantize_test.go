package main

import (
	"math"
	"os"
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

// TestModelUpgrade upgrades a copy of a layout-3 model: it says so, then classifies as the
// original does, and a second upgrade says the file is in this layout already.
func TestModelUpgrade(t *testing.T) {
	orig := "../../store/testdata/model-v3-mnist.db"
	b, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.db")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "", "model", "upgrade", path)
	if err != nil || !strings.Contains(out, "layout 3 → 4") {
		t.Fatalf("model upgrade: %q, %v", out, err)
	}
	images := "../../idx/testdata/mnist-t10k-20-images-idx3-ubyte.gz"
	want, err := run(t, "", "classify", "--model", orig, "--images", images)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := run(t, "", "classify", "--model", path, "--images", images); err != nil || got != want {
		t.Errorf("upgraded model answers (%v)\n%s\nthe original\n%s", err, got, want)
	}
	if out, err := run(t, "", "model", "upgrade", path); err != nil || !strings.Contains(out, "already") {
		t.Errorf("second model upgrade: %q, %v", out, err)
	}
	if _, err := run(t, "", "model", "upgrade", filepath.Join(t.TempDir(), "none.db")); err == nil {
		t.Error("model upgrade of a missing file: no error")
	}
}
