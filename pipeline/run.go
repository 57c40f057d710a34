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
	"strings"

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
	// Resume goes on from OUTPUT_DIR/checkpoint.db: after an interruption or a crash, or with
	// train.epochs raised. Without a checkpoint it starts the run from the beginning; on a run
	// that has finished its epochs it does nothing. So a job can retry with Resume set.
	Resume   bool
	Log      io.Writer         // progress and notes (the CLI's standard error)
	Out      io.Writer         // the final report (the CLI's standard output)
	Progress []progress.Option // options of the progress display
	// CheckpointHook, when set, is called as each checkpoint's write begins and as it ends: a
	// crash test kills the process in between.
	CheckpointHook func(begin bool)
	// NoTest leaves the test set alone: nothing is scored on it and the report has no test
	// scores (a tuning trial, which must see only the validation split).
	NoTest bool
	// Pretrained, if not nil, is shared by runs that may learn the same embed.pretrain vectors
	// (a tuning search's trials), so that they learn them once (PretrainCache).
	Pretrained *PretrainCache
}

// RunResult is what a run produced.
type RunResult struct {
	Test      *report.Scores // nil without a test set
	History   report.History
	ModelPath string
	// Finished is set when Resume found the run finished: nothing was trained or written.
	Finished bool
}

// Files that Run writes into OUTPUT_DIR.
const (
	// ModelFile is the trained model, for classifying: the dictionary, the table, the weights,
	// the config, the labels and the history, compacted.
	ModelFile = "model.db"
	// CheckpointFile is the training state beside it: the checkpoint of the last epoch (weights,
	// optimizer moments, best weights), which Resume goes on from.
	CheckpointFile = "checkpoint.db"
	MetricsFile    = "metrics.json"
	CurvesFile     = "curves.png"
)

// A ResumeError says why a run cannot resume from OUTPUT_DIR/checkpoint.db.
type ResumeError struct {
	Path string
	// Err wraps a *ConfigError when the config differs from the checkpoint's.
	Err error
}

func (e *ResumeError) Error() string { return e.Err.Error() }
func (e *ResumeError) Unwrap() error { return e.Err }

// Run trains and evaluates the model that cfg describes, with a checkpoint after every epoch in
// OUTPUT_DIR/checkpoint.db, and at the end writes OUTPUT_DIR/model.db, metrics.json and
// curves.png. When ctx is cancelled it finishes the step under way, saves a checkpoint and
// returns a *train.Stopped wrapping train.ErrInterrupted.
//
// An earlier model.db in OUTPUT_DIR keeps answering until the run has finished: the new one is
// written under a temporary name beside it and renamed over it, so a run that fails or is killed
// leaves it as it was. A run that fails before its first checkpoint removes the checkpoint.db
// and the folders it created.
func Run(ctx context.Context, cfg *Config, o RunOptions) (res *RunResult, err error) {
	defer func() { err = inFile(err, cfg.file) }()
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	modelPath := filepath.Join(cfg.OutputDir, ModelFile)
	ckPath := filepath.Join(cfg.OutputDir, CheckpointFile)
	made, err := mkdirAll(cfg.OutputDir)
	if err != nil {
		return nil, &ConfigError{Key: "output_dir", Msg: fmt.Sprintf("output_dir %s cannot be made: %v; set output_dir to a folder you can write", cfg.OutputDir, err)}
	}
	_, statErr := os.Stat(ckPath)
	newFile := errors.Is(statErr, fs.ErrNotExist)
	var ck *store.Store
	checkpointed := false // checkpoint.db holds a checkpoint, which a failure must keep
	defer func() {
		if ck != nil {
			ck.Close()
		}
		if err == nil || checkpointed {
			return
		}
		if ck != nil && newFile {
			os.Remove(ckPath)
		}
		for i := len(made) - 1; i >= 0; i-- {
			os.Remove(made[i]) // only if empty
		}
	}()
	runJSON, err := cfg.storedJSON()
	if err != nil {
		return nil, err
	}
	var saved *store.Checkpoint // the checkpoint to resume from
	if o.Resume {
		if newFile {
			fmt.Fprintf(o.Log, "resume: %s does not exist: starting the run from the beginning\n", ckPath)
		} else {
			if ck, err = store.Create(ckPath); err != nil {
				return nil, err
			}
			if saved, err = checkpointOf(ck, cfg); err != nil {
				return nil, err
			}
			if saved == nil {
				fmt.Fprintf(o.Log, "resume: %s holds no checkpoint yet: starting the run from the beginning\n", ckPath)
			} else if saved.State.Done && saved.State.Epoch >= cfg.Train.Epochs {
				if _, err := os.Stat(modelPath); err == nil {
					fmt.Fprintf(o.Log, "resume: the run in %s has finished its %d epochs, and %s is its model: nothing to do (raise train.epochs to train on)\n",
						cfg.OutputDir, saved.State.Epoch, modelPath)
					checkpointed = true
					return &RunResult{ModelPath: modelPath, Finished: true}, nil
				}
			}
		}
	}
	data, err := loadData(cfg, o.Log, o.Pretrained)
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
	cell, err := lstm.ParseCell(cfg.LSTM.Cell)
	if err != nil {
		return nil, &ConfigError{Key: "lstm.cell", Msg: err.Error()}
	}
	model, err := lstm.New[float32](lstm.Config{
		InputDim: data.inputDim, NumUnits: cfg.LSTM.NumUnits, NumLayers: cfg.LSTM.NumLayers,
		Classes: len(data.classes), Pooling: pooling, Dropout: cfg.LSTM.Dropout, InputDropout: cfg.LSTM.InputDropout, WordDropout: cfg.LSTM.WordDropout,
		Cell: cell, Bidirectional: cfg.LSTM.Bidirectional,
	}, rng.New(cfg.Seed, rng.Init))
	if err != nil {
		return nil, &ConfigError{Key: "lstm", Msg: err.Error()}
	}
	opt, err := newOptimizer(cfg.Train)
	if err != nil {
		return nil, err
	}
	var emb *feed.Embeddings
	if data.dict != nil {
		emb = data.trainFeatures.(*feed.Embeddings)
	}
	st := train.NewState(model, opt, emb)
	if ck == nil {
		if ck, err = store.Create(ckPath); err != nil {
			return nil, err
		}
	}
	if saved != nil {
		if err := st.Restore(saved); err != nil {
			return nil, fmt.Errorf("reading the checkpoint of %s: %w", ckPath, err)
		}
		checkpointed = true
		fmt.Fprintf(o.Log, "resuming %s at epoch %d, step %d\n", ckPath, st.Epoch+1, st.Step)
	} else if err := ck.StartRun(runJSON); err != nil {
		return nil, err
	}
	removeStale(cfg.OutputDir)
	dirs := ""
	if cfg.LSTM.Bidirectional {
		dirs = " bidirectional"
	}
	fmt.Fprintf(o.Log, "model: %d%s %s layer(s) of %d units, %d inputs per step, pooling %s, %d classes: %d parameters\n",
		cfg.LSTM.NumLayers, dirs, strings.ToUpper(cfg.LSTM.Cell), cfg.LSTM.NumUnits, data.inputDim, cfg.LSTM.Pooling, len(data.classes), model.NumParams())

	schedule, err := cfg.Train.schedule()
	if err != nil {
		return nil, err
	}
	weights, err := cfg.Train.ClassWeights.weights(data.classes, data.train)
	if err != nil {
		return nil, err
	}
	if weights != nil {
		fmt.Fprintf(o.Log, "class weights: %s\n", formatWeights(data.classes, weights))
	}
	job := &train.Job{
		Trainer: &train.Trainer{Model: model, Features: data.trainFeatures, Opt: opt, BatchSize: cfg.Train.BatchSize,
			Seed: cfg.Seed, Schedule: schedule, BucketByLength: cfg.Train.BucketByLength,
			Options: lstm.TrainOptions[float32]{ClipNorm: cfg.Train.ClipNorm, ClassWeights: weights,
				LabelSmoothing: cfg.Train.LabelSmoothing}},
		Train: data.train, Val: data.val, ValDocs: data.valDocs, Epochs: cfg.Train.Epochs, Patience: cfg.Train.EarlyStoppingPatience,
		Store: ck, Checkpointed: checkpointed, Log: o.Log, Progress: o.Progress, CheckpointHook: o.CheckpointHook,
	}
	if err := train.Run(ctx, job, st); err != nil {
		var stopped *train.Stopped
		checkpointed = errors.As(err, &stopped) && stopped.Checkpointed || st.Epoch > 0 || st.Step > 0
		return nil, err
	}
	checkpointed = true

	res = &RunResult{History: st.History, ModelPath: modelPath}
	if len(data.test) > 0 && !o.NoTest {
		if res.Test, err = evaluate(model, data, cfg.Train.BatchSize); err != nil {
			return nil, err
		}
		unit := "documents"
		if cfg.Source.Kind == "mnist" {
			unit = "images"
		}
		fmt.Fprintf(o.Out, "test set: %d %s\n", data.testDocs, unit)
		if err := res.Test.WriteTable(o.Out); err != nil {
			return nil, err
		}
	}
	if err := writeModel(modelPath, st, data, cfg.input(), runJSON); err != nil {
		return nil, err
	}
	if err := st.Finish(ck); err != nil {
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
	fmt.Fprintf(o.Log, "wrote %s, %s and %s\n", modelPath, MetricsFile, CurvesFile)
	return res, nil
}

// tmpModel starts the names of the model files being written in OUTPUT_DIR.
const tmpModel = "." + ModelFile + ".tmp-"

// writeModel writes the trained model to path: under a temporary name beside it, compacted,
// then renamed over it, so that a reader of path sees the earlier model or this one.
func writeModel(path string, st *train.State, data *dataset, in store.Input, run []byte) error {
	return store.WriteModelFile(path, tmpModel, func(s *store.Store) error {
		if data.dict != nil {
			if err := s.PutVocab(data.dict.Vocab); err != nil {
				return err
			}
			if err := s.PutTokenizer(in.Tokenize); err != nil {
				return err
			}
		}
		return st.SaveModel(s, data.classes, in, run)
	})
}

// removeStale removes the temporary model files of runs that were killed as they wrote one.
// The caller holds OUTPUT_DIR/checkpoint.db, so no other run of this folder is writing one.
func removeStale(dir string) {
	stale, _ := filepath.Glob(filepath.Join(dir, tmpModel+"*"))
	for _, p := range stale {
		os.Remove(p)
	}
}

// checkpointOf returns the checkpoint in ck of the run that cfg describes, nil if it holds none
// yet. It is an error for ck to hold the checkpoint of another config.
func checkpointOf(ck *store.Store, cfg *Config) (*store.Checkpoint, error) {
	stored, err := ck.RunConfig()
	if errors.Is(err, store.ErrMissing) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := sameRun(stored, cfg); err != nil {
		return nil, &ResumeError{Path: ck.Path(), Err: fmt.Errorf("%s: %w", ck.Path(), err)}
	}
	return ck.Checkpoint()
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

// newOptimizer returns the optimizer that train.optimizer names, with train.weight_decay: L2 for
// adam and sgd, decoupled for adamw.
func newOptimizer(tc TrainConfig) (lstm.Optimizer[float32], error) {
	switch tc.Optimizer {
	case "adam":
		o := lstm.NewAdam[float32](tc.LearningRate)
		o.WeightDecay = tc.WeightDecay
		return o, nil
	case "adamw":
		o := lstm.NewAdamW[float32](tc.LearningRate)
		o.WeightDecay = tc.WeightDecay
		return o, nil
	case "sgd":
		return &lstm.SGD[float32]{LR: tc.LearningRate, Momentum: 0.9, WeightDecay: tc.WeightDecay}, nil
	}
	return nil, &ConfigError{Key: "train.optimizer", Msg: fmt.Sprintf("train.optimizer is %q, want one of adam, adamw, sgd", tc.Optimizer)}
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
			return &ConfigError{Key: key, Msg: fmt.Sprintf("%s is %v, but the checkpoint was trained with %v", key, v, a[key])}
		}
	}
	return nil
}
