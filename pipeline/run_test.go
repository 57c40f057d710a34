package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seqclf/seqclf/internal/progress"
	"github.com/seqclf/seqclf/store"
	"github.com/seqclf/seqclf/train"
)

func mnistConfig(t *testing.T) *Config {
	cfg := DefaultConfig()
	cfg.OutputDir = t.TempDir()
	cfg.Source = SourceConfig{Kind: "mnist", Slice: "rows", ValidationSplit: 0.2,
		TrainImages: "../idx/testdata/mnist-t10k-20-images-idx3-ubyte.gz", TrainLabels: "../idx/testdata/mnist-t10k-20-labels-idx1-ubyte.gz",
		TestImages: "../idx/testdata/mnist-t10k-20-images-idx3-ubyte.gz", TestLabels: "../idx/testdata/mnist-t10k-20-labels-idx1-ubyte.gz"}
	cfg.LSTM = LSTMConfig{NumUnits: 12, NumLayers: 2, TimeStep: 28, Pooling: "last", Dropout: 0.1}
	cfg.Train.BatchSize, cfg.Train.Epochs, cfg.Train.LearningRate = 4, 3, 0.01
	cfg.Train.Schedule, cfg.Train.EarlyStoppingPatience = "constant", 0
	return &cfg
}

func storedWeights(t *testing.T, path string) [][]float32 {
	t.Helper()
	s, err := store.Open(path)
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

// TestRunMNIST runs the whole pipeline on the 20 committed MNIST images and checks what it wrote.
func TestRunMNIST(t *testing.T) {
	cfg := mnistConfig(t)
	res, err := Run(context.Background(), cfg, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.History.Epochs) != 3 || res.Test == nil || res.Test.Samples != 20 {
		t.Fatalf("%d epochs, test report %+v", len(res.History.Epochs), res.Test)
	}
	var metrics struct {
		Test   struct{ Accuracy, MacroF1 float64 } `json:"test"`
		Epochs []struct {
			Epoch   int      `json:"epoch"`
			ValLoss *float64 `json:"val_loss"`
		} `json:"epochs"`
	}
	b, err := os.ReadFile(filepath.Join(cfg.OutputDir, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &metrics); err != nil {
		t.Fatal(err)
	}
	if len(metrics.Epochs) != 3 || metrics.Epochs[2].Epoch != 3 || metrics.Epochs[2].ValLoss == nil {
		t.Errorf("metrics.json epochs: %s", b)
	}
	f, err := os.Open(filepath.Join(cfg.OutputDir, CurvesFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(f); err != nil {
		t.Errorf("curves.png: %v", err)
	}
	f.Close()
	if w := storedWeights(t, res.ModelPath); len(w) != 6 {
		t.Errorf("stored model has %d parameters, want 6 (2 layers, head)", len(w))
	}
	// Resuming a finished run has nothing to do, and changes no file.
	before := outputFiles(t, cfg.OutputDir)
	var log strings.Builder
	res, err = Run(context.Background(), cfg, RunOptions{Resume: true, Log: &log})
	if err != nil || !res.Finished || !strings.Contains(log.String(), "nothing to do") {
		t.Errorf("resume after the end: %+v, %v, log %q; want Finished, saying there is nothing to do", res, err, log.String())
	}
	if after := outputFiles(t, cfg.OutputDir); !maps.Equal(before, after) {
		t.Errorf("resume after the end changed the output files:\n%v\n%v", before, after)
	}
}

// outputFiles returns each file of dir with its size, modification time and mode.
func outputFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = fmt.Sprintf("%x %v %v", sha256.Sum256(b), fi.ModTime().UnixNano(), fi.Mode())
	}
	return out
}

// TestRunInterruptedResumes stops a run in the middle of its second epoch, as Ctrl-C does, and
// resumes it: the model must be the one an uninterrupted run makes.
func TestRunInterruptedResumes(t *testing.T) {
	cfg := mnistConfig(t)
	if _, err := Run(context.Background(), cfg, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	want := storedWeights(t, filepath.Join(cfg.OutputDir, ModelFile))

	cfg.OutputDir = t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	clock := func() time.Time {
		// The progress display reads the clock at each epoch's start, each step and each end:
		// call 9 is in the second epoch, after its first step.
		if calls++; calls == 9 {
			cancel()
		}
		return time.Unix(0, 0)
	}
	_, err := Run(ctx, cfg, RunOptions{Progress: []progress.Option{progress.WithClock(clock)}})
	if !errors.Is(err, train.ErrInterrupted) || !strings.Contains(err.Error(), "epoch 2, step 2") {
		t.Fatalf("cancelled run: %v, want ErrInterrupted at epoch 2, step 2", err)
	}
	cfg2 := *cfg
	cfg2.LSTM.NumUnits = 13
	if _, err := Run(context.Background(), &cfg2, RunOptions{Resume: true}); err == nil || !strings.Contains(err.Error(), "lstm.num_units") {
		t.Errorf("resume with another num_units: %v, want an error naming lstm.num_units", err)
	}
	res, err := Run(context.Background(), cfg, RunOptions{Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.History.Epochs) != 3 {
		t.Errorf("resumed run has %d epochs of history, want 3", len(res.History.Epochs))
	}
	got := storedWeights(t, res.ModelPath)
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("parameter %d differs between the resumed and the uninterrupted run", i)
		}
	}
}

// TestRunText runs the text pipeline on five real SpamAssassin mails (testdata/spamassassin-mini).
func TestRunText(t *testing.T) {
	cfg := DefaultConfig()
	cfg.OutputDir = t.TempDir()
	cfg.Source = SourceConfig{Kind: "text", Format: "dir", Train: "../source/testdata/spamassassin-mini", TestSplit: 0.4,
		Extensions: []string{".txt"}, Labels: map[string]string{"easy-ham-1": "ham", "spam-2": "spam"}}
	cfg.Tokenize.Unit = "sentence"
	cfg.Vocab.MinCount = 1
	cfg.Embed.Dim = 8
	cfg.LSTM = LSTMConfig{NumUnits: 8, NumLayers: 1, TimeStep: 20, Pooling: "mean"}
	cfg.Train.Epochs, cfg.Train.BatchSize = 2, 16
	res, err := Run(context.Background(), &cfg, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Test == nil || res.Test.Samples != 2 || !slices.Equal(res.Test.Classes, []string{"ham", "spam"}) {
		t.Fatalf("test report %+v: want 2 of the 5 mails, classes ham and spam", res.Test)
	}
	s, err := store.Open(res.ModelPath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m, err := s.LoadModel()
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Vocab()
	if err != nil {
		t.Fatal(err)
	}
	if m.Table == nil || m.Table.Rows() != v.Len() || m.Table.Dim() != 8 {
		t.Errorf("stored table %v for a dictionary of %d", m.Table, v.Len())
	}
}

// storedCheckpoint returns a store's checkpoint.
func storedCheckpoint(t *testing.T, path string) *store.Checkpoint {
	t.Helper()
	s, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.Checkpoint()
	if err != nil || c == nil {
		t.Fatalf("checkpoint of %s: %v, %v", path, c, err)
	}
	return c
}

// TestRunDiverges trains two good epochs, then resumes with a learning rate of 1e38: training
// must stop with ErrDiverged, name the epoch and the way on, and leave the checkpoint of epoch 2
// byte for byte; resuming with the good rate must then give the weights of an uninterrupted
// run. With one step per epoch the diverging step is an epoch's last, whose loss (computed
// before the update) is finite: the weights' check catches it. Without a checkpoint, the run
// leaves nothing behind.
func TestRunDiverges(t *testing.T) {
	for _, c := range []struct {
		batchSize int
		want      string
	}{
		{4, `training diverged: epoch 3, step \d+: the loss is (NaN|[+-]Inf); .*checkpoint\.db keeps the checkpoint made after epoch 2$`},
		{16, `training diverged: epoch 3: the weights are no longer finite numbers after its last step; .*checkpoint\.db keeps the checkpoint made after epoch 2$`},
	} {
		cfg := mnistConfig(t)
		cfg.Source.TestImages, cfg.Source.TestLabels = "", ""
		cfg.Train.BatchSize, cfg.Train.Epochs = c.batchSize, 4
		uninterrupted := *cfg
		if _, err := Run(context.Background(), &uninterrupted, RunOptions{}); err != nil {
			t.Fatal(err)
		}
		want := storedWeights(t, filepath.Join(cfg.OutputDir, ModelFile))

		cfg.OutputDir = t.TempDir()
		path := filepath.Join(cfg.OutputDir, CheckpointFile)
		cfg.Train.Epochs = 2
		if _, err := Run(context.Background(), cfg, RunOptions{}); err != nil {
			t.Fatal(err)
		}
		good := storedCheckpoint(t, path)
		bad := *cfg
		bad.Train.Epochs, bad.Train.LearningRate = 4, 1e38
		_, err := Run(context.Background(), &bad, RunOptions{Resume: true})
		if !errors.Is(err, train.ErrDiverged) || !regexp.MustCompile(c.want).MatchString(err.Error()) {
			t.Fatalf("batch %d: %v, want ErrDiverged matching %q", c.batchSize, err, c.want)
		}
		if !reflect.DeepEqual(storedCheckpoint(t, path), good) {
			t.Errorf("batch %d: the diverged run changed the checkpoint", c.batchSize)
		}
		cfg.Train.Epochs = 4
		if _, err := Run(context.Background(), cfg, RunOptions{Resume: true}); err != nil {
			t.Fatal(err)
		}
		got := storedWeights(t, filepath.Join(cfg.OutputDir, ModelFile))
		for i := range want {
			if !slices.Equal(got[i], want[i]) {
				t.Errorf("batch %d: parameter %d differs from the uninterrupted run's after the diverged attempt", c.batchSize, i)
			}
		}
	}

	// Diverging before the first checkpoint: nothing left behind.
	cfg := mnistConfig(t)
	cfg.OutputDir = filepath.Join(t.TempDir(), "runs", "x")
	cfg.Train.LearningRate = 1e38
	_, err := Run(context.Background(), cfg, RunOptions{})
	var stopped *train.Stopped
	if !errors.Is(err, train.ErrDiverged) || !errors.As(err, &stopped) || stopped.Checkpointed || !strings.Contains(err.Error(), "no checkpoint was made before it") {
		t.Fatalf("diverging in epoch 1: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(cfg.OutputDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("diverging in epoch 1 left %s behind (%v)", filepath.Dir(cfg.OutputDir), err)
	}
}

// TestRerunKeepsTheModel trains a model, then runs again in the same output_dir: a run that is
// interrupted and one that diverges leave model.db byte for byte as it was, and it opens and
// answers while they train; a run that finishes replaces it, and no temporary file is left.
func TestRerunKeepsTheModel(t *testing.T) {
	cfg := mnistConfig(t)
	if _, err := Run(context.Background(), cfg, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(cfg.OutputDir, ModelFile)
	first := storedWeights(t, path)
	sum := func() [32]byte {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(b)
	}
	before := sum()

	again := *cfg
	again.Seed = 9
	ctx, cancel := context.WithCancel(context.Background())
	calls, opened := 0, false
	clock := func() time.Time {
		// In the second epoch, while this run holds checkpoint.db: the old model answers.
		if calls++; calls == 9 {
			if w := storedWeights(t, path); !slices.EqualFunc(w, first, slices.Equal) {
				t.Error("model.db changed while another run trained")
			}
			opened = true
			cancel()
		}
		return time.Unix(0, 0)
	}
	if _, err := Run(ctx, &again, RunOptions{Progress: []progress.Option{progress.WithClock(clock)}}); !errors.Is(err, train.ErrInterrupted) {
		t.Fatalf("interrupted rerun: %v", err)
	}
	if !opened || sum() != before {
		t.Errorf("an interrupted rerun changed model.db (opened during it: %v)", opened)
	}
	bad := again
	bad.Train.LearningRate = 1e38
	if _, err := Run(context.Background(), &bad, RunOptions{}); !errors.Is(err, train.ErrDiverged) {
		t.Fatalf("diverging rerun: %v", err)
	}
	if sum() != before {
		t.Error("a diverged rerun changed model.db")
	}
	if _, err := Run(context.Background(), &again, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if sum() == before || slices.EqualFunc(storedWeights(t, path), first, slices.Equal) {
		t.Error("a finished rerun with another seed left the old model")
	}
	if stale, _ := filepath.Glob(filepath.Join(cfg.OutputDir, ".*")); len(stale) > 0 {
		t.Errorf("temporary files left: %v", stale)
	}
}

// TestModelFileIsForInference checks that model.db holds the model and no training state (that
// is in checkpoint.db), within a tenth of its float32 values plus a few of bbolt's 1 KiB pages, and
// that a resumed run finds its checkpoint.
func TestModelFileIsForInference(t *testing.T) {
	cfg := DefaultConfig()
	cfg.OutputDir = t.TempDir()
	cfg.Source = SourceConfig{Kind: "text", Format: "dir", Train: "../source/testdata/spamassassin-mini",
		Extensions: []string{".txt"}, Labels: map[string]string{"easy-ham-1": "ham", "spam-2": "spam"}}
	cfg.Vocab.MinCount = 1
	cfg.Embed.Dim = 64
	cfg.LSTM = LSTMConfig{NumUnits: 32, NumLayers: 1, TimeStep: 40, Pooling: "last"}
	cfg.Train.Epochs, cfg.Train.BatchSize = 2, 4
	res, err := Run(context.Background(), &cfg, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(res.ModelPath)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.LoadModel()
	if err != nil {
		t.Fatal(err)
	}
	if c, err := s.Checkpoint(); c != nil || err != nil {
		t.Errorf("model.db holds a checkpoint (%v)", err)
	}
	s.Close()
	payload := int64(4 * (m.LSTM.NumParams() + len(m.Table.Data)))
	fi, err := os.Stat(res.ModelPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("model.db: %d bytes for %d bytes of float32 values", fi.Size(), payload)
	if limit := payload + payload/10 + 16*1024; fi.Size() > limit {
		t.Errorf("model.db is %d bytes for %d bytes of float32 values: more than %d", fi.Size(), payload, limit)
	}
	ck, err := store.Open(filepath.Join(cfg.OutputDir, CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	if c, err := ck.Checkpoint(); err != nil || c == nil || !c.State.Done || c.State.Epoch != 2 {
		t.Errorf("checkpoint.db: %+v, %v; want the finished state of 2 epochs", c, err)
	}
}

// TestValidationPerDocument trains with one LSTM run per sentence: validation must be scored
// per mail, as the test report is, so its accuracy is a whole number of the 2 validation mails.
func TestValidationPerDocument(t *testing.T) {
	cfg := DefaultConfig()
	cfg.OutputDir = t.TempDir()
	cfg.Source = SourceConfig{Kind: "text", Format: "dir", Train: "../source/testdata/spamassassin-mini", ValidationSplit: 0.4,
		Extensions: []string{".txt"}, Labels: map[string]string{"easy-ham-1": "ham", "spam-2": "spam"}}
	cfg.Tokenize.Unit = "sentence"
	cfg.Vocab.MinCount = 1
	cfg.Embed.Dim = 8
	cfg.LSTM = LSTMConfig{NumUnits: 8, NumLayers: 1, TimeStep: 20, Pooling: "max"}
	cfg.Train.Epochs, cfg.Train.BatchSize = 3, 16
	res, err := Run(context.Background(), &cfg, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.History.Epochs {
		if a := e.ValAccuracy; a != 0 && a != 0.5 && a != 1 {
			t.Errorf("epoch %d: validation accuracy %g, not a share of 2 mails", e.Epoch, a)
		}
	}
}

// TestResumeWithoutCheckpoint resumes in an empty output_dir, as a job retried after a crash
// that came before the first checkpoint does: the run starts from the beginning, says so, and
// makes the model an uninterrupted run makes.
func TestResumeWithoutCheckpoint(t *testing.T) {
	cfg := mnistConfig(t)
	if _, err := Run(context.Background(), cfg, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	want := storedWeights(t, filepath.Join(cfg.OutputDir, ModelFile))
	cfg.OutputDir = t.TempDir()
	var log strings.Builder
	if _, err := Run(context.Background(), cfg, RunOptions{Resume: true, Log: &log}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "starting the run from the beginning") {
		t.Errorf("the log does not say the run starts from the beginning:\n%s", log.String())
	}
	if got := storedWeights(t, filepath.Join(cfg.OutputDir, ModelFile)); !slices.EqualFunc(got, want, slices.Equal) {
		t.Error("a resumed run without a checkpoint made another model than a new run")
	}
}
