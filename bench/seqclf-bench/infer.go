package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/seqclf/seqclf/classify"
	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/feed"
	"github.com/seqclf/seqclf/idx"
	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/pipeline"
	"github.com/seqclf/seqclf/store"
	"github.com/seqclf/seqclf/vocab"
)

// spamTokenizer is how encode-spam tokenizes the mails, as a model file records it.
var spamTokenizer = store.Tokenizer{Lowercase: true}

// readMNIST reads the MNIST training images and labels, one sample per image, in file order.
func readMNIST(dir string) (*idx.Images, []feed.Sample, error) {
	im, labels, err := idx.ReadPair(filepath.Join(dir, "train-images-idx3-ubyte.gz"), filepath.Join(dir, "train-labels-idx1-ubyte.gz"))
	if err != nil {
		return nil, nil, err
	}
	data := make([]feed.Sample, len(labels))
	for i, y := range labels {
		data[i] = feed.Sample{Index: i, Label: y, Doc: i}
	}
	return im, data, nil
}

// readSpam reads an id file written by encode-spam, one sample per mail, in file order.
func readSpam(path string) (vocabSize int, data []feed.Sample, err error) {
	vocabSize, docs, err := readIDs(path)
	if err != nil {
		return 0, nil, err
	}
	data = make([]feed.Sample, len(docs))
	for i, d := range docs {
		data[i] = feed.Sample{IDs: d.ids, Label: d.label, Doc: i}
	}
	return vocabSize, data, nil
}

// writeDict writes the dictionary encode-spam built as a dictionary file: what a model file of
// the mails needs beside its weights.
func writeDict(path string, v *vocab.Vocab) error {
	return store.WriteModelFile(path, "."+filepath.Base(path)+".tmp-", func(s *store.Store) error {
		if err := s.PutVocab(v); err != nil {
			return err
		}
		return s.PutTokenizer(spamTokenizer)
	})
}

// readDict reads back the dictionary of writeDict.
func readDict(path string) (*vocab.Vocab, error) {
	s, err := store.Open(path)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Vocab()
}

// saveModel writes a model trained here as `seqclf pipeline run` would: a model file that
// `seqclf classify`, `seqclf model export` and the inference-only commands read. Text models
// take their dictionary v and table; a model of images nil for both. Its class names are the
// label ids (MNIST's digits; for the mails 0 ham, 1 spam, as encode-spam labels them).
func saveModel(path string, m *lstm.Model[float32], in store.Input, v *vocab.Vocab, table *embed.Table, classes int) error {
	labels := make([]string, classes)
	for i := range labels {
		labels[i] = strconv.Itoa(i)
	}
	if in.Kind == classify.KindText && classes == 2 {
		labels = []string{"ham", "spam"}
	}
	cfg := pipeline.DefaultConfig()
	cfg.Seed, cfg.OutputDir, cfg.Source.Kind = benchSeed, filepath.Dir(path), in.Kind
	cfg.LSTM.NumUnits, cfg.LSTM.TimeStep, cfg.LSTM.Pooling, cfg.LSTM.InputDropout = m.Config.NumUnits, in.TimeStep, m.Config.Pooling.String(), 0
	cfg.Train.LearningRate, cfg.Train.Schedule = learningRate, "constant"
	if in.Kind == classify.KindImages {
		cfg.Source.Slice, cfg.Train.BatchSize = in.Slice, mnistBatch
	} else {
		cfg.Tokenize = pipeline.TokenizeConfig{Lowercase: spamTokenizer.Lowercase, Unit: in.Unit, Tokens: "words"}
		cfg.Embed.Dim, cfg.Train.BatchSize = table.Dim(), spamBatch
	}
	run, err := json.Marshal(&cfg)
	if err != nil {
		return err
	}
	return store.WriteModelFile(path, "."+filepath.Base(path)+".tmp-", func(s *store.Store) error {
		if v != nil {
			if err := s.PutVocab(v); err != nil {
				return err
			}
			if err := s.PutTokenizer(in.Tokenize); err != nil {
				return err
			}
			if err := s.PutTable(table); err != nil {
				return err
			}
		}
		return s.PutModel(&store.Trained{LSTM: m, Labels: labels, Input: in, Run: run, History: json.RawMessage("[]")})
	})
}

// inferWarmup is how many times the inference-only rounds run their first batch of 256 untimed,
// here and in bench/ort_bench.js: ONNX Runtime's second batch still took 2–4 times its later
// ones.
const inferWarmup = 3

// inferOnly measures inference alone on the model file path (a model saved by -save, or a
// quantized copy of one, which runs as `seqclf classify` runs it, on its int8 network): the
// batch-256 rate and the batch-1 latency of measureInference, on the samples and batches
// bench/ort_bench.js gives ONNX Runtime. features makes the model's inputs. Variant int8 insists
// on a quantized model, so that float32 figures are never shown as int8 ones.
func inferOnly(c commonFlags, task, path string, data []feed.Sample, features func(*store.Model) feed.Features) error {
	if need := (c.inferBatches + 1) * inferBatch; len(data) < need || len(data) < c.latencyRuns+10 {
		return fmt.Errorf("%d samples: need %d for inference", len(data), need)
	}
	s, err := store.Open(path)
	if err != nil {
		return err
	}
	m, err := s.LoadModel()
	s.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	r := Result{Task: task + "-infer", Variant: c.variant, Round: c.round, LatencyCalls: c.latencyRuns, Backend: "lstm/internal/kernel"}
	if m.Quant != nil {
		r.Backend = "lstm/quant (int8)"
	} else if c.variant == "int8" {
		return fmt.Errorf("%s: not a quantized model (seqclf model quantize), but -variant int8", path)
	}
	classify.Freeze(m) // a model that only answers, as classify.New freezes it
	classify.WarmUp(m) // its most frequent tokens remembered, as seqclf serve does at start
	f := features(m)
	predictor := func(batch int) *classify.Predictor {
		return &classify.Predictor{Model: m.LSTM, Features: f, BatchSize: batch, Quant: m.Quant}
	}
	r.InferSamplesPerS, r.LatencyMedianMS = measureInference(c, predictor, data, inferWarmup)
	r.PeakRSSMiB = peakRSSMiB()
	return writeResult(c.out, r)
}
