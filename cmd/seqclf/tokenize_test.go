package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestTokenizeCharacters shows character tokens from the flag, from a config and from a model
// trained with them, and checks that a character model classifies and evaluates as any other.
func TestTokenizeCharacters(t *testing.T) {
	const in = "Anne  Marie\n"
	const chars = "a n n e ␣ m a r i e\n"
	for _, args := range [][]string{
		{"--tokens", "characters"},
		{"--config", "../../configs/names.yaml"},
	} {
		out, err := run(t, in, append([]string{"tokenize"}, args...)...)
		if err != nil || out != chars {
			t.Errorf("tokenize %v: %q %v, want %q", args, out, err, chars)
		}
	}
	out, err := run(t, in, "tokenize", "--config", "../../configs/names.yaml", "--tokens", "words")
	if err != nil || out != "anne marie\n" {
		t.Errorf("--tokens words over the config: %q %v", out, err)
	}
	if _, err := run(t, in, "tokenize", "--tokens", "bytes"); err == nil || !strings.Contains(err.Error(), "--tokens") {
		t.Errorf("--tokens bytes: %v", err)
	}
	out, err = run(t, in, "tokenize", "--model", "../../store/testdata/model-v3-text.db")
	if err != nil || out != "anne marie\n" {
		t.Errorf("--model of words: %q %v", out, err)
	}

	dir := t.TempDir()
	excerpt := "../../pipeline/testdata/names-excerpt.tsv"
	if _, err := run(t, "", "pipeline", "run", "../../configs/names.yaml", "--set", "source.train="+excerpt,
		"--set", "output_dir="+dir, "--set", "lstm.num_units=16", "--set", "embed.dim=8",
		"--set", "train.epochs=2"); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "model.db")
	if out, err := run(t, in, "tokenize", "--model", model); err != nil || out != chars {
		t.Errorf("--model of characters: %q %v, want %q", out, err, chars)
	}
	if _, err := run(t, in, "tokenize", "--model", model, "--tokens", "words"); err == nil {
		t.Error("--tokens with --model ran")
	}
	out, err = run(t, "Anne\n", "tokenize", "--ids", "--model", model)
	if f := strings.Fields(out); err != nil || len(f) != 4 || f[1] != f[2] {
		t.Errorf("--ids of Anne: %q %v, want four ids, the two n the same", out, err)
	}
	out, err = run(t, "Alexandra\nBartholomew\n", "classify", "--model", model)
	if lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); err != nil || len(lines) != 2 ||
		!strings.HasPrefix(lines[0], "female\t") && !strings.HasPrefix(lines[0], "male\t") {
		t.Errorf("classify: %q %v", out, err)
	}
	out, err = run(t, "", "evaluate", "--model", model, "--format", "tsv", excerpt)
	if err != nil || !strings.Contains(out, "accuracy") || !strings.Contains(out, "female") {
		t.Errorf("evaluate: %q %v", out, err)
	}
}
