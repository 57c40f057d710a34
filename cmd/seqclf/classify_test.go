package main

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestClassifyRecordedAnswers runs classify on the saved models of store/testdata and wants the
// lines recorded when each was written, byte for byte: --json as recorded, and the default
// label<TAB>probability lines made from them.
func TestClassifyRecordedAnswers(t *testing.T) {
	texts, err := os.ReadFile("../../store/testdata/texts.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		model, answers string
		stdin          string
		args           []string
	}{
		{"model-v1-text.db", "text-answers.jsonl", string(texts), nil},
		{"model-v3-text.db", "text-answers.jsonl", string(texts), nil},
		{"model-v3-text.db", "text-answers.jsonl", string(texts), []string{"--batch-size", "64"}},
		{"model-v3-mnist.db", "mnist-answers.jsonl", "", []string{"--images", "../../idx/testdata/mnist-t10k-20-images-idx3-ubyte.gz"}},
		{"model-v1-mnist.db", "mnist-answers.jsonl", "", []string{"--images", "../../idx/testdata/mnist-t10k-20-images-idx3-ubyte.gz", "--batch-size", "7"}},
	} {
		recorded, err := os.ReadFile("../../store/testdata/" + c.answers)
		if err != nil {
			t.Fatal(err)
		}
		args := append([]string{"classify", "--model", "../../store/testdata/" + c.model}, c.args...)
		got, err := run(t, c.stdin, append(args, "--json")...)
		if err != nil {
			t.Fatalf("%s: %v", c.model, err)
		}
		if got != string(recorded) {
			t.Errorf("%s %q --json:\n%s\nrecorded:\n%s", c.model, c.args, got, recorded)
		}
		var want strings.Builder
		for line := range strings.Lines(string(recorded)) {
			var a struct {
				Label       string      `json:"label"`
				Probability json.Number `json:"probability"`
			}
			if err := json.Unmarshal([]byte(line), &a); err != nil {
				t.Fatal(err)
			}
			p, err := strconv.ParseFloat(a.Probability.String(), 32)
			if err != nil {
				t.Fatal(err)
			}
			want.WriteString(a.Label + "\t" + strconv.FormatFloat(p, 'f', 4, 32) + "\n")
		}
		if got, err = run(t, c.stdin, args...); err != nil || got != want.String() {
			t.Errorf("%s %q: %v\n%s\nwant:\n%s", c.model, c.args, err, got, want.String())
		}
	}
}
