package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/seqclf/seqclf/internal/atomicfile"

	"go.yaml.in/yaml/v3"

	"github.com/seqclf/seqclf/internal/progress"
	"github.com/seqclf/seqclf/internal/rng"
	"github.com/seqclf/seqclf/report"
	"github.com/seqclf/seqclf/train"
)

// TuneOptions are the knobs of Tune that are not part of the config.
type TuneOptions struct {
	// Budget bounds the search's wall-clock time, the time spent by earlier runs of the same
	// search (stored in OUTPUT_DIR/tune/state.json) included; 0: no bound. The training of the
	// best config that follows the search is not counted.
	Budget time.Duration
	// Trials is the number of configs sampled; 0: 27. The configs and their order depend on
	// the seed and the space alone: the first 9 of 27 trials are the 9 of 9.
	Trials int
	// Eta is successive halving's factor: each rung keeps the best 1/Eta of its trials and
	// trains them on to Eta times the epochs; 0: 3.
	Eta int
	// MinEpochs is the epochs of the first rung; 0: 1. No rung goes beyond train.epochs.
	MinEpochs int
	// Objective ranks the trials: "accuracy" (or ""), the higher validation accuracy, ties
	// broken by the lower validation loss; or "loss", the lower validation loss alone. Each
	// trial's figures are those of its epoch of lowest validation loss, the weights its run
	// keeps.
	Objective string
	// Space is what is searched; nil: DefaultTuneSpace().
	Space *TuneSpace
	// NoFinalRun writes best.yaml without training it.
	NoFinalRun bool
	Log        io.Writer // the search's progress, one line a trial step
	Out        io.Writer // the leaderboard and the best config's test report
	// TrialLog, when set, receives the log of each trial's run (data, model, epochs).
	TrialLog io.Writer
	Progress []progress.Option // options of the trials' progress display on TrialLog

	// afterStep, when set, is called after each trial step is saved (tests cancel there).
	afterStep func(trial int)
}

// TuneSpace is what Tune searches: for each key, the values a trial draws from. A key without
// values (an empty list, a zero range) is not searched: every trial keeps the config's value.
type TuneSpace struct {
	// LearningRate is train.learning_rate's range, drawn log-uniformly and rounded to three
	// significant digits.
	LearningRate [2]float64 `json:"learning_rate"`
	NumUnits     []int      `json:"num_units"`
	// EmbedDim is searched for text sources without pretrained vectors.
	EmbedDim     []int     `json:"embed_dim"`
	InputDropout []float64 `json:"input_dropout"`
	// Dropout, between stacked layers, is searched when lstm.num_layers is 2 or more.
	Dropout       []float64 `json:"dropout"`
	Pooling       []string  `json:"pooling"`
	Bidirectional []bool    `json:"bidirectional"`
	Cell          []string  `json:"cell"`
	// WordDropout, lstm.word_dropout, is searched for text sources.
	WordDropout []float64 `json:"word_dropout"`
}

// DefaultTuneSpace returns the space `seqclf pipeline tune` searches.
func DefaultTuneSpace() TuneSpace {
	return TuneSpace{
		LearningRate:  [2]float64{3e-4, 5e-3},
		NumUnits:      []int{64, 128, 256},
		EmbedDim:      []int{50, 100, 200},
		InputDropout:  []float64{0, 0.1, 0.2, 0.3},
		Dropout:       []float64{0, 0.1, 0.2, 0.3},
		Pooling:       []string{"last", "mean", "max", "attention"},
		Bidirectional: []bool{false, true},
		Cell:          []string{"lstm", "gru"},
		WordDropout:   []float64{0, 0.1, 0.2, 0.3},
	}
}

// TuneResult is what a search found.
type TuneResult struct {
	// Keys are the searched keys, the leaderboard's columns between trial and epochs.
	Keys []string
	// Leaderboard holds the trials that finished a step, best first.
	Leaderboard []TuneTrial
	// Best is the config of the best trial, as BestPath holds it.
	Best     *Config
	BestPath string
	// Final is the run of the best config, with its test scores; nil with NoFinalRun. When
	// the run had already finished (a rerun of a finished search), Final.Finished is set and
	// Final.Test is read from its metrics.json.
	Final *RunResult
	// Spent is the search's time so far, earlier runs of it included.
	Spent time.Duration
	// Complete says the search ended by its own rule (one trial left, or the last rung
	// done) rather than by the budget.
	Complete bool
}

// TuneTrial is one row of the leaderboard.
type TuneTrial struct {
	ID     int      // from 1, in the order the configs were sampled
	Values []string // the values of TuneResult.Keys
	Epochs int      // epochs trained
	// ValLoss and ValAccuracy are those of the epoch of lowest validation loss, whose
	// weights the trial keeps; NaN when it diverged.
	ValLoss, ValAccuracy float64
	Seconds              float64 // wall-clock time of its runs
	Diverged             bool
}

// Files and folders of OUTPUT_DIR/tune.
const (
	tuneDir         = "tune"
	tuneStateFile   = "state.json"
	leaderboardFile = "leaderboard.csv"
	bestConfigFile  = "best.yaml"
	bestRunDir      = "best"
	trialsDir       = "trials"
	tuneVersion     = 1
)

// tuneState is OUTPUT_DIR/tune/state.json, written whole (temporary file and rename) after
// every change, so that a search killed at any moment goes on from it.
type tuneState struct {
	Version   int             `json:"version"`
	Config    json.RawMessage `json:"config"` // the user's config, as model.db stores one
	Trials    int             `json:"trials"`
	Eta       int             `json:"eta"`
	MinEpochs int             `json:"min_epochs"`
	Objective string          `json:"objective"`
	Space     TuneSpace       `json:"space"`
	Spent     float64         `json:"spent_seconds"`
	Rung      int             `json:"rung"` // the rung under way, from 0
	Done      bool            `json:"done"` // the search has ended by its own rule
	List      []*tuneTrial    `json:"trial_list"`
	// Final is the SHA-256 of the config whose run OUTPUT_DIR/tune/best holds, "" before one.
	Final string `json:"final_config_sha256,omitempty"`
}

// tuneTrial is a trial's record in the state.
type tuneTrial struct {
	ID     int               `json:"id"`
	Values map[string]string `json:"values"` // for a reader of the file; the config is redrawn from the seed
	Rung   int               `json:"rung"`   // the highest rung it reached
	Done   bool              `json:"done"`   // it finished that rung's step
	// Trained says it finished a step at all; then History is its run's, and the figures below
	// come from it.
	Trained     bool           `json:"trained"`
	History     report.History `json:"history"`
	Epochs      int            `json:"epochs"`
	ValLoss     float64        `json:"val_loss"`
	ValAccuracy float64        `json:"val_accuracy"`
	Seconds     float64        `json:"seconds"`
	// Stopped says early stopping ended it before its rung's epochs: it is not trained on.
	Stopped  bool `json:"stopped"`
	Diverged bool `json:"diverged"`
}

// level is the rung whose step the trial finished, -1 before its first.
func (t *tuneTrial) level() int {
	if t.Done {
		return t.Rung
	}
	return t.Rung - 1
}

// tuneKey is one searched key: how many values the space holds for it, and how a draw u in
// [0, 1) sets it in a config.
type tuneKey struct {
	key     string
	n       func(s *TuneSpace) int // 0: not searched
	applies func(c *Config) bool
	set     func(c *Config, s *TuneSpace, u float64)
	get     func(c *Config) string
}

func pick(n int, u float64) int { return min(int(u*float64(n)), n-1) }

// tuneKeys are the keys Tune searches, in the order of the draws and of the leaderboard.
var tuneKeys = []tuneKey{
	{"train.learning_rate",
		func(s *TuneSpace) int {
			if s.LearningRate[0] > 0 && s.LearningRate[1] >= s.LearningRate[0] {
				return 1
			}
			return 0
		},
		func(*Config) bool { return true },
		func(c *Config, s *TuneSpace, u float64) {
			lo, hi := math.Log(s.LearningRate[0]), math.Log(s.LearningRate[1])
			x, _ := strconv.ParseFloat(strconv.FormatFloat(math.Exp(lo+u*(hi-lo)), 'g', 3, 64), 64)
			c.Train.LearningRate = x
		},
		func(c *Config) string { return strconv.FormatFloat(c.Train.LearningRate, 'g', -1, 64) }},
	{"lstm.num_units", func(s *TuneSpace) int { return len(s.NumUnits) }, func(*Config) bool { return true },
		func(c *Config, s *TuneSpace, u float64) { c.LSTM.NumUnits = s.NumUnits[pick(len(s.NumUnits), u)] },
		func(c *Config) string { return strconv.Itoa(c.LSTM.NumUnits) }},
	{"embed.dim", func(s *TuneSpace) int { return len(s.EmbedDim) },
		func(c *Config) bool { return c.Source.Kind == "text" && c.Embed.Pretrained == "" },
		func(c *Config, s *TuneSpace, u float64) { c.Embed.Dim = s.EmbedDim[pick(len(s.EmbedDim), u)] },
		func(c *Config) string { return strconv.Itoa(c.Embed.Dim) }},
	{"lstm.input_dropout", func(s *TuneSpace) int { return len(s.InputDropout) }, func(*Config) bool { return true },
		func(c *Config, s *TuneSpace, u float64) {
			c.LSTM.InputDropout = s.InputDropout[pick(len(s.InputDropout), u)]
		},
		func(c *Config) string { return strconv.FormatFloat(c.LSTM.InputDropout, 'g', -1, 64) }},
	{"lstm.dropout", func(s *TuneSpace) int { return len(s.Dropout) }, func(c *Config) bool { return c.LSTM.NumLayers >= 2 },
		func(c *Config, s *TuneSpace, u float64) { c.LSTM.Dropout = s.Dropout[pick(len(s.Dropout), u)] },
		func(c *Config) string { return strconv.FormatFloat(c.LSTM.Dropout, 'g', -1, 64) }},
	{"lstm.pooling", func(s *TuneSpace) int { return len(s.Pooling) }, func(*Config) bool { return true },
		func(c *Config, s *TuneSpace, u float64) { c.LSTM.Pooling = s.Pooling[pick(len(s.Pooling), u)] },
		func(c *Config) string { return c.LSTM.Pooling }},
	{"lstm.bidirectional", func(s *TuneSpace) int { return len(s.Bidirectional) }, func(*Config) bool { return true },
		func(c *Config, s *TuneSpace, u float64) {
			c.LSTM.Bidirectional = s.Bidirectional[pick(len(s.Bidirectional), u)]
		},
		func(c *Config) string { return strconv.FormatBool(c.LSTM.Bidirectional) }},
	{"lstm.cell", func(s *TuneSpace) int { return len(s.Cell) }, func(*Config) bool { return true },
		func(c *Config, s *TuneSpace, u float64) { c.LSTM.Cell = s.Cell[pick(len(s.Cell), u)] },
		func(c *Config) string { return c.LSTM.Cell }},
	{"lstm.word_dropout", func(s *TuneSpace) int { return len(s.WordDropout) }, func(c *Config) bool { return c.Source.Kind == "text" },
		func(c *Config, s *TuneSpace, u float64) {
			c.LSTM.WordDropout = s.WordDropout[pick(len(s.WordDropout), u)]
		},
		func(c *Config) string { return strconv.FormatFloat(c.LSTM.WordDropout, 'g', -1, 64) }},
}

// sampleTrials returns the configs of n trials: cfg with the searched keys drawn from the Tune
// stream of its seed. Each trial takes one draw per key, searched or not, so that trial i is
// the same whatever n, and whatever keys apply to the config.
func sampleTrials(cfg *Config, space *TuneSpace, n int) ([]*Config, []tuneKey, error) {
	var keys []tuneKey
	for _, k := range tuneKeys {
		if k.n(space) > 0 && k.applies(cfg) {
			keys = append(keys, k)
		}
	}
	r := rng.New(cfg.Seed, rng.Tune)
	out := make([]*Config, n)
	for i := range out {
		c := *cfg
		for _, k := range tuneKeys {
			u := r.Float64()
			if k.n(space) > 0 && k.applies(cfg) {
				k.set(&c, space, u)
			}
		}
		if err := c.Validate(); err != nil {
			return nil, nil, fmt.Errorf("the search space gives trial %d a bad value: %w", i+1, err)
		}
		out[i] = &c
	}
	return out, keys, nil
}

// tuner is a search under way.
type tuner struct {
	cfg    *Config
	o      TuneOptions
	dir    string // OUTPUT_DIR/tune
	trials []*Config
	keys   []tuneKey
	maxEp  int // train.epochs: the last rung's epochs
	rungs  int // the number of rungs the search has when it runs to its end

	mu    sync.Mutex // guards st and its file, which a ticker also writes
	st    *tuneState
	base  float64   // st.Spent when this run started
	start time.Time // when this run started

	// pretrained keeps the trials' embed.pretrain vectors: trials that differ in the
	// model's and training's keys alone learn them once.
	pretrained PretrainCache
}

// errBudget stops the search when its budget is spent.
var errBudget = errors.New("the budget is spent")

// Tune searches for the best values of a few keys of cfg, on the validation split alone, and
// then trains the best config with its test set.
//
// It samples TuneOptions.Trials configs from the seed's Tune stream (DefaultTuneSpace: the
// learning rate, num_units, embed.dim, the dropouts, pooling, direction and cell) and runs
// successive halving on them: each trial trains MinEpochs epochs; the best 1/Eta go on to Eta
// times the epochs, from their checkpoints (Run with Resume), and so on until one trial is left
// or a rung reaches train.epochs. Best is by TuneOptions.Objective: by default the higher
// validation accuracy of the weights a trial keeps (its epoch of lowest validation loss), the
// lower loss breaking the ties that a small validation split makes; on Brown's 4,217 validation
// sentences the loss alone chose a small model that was 1.8 points less accurate on the test set
// than the hand-written config, whereas the accuracy is what the search is for. The
// config's early_stopping_patience holds within a trial: a trial it stops is ranked as it is,
// not trained on. Trials run with RunOptions.NoTest and without the config's test file or test
// images, which they never open; a source.test_split keeps its documents out of the trials'
// training and validation as in the final run.
//
// Everything lives in OUTPUT_DIR/tune: state.json (rewritten whole after every step, and every
// few seconds with the time spent), leaderboard.csv, trials/NNN (each trial's Run output; a
// trial dropped at a rung keeps only its metrics.json and curves.png), best.yaml (the full
// config of the best trial, output_dir OUTPUT_DIR/tune/best, for `seqclf pipeline run`) and
// best/ (its run). Calling Tune again with the same config and options goes on where a
// killed or cancelled search stopped, with the budget counting the time already spent; a
// search that has ended only rewrites its outputs (and finishes the final run if it was cut).
//
// When ctx is cancelled, the trial under way stops after its step with a checkpoint, the state
// is saved, and Tune returns an error wrapping train.ErrInterrupted. When the budget runs out
// it stops the trial under way the same way and ranks what has finished.
func Tune(ctx context.Context, cfg *Config, o TuneOptions) (*TuneResult, error) {
	t, err := openTuner(cfg, o)
	if err != nil {
		return nil, inFile(err, cfg.file)
	}
	complete := t.st.Done
	if !complete {
		err = t.search(ctx)
		switch {
		case errors.Is(err, errBudget):
			fmt.Fprintf(t.o.Log, "tune: the budget of %v is spent: ranking the trials that finished a step\n", t.o.Budget)
		case errors.Is(err, train.ErrInterrupted):
			return nil, fmt.Errorf("%w: the search stopped with its state saved in %s", train.ErrInterrupted, t.dir)
		case err != nil:
			return nil, err
		default:
			complete = true
		}
	}
	res, best, err := t.finish(complete)
	if err != nil {
		return nil, err
	}
	if o.NoFinalRun {
		return res, nil
	}
	res.Final, err = t.finalRun(ctx, best, res.Best)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// openTuner checks cfg and o, and reads the state of the search in OUTPUT_DIR/tune or starts one.
func openTuner(cfg *Config, o TuneOptions) (*tuner, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.TrialLog == nil {
		o.TrialLog = io.Discard
	}
	if o.Trials == 0 {
		o.Trials = 27
	}
	if o.Eta == 0 {
		o.Eta = 3
	}
	if o.MinEpochs == 0 {
		o.MinEpochs = 1
	}
	if o.Objective == "" {
		o.Objective = "accuracy"
	}
	space := DefaultTuneSpace()
	if o.Space != nil {
		space = *o.Space
	}
	switch {
	case o.Trials < 1:
		return nil, fmt.Errorf("tune: %d trials: want at least 1", o.Trials)
	case o.Objective != "accuracy" && o.Objective != "loss":
		return nil, fmt.Errorf("tune: objective %q: want accuracy or loss", o.Objective)
	case o.Eta < 2:
		return nil, fmt.Errorf("tune: eta is %d: want at least 2", o.Eta)
	case o.MinEpochs < 1:
		return nil, fmt.Errorf("tune: the first rung's epochs are %d: want at least 1", o.MinEpochs)
	case o.Budget < 0:
		return nil, fmt.Errorf("tune: the budget is %v: want a positive duration (or 0 for none)", o.Budget)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Source.ValidationSplit <= 0 {
		return nil, &ConfigError{Key: "source.validation_split", Msg: "source.validation_split is 0, but a search ranks its trials on the validation split: set it, as 0.1"}
	}
	if cfg.Train.Epochs < o.MinEpochs {
		return nil, &ConfigError{Key: "train.epochs", Msg: fmt.Sprintf("train.epochs is %d, fewer than the %d epochs of the search's first rung: it is the most a trial trains, raise it", cfg.Train.Epochs, o.MinEpochs)}
	}
	trials, keys, err := sampleTrials(cfg, &space, o.Trials)
	if err != nil {
		return nil, err
	}
	t := &tuner{cfg: cfg, o: o, dir: filepath.Join(cfg.OutputDir, tuneDir), trials: trials, keys: keys, maxEp: cfg.Train.Epochs}
	for n, k := o.Trials, 0; ; k++ {
		t.rungs++
		if n == 1 || t.rungEpochs(k) >= t.maxEp {
			break
		}
		n = max(1, n/o.Eta)
	}
	cfgJSON, err := cfg.storedJSON()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(t.dir, 0o755); err != nil {
		return nil, &ConfigError{Key: "output_dir", Msg: fmt.Sprintf("%s cannot be made: %v; set output_dir to a folder you can write", t.dir, err)}
	}
	statePath := filepath.Join(t.dir, tuneStateFile)
	t.start = time.Now()
	b, err := os.ReadFile(statePath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		t.st = &tuneState{Version: tuneVersion, Config: cfgJSON, Trials: o.Trials, Eta: o.Eta, MinEpochs: o.MinEpochs, Objective: o.Objective, Space: space}
		for i, c := range trials {
			t.st.List = append(t.st.List, &tuneTrial{ID: i + 1, Values: t.values(c)})
		}
		if err := t.save(); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("tune: %w", err)
	default:
		var st tuneState
		if err := json.Unmarshal(b, &st); err != nil || st.Version != tuneVersion {
			return nil, fmt.Errorf("tune: %s cannot be read (%v); remove %s to start a new search", statePath, err, t.dir)
		}
		if err := t.sameSearch(&st, cfg); err != nil {
			return nil, err
		}
		t.st, t.base = &st, st.Spent
		fmt.Fprintf(o.Log, "tune: going on with the search in %s: %v spent, rung %d of %d\n",
			t.dir, time.Duration(st.Spent*float64(time.Second)).Round(time.Second), st.Rung+1, t.rungs)
	}
	return t, nil
}

// sameSearch returns an error unless st is the state of a search of cfg with t's options.
func (t *tuner) sameSearch(st *tuneState, cfg *Config) error {
	again := fmt.Sprintf("run it with the same config and options, or remove %s to start a new search", t.dir)
	var old Config
	if err := json.Unmarshal(st.Config, &old); err != nil {
		return fmt.Errorf("tune: %s cannot be read (%v); remove %s to start a new search", filepath.Join(t.dir, tuneStateFile), err, t.dir)
	}
	a, b := flatten(old), flatten(*cfg)
	delete(a, "output_dir")
	for _, key := range slices.Sorted(func(yield func(string) bool) {
		for k := range b {
			if !yield(k) {
				return
			}
		}
	}) {
		if key != "output_dir" && fmt.Sprint(a[key]) != fmt.Sprint(b[key]) {
			return &ConfigError{Key: key, Msg: fmt.Sprintf("%s is %v, but the search in %s was started with %v: %s", key, b[key], t.dir, a[key], again)}
		}
	}
	if !reflect.DeepEqual(old.Source.Labels, cfg.Source.Labels) && len(old.Source.Labels)+len(cfg.Source.Labels) > 0 {
		return &ConfigError{Key: "source.labels", Msg: fmt.Sprintf("source.labels differ from those the search in %s was started with: %s", t.dir, again)}
	}
	space := DefaultTuneSpace()
	if t.o.Space != nil {
		space = *t.o.Space
	}
	switch {
	case st.Trials != t.o.Trials:
		return fmt.Errorf("tune: the search in %s was started with %d trials, not %d: %s", t.dir, st.Trials, t.o.Trials, again)
	case st.Objective != t.o.Objective:
		return fmt.Errorf("tune: the search in %s ranks by %s, not %s: %s", t.dir, st.Objective, t.o.Objective, again)
	case st.Eta != t.o.Eta || st.MinEpochs != t.o.MinEpochs:
		return fmt.Errorf("tune: the search in %s was started with eta %d and %d epochs in its first rung, not %d and %d: %s",
			t.dir, st.Eta, st.MinEpochs, t.o.Eta, t.o.MinEpochs, again)
	case !reflect.DeepEqual(st.Space, space):
		return fmt.Errorf("tune: the search in %s was started with another search space: %s", t.dir, again)
	case len(st.List) != len(t.trials):
		return fmt.Errorf("tune: %s lists %d trials, not %d; remove %s to start a new search", filepath.Join(t.dir, tuneStateFile), len(st.List), len(t.trials), t.dir)
	}
	return nil
}

// values returns the searched keys' values in c, by key.
func (t *tuner) values(c *Config) map[string]string {
	m := map[string]string{}
	for _, k := range t.keys {
		m[k.key] = k.get(c)
	}
	return m
}

// describe returns c's searched values as key=value pairs.
func (t *tuner) describe(c *Config) string {
	var parts []string
	for _, k := range t.keys {
		parts = append(parts, k.key+"="+k.get(c))
	}
	return strings.Join(parts, " ")
}

// rungEpochs returns the epochs a trial has trained at the end of rung k.
func (t *tuner) rungEpochs(k int) int {
	e := t.o.MinEpochs
	for range k {
		if e >= t.maxEp {
			break
		}
		e *= t.o.Eta
	}
	return min(e, t.maxEp)
}

// spent returns the search's time so far.
func (t *tuner) spent() float64 { return t.base + time.Since(t.start).Seconds() }

// left returns what is left of the budget, and false when there is no budget.
func (t *tuner) left() (time.Duration, bool) {
	if t.o.Budget == 0 {
		return 0, false
	}
	return t.o.Budget - time.Duration(t.spent()*float64(time.Second)), true
}

// save writes the state file whole, with the time spent; the caller holds t.mu or is alone.
func (t *tuner) save() error {
	t.st.Spent = t.spent()
	b, err := json.MarshalIndent(t.st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(t.dir, tuneStateFile), append(b, '\n'))
}

// update runs f on the state and saves it, under the lock the ticker takes.
func (t *tuner) update(f func()) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	f()
	return t.save()
}

// search runs successive halving from where the state stands until it ends (nil), the budget
// is spent (errBudget) or ctx is cancelled (train.ErrInterrupted).
func (t *tuner) search(ctx context.Context) error {
	for !t.st.Done {
		k := t.st.Rung
		epochs := t.rungEpochs(k)
		var members []*tuneTrial
		for _, tr := range t.st.List {
			if tr.Rung == k {
				members = append(members, tr)
			}
		}
		for _, tr := range members {
			if !tr.Done {
				if err := t.step(ctx, tr, k, epochs); err != nil {
					return err
				}
			}
		}
		if len(members) <= 1 || epochs >= t.maxEp {
			return t.update(func() { t.st.Done = true })
		}
		ranked := slices.Clone(members)
		slices.SortStableFunc(ranked, t.compare)
		keep := max(1, len(members)/t.o.Eta)
		err := t.update(func() {
			for _, tr := range ranked[:keep] {
				tr.Rung, tr.Done = k+1, false
			}
			t.st.Rung = k + 1
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(t.o.Log, "tune: rung %d done: trial(s) %s go on to %s\n", k+1, trialIDs(ranked[:keep]), epochsText(t.rungEpochs(k+1)))
		for _, tr := range ranked[keep:] {
			// Dropped: its figures are in the state; only the weights go.
			for _, f := range []string{CheckpointFile, ModelFile} {
				os.Remove(filepath.Join(t.trialDir(tr.ID), f))
			}
		}
	}
	return nil
}

func epochsText(n int) string {
	if n == 1 {
		return "1 epoch"
	}
	return fmt.Sprintf("%d epochs", n)
}

func trialIDs(ts []*tuneTrial) string {
	var s []string
	for _, tr := range ts {
		s = append(s, strconv.Itoa(tr.ID))
	}
	return strings.Join(s, ", ")
}

func (t *tuner) trialDir(id int) string {
	return filepath.Join(t.dir, trialsDir, fmt.Sprintf("%03d", id))
}

// trialConfig returns the config that trains trial id to epochs: its sampled values, its own
// output folder, and no test file (a test_split stays, to keep its documents out as the final
// run does).
func (t *tuner) trialConfig(id, epochs int) *Config {
	c := *t.trials[id-1]
	c.OutputDir = t.trialDir(id)
	c.Train.Epochs = epochs
	if c.Source.Test != "" {
		c.Source.Test, c.Source.TestSplit = "", 0
	}
	c.Source.TestImages, c.Source.TestLabels = "", ""
	return &c
}

// best returns the best trial that finished a step, nil if none has.
func (t *tuner) best() *tuneTrial {
	var b *tuneTrial
	for _, tr := range t.st.List {
		if tr.Trained && (b == nil || t.compare(tr, b) < 0) {
			b = tr
		}
	}
	return b
}

// step trains trial tr to the epochs of rung k and records its figures.
func (t *tuner) step(ctx context.Context, tr *tuneTrial, k, epochs int) error {
	if tr.Stopped || tr.Diverged {
		// Early stopping ended it, or it diverged: more epochs would change nothing.
		return t.update(func() { tr.Done = true })
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w before trial %d", train.ErrInterrupted, tr.ID)
	}
	runCtx := ctx
	left, bounded := t.left()
	if bounded {
		if left <= 0 {
			return errBudget
		}
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, left)
		defer cancel()
	}
	c := t.trialConfig(tr.ID, epochs)
	msg := fmt.Sprintf("tune: rung %d/%d (%s), trial %d of %d: %s", k+1, t.rungs, epochsText(epochs), tr.ID, len(t.trials), t.describe(c))
	if b := t.best(); b != nil {
		msg += fmt.Sprintf("; best so far: trial %d (val loss %.4f, val acc %.2f%%)", b.ID, b.ValLoss, 100*b.ValAccuracy)
	}
	if bounded {
		msg += fmt.Sprintf("; %v of the budget left", left.Round(time.Second))
	}
	fmt.Fprintln(t.o.Log, msg)

	// The time spent goes to the state file every few seconds, for a search killed mid-step.
	tick := time.NewTicker(5 * time.Second)
	stopTick := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-tick.C:
				t.update(func() {})
			case <-stopTick:
				return
			}
		}
	})
	start := time.Now()
	_, statErr := os.Stat(filepath.Join(c.OutputDir, CheckpointFile))
	res, err := Run(runCtx, c, RunOptions{Resume: statErr == nil, NoTest: true, Log: t.o.TrialLog, Progress: t.o.Progress, Pretrained: &t.pretrained})
	secs := time.Since(start).Seconds()
	tick.Stop()
	close(stopTick)
	wg.Wait()

	var hist *report.History
	if err == nil {
		hist = &res.History
		if res.Finished {
			// Finished in an earlier run that was killed before it could say so.
			if hist, err = readHistory(filepath.Join(c.OutputDir, MetricsFile)); err != nil {
				return err
			}
		}
	}
	var stopped *train.Stopped
	diverged := errors.As(err, &stopped) && errors.Is(err, train.ErrDiverged)
	if err != nil && !diverged {
		if uerr := t.update(func() { tr.Seconds += secs }); uerr != nil {
			return uerr
		}
		if errors.Is(err, train.ErrInterrupted) && ctx.Err() == nil {
			return errBudget
		}
		return err
	}
	if err := t.update(func() {
		tr.Seconds += secs
		tr.Done = true
		if diverged {
			tr.Diverged = true
			return
		}
		tr.Trained, tr.History = true, *hist
		tr.Epochs = len(hist.Epochs)
		tr.Stopped = tr.Epochs < epochs
		tr.ValLoss, tr.ValAccuracy = math.MaxFloat64, 0 // no validation figure: last
		if b, ok := hist.BestEpoch(); ok {
			tr.ValLoss, tr.ValAccuracy = b.ValLoss, b.ValAccuracy
		}
	}); err != nil {
		return err
	}
	if diverged {
		fmt.Fprintf(t.o.Log, "tune: trial %d diverged: %v\n", tr.ID, err)
	} else {
		fmt.Fprintf(t.o.Log, "tune: trial %d: %s, val loss %.4f, val acc %.2f%%, %.0fs\n", tr.ID, epochsText(tr.Epochs), tr.ValLoss, 100*tr.ValAccuracy, tr.Seconds)
	}
	if err := t.writeLeaderboard(); err != nil {
		return err
	}
	if t.o.afterStep != nil {
		t.o.afterStep(tr.ID)
	}
	return nil
}

// compareTrials orders trials best first: the higher rung finished, then not diverged, then (for
// the objective accuracy) the higher validation accuracy, then the lower validation loss, then
// the earlier trial.
func compareTrials(a, b *tuneTrial, objective string) int {
	if la, lb := a.level(), b.level(); la != lb {
		return lb - la
	}
	if a.Diverged != b.Diverged {
		if a.Diverged {
			return 1
		}
		return -1
	}
	if objective == "accuracy" && a.ValAccuracy != b.ValAccuracy {
		if a.ValAccuracy > b.ValAccuracy {
			return -1
		}
		return 1
	}
	if a.ValLoss != b.ValLoss {
		if a.ValLoss < b.ValLoss {
			return -1
		}
		return 1
	}
	return a.ID - b.ID
}

// compare orders trials by compareTrials with the search's objective.
func (t *tuner) compare(a, b *tuneTrial) int { return compareTrials(a, b, t.o.Objective) }

// leaderboard returns the trials that finished a step, best first.
func (t *tuner) leaderboard() []TuneTrial {
	var list []*tuneTrial
	for _, tr := range t.st.List {
		if tr.Trained || tr.Diverged {
			list = append(list, tr)
		}
	}
	slices.SortStableFunc(list, t.compare)
	var rows []TuneTrial
	for _, tr := range list {
		row := TuneTrial{ID: tr.ID, Epochs: tr.Epochs, ValLoss: tr.ValLoss, ValAccuracy: tr.ValAccuracy, Seconds: tr.Seconds, Diverged: tr.Diverged}
		if tr.Diverged {
			row.ValLoss, row.ValAccuracy = math.NaN(), math.NaN()
		}
		for _, k := range t.keys {
			row.Values = append(row.Values, k.get(t.trials[tr.ID-1]))
		}
		rows = append(rows, row)
	}
	return rows
}

// leaderboardHeader returns the leaderboard's columns.
func (t *tuner) leaderboardHeader() []string {
	h := []string{"rank", "trial"}
	for _, k := range t.keys {
		h = append(h, k.key)
	}
	return append(h, "epochs", "val_loss", "val_accuracy", "seconds")
}

// leaderboardRecords returns the leaderboard as text cells, header first.
func (t *tuner) leaderboardRecords() [][]string {
	recs := [][]string{t.leaderboardHeader()}
	for i, row := range t.leaderboard() {
		loss, acc := strconv.FormatFloat(row.ValLoss, 'f', 4, 64), strconv.FormatFloat(row.ValAccuracy, 'f', 4, 64)
		if row.Diverged {
			loss, acc = "diverged", ""
		}
		rec := append([]string{strconv.Itoa(i + 1), strconv.Itoa(row.ID)}, row.Values...)
		recs = append(recs, append(rec, strconv.Itoa(row.Epochs), loss, acc, strconv.FormatFloat(row.Seconds, 'f', 1, 64)))
	}
	return recs
}

// writeLeaderboard writes OUTPUT_DIR/tune/leaderboard.csv whole.
func (t *tuner) writeLeaderboard() error {
	t.mu.Lock()
	recs := t.leaderboardRecords()
	t.mu.Unlock()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.WriteAll(recs)
	if err := w.Error(); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(t.dir, leaderboardFile), buf.Bytes())
}

// finish writes the leaderboard and best.yaml and prints the leaderboard.
func (t *tuner) finish(complete bool) (*TuneResult, *tuneTrial, error) {
	if err := t.writeLeaderboard(); err != nil {
		return nil, nil, err
	}
	best := t.best()
	if best == nil {
		if slices.ContainsFunc(t.st.List, func(tr *tuneTrial) bool { return tr.Diverged }) {
			return nil, nil, fmt.Errorf("tune: every trial that finished a step diverged: lower the learning rate (train.learning_rate is searched from %g) or set train.clip_norm", t.st.Space.LearningRate[0])
		}
		return nil, nil, fmt.Errorf("tune: the budget of %v was spent before any trial finished its first %d epochs: give a larger budget", t.o.Budget, t.rungEpochs(0))
	}
	res := &TuneResult{Leaderboard: t.leaderboard(), Spent: time.Duration(t.st.Spent * float64(time.Second)), Complete: complete}
	for _, k := range t.keys {
		res.Keys = append(res.Keys, k.key)
	}
	tw := tabwriter.NewWriter(t.o.Out, 0, 0, 2, ' ', 0)
	for _, rec := range t.leaderboardRecords() {
		fmt.Fprintln(tw, strings.Join(rec, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return nil, nil, err
	}
	bc := *t.trials[best.ID-1]
	bc.OutputDir = filepath.Join(t.dir, bestRunDir)
	bc.Train.Epochs = best.Epochs
	res.Best, res.BestPath = &bc, filepath.Join(t.dir, bestConfigFile)
	head := fmt.Sprintf("The best config of `seqclf pipeline tune`: trial %d of %d, val loss %.4f, val accuracy %.4f after %d epochs.\n"+
		"Searched: %s.\nTrain it with: seqclf pipeline run %s", best.ID, len(t.trials), best.ValLoss, best.ValAccuracy, best.Epochs,
		strings.Join(res.Keys, ", "), res.BestPath)
	b, err := configYAML(&bc, head)
	if err != nil {
		return nil, nil, err
	}
	if err := atomicfile.Write(res.BestPath, b); err != nil {
		return nil, nil, err
	}
	how := "the search is complete"
	if !complete {
		how = "the budget ended the search: a rerun with a larger budget goes on"
	}
	fmt.Fprintf(t.o.Out, "best: trial %d, %s; %s; wrote %s and %s\n", best.ID, t.describe(&bc), how, res.BestPath, filepath.Join(t.dir, leaderboardFile))
	return res, best, nil
}

// finalRun trains the best config, with its test set, in OUTPUT_DIR/tune/best, going on from a
// run of it that was cut.
func (t *tuner) finalRun(ctx context.Context, best *tuneTrial, bc *Config) (*RunResult, error) {
	js, err := bc.storedJSON()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(js)
	if h := hex.EncodeToString(sum[:]); h != t.st.Final {
		// The run there, if any, is of another config (a search that went on with more budget).
		if err := os.RemoveAll(bc.OutputDir); err != nil {
			return nil, err
		}
		if err := t.update(func() { t.st.Final = h }); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(t.o.Log, "tune: training the best config, trial %d, with its test set in %s\n", best.ID, bc.OutputDir)
	res, err := Run(ctx, bc, RunOptions{Resume: true, Log: t.o.TrialLog, Out: t.o.Out, Progress: t.o.Progress, Pretrained: &t.pretrained})
	if errors.Is(err, train.ErrInterrupted) {
		return nil, fmt.Errorf("%w: the search is done and its state saved in %s; the best config's run stopped with a checkpoint", train.ErrInterrupted, t.dir)
	}
	if err != nil {
		// Not wrapped: the command's advice for a run (--resume) does not fit tune.
		return nil, fmt.Errorf("training %s: %v", filepath.Join(t.dir, bestConfigFile), err)
	}
	if res.Finished {
		var m struct {
			Test *report.Scores `json:"test"`
		}
		if b, err := os.ReadFile(filepath.Join(bc.OutputDir, MetricsFile)); err == nil && json.Unmarshal(b, &m) == nil {
			res.Test = m.Test
		}
	}
	if res.Test != nil {
		fmt.Fprintf(t.o.Out, "best config (trial %d): test accuracy %.4f\n", best.ID, res.Test.Accuracy)
	}
	return res, nil
}

// readHistory reads the epochs of a run's metrics.json.
func readHistory(path string) (*report.History, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tune: %w", err)
	}
	var h report.History
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("tune: %s: %w", path, err)
	}
	return &h, nil
}

// configYAML returns c as a YAML file that LoadConfig reads, its keys in the config's order,
// with head as its first comment.
func configYAML(c *Config, head string) ([]byte, error) {
	js, err := c.storedJSON()
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(js, &doc); err != nil {
		return nil, err
	}
	var block func(n *yaml.Node)
	block = func(n *yaml.Node) {
		n.Style = 0
		if n.Kind == yaml.MappingNode {
			// A null (an empty list or map) is what LoadConfig gives a key left out.
			kept := n.Content[:0]
			for i := 0; i+1 < len(n.Content); i += 2 {
				if v := n.Content[i+1]; !(v.Kind == yaml.ScalarNode && v.Tag == "!!null") {
					kept = append(kept, n.Content[i], v)
				}
			}
			n.Content = kept
		}
		for _, m := range n.Content {
			block(m)
		}
	}
	block(&doc)
	doc.Content[0].HeadComment = head
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}
