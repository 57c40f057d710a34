package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seqclf/seqclf/feed"
	"github.com/seqclf/seqclf/internal/progress"
	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/train"
)

// TestRunCosineResumes stops a run with a cosine schedule, warm-up, weight decay, balanced
// class weights, label smoothing and word dropout in the middle of its second epoch and resumes it: the model must be the one an
// uninterrupted run makes, bit for bit. A resume that changes the schedule or the weights is
// refused, and the history records each epoch's last rate. Without a validation set the model
// is the last epoch's, not the best one's.
func TestRunCosineResumes(t *testing.T) {
	cfg := mnistConfig(t)
	cfg.Source.TestImages, cfg.Source.TestLabels, cfg.Source.ValidationSplit = "", "", 0
	cfg.Train.Schedule, cfg.Train.WarmupSteps = "cosine", 3
	cfg.Train.Optimizer, cfg.Train.WeightDecay = "adamw", 0.01
	cfg.Train.ClassWeights = ClassWeights{Balanced: true}
	cfg.Train.LabelSmoothing, cfg.LSTM.WordDropout = 0.1, 0.2
	res, err := Run(context.Background(), cfg, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := storedWeights(t, filepath.Join(cfg.OutputDir, ModelFile))
	// 20 training images in steps of 4: 15 steps, the last of epoch e is 5e−1.
	for i, e := range res.History.Epochs {
		step := 5*(i+1) - 1
		lr := 0.01 * (1 + math.Cos(math.Pi*float64(step-3)/12)) / 2
		if math.Abs(e.LearningRate-lr) > 1e-15 {
			t.Errorf("epoch %d: learning rate %g, want %g", e.Epoch, e.LearningRate, lr)
		}
	}

	constant := *cfg
	constant.OutputDir = t.TempDir()
	constant.Train.Schedule, constant.Train.WarmupSteps = "constant", 0
	if _, err := Run(context.Background(), &constant, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if slices.Equal(storedWeights(t, filepath.Join(constant.OutputDir, ModelFile))[0], want[0]) {
		t.Fatal("the cosine schedule trained the weights of a constant rate")
	}

	// Each of label smoothing and word dropout reaches the training.
	for _, off := range []func(c *Config){
		func(c *Config) { c.Train.LabelSmoothing = 0 },
		func(c *Config) { c.LSTM.WordDropout = 0 },
	} {
		other := *cfg
		other.OutputDir = t.TempDir()
		off(&other)
		if _, err := Run(context.Background(), &other, RunOptions{}); err != nil {
			t.Fatal(err)
		}
		if slices.Equal(storedWeights(t, filepath.Join(other.OutputDir, ModelFile))[0], want[0]) {
			t.Errorf("%+v %+v: the same weights as with label smoothing 0.1 and word dropout 0.2", other.Train, other.LSTM)
		}
	}

	cfg.OutputDir = t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	clock := func() time.Time {
		// The progress display reads the clock at each epoch's start, each step and each end:
		// call 10 is in the second epoch, after its second step.
		if calls++; calls == 10 {
			cancel()
		}
		return time.Unix(0, 0)
	}
	_, err = Run(ctx, cfg, RunOptions{Progress: []progress.Option{progress.WithClock(clock)}})
	if !errors.Is(err, train.ErrInterrupted) || !strings.Contains(err.Error(), "epoch 2, step 2") {
		t.Fatalf("cancelled run: %v, want ErrInterrupted at epoch 2, step 2", err)
	}
	for _, change := range []func(c *Config) string{
		func(c *Config) string { c.Train.Schedule = "onecycle"; return "train.schedule" },
		func(c *Config) string { c.Train.WarmupSteps = 4; return "train.warmup_steps" },
		func(c *Config) string { c.Train.WeightDecay = 0; return "train.weight_decay" },
		func(c *Config) string { c.Train.LabelSmoothing = 0.2; return "train.label_smoothing" },
		func(c *Config) string { c.LSTM.WordDropout = 0; return "lstm.word_dropout" },
		func(c *Config) string {
			c.Train.ClassWeights = ClassWeights{Weights: map[string]float64{"3": 2}}
			return "train.class_weights is 3=2, but the checkpoint was trained with balanced"
		},
	} {
		other := *cfg
		key := change(&other)
		if _, err := Run(context.Background(), &other, RunOptions{Resume: true}); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("resume with another %s: %v, want an error naming it", key, err)
		}
	}
	res, err = Run(context.Background(), cfg, RunOptions{Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	got := storedWeights(t, res.ModelPath)
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("parameter %d differs between the resumed and the uninterrupted run", i)
		}
	}
}

// TestClassWeights weighs classes of known counts: balanced gives n/(k·n_c), as scikit-learn's
// compute_class_weight("balanced") does; a map weighs its labels, regardless of case, and 1 the
// others; a label that is no class is an error naming its key and the classes.
func TestClassWeights(t *testing.T) {
	classes := []string{"Ham", "spam", "eggs"}
	var samples []feed.Sample
	for c, n := range []int{6, 3, 1} {
		for range n {
			samples = append(samples, feed.Sample{Label: c})
		}
	}
	// 10 samples, 3 classes: 10/18, 10/9, 10/3.
	got, err := ClassWeights{Balanced: true}.weights(classes, samples)
	want := []float32{10.0 / 18, 10.0 / 9, 10.0 / 3}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("balanced: %v, %v; want %v", got, err, want)
	}
	got, err = ClassWeights{Weights: map[string]float64{"ham": 0.5, "eggs": 4}}.weights(classes, samples)
	if want := []float32{0.5, 1, 4}; err != nil || !slices.Equal(got, want) {
		t.Errorf("map: %v, %v; want %v", got, err, want)
	}
	if got, err := (ClassWeights{}).weights(classes, samples); got != nil || err != nil {
		t.Errorf("none: %v, %v; want nil", got, err)
	}
	_, err = ClassWeights{Weights: map[string]float64{"bacon": 2}}.weights(classes, samples)
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Key != "train.class_weights.bacon" || !strings.Contains(err.Error(), "(classes: Ham, spam, eggs)") {
		t.Errorf("unknown label: %v, want a ConfigError naming train.class_weights.bacon and the classes", err)
	}
}

// TestRunTextClassWeights trains on five real mails with onecycle and a class weight, which the
// log shows; a weight for a label that is no class stops the run, naming its key.
func TestRunTextClassWeights(t *testing.T) {
	cfg := DefaultConfig()
	cfg.OutputDir = t.TempDir()
	cfg.Source = SourceConfig{Kind: "text", Format: "dir", Train: "../source/testdata/spamassassin-mini", TestSplit: 0.4,
		Extensions: []string{".txt"}, Labels: map[string]string{"easy-ham-1": "ham", "spam-2": "spam"}}
	cfg.Vocab.MinCount = 1
	cfg.Embed.Dim = 8
	cfg.LSTM = LSTMConfig{NumUnits: 8, NumLayers: 1, TimeStep: 20, Pooling: "mean"}
	cfg.Train.Epochs, cfg.Train.BatchSize, cfg.Train.Schedule, cfg.Train.LearningRate = 2, 2, "onecycle", 0.001
	cfg.Train.ClassWeights = ClassWeights{Weights: map[string]float64{"spam": 3}}
	var log bytes.Buffer
	res, err := Run(context.Background(), &cfg, RunOptions{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "class weights: ham 1, spam 3\n") {
		t.Errorf("the log does not show the class weights:\n%s", log.String())
	}
	// The last step of the last epoch is onecycle's end: 0.001/25/10⁴.
	if e := res.History.Epochs[1]; math.Abs(e.LearningRate-4e-9) > 1e-20 {
		t.Errorf("epoch 2 ends at rate %g, want 4e-9", e.LearningRate)
	}

	cfg.OutputDir = filepath.Join(t.TempDir(), "out")
	cfg.Train.ClassWeights = ClassWeights{Weights: map[string]float64{"bacon": 2}}
	_, err = Run(context.Background(), &cfg, RunOptions{})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Key != "train.class_weights.bacon" || !strings.Contains(err.Error(), "(classes: ham, spam)") {
		t.Errorf("a weight for bacon: %v, want an error naming train.class_weights.bacon and the classes", err)
	}
}

// TestWeightDecay checks that train.weight_decay reaches each optimizer as PyTorch's would
// take it: L2 for adam and sgd, decoupled for adamw, whose default is now 0.
func TestWeightDecay(t *testing.T) {
	for _, c := range []struct {
		optimizer string
		decay     float64
		decoupled bool
	}{{"adam", 0.1, false}, {"adamw", 0.01, true}, {"adamw", 0, true}} {
		o, err := newOptimizer(TrainConfig{Optimizer: c.optimizer, LearningRate: 0.01, WeightDecay: c.decay})
		a, ok := o.(*lstm.Adam[float32])
		if err != nil || !ok || a.WeightDecay != c.decay || a.Decoupled != c.decoupled {
			t.Errorf("%s with weight decay %g: %+v, %v", c.optimizer, c.decay, o, err)
		}
	}
	o, err := newOptimizer(TrainConfig{Optimizer: "sgd", LearningRate: 0.01, WeightDecay: 0.2})
	if s, ok := o.(*lstm.SGD[float32]); err != nil || !ok || s.WeightDecay != 0.2 || s.Momentum != 0.9 {
		t.Errorf("sgd with weight decay 0.2: %+v, %v", o, err)
	}
}

// storedBeforeSchedules is the run config of store/testdata/model-v3-text.db, written before
// train.schedule, warmup_steps, weight_decay, class_weights, lstm.cell, lstm.bidirectional and
// tokenize.tokens existed.
const storedBeforeSchedules = `{"seed":7,"output_dir":"runs/fixture-text","source":{"kind":"text","format":"jsonl","train":"configs/data/spamassassin-sample.jsonl.gz","test":"","validation_split":0.1,"test_split":0.2,"label_column":"","text_column":"","group_column":"","header":false,"labels":null,"extensions":null,"train_images":"","train_labels":"","test_images":"","test_labels":"","slice":"rows"},"tokenize":{"lowercase":true,"nfkc":true,"numbers":true,"split_sentences":true,"unit":"sentence"},"vocab":{"min_count":2,"max_size":300},"embed":{"dim":8,"pretrained":"","trainable":true},"lstm":{"num_units":8,"num_layers":1,"time_step":32,"pooling":"max","dropout":0,"input_dropout":0},"train":{"batch_size":64,"epochs":1,"optimizer":"adam","learning_rate":0.01,"clip_norm":5,"early_stopping_patience":0}}`

// TestSameRunBeforeSchedules resumes the checkpoint of a run stored before train.schedule and
// the keys that came with it existed: it trained with a constant rate, an LSTM, words and no
// decay, which is what it must read as, whatever today's defaults are.
func TestSameRunBeforeSchedules(t *testing.T) {
	var cfg Config
	if err := json.Unmarshal([]byte(storedBeforeSchedules), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Train.Schedule != "constant" || cfg.LSTM.Cell != "lstm" || cfg.Tokenize.Tokens != "words" || cfg.Train.WeightDecay != 0 {
		t.Errorf("read as schedule %q, cell %q, tokens %q, weight decay %g", cfg.Train.Schedule, cfg.LSTM.Cell, cfg.Tokenize.Tokens, cfg.Train.WeightDecay)
	}
	old := storedBeforeSchedules
	if err := sameRun([]byte(old), &cfg); err != nil {
		t.Errorf("a stored config without train.schedule: %v", err)
	}
	cfg.Train.Schedule = "cosine"
	if err := sameRun([]byte(old), &cfg); err == nil || !strings.Contains(err.Error(), "train.schedule is cosine, but the checkpoint was trained with constant") {
		t.Errorf("cosine on a constant run: %v", err)
	}
	// adamw without a stored weight_decay ran with the 0.01 it then had.
	var tc TrainConfig
	if err := json.Unmarshal([]byte(`{"optimizer":"adamw","learning_rate":0.001}`), &tc); err != nil || tc.WeightDecay != 0.01 {
		t.Errorf("a stored adamw run without weight_decay: %g, %v; want 0.01", tc.WeightDecay, err)
	}
}
