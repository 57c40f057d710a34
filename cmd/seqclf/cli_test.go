package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/store"
)

// run runs seqclf with args and stdin, returning what it wrote to standard output.
func run(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRoot(streams{in: strings.NewReader(stdin), out: &out, err: &errOut})
	root.SetArgs(args)
	err := execute(root)
	return out.String(), err
}

func TestTokenizeVerb(t *testing.T) {
	in := "Mr. Smith didn't pay $4.50. He left!\n\n我们用Go写LSTM。好的\n"
	out, err := run(t, in, "tokenize")
	if err != nil {
		t.Fatal(err)
	}
	want := "mr. smith did n't pay $ 4.50 .\nhe left !\n我 们 用 go 写 lstm 。\n好 的\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	out, err = run(t, "Paid 4.50 on 2002-08-22.\n", "tokenize", "--lowercase=false", "--numbers")
	if err != nil || out != "Paid <num> on <num> .\n" {
		t.Errorf("flags: %q %v", out, err)
	}
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cfg, []byte("tokenize: {lowercase: false, split_sentences: false}\n"), 0o644)
	out, err = run(t, "A b. C d.\n", "tokenize", "--config", cfg)
	if err != nil || out != "A b . C d .\n" {
		t.Errorf("--config: %q %v", out, err)
	}
	out, err = run(t, "A b. C d.\n", "tokenize", "--config", cfg, "--lowercase")
	if err != nil || out != "a b . c d .\n" {
		t.Errorf("--config with a flag: %q %v", out, err)
	}
}

func TestVocabBuildAndShow(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "runs", "model.db")
	out, err := run(t, "", "vocab", "build", "--input", "../../source/testdata/spamassassin-mini",
		"--format", "dir", "--extensions", ".txt", "--label", "easy-ham-1=ham", "--label", "spam-2=spam",
		"--min-count", "2", "--max-size", "50", "--dim", "8", "--out", store, "--top", "3",
		"--set", "source.validation_split=0")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"read 5 documents",
		"dictionary of 50 entries (min_count 2, max_size 50), embedding table 50×8",
		"dictionary: 50 entries (48 tokens + <pad> + <unk>)",
		"most frequent:\n       2  \":\"",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("build output lacks %q:\n%s", want, out)
		}
	}
	cov := regexp.MustCompile(`coverage:   ([0-9.]+)% of (\d+) corpus tokens; OOV rate ([0-9.]+)%`).FindStringSubmatch(out)
	if cov == nil {
		t.Fatalf("no coverage line:\n%s", out)
	}

	show, err := run(t, "", "vocab", "show", store, "--top", "3", "free", "Free", "zzzunseen")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		cov[0], // the same coverage, from the stored counts
		"embedding:  50×8, trainable true",
		"tokenize:   words, lowercase true",
		`"free": id `,
		`"Free": not in the dictionary; the model sees it lowercased, "free": id`,
		`"zzzunseen": not in the dictionary (encoded as <unk>, id 1)`,
	} {
		if !strings.Contains(show, want) {
			t.Errorf("show output lacks %q:\n%s", want, show)
		}
	}
}

func TestVocabBuildFromConfigWithTestSplit(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(`seed: 1
output_dir: `+dir+`/run
source:
  format: dir
  train: ../../source/testdata/spamassassin-mini
  extensions: [.txt]
  test_split: 0.4
  labels: {easy-ham-1: ham, spam-2: spam}
embed: {dim: 4, pretrained: ../../embed/testdata/glove-4d.txt}
vocab: {min_count: 1, max_size: 0}
`), 0o644)
	out, err := run(t, "", "vocab", "build", "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"read 3 documents", "left out: 0 for validation, 2 for testing, 0 repeating an earlier one (seed 1)",
		"pretrained ../../embed/testdata/glove-4d.txt: 7 vectors read", "wrote " + dir + "/run/model.db"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestVocabBuildMatchesPipelineRun builds a dictionary and table with vocab build and with
// pipeline run from one config (a fixed table, so that training leaves it as it started, and
// pretrained vectors): the two stores' dictionary and table buckets must be byte-identical.
func TestVocabBuildMatchesPipelineRun(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(`seed: 5
output_dir: `+dir+`/run
source:
  format: dir
  train: ../../source/testdata/spamassassin-mini
  extensions: [.txt]
  test_split: 0.2
  validation_split: 0.2
  labels: {easy-ham-1: ham, spam-2: spam}
embed: {dim: 4, pretrained: ../../embed/testdata/glove-4d.txt, trainable: false}
vocab: {min_count: 1, max_size: 40}
lstm: {num_units: 4, time_step: 16}
train: {epochs: 1, batch_size: 4}
`), 0o644)
	if _, err := run(t, "", "pipeline", "run", cfg); err != nil {
		t.Fatal(err)
	}
	built := filepath.Join(dir, "vocab.db")
	if _, err := run(t, "", "vocab", "build", "--config", cfg, "--out", built); err != nil {
		t.Fatal(err)
	}
	digest := func(path string) string {
		s, err := store.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		d, err := s.DictionaryDigest()
		if err != nil {
			t.Fatal(err)
		}
		if v, err := s.Vocab(); err != nil || v.Len() != 40 {
			t.Fatalf("%s: dictionary %v, %v; want 40 entries", path, v, err)
		}
		return d
	}
	ran, alone := digest(filepath.Join(dir, "run", "model.db")), digest(built)
	if ran != alone {
		t.Errorf("pipeline run and vocab build wrote different dictionaries or tables: %s and %s", ran, alone)
	}
	// Another seed draws another table: the digest sees the table.
	if _, err := run(t, "", "vocab", "build", "--config", cfg, "--out", built, "--set", "seed=6"); err != nil {
		t.Fatal(err)
	}
	if digest(built) == alone {
		t.Error("seed 6 gave the table of seed 5")
	}
	// A table learnt from the training text (embed.pretrain) is the same in both.
	pt := []string{"--set", "embed.pretrained=", "--set", "embed.pretrain=skipgram", "--set", "output_dir=" + dir + "/run-pt"}
	if _, err := run(t, "", append([]string{"pipeline", "run", cfg}, pt...)...); err != nil {
		t.Fatal(err)
	}
	learnt := filepath.Join(dir, "vocab-pt.db")
	if _, err := run(t, "", append([]string{"vocab", "build", "--config", cfg, "--out", learnt}, pt...)...); err != nil {
		t.Fatal(err)
	}
	if ran, alone2 := digest(filepath.Join(dir, "run-pt", "model.db")), digest(learnt); ran != alone2 || ran == alone {
		t.Errorf("embed.pretrain: pipeline run wrote %s, vocab build %s (GloVe's table %s): want the first two equal, not the third", ran, alone2, alone)
	}
}

func TestVocabErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"vocab", "build", "--out", dir + "/m.db"}, "no training data"},
		{[]string{"vocab", "build", "--input", "x.tsv"}, "no store to write"},
		{[]string{"vocab", "build", "--input", "x", "--out", "m.db", "--min-count", "two"}, "vocab.min_count"},
		{[]string{"vocab", "build", "--input", "x", "--out", "m.db", "--label", "spam"}, "want FOLDER=LABEL"},
		{[]string{"vocab", "build", "--input", dir + "/none.tsv", "--out", dir + "/m.db"}, "none.tsv"},
		{[]string{"vocab", "show", dir + "/none.db"}, "does not exist"},
	}
	for _, c := range cases {
		_, err := run(t, "", c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one saying %q", c.args, err, c.want)
		}
	}
	// A store with a trained model keeps its dictionary.
	trained := filepath.Join(dir, "trained.db")
	model, err := os.ReadFile("../../store/testdata/model-v2-text.db")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(trained, model, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = run(t, "", "vocab", "build", "--input", "../../source/testdata/spamassassin-mini", "--format", "dir", "--out", trained)
	if err == nil || !strings.Contains(err.Error(), "holds a trained model") {
		t.Errorf("overwriting a model's dictionary: %v", err)
	}
	// A store being written by another process: vocab show names the problem.
	path := filepath.Join(dir, "busy.db")
	w, err := store.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	_, err = run(t, "", "vocab", "show", path)
	if !errors.Is(err, store.ErrInUse) {
		t.Errorf("busy store: %v", err)
	}
}

// TestLowGCAfterOpen checks that classify lowers the GC target only once its model is open
// (the start-up allocates under Go's default) and that other verbs lower it before their work.
func TestLowGCAfterOpen(t *testing.T) {
	if os.Getenv("GOGC") != "" {
		t.Skip("GOGC is set: lowGC leaves the GC target alone")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, c := range []struct {
		stdin string
		args  []string
	}{
		{"", []string{"version"}},
		{"free money\n", []string{"classify", "--model", "../../store/testdata/model-v4-text.db"}},
	} {
		debug.SetGCPercent(100)
		if _, err := run(t, c.stdin, c.args...); err != nil {
			t.Fatal(err)
		}
		if got := debug.SetGCPercent(100); got != 25 {
			t.Errorf("%v: GC percent %d after the command, want 25", c.args, got)
		}
	}
	// A classify that fails to open its model has not lowered it.
	debug.SetGCPercent(100)
	if _, err := run(t, "", "classify", "--model", "none.db"); err == nil {
		t.Fatal("classify of a missing model succeeded")
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("classify without a model: GC percent %d, want Go's 100 untouched", got)
	}
}

func TestVersion(t *testing.T) {
	out, err := run(t, "", "version")
	isa, _ := lstm.Kernels()
	if err != nil || !strings.HasPrefix(out, "seqclf ") || !strings.Contains(out, "kernels "+isa) {
		t.Errorf("%q %v, want seqclf's version and kernels %s", out, err, isa)
	}
}

// TestTokenizeIDs prints the ids a saved model reads for each line: one output line per input
// line, one tab-separated run per sentence (the model reads sentences), ids in its dictionary.
func TestTokenizeIDs(t *testing.T) {
	in := "Congratulations, you won a FREE cruise! Click here now.\n\nunsubscribe\n"
	out, err := run(t, in, "tokenize", "--ids", "--model", "../../store/testdata/model-v3-text.db")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 || strings.Count(lines[0], "\t") != 1 || lines[2] == "" {
		t.Fatalf("got %q: want 3 lines, the first of two runs", out)
	}
	for _, f := range strings.Fields(out) {
		if id, err := strconv.Atoi(f); err != nil || id < 0 || id >= 300 {
			t.Errorf("id %q is not one of the model's 300", f)
		}
	}
	if _, err := run(t, in, "tokenize", "--ids"); err == nil {
		t.Error("--ids without --model ran")
	}
}
