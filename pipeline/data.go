package pipeline

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/feed"
	"github.com/seqclf/seqclf/idx"
	"github.com/seqclf/seqclf/internal/rng"
	"github.com/seqclf/seqclf/source"
)

// dataset is the data of a run, encoded.
type dataset struct {
	classes          []string
	train, val, test []feed.Sample
	testDocs         int // the test set's documents: with unit sentence, fewer than its samples
	valDocs          int // the validation set's documents (text), numbered in its samples' Doc
	inputDim         int
	trainFeatures    feed.Features
	testFeatures     feed.Features
	dict             *Dictionary // text only
}

// loadData reads and encodes the run's data.
func loadData(cfg *Config, log io.Writer, cache *PretrainCache) (*dataset, error) {
	if cfg.Source.Kind == "mnist" {
		return loadMNIST(cfg, log)
	}
	return loadText(cfg, log, cache)
}

func loadMNIST(cfg *Config, log io.Writer) (*dataset, error) {
	sc := cfg.Source
	slice, err := idx.ParseSlice(sc.Slice)
	if err != nil {
		return nil, &ConfigError{Key: "source.slice", Msg: err.Error()}
	}
	for _, key := range []string{"source.train_images", "source.train_labels"} {
		if p := map[string]string{"source.train_images": sc.TrainImages, "source.train_labels": sc.TrainLabels}[key]; p == "" {
			return nil, &ConfigError{Key: key, Msg: key + " is empty: give the IDX file"}
		}
	}
	im, labels, err := idx.ReadPair(sc.TrainImages, sc.TrainLabels)
	if err != nil {
		return nil, err
	}
	if err := im.CheckShape(idx.Shape{TimeStep: cfg.LSTM.TimeStep, InputSize: im.InputSize(slice)}, slice); err != nil {
		return nil, &ConfigError{Key: "lstm.time_step", Msg: "lstm.time_step: " + err.Error()}
	}
	d := &dataset{inputDim: im.InputSize(slice), trainFeatures: &feed.Rows{Images: im, Slice: slice}}
	nClasses := slices.Max(labels) + 1
	for c := range nClasses {
		d.classes = append(d.classes, strconv.Itoa(c))
	}
	held := source.Holdout(len(labels), sc.ValidationSplit, rng.New(cfg.Seed, rng.Validation))
	for i, l := range labels {
		s := feed.Sample{Index: i, Label: l, Doc: i}
		if held[i] {
			d.val = append(d.val, s)
		} else {
			d.train = append(d.train, s)
		}
	}
	if sc.TestImages != "" || sc.TestLabels != "" {
		tim, tlabels, err := idx.ReadPair(sc.TestImages, sc.TestLabels)
		if err != nil {
			return nil, err
		}
		if err := tim.CheckShape(im.Shape(slice), slice); err != nil {
			return nil, err
		}
		for i, l := range tlabels {
			if l >= nClasses {
				return nil, &source.Error{File: sc.TestLabels, Key: "source.test_labels",
					Msg: fmt.Sprintf("image %d has label %d, never seen in training (labels 0..%d)", i, l, nClasses-1)}
			}
			d.test = append(d.test, feed.Sample{Index: i, Label: l, Doc: i})
		}
		d.testDocs = len(d.test)
		d.testFeatures = &feed.Rows{Images: tim, Slice: slice}
	}
	fmt.Fprintf(log, "mnist: %d training images (%d held out for validation), %d test images, %d×%d\n",
		len(labels), len(d.val), len(d.test), im.TimeStep(slice), im.InputSize(slice))
	return d, nil
}

// NewSplit returns the split of cfg's training source: the test and validation documents drawn
// from the seed.
func NewSplit(cfg *Config) (*source.Split, error) {
	sh := source.Shares{Validation: cfg.Source.ValidationSplit, Seed: cfg.Seed}
	if cfg.Source.Test == "" {
		sh.Test = cfg.Source.TestSplit
	}
	return source.NewSplit(cfg.Source.Train, cfg.Source.Options(), sh)
}

func loadText(cfg *Config, log io.Writer, cache *PretrainCache) (*dataset, error) {
	sc := cfg.Source
	opts := sc.Options()
	if sc.Train == "" {
		return nil, &ConfigError{Key: "source.train", Msg: "source.train is empty: give the training data's path"}
	}
	for key, p := range map[string]string{"source.train": sc.Train, "source.test": sc.Test} {
		if _, err := os.Stat(p); p != "" && errors.Is(err, fs.ErrNotExist) {
			return nil, &ConfigError{Key: key, Msg: fmt.Sprintf("%s: %s: no such file or folder; check the path", key, p)}
		}
	}
	split, err := NewSplit(cfg)
	if err != nil {
		return nil, err
	}
	var testDocs []source.Document
	if sc.Test != "" {
		if testDocs, err = ReadDocuments(sc.Test, opts); err != nil {
			return nil, err
		}
		for _, doc := range testDocs {
			split.Exclude(doc.Text)
		}
	}
	var docs []source.Document
	var parts []source.Part
	dups := 0
	i := 0
	for doc, err := range source.Read(sc.Train, opts) {
		if err != nil {
			return nil, err
		}
		switch p := split.Of(i, doc); p {
		case source.PartDuplicate:
			dups++
		case source.PartTest:
			testDocs = append(testDocs, doc)
		default:
			docs = append(docs, doc)
			parts = append(parts, p)
		}
		i++
	}
	if i == 0 {
		return nil, &source.Error{File: sc.Train, Key: "source.format", Msg: "holds no document; check source.format and the path"}
	}
	if dups > 0 {
		fmt.Fprintf(log, "text: left out %d documents that repeat an earlier one\n", dups)
	}
	if len(docs) == 0 {
		return nil, &source.Error{File: sc.Train, Key: "source.test", Msg: "every document is a test document or repeats one: nothing is left to train on"}
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
		return nil, &source.Error{File: sc.Train, Msg: fmt.Sprintf("has only the label %q: a classifier needs at least two", d.classes[0])}
	}
	for _, doc := range testDocs {
		if _, ok := labelIDs[doc.Label]; !ok {
			return nil, &source.Error{File: doc.Name, Msg: fmt.Sprintf("a test document has the label %q, never seen in training (labels: %v)", doc.Label, d.classes)}
		}
	}

	tok, err := NewTokenizer(cfg.Tokenize)
	if err != nil {
		return nil, err
	}
	unit, err := feed.ParseUnit(cfg.Tokenize.Unit)
	if err != nil {
		return nil, &ConfigError{Key: "tokenize.unit", Msg: err.Error()}
	}
	start := time.Now()
	tokens := make([][][]string, len(docs))
	trainDocs := func(yield func(string) bool) {
		for i, doc := range docs {
			if parts[i] == source.PartTrain && !yield(doc.Text) {
				return
			}
		}
	}
	var trainIdx []int // the index in docs of each text trainDocs yields
	for i := range docs {
		if parts[i] == source.PartTrain {
			trainIdx = append(trainIdx, i)
		}
	}
	workers := runtime.GOMAXPROCS(0)
	if d.dict, err = BuildDictionary(trainDocs, tok, cfg, workers, func(i int, sents [][]string) { tokens[trainIdx[i]] = sents }, DictionaryOptions{Log: log, Pretrained: cache}); err != nil {
		return nil, err
	}
	// The validation documents are read as the training ones, but not counted.
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				tokens[i] = tok.Tokenize(docs[i].Text)
			}
		})
	}
	nVal := 0
	for i := range docs {
		if parts[i] != source.PartTrain {
			next <- i
			nVal++
		}
	}
	close(next)
	wg.Wait()
	v := d.dict.Vocab
	cov := v.Coverage()
	fmt.Fprintf(log, "text: %d training documents, %d for validation, %d for testing, %d labels; tokenized in %.1fs\n",
		len(docs)-nVal, nVal, len(testDocs), len(d.classes), time.Since(start).Seconds())
	fmt.Fprintf(log, "vocab: %d entries cover %.2f%% of the training tokens\n", v.Len(), 100*cov.Share)
	if d.dict.PretrainReused {
		fmt.Fprintf(log, "embed.pretrain: %s vectors of an earlier run of the same text, dictionary and seed\n", cfg.Embed.Pretrain)
	} else if t := d.dict.Pretrain; t > 0 {
		fmt.Fprintf(log, "embed.pretrain: %s vectors learnt from the training text in %.1fs\n", cfg.Embed.Pretrain, t.Seconds())
	}
	if st := d.dict.Pretrained; st != nil {
		fmt.Fprintf(log, "pretrained vectors: %d of %d dictionary entries found in %s\n", st.Found(), v.Len()-2, cfg.Embed.Pretrained)
	}
	d.inputDim = cfg.Embed.Dim
	f := &feed.Embeddings{Table: d.dict.Table, LR: float32(cfg.Train.LearningRate)}
	if cfg.Train.Optimizer != "sgd" {
		f.Adam = embed.NewAdam(cfg.Train.LearningRate)
	}
	d.trainFeatures, d.testFeatures = f, f

	for i, doc := range docs {
		if parts[i] == source.PartValidation {
			// Validation documents are numbered apart, to be scored per document.
			for _, ids := range feed.EncodeTokens(tokens[i], v, unit, cfg.LSTM.TimeStep) {
				d.val = append(d.val, feed.Sample{IDs: ids, Label: labelIDs[doc.Label], Doc: d.valDocs})
			}
			d.valDocs++
			continue
		}
		for _, ids := range feed.EncodeTokens(tokens[i], v, unit, cfg.LSTM.TimeStep) {
			if len(ids) > 0 { // an empty text teaches nothing
				d.train = append(d.train, feed.Sample{IDs: ids, Label: labelIDs[doc.Label], Doc: i})
			}
		}
	}
	for i, doc := range testDocs {
		for _, ids := range feed.EncodeText(tok, v, doc.Text, unit, cfg.LSTM.TimeStep) {
			d.test = append(d.test, feed.Sample{IDs: ids, Label: labelIDs[doc.Label], Doc: i})
		}
	}
	d.testDocs = len(testDocs)
	if len(d.train) == 0 {
		return nil, &source.Error{File: sc.Train, Msg: "no training document has a token"}
	}
	return d, nil
}
