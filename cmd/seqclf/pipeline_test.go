package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/seqclf/seqclf/pipeline"
	"github.com/seqclf/seqclf/store"
)

// TestMain lets the tests run this test binary as the seqclf command: with SEQCLF_TEST_MAIN=1
// it is main.
func TestMain(m *testing.M) {
	if os.Getenv("SEQCLF_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const spamMini = "../../source/testdata/spamassassin-mini"

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPipelineRunAndClassify trains a tiny text model through the CLI on five real mails, then
// classifies standard input with it in each output format.
func TestPipelineRunAndClassify(t *testing.T) {
	out := t.TempDir()
	cfg := writeConfig(t, `seed: 42
output_dir: `+out+`
source: {kind: text, format: dir, train: `+spamMini+`, extensions: [.txt], test_split: 0.4,
         labels: {easy-ham-1: ham, spam-2: spam}}
tokenize: {unit: sentence}
vocab: {min_count: 1}
embed: {dim: 8}
lstm: {num_units: 8, time_step: 30}
train: {epochs: 2, batch_size: 8}
`)
	report, err := run(t, "", "pipeline", "run", cfg, "--set", "lstm.pooling=mean")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"test set: 2 documents", "accuracy", "confusion matrix"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	for _, f := range []string{pipeline.ModelFile, pipeline.MetricsFile, pipeline.CurvesFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	model := filepath.Join(out, pipeline.ModelFile)

	in := "Click here to claim your FREE prize now!!!\n\nThe meeting is moved to Tuesday.\r\nlast line without newline"
	got, err := run(t, in, "classify", "--model", model)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	line := regexp.MustCompile(`^(ham|spam)\t(0\.\d{4}|1\.0000)$`)
	if len(lines) != 4 {
		t.Fatalf("4 input lines gave %d output lines:\n%s", len(lines), got)
	}
	for _, l := range lines {
		if !line.MatchString(l) {
			t.Errorf("output line %q is not label<TAB>probability", l)
		}
	}
	got, err = run(t, in, "classify", "--model", model, "--top-k", "2", "--batch-size", "3")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		f := strings.Split(l, "\t")
		if len(f) != 4 || f[0] == f[2] {
			t.Errorf("--top-k 2 line %q: want two different labels with probabilities", l)
		}
	}
	got, err = run(t, in, "classify", "--model", model, "--json")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(got))
	n := 0
	for sc.Scan() {
		var obj struct {
			Label         string             `json:"label"`
			Probability   float64            `json:"probability"`
			Probabilities map[string]float64 `json:"probabilities"`
		}
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			t.Fatalf("--json line %q: %v", sc.Text(), err)
		}
		if len(obj.Probabilities) != 2 || obj.Probabilities[obj.Label] != obj.Probability {
			t.Errorf("--json line %q", sc.Text())
		}
		n++
	}
	if n != 4 {
		t.Errorf("--json wrote %d lines for 4 inputs", n)
	}

	summary, err := run(t, "", "model", "summary", model)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"text model, time_step 30, unit sentence", "classes (2): ham, spam", "4·8·(8+8)+4·8", "pooling mean"} {
		if !strings.Contains(summary, want) {
			t.Errorf("model summary lacks %q:\n%s", want, summary)
		}
	}
	if _, err := run(t, "", "classify", "--model", model, "--images", "x.idx"); err == nil || !strings.Contains(err.Error(), "text model") {
		t.Errorf("--images on a text model: %v", err)
	}
}

// TestPipelineRunStopAndResume starts training in a child process, interrupts it as Ctrl-C
// does, resumes it, and wants the model of an uninterrupted run.
func TestPipelineRunStopAndResume(t *testing.T) {
	const excerpt = "../../idx/testdata/mnist-t10k-20-"
	config := func(out string) string {
		return writeConfig(t, `output_dir: `+out+`
source: {kind: mnist, train_images: `+excerpt+`images-idx3-ubyte.gz, train_labels: `+excerpt+`labels-idx1-ubyte.gz, validation_split: 0.2}
lstm: {num_units: 8, time_step: 28}
train: {epochs: 150, batch_size: 4, learning_rate: 0.01, early_stopping_patience: 0}
`)
	}
	whole := t.TempDir()
	if _, err := run(t, "", "pipeline", "run", config(whole)); err != nil {
		t.Fatal(err)
	}

	parted := t.TempDir()
	cfg := config(parted)
	cmd := exec.Command(os.Args[0], "pipeline", "run", cfg)
	cmd.Env = append(os.Environ(), "SEQCLF_TEST_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "epoch 3/150") {
			cmd.Process.Signal(syscall.SIGINT)
			break
		}
	}
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
	}
	err = cmd.Wait()
	if err == nil || !strings.Contains(log.String(), "--resume") {
		t.Fatalf("interrupted run: exit %v, log:\n%s", err, log.String())
	}
	if _, err := run(t, "", "pipeline", "run", cfg, "--resume"); err != nil {
		t.Fatal(err)
	}
	read := func(dir string) [][]float32 {
		s, err := store.Open(filepath.Join(dir, pipeline.ModelFile))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		m, err := s.LoadModel()
		if err != nil {
			t.Fatal(err)
		}
		var w [][]float32
		for _, p := range m.LSTM.Params() {
			w = append(w, p.Value)
		}
		return w
	}
	a, b := read(whole), read(parted)
	if !slices.EqualFunc(a, b, slices.Equal) {
		t.Error("the resumed run's weights differ from the uninterrupted run's")
	}
}
