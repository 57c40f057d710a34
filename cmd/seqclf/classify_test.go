package main

import (
	"encoding/json"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/seqclf/seqclf/lstm"
)

// TestClassifyRecordedAnswers runs classify on the saved models of store/testdata and wants the
// lines recorded when each was written, byte for byte on the AVX-512 kernels they were recorded
// with (within 1e-6 on the others): --json as recorded, and the default label<TAB>probability
// lines made from them.
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
		if !sameLines(got, string(recorded), sameJSONAnswer) {
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
		if got, err = run(t, c.stdin, args...); err != nil || !sameLines(got, want.String(), sameLabelLine) {
			t.Errorf("%s %q: %v\n%s\nwant:\n%s", c.model, c.args, err, got, want.String())
		}
	}
}

// sameLines reports whether got and want have as many lines, each pair the same answer by same:
// byte for byte on the AVX-512 kernels the answers were recorded with, by same on the others
// (AVX2, pure Go), whose sums run in another order.
func sameLines(got, want string, same func(got, want string) bool) bool {
	if isa, _ := lstm.Kernels(); isa == "avx512" {
		return got == want
	}
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	if len(g) != len(w) {
		return false
	}
	for i := range g {
		if g[i] != w[i] && !same(g[i], w[i]) {
			return false
		}
	}
	return true
}

// sameJSONAnswer reports whether two classify --json lines give the same label and every
// probability within 1e-6.
func sameJSONAnswer(got, want string) bool {
	var g, w struct {
		Label         string
		Probabilities map[string]float64
	}
	if json.Unmarshal([]byte(got), &g) != nil || json.Unmarshal([]byte(want), &w) != nil || g.Label != w.Label || len(g.Probabilities) != len(w.Probabilities) {
		return false
	}
	for class, p := range w.Probabilities {
		if q, ok := g.Probabilities[class]; !ok || math.Abs(p-q) > 1e-6 {
			return false
		}
	}
	return true
}

// sameLabelLine reports whether two label<TAB>probability lines give the same label and
// probabilities within one unit of their fourth decimal (1e-6 apart may round either way).
func sameLabelLine(got, want string) bool {
	gl, gp, ok1 := strings.Cut(got, "\t")
	wl, wp, ok2 := strings.Cut(want, "\t")
	if !ok1 || !ok2 || gl != wl {
		return false
	}
	a, err1 := strconv.ParseFloat(gp, 64)
	b, err2 := strconv.ParseFloat(wp, 64)
	return err1 == nil && err2 == nil && math.Abs(a-b) <= 1.5e-4
}
