package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"

	"github.com/seqclf/seqclf/classify"
	"github.com/seqclf/seqclf/feed"
	"github.com/seqclf/seqclf/internal/progress"
	"github.com/seqclf/seqclf/internal/rng"
	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/report"
	"github.com/seqclf/seqclf/store"
	"github.com/seqclf/seqclf/train"
)

// RunOptions are the knobs of Run that are not part of the config.
type RunOptions struct {
	Resume   bool              // go on from the checkpoint in OUTPUT_DIR/model.db
	Log      io.Writer         // progress and notes (the CLI's standard error)
	Out      io.Writer         // the final report (the CLI's standard output)
	Progress []progress.Option // options of the progress display
	// CheckpointHook, when set, is called as each checkpoint's write begins and as it ends: a
	// crash test kills the process in between.
	CheckpointHook func(begin bool)
}

// RunResult is what a finished run produced.
type RunResult struct {
	Test      *report.Scores // nil without a test set
	History   report.History
	ModelPath string
}

// Files that Run writes into OUTPUT_DIR.
const (
	ModelFile   = "model.db"
	MetricsFile = "metrics.json"
	CurvesFile  = "curves.png"
)

// ErrNothingToResume is wrapped by the error of a run asked to resume when OUTPUT_DIR/model.db
// holds no checkpoint to go on from, or one of a finished run.
var ErrNothingToResume = errors.New("nothing to resume")

// A ResumeError says why a run cannot resume from OUTPUT_DIR/model.db.
type ResumeError struct {
	Path string
	// Finished is set when the checkpoint is that of a run that finished its epochs: raising
	// train.epochs trains on.
	Finished bool
	// Err wraps ErrNothingToResume, or a *ConfigError when the config differs from the
	// checkpoint's.
	Err error
}

func (e *ResumeError) Error() string { return e.Err.Error() }
func (e *ResumeError) Unwrap() error { return e.Err }

// Run trains and evaluates the model that cfg describes, writing OUTPUT_DIR/model.db (with a
// checkpoint after every epoch), metrics.json and curves.png. When ctx is cancelled it finishes
// the step under way, saves a checkpoint and returns a *train.Stopped wrapping
// train.ErrInterrupted.
//
// A run that fails leaves no partial output: before its first checkpoint it removes the
// model.db and the folders it created; after it, model.db holds the last checkpoint (which
// Resume goes on from) and no trained model. A new run (not Resume) replaces an earlier model
// in OUTPUT_DIR, and its metrics.json and curves.png, once its data has loaded.
func Run(ctx context.Context, cfg *Config, o RunOptions) (res *RunResult, err error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	path := filepath.Join(cfg.OutputDir, ModelFile)
	defer func() { err = inFile(err, cfg.file) }()
	made, err := mkdirAll(cfg.OutputDir)
	if err != nil {
		return nil, &ConfigError{Key: "output_dir", Msg: fmt.Sprintf("output_dir %s cannot be made: %v; set output_dir to a folder you can write", cfg.OutputDir, err)}
	}
	_, statErr := os.Stat(path)
	newFile := errors.Is(statErr, fs.ErrNotExist)
	var s *store.Store
	checkpointed := false // model.db holds a checkpoint, which a failure must keep
	defer func() {
		if s != nil {
			s.Close()
		}
		var stopped *train.Stopped
		if err == nil || checkpointed || errors.As(err, &stopped) && stopped.Checkpointed {
			return
		}
		if s != nil && newFile {
			os.Remove(path)
		}
		for i := len(made) - 1; i >= 0; i-- {
			os.Remove(made[i]) // only if empty
		}
	}()
	data, err := loadData(cfg, o.Log)
	if err != nil {
		return nil, err
	}
	// Loading leaves garbage (decompressors' tables, tokenizers' strings) whose pages would stay
	// resident through training: collect it and hand the pages back before the model's buffers.
	debug.FreeOSMemory()
	pooling, err := lstm.ParsePooling(cfg.LSTM.Pooling)
	if err != nil {
		return nil, &ConfigError{Key: "lstm.pooling", Msg: err.Error()}
	}
	model, err := lstm.New[float32](lstm.Config{
		InputDim: data.inputDim, NumUnits: cfg.LSTM.NumUnits, NumLayers: cfg.LSTM.NumLayers,
		Classes: len(data.classes), Pooling: pooling, Dropout: cfg.LSTM.Dropout, InputDropout: cfg.LSTM.InputDropout,
	}, rng.New(cfg.Seed, rng.Init))
	if err != nil {
		return nil, &ConfigError{Key: "lstm", Msg: err.Error()}
	}
	opt, err := newOptimizer(cfg.Train)
	if err != nil {
		return nil, err
	}
	emb, _ := data.trainFeatures.(*feed.Embeddings)
	st := train.NewState(model, opt, emb)
	if s, err = openRunStore(path, cfg, data, st, o.Resume); err != nil {
		return nil, err
	}
	checkpointed = o.Resume
	if !o.Resume {
		// The earlier run's report and curves describe the model this run replaces.
		for _, f := range []string{MetricsFile, CurvesFile} {
			if err := os.Remove(filepath.Join(cfg.OutputDir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("output_dir: %w", err)
			}
		}
	}
	if o.Resume {
		fmt.Fprintf(o.Log, "resuming %s at epoch %d, step %d\n", path, st.Epoch+1, st.Step)
	}
	fmt.Fprintf(o.Log, "model: %d LSTM layer(s) of %d units, %d inputs per step, %d classes: %d parameters\n",
		cfg.LSTM.NumLayers, cfg.LSTM.NumUnits, data.inputDim, len(data.classes), model.NumParams())

	job := &train.Job{
		Trainer: &train.Trainer{Model: model, Features: data.trainFeatures, Opt: opt, BatchSize: cfg.Train.BatchSize,
			Seed: cfg.Seed, Options: lstm.TrainOptions[float32]{ClipNorm: cfg.Train.ClipNorm}},
		Train: data.train, Val: data.val, Epochs: cfg.Train.Epochs, Patience: cfg.Train.EarlyStoppingPatience,
		Store: s, Checkpointed: o.Resume, Log: o.Log, Progress: o.Progress, CheckpointHook: o.CheckpointHook,
	}
	if err := train.Run(ctx, job, st); err != nil {
		var stopped *train.Stopped
		checkpointed = errors.As(err, &stopped) && stopped.Checkpointed || st.Epoch > 0 || st.Step > 0
		return nil, err
	}
	checkpointed = true

	res = &RunResult{History: st.History, ModelPath: path}
	if len(data.test) > 0 {
		if res.Test, err = evaluate(model, data, cfg.Train.BatchSize); err != nil {
			return nil, err
		}
		fmt.Fprintf(o.Out, "test set: %d documents\n", data.testDocs)
		if err := res.Test.WriteTable(o.Out); err != nil {
			return nil, err
		}
	}
	run, err := cfg.storedJSON()
	if err != nil {
		return nil, err
	}
	if err := st.SaveModel(s, data.classes, cfg.input(), run); err != nil {
		return nil, err
	}
	if err := report.WriteMetricsJSON(filepath.Join(cfg.OutputDir, MetricsFile), res.Test, &st.History); err != nil {
		return nil, err
	}
	if len(st.History.Epochs) > 0 {
		if err := st.History.WriteCurves(filepath.Join(cfg.OutputDir, CurvesFile)); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(o.Log, "wrote %s, %s and %s\n", path, MetricsFile, CurvesFile)
	return res, nil
}

// evaluate scores model on the test set, a document's answer combining its samples'.
func evaluate(model *lstm.Model[float32], data *dataset, batchSize int) (*report.Scores, error) {
	p := &classify.Predictor{Model: model, Features: data.testFeatures, BatchSize: max(batchSize, 256)}
	probs, _ := p.Predict(data.test)
	truth := make([]int, data.testDocs)
	for _, s := range data.test {
		truth[s.Doc] = s.Label
	}
	k := len(data.classes)
	probs = classify.CombineByDoc(probs, k, data.test, data.testDocs)
	pred := make([]int, data.testDocs)
	for d := range pred {
		pred[d] = classify.Argmax(probs[d*k : (d+1)*k])
	}
	return report.Evaluate(truth, pred, data.classes)
}

// mkdirAll makes dir and its missing parents, as os.MkdirAll does, and returns the folders it
// made, outermost first.
func mkdirAll(dir string) ([]string, error) {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || !errors.Is(err, fs.ErrNotExist) {
			break
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	slices.Reverse(missing)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return missing, nil
}

// newOptimizer returns the optimizer that train.optimizer names.
func newOptimizer(tc TrainConfig) (lstm.Optimizer[float32], error) {
	switch tc.Optimizer {
	case "adam":
		return lstm.NewAdam[float32](tc.LearningRate), nil
	case "adamw":
		return lstm.NewAdamW[float32](tc.LearningRate), nil
	case "sgd":
		return &lstm.SGD[float32]{LR: tc.LearningRate, Momentum: 0.9}, nil
	}
	return nil, &ConfigError{Key: "train.optimizer", Msg: fmt.Sprintf("train.optimizer is %q, want one of adam, adamw, sgd", tc.Optimizer)}
}

// openRunStore opens OUTPUT_DIR/model.db: for a new run it empties it and writes the config,
// the dictionary and the starting table; with resume it reads the checkpoint into st.
func openRunStore(path string, cfg *Config, data *dataset, st *train.State, resume bool) (*store.Store, error) {
	runJSON, err := cfg.storedJSON()
	if err != nil {
		return nil, err
	}
	if resume {
		if _, err := os.Stat(path); err != nil {
			return nil, &ResumeError{Path: path, Err: fmt.Errorf("%w: %s does not exist", ErrNothingToResume, path)}
		}
	}
	s, err := store.Create(path)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*store.Store, error) {
		s.Close()
		return nil, err
	}
	if resume {
		stored, err := s.RunConfig()
		if err != nil {
			return fail(&ResumeError{Path: path, Err: fmt.Errorf("%w: %s holds no run to go on with", ErrNothingToResume, path)})
		}
		if err := sameRun(stored, cfg); err != nil {
			return fail(&ResumeError{Path: path, Err: fmt.Errorf("%s: %w", path, err)})
		}
		found, err := st.Load(s)
		if err != nil {
			return fail(err)
		}
		if !found {
			return fail(&ResumeError{Path: path, Err: fmt.Errorf("%w: %s holds no checkpoint", ErrNothingToResume, path)})
		}
		if st.Done && st.Epoch >= cfg.Train.Epochs {
			return fail(&ResumeError{Path: path, Finished: true,
				Err: fmt.Errorf("%w: the training in %s has finished its %d epochs", ErrNothingToResume, path, st.Epoch)})
		}
		st.Done = false
		return s, nil
	}
	if err := s.StartRun(runJSON); err != nil {
		return fail(err)
	}
	if data.dict != nil {
		if err := s.PutVocab(data.dict.Vocab); err != nil {
			return fail(err)
		}
		if err := s.PutTable(data.dict.Table); err != nil {
			return fail(err)
		}
	}
	return s, nil
}

// sameRun returns an error naming the first key in which cfg differs from the stored run config,
// other than those a resumed run may change: the number of epochs, the patience, and the learning
// rate and clip norm (what a diverging run is resumed with).
func sameRun(stored []byte, cfg *Config) error {
	var old Config
	if err := json.Unmarshal(stored, &old); err != nil {
		return fmt.Errorf("%w: the stored config cannot be read (%v)", store.ErrNotStore, err)
	}
	now := *cfg
	old.Train.Epochs, old.Train.EarlyStoppingPatience = now.Train.Epochs, now.Train.EarlyStoppingPatience
	old.Train.LearningRate, old.Train.ClipNorm = now.Train.LearningRate, now.Train.ClipNorm
	a, b := flatten(old), flatten(now)
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range b {
			if !yield(k) {
				return
			}
		}
	})
	for _, key := range keys {
		if v := b[key]; fmt.Sprint(a[key]) != fmt.Sprint(v) {
			return &ConfigError{Key: key, Msg: fmt.Sprintf("%s is %v, but the checkpoint was trained with %v; resume with the same config", key, v, a[key])}
		}
	}
	return nil
}
