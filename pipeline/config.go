package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"

	"github.com/seqclf/seqclf/classify"
	"github.com/seqclf/seqclf/feed"
	"github.com/seqclf/seqclf/internal/rng"
	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/source"
	"github.com/seqclf/seqclf/store"
	"github.com/seqclf/seqclf/tokenize"
	"github.com/seqclf/seqclf/train"
)

// Config is a pipeline's configuration: the YAML file of `seqclf pipeline run`, with the seed
// tutorial's names for the model's sizes. Paths are taken relative to the working directory.
// model.db keeps a run's config as JSON under the same names as the YAML keys (the json tags),
// so that renaming a Go field changes nothing stored.
type Config struct {
	Seed      uint64         `mapstructure:"seed" json:"seed"`
	OutputDir string         `mapstructure:"output_dir" json:"output_dir"`
	Source    SourceConfig   `mapstructure:"source" json:"source"`
	Tokenize  TokenizeConfig `mapstructure:"tokenize" json:"tokenize"`
	Vocab     VocabConfig    `mapstructure:"vocab" json:"vocab"`
	Embed     EmbedConfig    `mapstructure:"embed" json:"embed"`
	LSTM      LSTMConfig     `mapstructure:"lstm" json:"lstm"`
	Train     TrainConfig    `mapstructure:"train" json:"train"`

	file string // the YAML file LoadConfig read, for messages
}

// SourceConfig says where the data is and how to read it.
type SourceConfig struct {
	Kind string `mapstructure:"kind" json:"kind"` // text or mnist
	// Text sources.
	Format          string  `mapstructure:"format" json:"format"` // tsv, csv, jsonl or dir
	Train           string  `mapstructure:"train" json:"train"`
	Test            string  `mapstructure:"test" json:"test"`
	ValidationSplit float64 `mapstructure:"validation_split" json:"validation_split"` // share of the training documents held out for validation
	TestSplit       float64 `mapstructure:"test_split" json:"test_split"`             // without a test path: share of the documents held out for testing
	// Columns of tsv and csv (a 0-based number, or a name from the header line) and keys of jsonl;
	// empty: 0 and 1 for tsv and csv, "label" and "text" for jsonl.
	LabelColumn string `mapstructure:"label_column" json:"label_column"`
	TextColumn  string `mapstructure:"text_column" json:"text_column"`
	// GroupColumn names a column (tsv, csv) or key (jsonl) whose documents are held out together:
	// the sentences of one file, the mails of one thread. Empty: each document on its own.
	GroupColumn string `mapstructure:"group_column" json:"group_column"`
	Header      bool   `mapstructure:"header" json:"header"` // tsv and csv: the first line names the columns
	// dir: each folder under the path is a label; Labels renames folders (several may share a
	// label; matched without regard to case), and Extensions keeps only the files whose name
	// ends so (".txt"; a trailing ".gz" aside). Empty: every folder its own label, every file.
	Labels     map[string]string `mapstructure:"labels" json:"labels"`
	Extensions []string          `mapstructure:"extensions" json:"extensions"`
	// mnist.
	TrainImages string `mapstructure:"train_images" json:"train_images"`
	TrainLabels string `mapstructure:"train_labels" json:"train_labels"`
	TestImages  string `mapstructure:"test_images" json:"test_images"`
	TestLabels  string `mapstructure:"test_labels" json:"test_labels"`
	Slice       string `mapstructure:"slice" json:"slice"` // rows or columns
}

// TokenizeConfig holds the options of package tokenize and what one LSTM run sees.
type TokenizeConfig struct {
	Lowercase      bool   `mapstructure:"lowercase" json:"lowercase"`
	NFKC           bool   `mapstructure:"nfkc" json:"nfkc"`
	Numbers        bool   `mapstructure:"numbers" json:"numbers"` // numbers become one token, <num>
	SplitSentences bool   `mapstructure:"split_sentences" json:"split_sentences"`
	Unit           string `mapstructure:"unit" json:"unit"` // sentence or document
	// Tokens is words (the tokenizer's words) or characters (each Unicode character, spaces
	// too, is one token).
	Tokens string `mapstructure:"tokens" json:"tokens"`
}

// VocabConfig holds the dictionary's limits.
type VocabConfig struct {
	MinCount int `mapstructure:"min_count" json:"min_count"`
	MaxSize  int `mapstructure:"max_size" json:"max_size"` // entries, <pad> and <unk> included; 0: no limit
}

// EmbedConfig describes the embedding table.
type EmbedConfig struct {
	Dim        int    `mapstructure:"dim" json:"dim"`
	Pretrained string `mapstructure:"pretrained" json:"pretrained"` // word2vec/GloVe/fastText text file, "" for none
	// Pretrain learns the table's starting vectors from the training texts before the
	// classifier trains: "skipgram" (word2vec's skip-gram with negative sampling: 5 passes,
	// window 5, 5 negatives, as fastText's skipgram without subwords), or "" for none.
	Pretrain  string `mapstructure:"pretrain" json:"pretrain"`
	Trainable bool   `mapstructure:"trainable" json:"trainable"`
}

// LSTMConfig describes the network.
type LSTMConfig struct {
	NumUnits  int     `mapstructure:"num_units" json:"num_units"`
	NumLayers int     `mapstructure:"num_layers" json:"num_layers"`
	TimeStep  int     `mapstructure:"time_step" json:"time_step"`
	Pooling   string  `mapstructure:"pooling" json:"pooling"`
	Dropout   float64 `mapstructure:"dropout" json:"dropout"` // between stacked layers
	// InputDropout drops values of the bottom layer's inputs (the embeddings) while training.
	InputDropout float64 `mapstructure:"input_dropout" json:"input_dropout"`
	// WordDropout drops whole tokens (a step's embedding) of the bottom layer while training.
	WordDropout float64 `mapstructure:"word_dropout" json:"word_dropout"`
	Cell        string  `mapstructure:"cell" json:"cell"` // lstm or gru
	// Bidirectional adds a backward direction to each layer, its outputs beside the forward one's.
	Bidirectional bool `mapstructure:"bidirectional" json:"bidirectional"`
}

// TrainConfig describes training.
type TrainConfig struct {
	BatchSize int `mapstructure:"batch_size" json:"batch_size"`
	Epochs    int `mapstructure:"epochs" json:"epochs"`
	// Optimizer is adam, adamw or sgd (momentum 0.9) for the LSTM and the head; the embedding
	// table takes lazy Adam (SGD with sgd) on the rows a batch used.
	Optimizer string `mapstructure:"optimizer" json:"optimizer"`
	// LearningRate is the optimizers' rate: the peak of Schedule.
	LearningRate float64 `mapstructure:"learning_rate" json:"learning_rate"`
	// Schedule is how the rate moves with the step, a pure function of the step over the
	// whole run (train.epochs × ⌈training samples / batch_size⌉ steps, early stopping or not),
	// so a resumed run uses the rates of an uninterrupted one: constant; cosine, annealed to 0
	// as torch's CosineAnnealingLR; or onecycle, torch's OneCycleLR with its defaults
	// (pct_start 0.3, div_factor 25, final_div_factor 10⁴, max_lr learning_rate) without
	// momentum cycling. It sets the LSTM's and the embedding table's rates alike. --resume with
	// train.epochs raised goes on along the schedule of the new length. See train.Schedule.
	Schedule string `mapstructure:"schedule" json:"schedule"`
	// WarmupSteps raises the rate linearly over the first steps, learning_rate·(step+1)/
	// warmup_steps, before constant or cosine; with onecycle it is the length of the rising
	// phase instead of 30% of the steps. 0: none.
	WarmupSteps int `mapstructure:"warmup_steps" json:"warmup_steps"`
	// WeightDecay is λ of the LSTM's and the head's weights, not the embedding table's: adam
	// and sgd add λ·w to the gradient (L2, as torch.optim.Adam and SGD), adamw decays the
	// weights apart from the gradient (torch.optim.AdamW). 0: none, adamw's too (torch's
	// AdamW defaults to 0.01: set it).
	WeightDecay float64 `mapstructure:"weight_decay" json:"weight_decay"`
	// ClassWeights weighs each class's samples in the training loss; the validation loss is
	// not weighted.
	ClassWeights ClassWeights `mapstructure:"class_weights" json:"class_weights"`
	// LabelSmoothing trains towards targets that give ε/classes to every class and the rest to
	// the label (PyTorch's CrossEntropyLoss label_smoothing), in [0, 1); the validation loss is
	// not smoothed. 0: none.
	LabelSmoothing        float64 `mapstructure:"label_smoothing" json:"label_smoothing"`
	ClipNorm              float64 `mapstructure:"clip_norm" json:"clip_norm"`
	EarlyStoppingPatience int     `mapstructure:"early_stopping_patience" json:"early_stopping_patience"`
	// BucketByLength draws each epoch's batches from samples of similar length (pools of 100
	// batches sorted by length, then the batches shuffled; train.BucketedOrder), so that less
	// padding is computed. The same seed gives the same batches, whatever the threads.
	BucketByLength bool `mapstructure:"bucket_by_length" json:"bucket_by_length"`
}

// UnmarshalJSON reads a stored TrainConfig. A key it lacks (a run stored before the key existed)
// takes what such a run trained with, not today's default: a constant rate, and for adamw a
// decay of 0.01.
func (tc *TrainConfig) UnmarshalJSON(b []byte) error {
	type plain TrainConfig
	p := plain{Schedule: "constant", WeightDecay: math.NaN()}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	if math.IsNaN(p.WeightDecay) {
		p.WeightDecay = 0
		if p.Optimizer == "adamw" {
			p.WeightDecay = 0.01
		}
	}
	*tc = TrainConfig(p)
	return nil
}

// UnmarshalJSON reads a stored LSTMConfig; a run stored before lstm.cell existed ran an LSTM.
func (lc *LSTMConfig) UnmarshalJSON(b []byte) error {
	type plain LSTMConfig
	p := plain{Cell: "lstm"}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*lc = LSTMConfig(p)
	return nil
}

// UnmarshalJSON reads a stored TokenizeConfig; a run stored before tokenize.tokens existed read
// words.
func (tc *TokenizeConfig) UnmarshalJSON(b []byte) error {
	type plain TokenizeConfig
	p := plain{Tokens: "words"}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*tc = TokenizeConfig(p)
	return nil
}

// ClassWeights is train.class_weights: how much a sample of each class counts in the training
// loss (lstm.Model.Loss's weighted mean, as torch's CrossEntropyLoss with weight). In YAML it
// is either the word balanced, for weight_c = n_samples / (classes · n_samples_c) over the
// training samples (scikit-learn's compute_class_weight("balanced"), Keras's class_weight),
// or a map from label to weight, as {spam: 2}, in which a class left out weighs 1; --set takes
// train.class_weights=balanced, train.class_weights.spam=2 or train.class_weights=spam=2,ham=1.
// Labels are matched without regard to case (the config's keys are lower-cased). The zero
// value weighs every class 1. In the stored config it is null, "balanced" or an object.
type ClassWeights struct {
	Balanced bool
	Weights  map[string]float64 // lower-cased label → weight; nil with Balanced
}

// String returns the weights as --set takes them: "", "balanced" or "ham=1,spam=2".
func (cw ClassWeights) String() string {
	if cw.Balanced {
		return "balanced"
	}
	var parts []string
	for _, l := range slices.Sorted(maps.Keys(cw.Weights)) {
		parts = append(parts, l+"="+strconv.FormatFloat(cw.Weights[l], 'g', -1, 64))
	}
	return strings.Join(parts, ",")
}

// MarshalJSON writes null (no weights), "balanced" or an object of label weights.
func (cw ClassWeights) MarshalJSON() ([]byte, error) {
	switch {
	case cw.Balanced:
		return json.Marshal("balanced")
	case len(cw.Weights) == 0:
		return []byte("null"), nil
	}
	return json.Marshal(cw.Weights)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (cw *ClassWeights) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	got, err := parseClassWeights(v)
	if err != nil {
		return err
	}
	*cw = got
	return nil
}

// parseClassWeights reads train.class_weights as the config gives it: a string (balanced,
// "label=weight,...", or empty for none) or a map from label to a number (or a number's text,
// from --set train.class_weights.LABEL=W). Weights are checked by Validate.
func parseClassWeights(data any) (ClassWeights, error) {
	var raw map[string]any
	switch x := data.(type) {
	case nil:
		return ClassWeights{}, nil
	case ClassWeights:
		return x, nil
	case string:
		x = strings.TrimSpace(x)
		if strings.EqualFold(x, "balanced") {
			return ClassWeights{Balanced: true}, nil
		}
		raw = map[string]any{}
		for part := range strings.SplitSeq(x, ",") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			label, w, ok := strings.Cut(part, "=")
			if !ok {
				return ClassWeights{}, fmt.Errorf("%q is not balanced nor label weights; write balanced, or a map as {spam: 2} (--set train.class_weights.spam=2)", x)
			}
			raw[strings.TrimSpace(label)] = w
		}
	case map[string]any:
		raw = x
	default:
		return ClassWeights{}, fmt.Errorf("%v is not balanced nor label weights; write balanced, or a map as {spam: 2}", data)
	}
	if len(raw) == 0 {
		return ClassWeights{}, nil
	}
	cw := ClassWeights{Weights: make(map[string]float64, len(raw))}
	for label, v := range raw {
		var w float64
		switch x := v.(type) {
		case int:
			w = float64(x)
		case int64:
			w = float64(x)
		case uint64:
			w = float64(x)
		case float64:
			w = x
		case string:
			var err error
			if w, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
				return ClassWeights{}, fmt.Errorf("the weight of %s, %q, is not a number; give one more than 0", label, x)
			}
		default:
			return ClassWeights{}, fmt.Errorf("the weight of %s, %v, is not a number; give one more than 0", label, v)
		}
		cw.Weights[strings.ToLower(label)] = w
	}
	return cw, nil
}

// weights returns the loss weight of each class, in the order of classes, for training
// samples train: nil when cw weighs every class 1. A class without training samples weighs 1
// with balanced (it is never a training target). A label of cw that is not a class is an
// error naming its key.
func (cw ClassWeights) weights(classes []string, train []feed.Sample) ([]float32, error) {
	if !cw.Balanced && len(cw.Weights) == 0 {
		return nil, nil
	}
	out := make([]float32, len(classes))
	if cw.Balanced {
		count := make([]int, len(classes))
		for _, s := range train {
			count[s.Label]++
		}
		for c, n := range count {
			out[c] = 1
			if n > 0 {
				out[c] = float32(float64(len(train)) / float64(len(classes)*n))
			}
		}
		return out, nil
	}
	for c := range out {
		out[c] = 1
	}
	for _, label := range slices.Sorted(maps.Keys(cw.Weights)) {
		found := false
		for c, name := range classes {
			if strings.ToLower(name) == label {
				out[c], found = float32(cw.Weights[label]), true
			}
		}
		if !found {
			key := "train.class_weights." + label
			return nil, &ConfigError{Key: key, Msg: fmt.Sprintf("%s: %q is not a class of the training data (classes: %s); weigh one of them, or remove the key",
				key, label, strings.Join(classes, ", "))}
		}
	}
	return out, nil
}

// DefaultConfig returns the values of every key a file leaves out.
//
// The model and training keys are chosen across the datasets of configs/ (bench/RESULTS.md): max
// pooling, dropout 0.2 on the embeddings, and 10 epochs of Adam from 0.002 down a cosine with
// early stopping after 3 epochs without a lower validation loss. Against the seed's choices (last
// step, no dropout, 5 epochs at 0.001) they gained 1.2 points on MNIST rows, 2.9 on Brown and 2.0
// on the names, and lost one mail of 240 on the bundled sample.
func DefaultConfig() Config {
	return Config{
		Seed:      42,
		OutputDir: "runs/default",
		Source:    SourceConfig{Kind: "text", Format: "tsv", ValidationSplit: 0.1, Slice: "rows"},
		Tokenize:  TokenizeConfig{Lowercase: true, NFKC: true, SplitSentences: true, Unit: "document", Tokens: "words"},
		Vocab:     VocabConfig{MinCount: 2, MaxSize: 20000},
		Embed:     EmbedConfig{Dim: 100, Trainable: true},
		LSTM: LSTMConfig{NumUnits: 128, NumLayers: 1, TimeStep: 256, Pooling: "max", Cell: "lstm",
			InputDropout: 0.2},
		Train: TrainConfig{BatchSize: 64, Epochs: 10, Optimizer: "adam", LearningRate: 0.002,
			Schedule: "cosine", ClipNorm: 5, EarlyStoppingPatience: 3},
	}
}

// ErrConfig is wrapped by every error about a configuration's content.
var ErrConfig = errors.New("bad configuration")

// A ConfigError is a problem with a configuration: the key at fault and what is wrong with it.
type ConfigError struct {
	File     string // the YAML file, "" when the problem is not in one
	Override string // the key=value override at fault, "" when none
	Key      string // the dotted key, as lstm.num_units; "" when the file as a whole is at fault
	Msg      string // what is wrong and what to do
}

// Error returns "config FILE: bad configuration: MSG", naming the override instead of the file
// when one is at fault.
func (e *ConfigError) Error() string {
	switch {
	case e.Override != "":
		return fmt.Sprintf("override %q: %v: %s", e.Override, ErrConfig, e.Msg)
	case e.File != "":
		return fmt.Sprintf("config %s: %v: %s", e.File, ErrConfig, e.Msg)
	}
	return fmt.Sprintf("%v: %s", ErrConfig, e.Msg)
}

// Is reports whether target is ErrConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrConfig }

// inFile returns err with the file it is about, if it is a *ConfigError without one.
func inFile(err error, file string) error {
	var ce *ConfigError
	if file != "" && errors.As(err, &ce) && ce.File == "" && ce.Override == "" && err == error(ce) {
		c := *ce
		c.File = file
		return &c
	}
	return err
}

// LoadConfig reads the YAML file at path ("" for none: the defaults alone), then applies the
// environment variables SEQCLF_<KEY> (SEQCLF_LSTM_NUM_UNITS for lstm.num_units) and then the
// key=value overrides of sets, in order. An unknown key, a value of the wrong type and a value
// out of range are errors that name the key.
func LoadConfig(path string, sets []string) (*Config, error) {
	v := viper.New()
	known := configKeys(reflect.TypeFor[Config](), "")
	for key, val := range flatten(DefaultConfig()) {
		v.SetDefault(key, val)
	}
	v.SetEnvPrefix("SEQCLF")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	where := "defaults"
	if path != "" {
		where = path
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &ConfigError{File: path, Msg: "no such file; give the path of a YAML config (configs/ holds examples)"}
		}
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		defer f.Close()
		v.SetConfigType("yaml")
		if err := v.ReadConfig(f); err != nil {
			// yaml's messages list one problem per line: one line here, as every error is.
			msg := strings.TrimPrefix(err.Error(), "While parsing config: ")
			return nil, &ConfigError{File: path, Msg: strings.Join(strings.Fields(msg), " ")}
		}
		for _, key := range v.AllKeys() {
			if err := checkKey(known, key); err != nil {
				return nil, inFile(err, path)
			}
		}
	}
	for _, s := range sets {
		key, val, ok := strings.Cut(s, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if !ok || key == "" {
			return nil, &ConfigError{Override: s, Msg: "want key=value, as lstm.num_units=64"}
		}
		if err := checkKey(known, key); err != nil {
			ce := *err.(*ConfigError)
			ce.Override = s
			return nil, &ce
		}
		v.Set(key, val)
	}
	cfg := DefaultConfig()
	cfg.Source.Labels = nil
	err := v.UnmarshalExact(&cfg, func(dc *mapstructure.DecoderConfig) {
		dc.WeaklyTypedInput = false
		dc.DecodeHook = strictHook
	})
	if err != nil {
		key, _, _ := strings.Cut(decodeMessage(err), ":")
		return nil, &ConfigError{File: where, Key: key, Msg: decodeMessage(err)}
	}
	if err := cfg.Validate(); err != nil {
		return nil, inFile(err, where)
	}
	cfg.file = path
	return &cfg, nil
}

// quotedKey matches the "'key' " that starts each of mapstructure's messages.
var quotedKey = regexp.MustCompile(`(?m)^'([^']*)' `)

// decodeMessage rewrites mapstructure's error as "key: what is wrong", one line.
func decodeMessage(err error) string {
	msg := strings.TrimSpace(err.Error())
	msg = strings.TrimPrefix(msg, "decoding failed due to the following error(s):")
	msg = quotedKey.ReplaceAllString(strings.TrimSpace(msg), "$1: ")
	return strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", " ; ")), " ")
}

// Validate checks the values that do not depend on the data.
func (c *Config) Validate() error {
	bad := func(key string, val any, want string) error {
		return &ConfigError{Key: key, Msg: fmt.Sprintf("%s is %v, want %s", key, val, want)}
	}
	oneOf := func(key, val string, allowed ...string) error {
		if !slices.Contains(allowed, val) {
			return bad(key, strconv.Quote(val), "one of "+strings.Join(allowed, ", "))
		}
		return nil
	}
	s := c.Source
	for _, err := range []error{
		oneOf("source.kind", s.Kind, "text", "mnist"),
		oneOf("source.format", s.Format, "tsv", "csv", "jsonl", "dir"),
		oneOf("source.slice", s.Slice, "rows", "columns"),
		oneOf("tokenize.unit", c.Tokenize.Unit, "sentence", "document"),
		oneOf("tokenize.tokens", c.Tokenize.Tokens, "words", "characters"),
		oneOf("lstm.cell", c.LSTM.Cell, "lstm", "gru"),
		oneOf("train.optimizer", c.Train.Optimizer, "adam", "adamw", "sgd"),
		oneOf("train.schedule", c.Train.Schedule, "constant", "cosine", "onecycle"),
	} {
		if err != nil {
			return err
		}
	}
	if p := c.Embed.Pretrain; p != "" && p != "skipgram" {
		return bad("embed.pretrain", strconv.Quote(p), "skipgram (vectors learnt from the training text) or nothing")
	}
	if c.Embed.Pretrain != "" && c.Embed.Pretrained != "" {
		return &ConfigError{Key: "embed.pretrain", Msg: fmt.Sprintf("embed.pretrain is %s and embed.pretrained is %s: the table starts from one of them; remove the other", c.Embed.Pretrain, c.Embed.Pretrained)}
	}
	if _, err := lstm.ParsePooling(c.LSTM.Pooling); err != nil {
		return &ConfigError{Key: "lstm.pooling", Msg: "lstm.pooling: " + err.Error()}
	}
	for key, x := range map[string]float64{"source.validation_split": s.ValidationSplit, "source.test_split": s.TestSplit} {
		if x < 0 || x >= 1 {
			return bad(key, x, "a share in [0, 1)")
		}
	}
	if c.LSTM.Dropout < 0 || c.LSTM.Dropout >= 1 {
		return bad("lstm.dropout", c.LSTM.Dropout, "a probability in [0, 1)")
	}
	if c.LSTM.InputDropout < 0 || c.LSTM.InputDropout >= 1 {
		return bad("lstm.input_dropout", c.LSTM.InputDropout, "a probability in [0, 1)")
	}
	if c.LSTM.WordDropout < 0 || c.LSTM.WordDropout >= 1 {
		return bad("lstm.word_dropout", c.LSTM.WordDropout, "a probability in [0, 1)")
	}
	for key, x := range map[string]int{
		"vocab.min_count": c.Vocab.MinCount, "embed.dim": c.Embed.Dim, "lstm.num_units": c.LSTM.NumUnits,
		"lstm.num_layers": c.LSTM.NumLayers, "lstm.time_step": c.LSTM.TimeStep,
		"train.batch_size": c.Train.BatchSize, "train.epochs": c.Train.Epochs,
	} {
		if x < 1 {
			return bad(key, x, "at least 1")
		}
	}
	if c.Vocab.MaxSize != 0 && c.Vocab.MaxSize < 3 {
		return bad("vocab.max_size", c.Vocab.MaxSize, "0 (no limit) or at least 3 (<pad>, <unk> and a word)")
	}
	if c.Train.Epochs > rng.MaxEpochs {
		return bad("train.epochs", c.Train.Epochs, fmt.Sprintf("at most %d", rng.MaxEpochs))
	}
	if c.Train.LearningRate <= 0 {
		return bad("train.learning_rate", c.Train.LearningRate, "more than 0")
	}
	if c.Train.ClipNorm < 0 || c.Train.EarlyStoppingPatience < 0 {
		return bad("train.clip_norm or train.early_stopping_patience", "negative", "0 (off) or more")
	}
	if c.Train.WarmupSteps < 0 {
		return bad("train.warmup_steps", c.Train.WarmupSteps, "0 (none) or more")
	}
	if ls := c.Train.LabelSmoothing; !(ls >= 0 && ls < 1) {
		return bad("train.label_smoothing", ls, "a probability in [0, 1)")
	}
	if wd := c.Train.WeightDecay; !(wd >= 0) || math.IsInf(wd, 0) {
		return bad("train.weight_decay", wd, "0 (none) or more")
	}
	for _, label := range slices.Sorted(maps.Keys(c.Train.ClassWeights.Weights)) {
		if w := c.Train.ClassWeights.Weights[label]; !(w > 0) || math.IsInf(w, 0) {
			return bad("train.class_weights."+label, w, "a weight more than 0")
		}
	}
	return nil
}

// schedule returns the learning-rate schedule of train.schedule, planned over train.epochs.
func (tc TrainConfig) schedule() (*train.Schedule, error) {
	kind, err := train.ParseSchedule(tc.Schedule)
	if err != nil {
		return nil, &ConfigError{Key: "train.schedule", Msg: "train.schedule: " + err.Error()}
	}
	return &train.Schedule{Kind: kind, LR: tc.LearningRate, WarmupSteps: tc.WarmupSteps, Epochs: tc.Epochs}, nil
}

// formatWeights returns "label weight, ..." for the log.
func formatWeights(classes []string, weights []float32) string {
	var b strings.Builder
	for c, w := range weights {
		if c > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %.3g", classes[c], w)
	}
	return b.String()
}

// configKeys returns the dotted keys of the struct type t, by mapstructure tag; a map field's key
// ends in ".*" (any key below it).
func configKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		key := prefix + f.Tag.Get("mapstructure")
		switch {
		case f.Type == classWeightsType:
			keys = append(keys, key, key+".*") // a word, or labels below it
		case f.Type.Kind() == reflect.Struct:
			keys = append(keys, configKeys(f.Type, key+".")...)
		case f.Type.Kind() == reflect.Map:
			keys = append(keys, key+".*")
		default:
			keys = append(keys, key)
		}
	}
	return keys
}

// classWeightsType is the one config field that is a string or a map, decoded by strictHook.
var classWeightsType = reflect.TypeFor[ClassWeights]()

// checkKey returns an error naming key if it is not one of known.
func checkKey(known []string, key string) error {
	for _, k := range known {
		if k == key || strings.HasSuffix(k, ".*") && strings.HasPrefix(key, strings.TrimSuffix(k, "*")) {
			return nil
		}
	}
	section, _, nested := strings.Cut(key, ".")
	var near []string
	for _, k := range known {
		if nested && strings.HasPrefix(k, section+".") {
			near = append(near, strings.TrimPrefix(strings.TrimSuffix(k, ".*"), section+"."))
		}
	}
	near = slices.Compact(near) // class_weights is class_weights and class_weights.*
	if len(near) > 0 {
		return &ConfigError{Key: key, Msg: fmt.Sprintf("unknown key %s (the keys of %s are %s)", key, section, strings.Join(near, ", "))}
	}
	return &ConfigError{Key: key, Msg: "unknown key " + key}
}

// flatten returns the dotted keys of c with their values, for viper's defaults (which also make
// viper look up each key's environment variable).
func flatten(c Config) map[string]any {
	out := make(map[string]any)
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			key := prefix + f.Tag.Get("mapstructure")
			if f.Type == classWeightsType {
				out[key] = v.Field(i).Interface().(ClassWeights).String()
			} else if f.Type.Kind() == reflect.Struct {
				walk(v.Field(i), key+".")
			} else if f.Type.Kind() != reflect.Map {
				out[key] = v.Field(i).Interface()
			}
		}
	}
	walk(reflect.ValueOf(c), "")
	return out
}

// strictHook converts the strings of environment variables and --set to the field's type, and
// refuses what YAML gives of the wrong kind (a bool for a number, 1.5 for a count), where
// mapstructure would convert silently.
func strictHook(from, to reflect.Type, data any) (any, error) {
	if to == classWeightsType {
		return parseClassWeights(data)
	}
	s, isString := data.(string)
	switch to.Kind() {
	case reflect.Int, reflect.Int64, reflect.Uint64, reflect.Uint:
		if isString {
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not a whole number", s)
			}
			if to.Kind() == reflect.Uint64 || to.Kind() == reflect.Uint {
				if n < 0 {
					return nil, fmt.Errorf("%q is negative", s)
				}
				return uint64(n), nil
			}
			return n, nil
		}
		switch x := data.(type) {
		case float64:
			if x != math.Trunc(x) {
				return nil, fmt.Errorf("%v is not a whole number", x)
			}
			return int64(x), nil
		case bool:
			return nil, fmt.Errorf("%v is not a number", x)
		case int:
			if x < 0 && (to.Kind() == reflect.Uint64 || to.Kind() == reflect.Uint) {
				return nil, fmt.Errorf("%d is negative", x)
			}
		}
	case reflect.Float64:
		if isString {
			x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not a number", s)
			}
			return x, nil
		}
		if _, ok := data.(bool); ok {
			return nil, fmt.Errorf("%v is not a number", data)
		}
	case reflect.Bool:
		if isString {
			b, err := strconv.ParseBool(strings.TrimSpace(s))
			if err != nil {
				return nil, fmt.Errorf("%q is not true or false", s)
			}
			return b, nil
		}
		if _, ok := data.(bool); !ok {
			return nil, fmt.Errorf("%v is not true or false", data)
		}
	case reflect.String:
		switch data.(type) {
		case int, int64, uint64, float64:
			return fmt.Sprint(data), nil // a column number written without quotes
		case bool:
			return nil, fmt.Errorf("%v is not a text", data)
		}
	case reflect.Slice:
		if isString {
			var parts []string
			for p := range strings.SplitSeq(s, ",") {
				if p = strings.TrimSpace(p); p != "" {
					parts = append(parts, p)
				}
			}
			return parts, nil
		}
	}
	return data, nil
}

// Options returns the settings of package source that the source section holds.
func (sc SourceConfig) Options() source.Options {
	return source.Options{Format: sc.Format, LabelColumn: sc.LabelColumn, TextColumn: sc.TextColumn,
		GroupColumn: sc.GroupColumn, Header: sc.Header, Labels: sc.Labels, Extensions: sc.Extensions}
}

// Tokenizer returns the tokenizer options as the store keeps them.
func (tc TokenizeConfig) Tokenizer() store.Tokenizer {
	return store.Tokenizer{Lowercase: tc.Lowercase, NFKC: tc.NFKC, Numbers: tc.Numbers, SplitSentences: tc.SplitSentences, Tokens: tc.Tokens}
}

// NewTokenizer returns the tokenizer that tc describes.
func NewTokenizer(tc TokenizeConfig) (*tokenize.Tokenizer, error) {
	return classify.NewTokenizer(tc.Tokenizer())
}

// input returns how the model of c reads its inputs, as the store keeps it.
func (c *Config) input() store.Input {
	in := store.Input{Kind: c.Source.Kind, TimeStep: c.LSTM.TimeStep}
	if c.Source.Kind == "mnist" {
		in.Slice = c.Source.Slice
	} else {
		in.Tokenize, in.Unit = c.Tokenize.Tokenizer(), c.Tokenize.Unit
	}
	return in
}

// storedJSON returns c as the store keeps it: an object of the config's keys, as the YAML file
// writes them, so that renaming a Go field changes nothing stored.
func (c *Config) storedJSON() ([]byte, error) { return json.Marshal(c) }
