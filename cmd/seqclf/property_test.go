package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seqclf/seqclf/pipeline"
)

// A tinyDoc is one document of a generated dataset.
type tinyDoc struct{ label, text, group string }

// A tinyDataset is a generated training source, with a test file or a test split, in one
// format, and the config keys that read it.
type tinyDataset struct {
	format      string // tsv, csv, jsonl or dir
	header      bool   // tsv, csv: a header line, and columns by name
	group       bool   // source.group_column
	train, test []tinyDoc
	testMode    string // "none", "split" (source.test_split) or "file" (source.test)
	testSplit   float64
	odd         string // a raw line at the end of the training file
	valSplit    float64
	unit        string
	splitSents  bool
	minCount    int
	seed        int
}

func (d *tinyDataset) String() string {
	return fmt.Sprintf("format %s, header %v, group %v, test %s %g, validation_split %g, unit %s, split_sentences %v, min_count %d, seed %d; train %q; odd line %q; test %q",
		d.format, d.header, d.group, d.testMode, d.testSplit, d.valSplit, d.unit, d.splitSents, d.minCount, d.seed, d.train, d.odd, d.test)
}

// tinyTexts are the texts a generated document draws from: empty ones, blank ones, one word,
// numbers only, punctuation only, several sentences, other scripts, Latin-1 bytes, a NUL.
var tinyTexts = []string{
	"", "", " ", "hello world", "Hello world.", "free money now!", "a", "1234", "...",
	"x y z. a b c.", "日本語のテキスト。", "caf\xe9 au lait", "Win\x00 a prize", "meeting at noon. bring the report.",
	"tab\there", "line\nbreak", `a "quoted" word`, "crlf\r\n",
}

// oddLines are raw lines a generated file may end with, by format: a record without its text,
// labels that are not strings, JSON that is not an object, a byte-order mark, a lone quote.
var oddLines = map[string][]string{
	"tsv":   {"lonely", "\ufeffa\tbom", "a\t\t\t", "\t"},
	"csv":   {"lonely", "\ufeffa,bom", `a,"unterminated`, ",", `"a""b",c`},
	"jsonl": {`{"label": 1, "text": "number label"}`, `{"label": null, "text": "null label"}`, `[]`, `{"text": 5, "label": "a"}`, `{"label": "a", "text": "x"} trailing`, "\ufeff{\"label\": \"a\", \"text\": \"bom\"}"},
}

// genTinyDataset draws a dataset of 0 to 3 training documents: one label or two, repeated
// texts, empty texts, a test file that holds the training file, one with a label the training
// file lacks, an empty one, or a test split.
func genTinyDataset(r *rand.Rand) *tinyDataset {
	d := &tinyDataset{
		format:     []string{"tsv", "csv", "jsonl", "dir"}[r.IntN(4)],
		header:     r.IntN(2) == 0,
		group:      r.IntN(4) == 0,
		valSplit:   []float64{0, 0, 0.5}[r.IntN(3)],
		unit:       []string{"document", "sentence"}[r.IntN(2)],
		splitSents: r.IntN(4) != 0,
		minCount:   1 + r.IntN(2),
		seed:       r.IntN(1000),
	}
	labels := []string{"a", "b"}
	switch r.IntN(8) {
	case 0:
		labels = []string{"a"} // one label
	case 1:
		labels = []string{"a", "b", "c"}
	case 2:
		labels = []string{"spam", "Spam "} // labels that differ by case and space
	}
	doc := func() tinyDoc {
		return tinyDoc{label: labels[r.IntN(len(labels))], text: tinyTexts[r.IntN(len(tinyTexts))], group: fmt.Sprint("g", r.IntN(2))}
	}
	if lines := oddLines[d.format]; len(lines) > 0 && r.IntN(8) == 0 {
		d.odd = lines[r.IntN(len(lines))]
	}
	// Mostly two or three documents, so that many datasets train.
	n := []int{0, 1, 2, 2, 3, 3, 3, 3}[r.IntN(8)]
	allSame := r.IntN(8) == 0 // every text the same, whatever the labels
	for j := range n {
		switch {
		case len(d.train) > 0 && (allSame || r.IntN(5) == 0):
			c := d.train[r.IntN(len(d.train))] // a repeat
			if allSame {
				c.label = labels[r.IntN(len(labels))]
			}
			d.train = append(d.train, c)
		default:
			c := doc()
			if j < len(labels) && r.IntN(5) != 0 {
				c.label = labels[j] // more than one label, more often than by chance
			}
			d.train = append(d.train, c)
		}
	}
	switch r.IntN(10) {
	case 0, 1, 2, 3:
		d.testMode = "none"
	case 4, 5:
		d.testMode = "split"
		d.testSplit = []float64{0.2, 0.5}[r.IntN(2)]
	default:
		d.testMode = "file"
		switch r.IntN(10) {
		case 0, 1: // the training file itself
			d.test = slices.Clone(d.train)
		case 2: // the training file and more
			d.test = append(slices.Clone(d.train), doc())
		case 3, 4: // a label only in the test file
			d.test = []tinyDoc{doc(), {label: "only-in-test", text: "never seen"}}
		case 5: // an empty test file
		default:
			for range 1 + r.IntN(3) {
				d.test = append(d.test, doc())
			}
		}
	}
	return d
}

// write writes the documents at path in the dataset's format (for dir, a folder of one folder
// per label), and then the line odd if it is not empty.
func (d *tinyDataset) write(t *testing.T, path string, docs []tinyDoc, odd string) {
	t.Helper()
	var b strings.Builder
	switch d.format {
	case "tsv":
		if d.header {
			b.WriteString("label\ttext\tthread\n")
		}
		for _, doc := range docs {
			fmt.Fprintf(&b, "%s\t%s\t%s\n", doc.label, doc.text, doc.group)
		}
	case "csv":
		w := csv.NewWriter(&b)
		if d.header {
			w.Write([]string{"label", "text", "thread"})
		}
		for _, doc := range docs {
			w.Write([]string{doc.label, doc.text, doc.group})
		}
		w.Flush()
	case "jsonl":
		for _, doc := range docs {
			line, _ := json.Marshal(map[string]string{"label": doc.label, "text": doc.text, "thread": doc.group})
			b.Write(append(line, '\n'))
		}
	case "dir":
		if err := os.MkdirAll(path, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, doc := range docs {
			folder := filepath.Join(path, strings.TrimSpace(doc.label))
			if err := os.MkdirAll(folder, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(folder, fmt.Sprintf("%d.txt", i)), []byte(doc.text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	if odd != "" {
		b.WriteString(odd + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// config writes the dataset's files and config into dir and returns the config's path.
func (d *tinyDataset) config(t *testing.T, dir string) string {
	t.Helper()
	ext := d.format
	if ext == "dir" {
		ext = "d"
	}
	train := filepath.Join(dir, "train."+ext)
	d.write(t, train, d.train, d.odd)
	src := []string{"format: " + d.format, "train: " + train, fmt.Sprint("validation_split: ", d.valSplit)}
	switch d.testMode {
	case "split":
		src = append(src, fmt.Sprint("test_split: ", d.testSplit))
	case "file":
		test := filepath.Join(dir, "test."+ext)
		d.write(t, test, d.test, "")
		src = append(src, "test: "+test)
	}
	if d.header && (d.format == "tsv" || d.format == "csv") {
		src = append(src, "header: true", "label_column: label", "text_column: text")
	}
	if d.group {
		switch {
		case d.format == "jsonl" || d.header:
			src = append(src, "group_column: thread")
		default:
			src = append(src, "group_column: 2")
		}
	}
	yaml := fmt.Sprintf(`seed: %d
output_dir: %s
source: {%s}
tokenize: {unit: %s, split_sentences: %v}
vocab: {min_count: %d}
embed: {dim: 2}
lstm: {num_units: 2, time_step: 8}
train: {epochs: 1, batch_size: 2}
`, d.seed, filepath.Join(dir, "out"), strings.Join(src, ", "), d.unit, d.splitSents, d.minCount)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runCaught is run, with a panic returned as an error that says so.
func runCaught(t *testing.T, args ...string) (out string, panicked bool, err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			panicked, err = true, fmt.Errorf("panic: %v", p)
		}
	}()
	out, err = run(t, "", args...)
	return out, false, err
}

// TestPipelineRunTinyDatasets runs pipeline run on a few hundred generated tiny datasets (0 to 3
// documents, one label, repeats, empty texts, a test file holding the training file or a label
// of its own, every format): none may panic, and each must train or fail with one line. A run
// that trains and tests must score the same with evaluate --config.
func TestPipelineRunTinyDatasets(t *testing.T) {
	n := 400
	if testing.Short() {
		n = 80
	}
	r := rand.New(rand.NewPCG(20261130, 7))
	root := t.TempDir()
	start := time.Now()
	trained, tested := 0, 0
	messages := map[string]int{}    // error messages with the case's folder and numbers left out
	examples := map[string]string{} // the first dataset of each
	numbers := regexp.MustCompile(`\d+`)
	for i := range n {
		d := genTinyDataset(r)
		dir := filepath.Join(root, fmt.Sprint(i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		cfg := d.config(t, dir)
		out, panicked, err := runCaught(t, "pipeline", "run", cfg)
		switch {
		case panicked:
			t.Errorf("case %d panicked: %v\n%s", i, err, d)
			continue
		case err != nil:
			msg := err.Error()
			if msg == "" || strings.Contains(msg, "\n") {
				t.Errorf("case %d: an error of more than one line: %q\n%s", i, msg, d)
			}
			if _, statErr := os.Stat(filepath.Join(dir, "out")); statErr == nil {
				t.Errorf("case %d: a failed run left %s/out behind\n%s", i, dir, d)
			}
			key := strings.ReplaceAll(msg, dir+"/", "")
			key = numbers.ReplaceAllString(key, "N")
			if messages[key] == 0 {
				examples[key] = fmt.Sprintf("case %d: %s", i, d)
			}
			messages[key]++
			continue
		}
		trained++
		if _, err := os.Stat(filepath.Join(dir, "out", pipeline.ModelFile)); err != nil {
			t.Errorf("case %d trained but wrote no model: %v\n%s", i, err, d)
		}
		if out == "" {
			continue
		}
		tested++
		got, panicked, err := runCaught(t, "evaluate", "--model", filepath.Join(dir, "out", pipeline.ModelFile), "--config", cfg)
		if panicked || err != nil || got != out {
			t.Errorf("case %d: evaluate --config: %v\n%s\npipeline run printed\n%s\n%s", i, err, got, out, d)
		}
	}
	keys := make([]string, 0, len(messages))
	for k := range messages {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := messages[b] - messages[a]; c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%4d  %s\n        (%s)\n", messages[k], k, examples[k])
	}
	t.Logf("%d datasets in %s: %d trained (%d with a test report, matched by evaluate), %d errors:\n%s",
		n, time.Since(start).Round(time.Millisecond), trained, tested, n-trained, b.String())
}
