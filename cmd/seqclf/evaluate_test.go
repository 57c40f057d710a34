package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/seqclf/seqclf/idx"
	"github.com/seqclf/seqclf/pipeline"
)

// topicTSV returns n documents of three topics, with a header (label, text, thread), each
// document two or three sentences of the topic's words and some shared ones; every three
// documents of a topic share a thread.
func topicTSV(n int, seed uint64) string {
	words := map[string][]string{
		"sport": {"match", "goal", "team", "coach", "league", "score", "referee", "season"},
		"food":  {"recipe", "oven", "garlic", "butter", "salad", "dinner", "pasta", "spice"},
		"tech":  {"server", "kernel", "compiler", "laptop", "network", "bug", "patch", "cloud"},
	}
	shared := []string{"the", "a", "today", "new", "good", "really", "we", "it"}
	topics := []string{"sport", "food", "tech"}
	r := rand.New(rand.NewPCG(seed, 1))
	var b strings.Builder
	b.WriteString("label\ttext\tthread\n")
	for i := range n {
		topic := topics[i%3]
		var sents []string
		for range 2 + r.IntN(2) {
			var s []string
			for range 3 + r.IntN(4) {
				if r.IntN(3) == 0 {
					s = append(s, shared[r.IntN(len(shared))])
				} else {
					s = append(s, words[topic][r.IntN(len(words[topic]))])
				}
			}
			sents = append(sents, strings.Join(s, " ")+".")
		}
		fmt.Fprintf(&b, "%s\t%s\t%s-%d\n", topic, strings.Join(sents, " "), topic, i/9)
	}
	return b.String()
}

// testReport returns the metrics.json of a run's output folder, its "test" object decoded.
func testReport(t *testing.T, dir string) any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, pipeline.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Test any }
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Test == nil {
		t.Fatalf("%s/metrics.json has no test report", dir)
	}
	return m.Test
}

func decodeJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%v:\n%s", err, s)
	}
	return v
}

// TestEvaluateMatchesPipelineRun trains tiny text models with pipeline run, on a test split
// drawn by group and on a test file, and wants evaluate --config to print the very report that
// pipeline run printed for its test set, and evaluate --json the test object of metrics.json.
func TestEvaluateMatchesPipelineRun(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	train := write("topics.tsv", topicTSV(60, 1))
	test := write("test.tsv", topicTSV(15, 2))
	for _, c := range []struct{ name, source, tokenize string }{
		// A split by thread, with validation documents drawn beside the test ones: evaluate must
		// draw the same documents.
		{"split", "test_split: 0.3, validation_split: 0.2, group_column: thread", "unit: document"},
		// A test file, and a document's answer combined from its sentences'.
		{"file", "test: " + test + ", validation_split: 0.1", "unit: sentence"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, c.name)
			cfg := write(c.name+".yaml", `seed: 3
output_dir: `+out+`
source: {format: tsv, header: true, label_column: label, text_column: text, train: `+train+`, `+c.source+`}
tokenize: {`+c.tokenize+`}
vocab: {min_count: 1}
embed: {dim: 6}
lstm: {num_units: 6, time_step: 24}
train: {epochs: 3, batch_size: 8, learning_rate: 0.02}
`)
			ran, err := run(t, "", "pipeline", "run", cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(ran, "test set: ") {
				t.Fatalf("pipeline run printed no test report:\n%s", ran)
			}
			model := filepath.Join(out, pipeline.ModelFile)
			got, err := run(t, "", "evaluate", "--model", model, "--config", cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got != ran {
				t.Errorf("evaluate --config printed\n%s\npipeline run printed\n%s", got, ran)
			}
			t.Logf("pipeline run:\n%s\nevaluate --config:\n%s", ran, got)
			js, err := run(t, "", "evaluate", "--model", model, "--config", cfg, "--json")
			if err != nil {
				t.Fatal(err)
			}
			if want := testReport(t, out); !reflect.DeepEqual(decodeJSON(t, js), want) {
				t.Errorf("evaluate --json wrote\n%s\nmetrics.json's test is %v", js, want)
			}
			if c.name == "file" {
				// The file and the source flags alone, without the config.
				got, err := run(t, "", "evaluate", "--model", model, "--header", "--label-column", "label", "--text-column", "text", test)
				if err != nil {
					t.Fatal(err)
				}
				if got != ran {
					t.Errorf("evaluate FILE printed\n%s\npipeline run printed\n%s", got, ran)
				}
			}
		})
	}
}

// TestEvaluateDir scores a model on a folder of mails read with the dir flags of vocab build.
func TestEvaluateDir(t *testing.T) {
	out := t.TempDir()
	cfg := writeConfig(t, `seed: 42
output_dir: `+out+`
source: {kind: text, format: dir, train: `+spamMini+`, extensions: [.txt], labels: {easy-ham-1: ham, spam-2: spam}, validation_split: 0}
vocab: {min_count: 1}
embed: {dim: 4}
lstm: {num_units: 4, time_step: 30}
train: {epochs: 1, batch_size: 8}
`)
	if _, err := run(t, "", "pipeline", "run", cfg); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(out, pipeline.ModelFile)
	js, err := run(t, "", "evaluate", "--model", model, "--json", "--format", "dir", "--extensions", ".txt",
		"--label", "easy-ham-1=ham", "--label", "spam-2=spam", spamMini)
	if err != nil {
		t.Fatal(err)
	}
	var sc struct {
		Samples   int
		Classes   []string
		Confusion [][]int
	}
	if err := json.Unmarshal([]byte(js), &sc); err != nil {
		t.Fatal(err)
	}
	// Three ham mails and two spam ones (the .json files beside them left out).
	rows := []int{0, 0}
	for i, r := range sc.Confusion {
		for _, n := range r {
			rows[i] += n
		}
	}
	if sc.Samples != 5 || !reflect.DeepEqual(sc.Classes, []string{"ham", "spam"}) || !reflect.DeepEqual(rows, []int{3, 2}) {
		t.Errorf("evaluate of the folder: %d samples, classes %v, confusion %v; want 5, [ham spam], rows of 3 and 2", sc.Samples, sc.Classes, sc.Confusion)
	}
	// Without --label the folders are the labels, which the model does not know.
	_, err = run(t, "", "evaluate", "--model", model, "--format", "dir", "--extensions", ".txt", spamMini)
	if err == nil || !strings.Contains(err.Error(), `spamassassin-mini/easy-ham-1/`) || !strings.Contains(err.Error(), `the label "easy-ham-1" is not one of the model's classes`) {
		t.Errorf("a folder without a label: %v", err)
	}
}

// TestEvaluateImages scores the committed MNIST model on the 20 test images and checks the
// accuracy and the confusion matrix against a count by hand of the answers recorded for it.
func TestEvaluateImages(t *testing.T) {
	const model = "../../store/testdata/model-v2-mnist.db"
	images, labels := mnistExcerpt+"images-idx3-ubyte.gz", mnistExcerpt+"labels-idx1-ubyte.gz"
	truth, err := idx.ReadLabels(labels)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("../../store/testdata/mnist-answers.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	confusion := make([][]int, 10)
	for i := range confusion {
		confusion[i] = make([]int, 10)
	}
	right, n := 0, 0
	sc := bufio.NewScanner(f)
	for ; sc.Scan(); n++ {
		var a struct{ Label string }
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatal(err)
		}
		var p int
		fmt.Sscan(a.Label, &p)
		confusion[truth[n]][p]++
		if p == truth[n] {
			right++
		}
	}
	if n != len(truth) {
		t.Fatalf("%d answers for %d labels", n, len(truth))
	}
	js, err := run(t, "", "evaluate", "--model", model, "--images", images, "--labels", labels, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Samples   int
		Accuracy  float64
		Confusion [][]int
	}
	if err := json.Unmarshal([]byte(js), &got); err != nil {
		t.Fatal(err)
	}
	if want := float64(right) / float64(n); got.Samples != n || got.Accuracy != want || !reflect.DeepEqual(got.Confusion, confusion) {
		t.Errorf("evaluate: %d images, accuracy %v, confusion %v; by hand %d, %v (%d of %d), %v", got.Samples, got.Accuracy, got.Confusion, n, want, right, n, confusion)
	}
	text, err := run(t, "", "evaluate", "--model", model, "--images", images, "--labels", labels)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%-12s  %30.4f%10d\n", "accuracy", float64(right)/float64(n), n); !strings.HasPrefix(text, "test set: 20 images\n") || !strings.Contains(text, want) {
		t.Errorf("evaluate printed\n%s\nwant a line %q", text, want)
	}
	t.Logf("%d of %d right by hand; evaluate printed\n%s", right, n, text)
}

// TestEvaluateImagesMatchesPipelineRun trains a tiny MNIST model whose config has test images,
// and wants evaluate --config to print pipeline run's figures.
func TestEvaluateImagesMatchesPipelineRun(t *testing.T) {
	out := t.TempDir()
	images, labels := mnistExcerpt+"images-idx3-ubyte.gz", mnistExcerpt+"labels-idx1-ubyte.gz"
	cfg := writeConfig(t, `output_dir: `+out+`
source: {kind: mnist, train_images: `+images+`, train_labels: `+labels+`, test_images: `+images+`, test_labels: `+labels+`, validation_split: 0}
lstm: {num_units: 4, time_step: 28}
train: {epochs: 2, batch_size: 4, learning_rate: 0.01}
`)
	ran, err := run(t, "", "pipeline", "run", cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := run(t, "", "evaluate", "--model", filepath.Join(out, pipeline.ModelFile), "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "test set: 20 images\n") || got != ran {
		t.Errorf("evaluate --config printed\n%s\npipeline run printed\n%s", got, ran)
	}
	if js, err := run(t, "", "evaluate", "--model", filepath.Join(out, pipeline.ModelFile), "--config", cfg, "--json"); err != nil {
		t.Fatal(err)
	} else if want := testReport(t, out); !reflect.DeepEqual(decodeJSON(t, js), want) {
		t.Errorf("evaluate --json wrote\n%s\nmetrics.json's test is %v", js, want)
	}
}

func TestEvaluateErrors(t *testing.T) {
	f := &fixtures{dir: t.TempDir()}
	f.write(t, "train.tsv", []byte(goodTSV))
	if _, err := run(t, "", "pipeline", "run", f.textConfig(t, "text.yaml", "train.tsv", "text")); err != nil {
		t.Fatal(err)
	}
	textModel := f.path("text/model.db")
	const imgModel = "../../store/testdata/model-v2-mnist.db"
	images, labels := mnistExcerpt+"images-idx3-ubyte.gz", mnistExcerpt+"labels-idx1-ubyte.gz"
	f.write(t, "eggs.tsv", []byte("ham\tsee you\nspam\tfree money\neggs\tscrambled\n"))
	f.write(t, "empty.tsv", nil)
	noTest := f.textConfig(t, "notest.yaml", "train.tsv", "text")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"evaluate", f.path("eggs.tsv")}, "--model is required"},
		{[]string{"evaluate", "--model", textModel, f.path("eggs.tsv")}, `eggs.tsv:3: the label "eggs" is not one of the model's classes (ham, spam)`},
		{[]string{"evaluate", "--model", textModel, f.path("empty.tsv")}, "empty.tsv: holds no document"},
		{[]string{"evaluate", "--model", textModel}, "no documents to evaluate on: give a FILE"},
		{[]string{"evaluate", "--model", textModel, "--config", noTest}, "has no test set (neither source.test nor source.test_split)"},
		{[]string{"evaluate", "--model", textModel, "--images", images, "--labels", labels}, "is a text model; give it a file of labelled texts"},
		{[]string{"evaluate", "--model", textModel, "--images", images}, "--images and --labels go together"},
		{[]string{"evaluate", "--model", textModel, "--format", "xml", f.path("eggs.tsv")}, `source.format is "xml"`},
		{[]string{"evaluate", "--model", textModel, "--label", "spam", f.path("eggs.tsv")}, "want FOLDER=LABEL"},
		{[]string{"evaluate", "--model", imgModel, f.path("eggs.tsv")}, "is a model of mnist images, not of text: give the images with --images and --labels"},
		{[]string{"evaluate", "--model", imgModel}, "give the test images with --images FILE --labels FILE"},
		{[]string{"evaluate", "--model", imgModel, "--images", labels, "--labels", images}, "look swapped"},
		{[]string{"evaluate", "--model", f.path("none.db"), f.path("eggs.tsv")}, "does not exist"},
	} {
		_, err := run(t, "", c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error %v, want one line saying %q", c.args, err, c.want)
		}
	}
	// Two positional arguments do not parse.
	_, err := run(t, "", "evaluate", "--model", textModel, "a.tsv", "b.tsv")
	if exitStatus(err) != exitUsage {
		t.Errorf("two files: %v, want a usage error", err)
	}
}
