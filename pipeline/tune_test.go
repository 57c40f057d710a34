package pipeline

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seqclf/seqclf/train"
)

// tuneConfig is a tiny text config on testdata/tune (48 short documents of two topics), with
// test as its test file ("" for none).
func tuneConfig(t *testing.T, test string) *Config {
	cfg := DefaultConfig()
	cfg.OutputDir = t.TempDir()
	cfg.Source = SourceConfig{Kind: "text", Format: "tsv", Train: "testdata/tune/train.tsv", Test: test,
		ValidationSplit: 0.25, Slice: "rows"}
	cfg.Vocab.MinCount = 1
	cfg.Embed.Dim = 4
	cfg.LSTM = LSTMConfig{NumUnits: 4, NumLayers: 2, TimeStep: 16, Pooling: "last", Cell: "lstm"}
	cfg.Train.BatchSize, cfg.Train.Epochs, cfg.Train.LearningRate = 8, 3, 0.01
	return &cfg
}

// tinyTune searches 4 trials with eta 2 (rungs of 1, 2 and 3 epochs: 7 trial steps) over units
// and dimensions of 4 to 8.
func tinyTune() TuneOptions {
	return TuneOptions{Trials: 4, Eta: 2, NoFinalRun: true, Space: &TuneSpace{
		LearningRate: [2]float64{3e-3, 3e-2}, NumUnits: []int{4, 8}, EmbedDim: []int{4, 8},
		InputDropout: []float64{0, 0.2}, Dropout: []float64{0, 0.1},
		Pooling:       []string{"last", "mean", "max", "attention"},
		Bidirectional: []bool{false, true}, Cell: []string{"lstm", "gru"},
		WordDropout: []float64{0, 0.2},
	}}
}

// figures returns the leaderboard without its seconds, which differ from run to run.
func figures(rows []TuneTrial) []TuneTrial {
	out := make([]TuneTrial, len(rows))
	for i, r := range rows {
		r.Seconds = 0
		out[i] = r
	}
	return out
}

// TestTuneSameSeed checks that a seed gives the same trials, in the same order, whatever the
// number of trials, and the same leaderboard; another seed gives other trials.
func TestTuneSameSeed(t *testing.T) {
	cfg := tuneConfig(t, "")
	o := tinyTune()
	four, keys, err := sampleTrials(cfg, o.Space, 4)
	if err != nil {
		t.Fatal(err)
	}
	two, _, _ := sampleTrials(cfg, o.Space, 2)
	if !reflect.DeepEqual(two, four[:2]) {
		t.Error("the first 2 of 4 trials are not the 2 trials of a search of 2")
	}
	wantKeys := []string{"train.learning_rate", "lstm.num_units", "embed.dim", "lstm.input_dropout", "lstm.dropout",
		"lstm.pooling", "lstm.bidirectional", "lstm.cell", "lstm.word_dropout"}
	var got []string
	for _, k := range keys {
		got = append(got, k.key)
	}
	if !reflect.DeepEqual(got, wantKeys) {
		t.Errorf("searched keys %v, want %v", got, wantKeys)
	}
	other := *cfg
	other.Seed++
	if o2, _, _ := sampleTrials(&other, o.Space, 4); reflect.DeepEqual(o2, four) {
		t.Error("seeds 42 and 43 give the same trials")
	}

	a, err := Tune(context.Background(), cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	cfg2 := *cfg
	cfg2.OutputDir = t.TempDir()
	b, err := Tune(context.Background(), &cfg2, o)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Complete || len(a.Leaderboard) != 4 || a.Leaderboard[0].Epochs != 3 {
		t.Fatalf("a search of 4 trials: complete %v, %d ranked, the best trained %d epochs; want complete, 4, 3",
			a.Complete, len(a.Leaderboard), a.Leaderboard[0].Epochs)
	}
	if !reflect.DeepEqual(figures(a.Leaderboard), figures(b.Leaderboard)) {
		t.Errorf("the same seed gave two leaderboards:\n%+v\n%+v", a.Leaderboard, b.Leaderboard)
	}
	// Successive halving: 4 trials of 1 epoch, 2 of 2, 1 of 3.
	var epochs []int
	for _, r := range a.Leaderboard {
		epochs = append(epochs, r.Epochs)
	}
	if want := []int{3, 2, 1, 1}; !reflect.DeepEqual(epochs, want) {
		t.Errorf("epochs by rank %v, want %v (early stopping is off)", epochs, want)
	}
	// Dropped trials keep their figures, not their weights.
	for _, r := range a.Leaderboard[1:] {
		dir := filepath.Join(cfg.OutputDir, tuneDir, trialsDir, "00"+string(rune('0'+r.ID)))
		if _, err := os.Stat(filepath.Join(dir, CheckpointFile)); err == nil {
			t.Errorf("dropped trial %d keeps its checkpoint", r.ID)
		}
		if _, err := os.Stat(filepath.Join(dir, MetricsFile)); err != nil {
			t.Errorf("dropped trial %d: %v", r.ID, err)
		}
	}
	rows := readCSV(t, filepath.Join(cfg.OutputDir, tuneDir, leaderboardFile))
	if len(rows) != 5 || strings.Join(rows[0], ",") != "rank,trial,"+strings.Join(wantKeys, ",")+",epochs,val_loss,val_accuracy,seconds" {
		t.Errorf("leaderboard.csv:\n%v", rows)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestTuneResume interrupts a search twice, between two trial steps and in the middle of one,
// and checks that reruns go on without redoing a finished step and end with the leaderboard of
// an uninterrupted search.
func TestTuneResume(t *testing.T) {
	cfg := tuneConfig(t, "")
	want, err := Tune(context.Background(), cfg, tinyTune())
	if err != nil {
		t.Fatal(err)
	}

	cfg.OutputDir = t.TempDir()
	// First: cancelled after the third trial step.
	ctx, cancel := context.WithCancel(context.Background())
	o := tinyTune()
	steps := 0
	o.afterStep = func(int) {
		if steps++; steps == 3 {
			cancel()
		}
	}
	if _, err := Tune(ctx, cfg, o); !errors.Is(err, train.ErrInterrupted) {
		t.Fatalf("cancelled search: %v, want train.ErrInterrupted", err)
	}
	if steps != 3 {
		t.Errorf("%d steps after the cancel at the third", steps)
	}
	if rows := readCSV(t, filepath.Join(cfg.OutputDir, tuneDir, leaderboardFile)); len(rows) != 4 {
		t.Errorf("leaderboard.csv after 3 steps has %d rows, want a header and 3", len(rows))
	}

	// Second: cancelled in the middle of a step of the second rung, as it starts training.
	ctx, cancel = context.WithCancel(context.Background())
	o = tinyTune()
	runs, steps := 0, 0
	o.TrialLog = writerFunc(func(p []byte) {
		if strings.HasPrefix(string(p), "model:") {
			if runs++; runs == 3 { // the first step of the second rung (trial 4 was the one left)
				cancel()
			}
		}
	})
	o.afterStep = func(int) { steps++ }
	if _, err := Tune(ctx, cfg, o); !errors.Is(err, train.ErrInterrupted) {
		t.Fatalf("search cancelled mid-step: %v, want train.ErrInterrupted", err)
	}
	if steps != 2 {
		t.Errorf("%d steps finished before the cancel, want 2", steps)
	}

	// A rerun with other options is refused.
	bad := tinyTune()
	bad.Trials = 5
	if _, err := Tune(context.Background(), cfg, bad); err == nil || !strings.Contains(err.Error(), "4 trials") {
		t.Errorf("a rerun with 5 trials: %v, want an error naming the 4 the search has", err)
	}
	other := *cfg
	other.LSTM.TimeStep = 17
	var ce *ConfigError
	if _, err := Tune(context.Background(), &other, tinyTune()); !errors.As(err, &ce) || ce.Key != "lstm.time_step" {
		t.Errorf("a rerun with another config: %v, want a ConfigError naming lstm.time_step", err)
	}

	// Third: to the end.
	o = tinyTune()
	steps = 0
	o.afterStep = func(int) { steps++ }
	got, err := Tune(context.Background(), cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	if steps != 2 {
		t.Errorf("the last rerun made %d steps, want 2 (7 in all, 5 done before)", steps)
	}
	if !reflect.DeepEqual(figures(got.Leaderboard), figures(want.Leaderboard)) {
		t.Errorf("the resumed search ranks\n%+v\nan uninterrupted one\n%+v", got.Leaderboard, want.Leaderboard)
	}
	if got.Spent <= 0 || got.Spent < time.Duration(0) {
		t.Errorf("spent %v", got.Spent)
	}
	// A finished search, run again, trains nothing.
	o.afterStep = func(int) { t.Error("a finished search made a trial step") }
	if _, err := Tune(context.Background(), cfg, o); err != nil {
		t.Fatal(err)
	}
}

type writerFunc func(p []byte)

func (w writerFunc) Write(p []byte) (int, error) { w(p); return len(p), nil }

// TestTuneNeverReadsTest gives a test file that fails to parse: Run fails on it, the trials
// never open it.
func TestTuneNeverReadsTest(t *testing.T) {
	cfg := tuneConfig(t, "testdata/tune/test-unreadable.tsv")
	if _, err := Run(context.Background(), cfg, RunOptions{NoTest: true}); err == nil {
		t.Fatal("a run read testdata/tune/test-unreadable.tsv without an error: the test proves nothing")
	}
	o := tinyTune()
	o.Trials = 2
	res, err := Tune(context.Background(), cfg, o)
	if err != nil {
		t.Fatalf("a trial read the test file: %v", err)
	}
	if len(res.Leaderboard) != 2 {
		t.Errorf("%d trials ranked, want 2", len(res.Leaderboard))
	}
}

// TestTuneBestYAML checks best.yaml: LoadConfig reads it, with the best trial's values, its
// epochs and output_dir OUTPUT_DIR/tune/best, and the final run reports a test accuracy.
func TestTuneBestYAML(t *testing.T) {
	cfg := tuneConfig(t, "testdata/tune/test.tsv")
	cfg.LSTM.NumLayers = 1
	o := tinyTune()
	o.Trials, o.NoFinalRun = 2, false
	var out strings.Builder
	o.Out = &out
	res, err := Tune(context.Background(), cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(res.Keys, " "), "lstm.dropout") {
		t.Errorf("lstm.dropout searched with one layer: %v", res.Keys)
	}
	loaded, err := LoadConfig(res.BestPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	loaded.file = ""
	if !reflect.DeepEqual(loaded, res.Best) {
		t.Errorf("best.yaml reads as\n%+v\nwant\n%+v", loaded, res.Best)
	}
	best := res.Leaderboard[0]
	if loaded.OutputDir != filepath.Join(cfg.OutputDir, tuneDir, bestRunDir) || loaded.Train.Epochs != best.Epochs ||
		loaded.Source.Test != cfg.Source.Test {
		t.Errorf("best.yaml: output_dir %s, epochs %d, test %q", loaded.OutputDir, loaded.Train.Epochs, loaded.Source.Test)
	}
	for i, key := range res.Keys {
		if got := tuneValue(t, loaded, key); got != best.Values[i] {
			t.Errorf("best.yaml: %s is %s, the best trial's is %s", key, got, best.Values[i])
		}
	}
	if res.Final == nil || res.Final.Test == nil || math.IsNaN(res.Final.Test.Accuracy) {
		t.Fatalf("final run: %+v", res.Final)
	}
	if !strings.Contains(out.String(), "test accuracy") || !strings.Contains(out.String(), "val_loss") {
		t.Errorf("output lacks the leaderboard or the test accuracy:\n%s", out.String())
	}
	// Run again, the finished search trains nothing, and reports the same test accuracy.
	again, err := Tune(context.Background(), cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Final.Finished || again.Final.Test == nil || again.Final.Test.Accuracy != res.Final.Test.Accuracy {
		t.Errorf("a rerun of a finished search: final run %+v, want it Finished with the test accuracy %g", again.Final, res.Final.Test.Accuracy)
	}
}

func tuneValue(t *testing.T, c *Config, key string) string {
	for _, k := range tuneKeys {
		if k.key == key {
			return k.get(c)
		}
	}
	t.Fatalf("no key %s", key)
	return ""
}

// TestTuneBudget spends a budget too small for a step: the error says so, and trains nothing.
func TestTuneBudget(t *testing.T) {
	cfg := tuneConfig(t, "")
	o := tinyTune()
	o.Budget = time.Nanosecond
	var runs atomic.Int32
	o.TrialLog = writerFunc(func([]byte) { runs.Add(1) })
	if _, err := Tune(context.Background(), cfg, o); err == nil || !strings.Contains(err.Error(), "budget") {
		t.Errorf("budget of 1ns: %v, want an error about the budget", err)
	}
	if runs.Load() != 0 {
		t.Error("a trial ran with no budget left")
	}
	cfg.Source.ValidationSplit = 0
	var ce *ConfigError
	if _, err := Tune(context.Background(), cfg, tinyTune()); !errors.As(err, &ce) || ce.Key != "source.validation_split" {
		t.Errorf("no validation split: %v, want a ConfigError naming source.validation_split", err)
	}
}

// A search of four small configs on the 48 lines of testdata/tune, in a narrowed space: the
// learning rate, the sizes and the pooling. With Eta 2 the four train 1 epoch, the better two
// go on to 2, the better of those to 3 (train.epochs); then the best is trained with its test
// set. Calling Tune again with the same config and options would go on from OUTPUT_DIR/tune.
func ExampleTune() {
	dir, err := os.MkdirTemp("", "seqclf-tune")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg, err := LoadConfig("", []string{"output_dir=" + dir,
		"source.train=testdata/tune/train.tsv", "source.test=testdata/tune/test.tsv", "source.validation_split=0.25",
		"vocab.min_count=1", "lstm.time_step=16", "train.epochs=3", "train.batch_size=8"})
	if err != nil {
		log.Fatal(err)
	}
	space := TuneSpace{LearningRate: [2]float64{3e-3, 3e-2}, NumUnits: []int{4, 8}, EmbedDim: []int{4, 8},
		Pooling: []string{"last", "mean", "max"}}
	res, err := Tune(context.Background(), cfg, TuneOptions{Budget: time.Minute, Trials: 4, Eta: 2, Space: &space})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("searched:", res.Keys)
	fmt.Printf("%d trials ranked; the best trained %d epochs\n", len(res.Leaderboard), res.Leaderboard[0].Epochs)
	fmt.Printf("%s, tested on %d documents\n", filepath.Base(res.BestPath), res.Final.Test.Samples)
	// Output:
	// searched: [train.learning_rate lstm.num_units embed.dim lstm.pooling]
	// 4 trials ranked; the best trained 3 epochs
	// best.yaml, tested on 10 documents
}

// TestCompareTrials checks the two objectives: accuracy first with the loss breaking ties, or
// the loss alone; a trial of a higher rung, and one that did not diverge, come first whatever
// their figures.
func TestCompareTrials(t *testing.T) {
	done := func(id int, loss, acc float64) *tuneTrial {
		return &tuneTrial{ID: id, Done: true, Trained: true, ValLoss: loss, ValAccuracy: acc}
	}
	sharp, calm, tie := done(1, 2.30, 0.27), done(2, 2.24, 0.24), done(3, 2.20, 0.27)
	order := func(objective string, trials ...*tuneTrial) []int {
		list := slices.Clone(trials)
		slices.SortStableFunc(list, func(a, b *tuneTrial) int { return compareTrials(a, b, objective) })
		var ids []int
		for _, tr := range list {
			ids = append(ids, tr.ID)
		}
		return ids
	}
	if got := order("accuracy", sharp, calm, tie); !slices.Equal(got, []int{3, 1, 2}) {
		t.Errorf("accuracy: %v, want [3 1 2]", got)
	}
	if got := order("loss", sharp, calm, tie); !slices.Equal(got, []int{3, 2, 1}) {
		t.Errorf("loss: %v, want [3 2 1]", got)
	}
	higher := done(4, 9, 0)
	higher.Rung = 1
	diverged := done(5, 0, 1)
	diverged.Diverged = true
	if got := order("accuracy", diverged, sharp, higher); !slices.Equal(got, []int{4, 1, 5}) {
		t.Errorf("rungs and divergence: %v, want [4 1 5]", got)
	}
}
