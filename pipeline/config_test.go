package pipeline

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// cardExample is the configuration shape of the design card, which must load as it is.
const cardExample = `seed: 42
output_dir: runs/spam
source:   {kind: text, format: tsv, train: PATH, test: PATH, validation_split: 0.1}
tokenize: {lowercase: true, split_sentences: true, unit: document}
vocab:    {min_count: 2, max_size: 20000}
embed:    {dim: 100, pretrained: "", trainable: true}
lstm:     {num_units: 128, num_layers: 1, time_step: 256, pooling: last, dropout: 0}
train:    {batch_size: 64, epochs: 5, optimizer: adam, learning_rate: 0.001, clip_norm: 5, early_stopping_patience: 0}
`

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfigCardExample(t *testing.T) {
	path := writeConfig(t, cardExample)
	cfg, err := LoadConfig(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.file = path
	want.OutputDir = "runs/spam"
	want.Source.Train, want.Source.Test = "PATH", "PATH"
	want.LSTM.Pooling = "last"
	want.Train.Epochs, want.Train.LearningRate, want.Train.EarlyStoppingPatience = 5, 0.001, 0
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("got  %+v\nwant %+v", *cfg, want)
	}
}

func TestLoadConfigOverrides(t *testing.T) {
	path := writeConfig(t, cardExample+"\n")
	t.Setenv("SEQCLF_LSTM_NUM_UNITS", "64")
	t.Setenv("SEQCLF_TOKENIZE_LOWERCASE", "false")
	cfg, err := LoadConfig(path, []string{"train.epochs=9", "source.extensions=.txt, .eml", "source.labels.spam-1=spam", "seed=7"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LSTM.NumUnits != 64 || cfg.Tokenize.Lowercase || cfg.Train.Epochs != 9 || cfg.Seed != 7 {
		t.Errorf("overrides not applied: %+v", cfg)
	}
	if !reflect.DeepEqual(cfg.Source.Extensions, []string{".txt", ".eml"}) {
		t.Errorf("extensions %q", cfg.Source.Extensions)
	}
	if cfg.Source.Labels["spam-1"] != "spam" {
		t.Errorf("labels %v", cfg.Source.Labels)
	}
	// --set wins over the environment.
	cfg, err = LoadConfig(path, []string{"lstm.num_units=32"})
	if err != nil || cfg.LSTM.NumUnits != 32 {
		t.Errorf("--set over env: %v %+v", err, cfg)
	}
}

func TestLoadConfigDirSource(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, `source:
  format: dir
  train: data/spam-assassin/data
  test_split: 0.2
  extensions: [.txt]
  labels: {easy-ham-1: ham, spam-2: spam}
  label_column: 3
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Source
	if s.Format != "dir" || s.TestSplit != 0.2 || !reflect.DeepEqual(s.Extensions, []string{".txt"}) ||
		!reflect.DeepEqual(s.Labels, map[string]string{"easy-ham-1": "ham", "spam-2": "spam"}) || s.LabelColumn != "3" {
		t.Errorf("%+v", s)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	cases := []struct {
		yaml string
		sets []string
		want string // the error must say this
	}{
		{"lstm: {nums_units: 3}", nil, "unknown key lstm.nums_units (the keys of lstm are num_units"},
		{"colour: red", nil, "unknown key colour"},
		{"lstm: {num_units: many}", nil, `lstm.num_units: "many" is not a whole number`},
		{"lstm: {num_units: 1.5}", nil, "lstm.num_units"},
		{"lstm: {num_units: true}", nil, "lstm.num_units"},
		{"tokenize: {lowercase: 1}", nil, "tokenize.lowercase"},
		{"train: {learning_rate: fast}", nil, "train.learning_rate"},
		{"seed: -1", nil, "seed"},
		{"source: {format: xml}", nil, `source.format is "xml", want one of tsv, csv, jsonl, dir`},
		{"source: {test_split: 1.5}", nil, "source.test_split is 1.5"},
		{"vocab: {max_size: 2}", nil, "vocab.max_size is 2"},
		{"lstm: {time_step: 0}", nil, "lstm.time_step is 0"},
		{"", []string{"lstm.num_unitz=3"}, "unknown key lstm.num_unitz"},
		{"", []string{"lstm.num_units"}, "want key=value"},
		{"", []string{"lstm.num_units=lots"}, "lstm.num_units"},
		{"lstm: [1, 2", nil, "c.yaml"},
		{"train: {schedule: linear}", nil, `train.schedule is "linear", want one of constant, cosine, onecycle`},
		{"train: {warmup_steps: -1}", nil, "train.warmup_steps is -1, want 0 (none) or more"},
		{"train: {warmup_steps: 1.5}", nil, "train.warmup_steps"},
		{"train: {weight_decay: -0.1}", nil, "train.weight_decay is -0.1, want 0 (none) or more"},
		{"embed: {pretrain: glove}", nil, `embed.pretrain is "glove", want skipgram (vectors learnt from the training text) or nothing`},
		{"embed: {pretrain: skipgram, pretrained: v.txt}", nil, "embed.pretrain is skipgram and embed.pretrained is v.txt: the table starts from one of them; remove the other"},
		{"train: {label_smoothing: 1}", nil, "train.label_smoothing is 1, want a probability in [0, 1)"},
		{"lstm: {word_dropout: -0.5}", nil, "lstm.word_dropout is -0.5, want a probability in [0, 1)"},
		{"train: {class_weights: {spam: 0}}", nil, "train.class_weights.spam is 0, want a weight more than 0"},
		{"train: {class_weights: {spam: -2}}", nil, "train.class_weights.spam is -2"},
		{"train: {class_weights: {spam: lots}}", nil, `train.class_weights: the weight of spam, "lots", is not a number`},
		{"train: {class_weights: {spam: true}}", nil, "train.class_weights: the weight of spam, true, is not a number"},
		{"train: {class_weights: heavy}", nil, `train.class_weights: "heavy" is not balanced nor label weights; write balanced, or a map as {spam: 2}`},
		{"train: {class_weights: [1, 2]}", nil, "train.class_weights: [1 2] is not balanced nor label weights"},
		{"", []string{"train.class_weights.spam=much"}, "train.class_weights"},
		{"", []string{"train.class_weightz=balanced"}, "unknown key train.class_weightz (the keys of train are batch_size, epochs, optimizer, learning_rate, schedule, warmup_steps, weight_decay, class_weights, label_smoothing, clip_norm, early_stopping_patience, bucket_by_length)"},
	}
	for _, c := range cases {
		_, err := LoadConfig(writeConfig(t, c.yaml), c.sets)
		if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q %q: error %v, want one saying %q", c.yaml, c.sets, err, c.want)
		}
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "none.yaml"), nil); err == nil {
		t.Error("a missing file loaded")
	}
}

// TestLoadConfigTrainKeys loads the schedule, weight decay and class weights from YAML, the
// environment and --set: class_weights is the word balanced or a map of labels, whose keys are
// free.
func TestLoadConfigTrainKeys(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, "train: {schedule: onecycle, warmup_steps: 100, weight_decay: 0.01, class_weights: balanced}"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if tc := cfg.Train; tc.Schedule != "onecycle" || tc.WarmupSteps != 100 || tc.WeightDecay != 0.01 || !tc.ClassWeights.Balanced || tc.ClassWeights.Weights != nil {
		t.Errorf("train: %+v", tc)
	}
	maps := map[string]float64{"spam": 2, "ham": 0.5}
	for _, c := range []struct {
		yaml string
		sets []string
		want ClassWeights
	}{
		{"train: {class_weights: {Spam: 2, ham: 0.5}}", nil, ClassWeights{Weights: maps}},
		{"train:\n  class_weights:\n    spam: 2\n    ham: 0.5\n", nil, ClassWeights{Weights: maps}},
		{"", []string{"train.class_weights=balanced"}, ClassWeights{Balanced: true}},
		{"", []string{"train.class_weights.spam=2", "train.class_weights.ham=0.5"}, ClassWeights{Weights: maps}},
		{"", []string{"train.class_weights=spam=2, ham=0.5"}, ClassWeights{Weights: maps}},
		{"train: {class_weights: {spam: 2, ham: 0.5}}", []string{"train.class_weights=balanced"}, ClassWeights{Balanced: true}},
		{"train: {class_weights: balanced}", []string{"train.class_weights.spam=2", "train.class_weights.ham=.5"}, ClassWeights{Weights: maps}},
		{"train: {class_weights: {0: 2, 7: 3}}", nil, ClassWeights{Weights: map[string]float64{"0": 2, "7": 3}}}, // MNIST's digits
		{"train: {class_weights: {}}", nil, ClassWeights{}},
		{"train: {class_weights: }", nil, ClassWeights{}},
	} {
		cfg, err := LoadConfig(writeConfig(t, c.yaml), c.sets)
		if err != nil {
			t.Errorf("%q %q: %v", c.yaml, c.sets, err)
			continue
		}
		if !reflect.DeepEqual(cfg.Train.ClassWeights, c.want) {
			t.Errorf("%q %q: class weights %+v, want %+v", c.yaml, c.sets, cfg.Train.ClassWeights, c.want)
		}
	}
	t.Setenv("SEQCLF_TRAIN_CLASS_WEIGHTS", "balanced")
	t.Setenv("SEQCLF_TRAIN_SCHEDULE", "cosine")
	cfg, err = LoadConfig("", nil)
	if err != nil || !cfg.Train.ClassWeights.Balanced || cfg.Train.Schedule != "cosine" {
		t.Errorf("from the environment: %v %+v", err, cfg)
	}
}

// TestStoredClassWeights checks the stored JSON of each kind of class weights, and that it
// reads back.
func TestStoredClassWeights(t *testing.T) {
	for _, c := range []struct {
		cw   ClassWeights
		want string
	}{
		{ClassWeights{}, `"class_weights":null`},
		{ClassWeights{Balanced: true}, `"class_weights":"balanced"`},
		{ClassWeights{Weights: map[string]float64{"spam": 2, "ham": 1}}, `"class_weights":{"ham":1,"spam":2}`},
	} {
		cfg := DefaultConfig()
		cfg.Train.ClassWeights = c.cw
		b, err := cfg.storedJSON()
		if err != nil || !strings.Contains(string(b), c.want) {
			t.Errorf("%+v stored as %s (%v), want %s in it", c.cw, b, err, c.want)
		}
		var back Config
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, cfg) {
			t.Errorf("%s reads back as %+v (%v)", b, back.Train, err)
		}
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	cfg, err := LoadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*cfg, DefaultConfig()) {
		t.Errorf("%+v", *cfg)
	}
}

// TestShippedConfigs loads every file of configs/: each must be valid as shipped.
func TestShippedConfigs(t *testing.T) {
	files, err := filepath.Glob("../configs/*.yaml")
	if err != nil || len(files) < 2 {
		t.Fatalf("configs: %v %v", files, err)
	}
	for _, f := range files {
		cfg, err := LoadConfig(f, nil)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if cfg.Source.Kind == "text" && cfg.Source.Train == "" {
			t.Errorf("%s: no source.train", f)
		}
	}
	cfg, err := LoadConfig("../configs/spam.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Source.Labels) != 5 || cfg.Source.Labels["spam-2"] != "spam" || cfg.Source.TestSplit != 0.2 {
		t.Errorf("spam.yaml source: %+v", cfg.Source)
	}
}

// TestStoredConfigUsesTheKeys checks that the JSON a store keeps of a config names every value
// by its YAML key, not by a Go field name: a field renamed without its tags fails here.
func TestStoredConfigUsesTheKeys(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Source.Labels = map[string]string{"Spam-1": "spam"}
	cfg.Train.ClassWeights = ClassWeights{Weights: map[string]float64{"spam": 2}}
	b, err := cfg.storedJSON()
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(b, &obj); err != nil {
		t.Fatal(err)
	}
	var keys []string
	var walk func(prefix string, v map[string]any)
	walk = func(prefix string, v map[string]any) {
		for k, x := range v {
			if sub, ok := x.(map[string]any); ok && k != "labels" && k != "class_weights" {
				walk(prefix+k+".", sub)
				continue
			}
			switch k {
			case "labels":
				k += ".*"
			case "class_weights": // a word or a map of labels
				keys = append(keys, prefix+k)
				k += ".*"
			}
			keys = append(keys, prefix+k)
		}
	}
	walk("", obj)
	slices.Sort(keys)
	want := configKeys(reflect.TypeFor[Config](), "")
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Errorf("stored keys %v\nwant the config's %v", keys, want)
	}
	var back Config
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, cfg) {
		t.Errorf("the stored config reads back as %+v (%v), want %+v", back, err, cfg)
	}
}
