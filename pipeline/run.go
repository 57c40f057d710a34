package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"time"

	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/vocab"
)

// ErrInterrupted is returned by Run when its context is cancelled: the step under way finished,
// the checkpoint was saved, and Run with Resume set goes on from there.
var ErrInterrupted = errors.New("training interrupted")

// ErrDiverged is returned by Run when the loss or the weights stop being finite numbers. The
// checkpoint of the last whole epoch is kept; Run with Resume set, and a lower learning rate or a
// clip norm, goes on from it.
var ErrDiverged = errors.New("training diverged")

// RunOptions are the knobs of Run that are not part of the config.
type RunOptions struct {
	Resume   bool             // go on from the checkpoint in OUTPUT_DIR/model.db
	Log      io.Writer        // progress and notes (the CLI's standard error)
	Out      io.Writer        // the final report (the CLI's standard output)
	Progress []ProgressOption // options of the progress display
}

// RunResult is what a finished run produced.
type RunResult struct {
	Test      *Report // nil without a test set
	History   History
	ModelPath string
}

// Files that Run writes into OUTPUT_DIR.
const (
	ModelFile   = "model.db"
	MetricsFile = "metrics.json"
	CurvesFile  = "curves.png"
)

// Seeds' second words: each use of the config's seed draws from a stream of its own.
const (
	streamInit = 0x1417
)

// dataset is the data of a run, encoded.
type dataset struct {
	classes          []string
	train, val, test []Sample
	testDocs         int // the test set's documents: with unit sentence, fewer than its samples
	inputDim         int
	trainFeatures    Features
	testFeatures     Features
	vocab            *vocab.Vocab // text only
	table            *embed.Table // text only
}

// Run trains and evaluates the model that cfg describes, writing OUTPUT_DIR/model.db (with a
// checkpoint after every epoch), metrics.json and curves.png. When ctx is cancelled it finishes
// the step under way, saves a checkpoint and returns ErrInterrupted.
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
	made, err := mkdirAll(cfg.OutputDir)
	if err != nil {
		return nil, fmt.Errorf("output_dir %s cannot be made: %w; set output_dir to a folder you can write", cfg.OutputDir, err)
	}
	_, statErr := os.Stat(path)
	newFile := errors.Is(statErr, fs.ErrNotExist)
	var store *Store
	checkpointed := false // model.db holds a checkpoint, which a failure must keep
	defer func() {
		if store != nil {
			store.Close()
		}
		if err == nil || checkpointed {
			return
		}
		if store != nil && newFile {
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
		return nil, fmt.Errorf("%w: lstm.pooling: %v", ErrConfig, err)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, streamInit))
	model, err := lstm.New[float32](lstm.Config{
		InputDim: data.inputDim, NumUnits: cfg.LSTM.NumUnits, NumLayers: cfg.LSTM.NumLayers,
		Classes: len(data.classes), Pooling: pooling, Dropout: cfg.LSTM.Dropout, InputDropout: cfg.LSTM.InputDropout,
	}, rng)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	opt, err := newOptimizer(cfg.Train)
	if err != nil {
		return nil, err
	}
	st := &trainState{model: model, opt: opt}
	st.setBestValLoss(math.Inf(1))
	if f, ok := data.trainFeatures.(*EmbedFeatures); ok {
		st.emb = f
	}

	if store, err = openRunStore(path, cfg, data, st, o.Resume); err != nil {
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
	// kept says what model.db holds after a failure, and how to go on.
	kept := func() string {
		if !checkpointed {
			return "no checkpoint was made before it; lower train.learning_rate or set train.clip_norm and run again"
		}
		at := fmt.Sprintf("made after epoch %d", st.Epoch)
		if st.Step > 0 {
			at = fmt.Sprintf("made at epoch %d, step %d", st.Epoch+1, st.Step)
		}
		return fmt.Sprintf("%s keeps the checkpoint %s; lower train.learning_rate or set train.clip_norm and go on with --resume", path, at)
	}
	if o.Resume {
		fmt.Fprintf(o.Log, "resuming %s at epoch %d, step %d\n", path, st.Epoch+1, st.Step)
	}
	fmt.Fprintf(o.Log, "model: %d LSTM layer(s) of %d units, %d inputs per step, %d classes: %d parameters\n",
		cfg.LSTM.NumLayers, cfg.LSTM.NumUnits, data.inputDim, len(data.classes), model.NumParams())

	trainer := &Trainer{
		Model: model, Features: data.trainFeatures, Opt: opt, BatchSize: cfg.Train.BatchSize, Seed: cfg.Seed,
		Options: lstm.TrainOptions[float32]{ClipNorm: cfg.Train.ClipNorm},
	}
	val := &Predictor{Model: model, Features: data.trainFeatures, BatchSize: max(cfg.Train.BatchSize, 256)}
	progress := NewProgress(o.Log, o.Progress...)
	epochs, bs := cfg.Train.Epochs, cfg.Train.BatchSize
	for st.Epoch < epochs {
		progress.Start(st.Epoch+1, epochs, len(data.train))
		if st.Step > 0 {
			progress.Update(min(st.Step*bs, len(data.train)), math.NaN())
		}
		start := time.Now()
		res, err := trainer.Epoch(ctx, data.train, st.Epoch, st.Step, func(step int, loss float64) {
			progress.Update(min(step*bs, len(data.train)), loss)
		})
		if err != nil {
			progress.Finish("")
			if errors.Is(err, ErrDiverged) {
				return nil, fmt.Errorf("%w; %s", err, kept())
			}
			return nil, err
		}
		if !st.finite() {
			progress.Finish("")
			return nil, fmt.Errorf("%w: epoch %d: the weights are no longer finite numbers after its last step; %s", ErrDiverged, st.Epoch+1, kept())
		}
		if res.Stopped {
			st.Step = res.Steps
			progress.Finish("")
			if err := st.saveCheckpoint(store); err != nil {
				return nil, err
			}
			checkpointed = true
			return nil, fmt.Errorf("%w at epoch %d, step %d: the checkpoint is in %s; go on with --resume", ErrInterrupted, st.Epoch+1, st.Step, path)
		}
		secs := time.Since(start).Seconds()
		stats := EpochStats{Epoch: st.Epoch + 1, TrainLoss: res.Loss, TrainAccuracy: res.Accuracy,
			ValLoss: math.NaN(), ValAccuracy: math.NaN(), Seconds: secs, SamplesPerSec: float64(res.Samples) / secs}
		summary := ""
		improved := len(data.val) == 0
		if len(data.val) > 0 {
			probs, loss := val.Predict(data.val)
			stats.ValLoss = loss
			stats.ValAccuracy = float64(countCorrect(probs, labelsOf(data.val), len(data.classes))) / float64(len(data.val))
			summary = fmt.Sprintf("val loss %.4f  val acc %.2f%%", loss, 100*stats.ValAccuracy)
			improved = loss < st.bestValLoss()
		}
		st.history.Add(stats)
		st.Epoch, st.Step = st.Epoch+1, 0
		if improved {
			st.setBestValLoss(stats.ValLoss)
			st.BadEpochs = 0
			if len(data.val) > 0 {
				st.keepBest()
			}
		} else {
			st.BadEpochs++
		}
		if err := st.saveCheckpoint(store); err != nil {
			return nil, err
		}
		checkpointed = true
		progress.Finish(summary)
		if p := cfg.Train.EarlyStoppingPatience; p > 0 && st.BadEpochs >= p {
			fmt.Fprintf(o.Log, "early stopping: no lower validation loss in %d epochs\n", p)
			break
		}
	}
	if st.best != nil {
		if best, ok := st.history.BestEpoch(); ok && best.Epoch != len(st.history.Epochs) {
			fmt.Fprintf(o.Log, "keeping the weights of epoch %d, the lowest validation loss (%.4f)\n", best.Epoch, best.ValLoss)
		}
		st.restoreBest()
	}

	res = &RunResult{History: st.history, ModelPath: path}
	if len(data.test) > 0 {
		p := &Predictor{Model: model, Features: data.testFeatures, BatchSize: max(cfg.Train.BatchSize, 256)}
		probs, _ := p.Predict(data.test)
		truth := make([]int, data.testDocs)
		for _, s := range data.test {
			truth[s.Doc] = s.Label
		}
		probs = CombineByDoc(probs, data.test, data.testDocs, len(data.classes))
		pred := make([]int, data.testDocs)
		for d := range pred {
			pred[d] = argmax(probs[d*len(data.classes) : (d+1)*len(data.classes)])
		}
		if res.Test, err = Evaluate(truth, pred, data.classes); err != nil {
			return nil, err
		}
		fmt.Fprintf(o.Out, "test set: %d documents\n", data.testDocs)
		if err := res.Test.WriteTable(o.Out); err != nil {
			return nil, err
		}
	}
	if err := saveModel(store, st, data.classes, cfg); err != nil {
		return nil, err
	}
	if err := WriteMetricsJSON(filepath.Join(cfg.OutputDir, MetricsFile), res.Test, &st.history); err != nil {
		return nil, err
	}
	if len(st.history.Epochs) > 0 {
		if err := st.history.WriteCurves(filepath.Join(cfg.OutputDir, CurvesFile)); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(o.Log, "wrote %s, %s and %s\n", path, MetricsFile, CurvesFile)
	return res, nil
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
	return nil, fmt.Errorf("%w: train.optimizer is %q, want one of adam, adamw, sgd", ErrConfig, tc.Optimizer)
}

// openRunStore opens OUTPUT_DIR/model.db: for a new run it empties it and writes the config,
// the dictionary and the starting table; with resume it reads the checkpoint into st.
func openRunStore(path string, cfg *Config, data *dataset, st *trainState, resume bool) (*Store, error) {
	runJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	if resume {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("--resume: %s does not exist; run without --resume to start training", path)
		}
	}
	s, err := CreateStore(path)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Store, error) {
		s.Close()
		return nil, err
	}
	if resume {
		var stored []byte
		s.View(func(tx *StoreTx) error { stored = tx.Get(BucketConfig, keyRun); return nil })
		if err := sameRun(stored, cfg); err != nil {
			return fail(fmt.Errorf("--resume: %s: %w", path, err))
		}
		found, err := st.loadCheckpoint(s)
		if err != nil {
			return fail(err)
		}
		if !found {
			return fail(fmt.Errorf("--resume: %s holds no checkpoint; run without --resume to start training", path))
		}
		if st.Done && st.Epoch >= cfg.Train.Epochs {
			return fail(fmt.Errorf("--resume: the training in %s has finished its %d epochs; raise train.epochs to train on, or run without --resume to start again", path, st.Epoch))
		}
		st.Done = false
		return s, nil
	}
	err = s.Update(func(tx *StoreTx) error {
		for _, b := range []string{BucketConfig, BucketLabels, BucketWeights, BucketCheckpoint, BucketHistory} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return tx.Put(BucketConfig, keyRun, runJSON)
	})
	if err != nil {
		return fail(fmt.Errorf("%s: %w", path, err))
	}
	if data.vocab != nil {
		if err := s.PutVocab(data.vocab); err != nil {
			return fail(err)
		}
		if err := s.PutTable(data.table); err != nil {
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
		return fmt.Errorf("%w: the stored config cannot be read (%v)", ErrNotStore, err)
	}
	now := *cfg
	old.Train.Epochs, old.Train.EarlyStoppingPatience = now.Train.Epochs, now.Train.EarlyStoppingPatience
	old.Train.LearningRate, old.Train.ClipNorm = now.Train.LearningRate, now.Train.ClipNorm
	a, b := flatten(old), flatten(now)
	for key, v := range b {
		if fmt.Sprint(a[key]) != fmt.Sprint(v) {
			return fmt.Errorf("%w: %s is %v, but the checkpoint was trained with %v; resume with the same config", ErrConfig, key, v, a[key])
		}
	}
	return nil
}

// loadData reads and encodes the run's data.
func loadData(cfg *Config, log io.Writer) (*dataset, error) {
	if cfg.Source.Kind == "mnist" {
		return loadMNIST(cfg, log)
	}
	return loadText(cfg, log)
}

func loadMNIST(cfg *Config, log io.Writer) (*dataset, error) {
	sc := cfg.Source
	slice, err := ParseSlice(sc.Slice)
	if err != nil {
		return nil, fmt.Errorf("%w: source.slice: %v", ErrConfig, err)
	}
	for key, p := range map[string]string{"source.train_images": sc.TrainImages, "source.train_labels": sc.TrainLabels} {
		if p == "" {
			return nil, fmt.Errorf("%w: %s is empty: give the IDX file (scripts/fetch-data.sh mnist puts them in data/mnist)", ErrConfig, key)
		}
	}
	im, labels, err := ReadIDXPair(sc.TrainImages, sc.TrainLabels)
	if err != nil {
		return nil, err
	}
	if err := im.CheckShape(cfg.LSTM.TimeStep, im.InputSize(slice), slice); err != nil {
		return nil, fmt.Errorf("%w: lstm.time_step: %v", ErrConfig, err)
	}
	d := &dataset{inputDim: im.InputSize(slice), trainFeatures: &RowFeatures{Images: im, Slice: slice}}
	nClasses := slices.Max(labels) + 1
	for c := range nClasses {
		d.classes = append(d.classes, strconv.Itoa(c))
	}
	held := Holdout(len(labels), sc.ValidationSplit, rand.New(rand.NewPCG(cfg.Seed, streamValidation)))
	for i, l := range labels {
		s := Sample{Index: i, Label: l, Doc: i}
		if held[i] {
			d.val = append(d.val, s)
		} else {
			d.train = append(d.train, s)
		}
	}
	if sc.TestImages != "" || sc.TestLabels != "" {
		tim, tlabels, err := ReadIDXPair(sc.TestImages, sc.TestLabels)
		if err != nil {
			return nil, err
		}
		if err := tim.CheckShape(im.TimeStep(slice), im.InputSize(slice), slice); err != nil {
			return nil, err
		}
		for i, l := range tlabels {
			if l >= nClasses {
				return nil, fmt.Errorf("%w: %s: image %d has label %d, never seen in training (labels 0..%d)", ErrSource, sc.TestLabels, i, l, nClasses-1)
			}
			d.test = append(d.test, Sample{Index: i, Label: l, Doc: i})
		}
		d.testDocs = len(d.test)
		d.testFeatures = &RowFeatures{Images: tim, Slice: slice}
	}
	fmt.Fprintf(log, "mnist: %d training images (%d held out for validation), %d test images, %d×%d\n",
		len(labels), len(d.val), len(d.test), im.TimeStep(slice), im.InputSize(slice))
	return d, nil
}

// readAll reads the documents of a text source.
func readAll(path string, sc SourceConfig) ([]Document, error) {
	var docs []Document
	for doc, err := range ReadDocuments(path, sc) {
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%w: %s holds no document; check source.format and the path", ErrSource, path)
	}
	return docs, nil
}

func loadText(cfg *Config, log io.Writer) (*dataset, error) {
	sc := cfg.Source
	if sc.Train == "" {
		return nil, fmt.Errorf("%w: source.train is empty: give the training data's path", ErrConfig)
	}
	for key, p := range map[string]string{"source.train": sc.Train, "source.test": sc.Test} {
		if _, err := os.Stat(p); p != "" && errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %s: no such file or folder; check the path", key, p)
		}
	}
	split, err := NewSplit(cfg)
	if err != nil {
		return nil, err
	}
	var testDocs []Document
	if sc.Test != "" {
		if testDocs, err = readAll(sc.Test, sc); err != nil {
			return nil, err
		}
		for _, doc := range testDocs {
			split.Exclude(doc.Text)
		}
	}
	var docs []Document
	var parts []Part
	dups := 0
	i := 0
	for doc, err := range ReadDocuments(sc.Train, sc) {
		if err != nil {
			return nil, err
		}
		switch p := split.Of(i, doc); p {
		case PartDuplicate:
			dups++
		case PartTest:
			testDocs = append(testDocs, doc)
		default:
			docs = append(docs, doc)
			parts = append(parts, p)
		}
		i++
	}
	if i == 0 {
		return nil, fmt.Errorf("%w: %s holds no document; check source.format and the path", ErrSource, sc.Train)
	}
	if dups > 0 {
		fmt.Fprintf(log, "text: left out %d documents that repeat an earlier one\n", dups)
	}

	d := &dataset{}
	labelIDs := map[string]int{}
	for _, doc := range docs {
		labelIDs[doc.Label] = 0
	}
	for l := range labelIDs {
		d.classes = append(d.classes, l)
	}
	slices.Sort(d.classes)
	for i, l := range d.classes {
		labelIDs[l] = i
	}
	if len(d.classes) < 2 {
		return nil, fmt.Errorf("%w: %s has only the label %q: a classifier needs at least two", ErrSource, sc.Train, d.classes[0])
	}
	for _, doc := range testDocs {
		if _, ok := labelIDs[doc.Label]; !ok {
			return nil, fmt.Errorf("%w: test document %s has the label %q, never seen in training (labels: %v)", ErrSource, doc.Name, doc.Label, d.classes)
		}
	}

	tok, err := NewTokenizer(cfg.Tokenize)
	if err != nil {
		return nil, err
	}
	unit, err := ParseUnit(cfg.Tokenize.Unit)
	if err != nil {
		return nil, fmt.Errorf("%w: tokenize.unit: %v", ErrConfig, err)
	}
	start := time.Now()
	counter := vocab.NewCounter()
	tokens := make([][][]string, len(docs))
	nVal := 0
	for i, doc := range docs {
		tokens[i] = tok.Tokenize(doc.Text)
		if parts[i] == PartTrain {
			for _, s := range tokens[i] {
				counter.Add(s)
			}
		} else {
			nVal++
		}
	}
	d.vocab = counter.Build(cfg.Vocab.MinCount, cfg.Vocab.MaxSize)
	cov := d.vocab.Coverage()
	fmt.Fprintf(log, "text: %d training documents, %d for validation, %d for testing, %d labels; tokenized in %.1fs\n",
		len(docs)-nVal, nVal, len(testDocs), len(d.classes), time.Since(start).Seconds())
	fmt.Fprintf(log, "vocab: %d entries cover %.2f%% of the training tokens\n", d.vocab.Len(), 100*cov.Share)

	rng := rand.New(rand.NewPCG(cfg.Seed, streamInit^1))
	if d.table, err = embed.New(d.vocab.Len(), cfg.Embed.Dim, 0.1, rng); err != nil {
		return nil, fmt.Errorf("%w: embed.dim: %v", ErrConfig, err)
	}
	if cfg.Embed.Pretrained != "" {
		stats, err := embed.LoadFile(cfg.Embed.Pretrained, d.vocab, d.table)
		if err != nil {
			return nil, fmt.Errorf("embed.pretrained: %w", err)
		}
		fmt.Fprintf(log, "pretrained vectors: %d of %d dictionary entries found in %s\n", stats.Found(), d.vocab.Len()-2, cfg.Embed.Pretrained)
	}
	d.table.Trainable = cfg.Embed.Trainable
	d.inputDim = cfg.Embed.Dim
	f := &EmbedFeatures{Table: d.table, LR: float32(cfg.Train.LearningRate)}
	if cfg.Train.Optimizer != "sgd" {
		f.Adam = embed.NewAdam(cfg.Train.LearningRate)
	}
	d.trainFeatures, d.testFeatures = f, f

	for i, doc := range docs {
		for _, ids := range EncodeTokens(tokens[i], d.vocab, unit, cfg.LSTM.TimeStep) {
			s := Sample{IDs: ids, Label: labelIDs[doc.Label], Doc: i}
			switch {
			case parts[i] == PartValidation:
				d.val = append(d.val, s)
			case len(ids) > 0: // an empty text teaches nothing
				d.train = append(d.train, s)
			}
		}
	}
	for i, doc := range testDocs {
		for _, ids := range EncodeText(tok, d.vocab, doc.Text, unit, cfg.LSTM.TimeStep) {
			d.test = append(d.test, Sample{IDs: ids, Label: labelIDs[doc.Label], Doc: i})
		}
	}
	d.testDocs = len(testDocs)
	if len(d.train) == 0 {
		return nil, fmt.Errorf("%w: %s: no training document has a token", ErrSource, sc.Train)
	}
	return d, nil
}
