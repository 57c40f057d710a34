// Command splits writes the train, validation and test split that `seqclf pipeline run CONFIG`
// trains and tests on, for other classifiers to train and test on the same documents: the token
// ids seqclf's dictionary gives (JSONL, for PyTorch), the tokens seqclf's tokenizer gives (one
// fastText line a document), the labels, the starting embedding table and the counts.
//
//	go run ./bench/accuracy/splits -config configs/spam.yaml -out DIR [-set key=value]...
//
// It reads and splits the data as pipeline.Run does (pipeline's loadText and loadMNIST, which are
// unexported: their steps are repeated here with pipeline's and source's exported functions).
// Files in DIR:
//
//	meta.json                      classes, counts, the resolved config, the vocabulary size
//	{train,val,test}.jsonl         text: {"doc": n, "label": "...", "ids": [[...] per sample]}
//	{train,val,test}.txt           text: fastText lines, "__label__X tok tok ..."
//	labels.txt                     text: fastText label <TAB> seqclf label, one per class
//	embed.f32                      text: the starting embedding table, rows × embed.dim float32 LE
//	val-indexes.txt                mnist: the training images held out for validation, one a line
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"unicode"

	"github.com/seqclf/seqclf/feed"
	"github.com/seqclf/seqclf/idx"
	"github.com/seqclf/seqclf/internal/rng"
	"github.com/seqclf/seqclf/pipeline"
	"github.com/seqclf/seqclf/source"
)

type sets []string

func (s *sets) String() string     { return strings.Join(*s, ",") }
func (s *sets) Set(v string) error { *s = append(*s, v); return nil }

// Counts are the sizes of the split, in documents (images) and in LSTM samples.
type Counts struct {
	TrainDocs    int `json:"train_docs"`
	ValDocs      int `json:"val_docs"`
	TestDocs     int `json:"test_docs"`
	TrainSamples int `json:"train_samples"` // non-empty samples only, as seqclf trains on
	ValSamples   int `json:"val_samples"`
	TestSamples  int `json:"test_samples"`
	Duplicates   int `json:"duplicates"`
}

// Meta is meta.json.
type Meta struct {
	Config    *pipeline.Config `json:"config"`
	Kind      string           `json:"kind"`
	Classes   []string         `json:"classes"`
	Counts    Counts           `json:"counts"`
	VocabSize int              `json:"vocab_size,omitempty"`
	EmbedDim  int              `json:"embed_dim,omitempty"`
	InputDim  int              `json:"input_dim"`
	// FastText maps each class to the label its fastText lines carry (spaces made "_").
	FastText map[string]string `json:"fasttext_labels,omitempty"`
}

func main() {
	var configPath, out string
	var overrides sets
	flag.StringVar(&configPath, "config", "", "the seqclf config (YAML)")
	flag.StringVar(&out, "out", "", "the folder to write")
	flag.Var(&overrides, "set", "key=value override, as pipeline run's --set (repeatable)")
	flag.Parse()
	if configPath == "" || out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: splits -config CONFIG.yaml -out DIR [-set key=value]...")
		os.Exit(2)
	}
	if err := run(configPath, out, overrides); err != nil {
		fmt.Fprintln(os.Stderr, "splits:", err)
		os.Exit(1)
	}
}

func run(configPath, out string, overrides []string) error {
	cfg, err := pipeline.LoadConfig(configPath, overrides)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var m *Meta
	if cfg.Source.Kind == "mnist" {
		m, err = writeMNIST(cfg, out)
	} else {
		m, err = writeText(cfg, out)
	}
	if err != nil {
		return err
	}
	m.Config = cfg
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	c := m.Counts
	fmt.Fprintf(os.Stderr, "splits: %s: %d training documents, %d for validation, %d for testing (samples %d/%d/%d), %d classes, %d duplicates left out\n",
		configPath, c.TrainDocs, c.ValDocs, c.TestDocs, c.TrainSamples, c.ValSamples, c.TestSamples, len(m.Classes), c.Duplicates)
	return os.WriteFile(filepath.Join(out, "meta.json"), append(b, '\n'), 0o644)
}

// writeMNIST holds out validation images as pipeline's loadMNIST does: source.Holdout on the
// training labels with the seed's validation stream.
func writeMNIST(cfg *pipeline.Config, out string) (*Meta, error) {
	sc := cfg.Source
	slice, err := idx.ParseSlice(sc.Slice)
	if err != nil {
		return nil, err
	}
	im, labels, err := idx.ReadPair(sc.TrainImages, sc.TrainLabels)
	if err != nil {
		return nil, err
	}
	m := &Meta{Kind: "mnist", InputDim: im.InputSize(slice)}
	for c := range slices.Max(labels) + 1 {
		m.Classes = append(m.Classes, fmt.Sprint(c))
	}
	held := source.Holdout(len(labels), sc.ValidationSplit, rng.New(cfg.Seed, rng.Validation))
	f, err := os.Create(filepath.Join(out, "val-indexes.txt"))
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriter(f)
	for i, h := range held {
		if h {
			fmt.Fprintln(w, i)
			m.Counts.ValDocs++
		} else {
			m.Counts.TrainDocs++
		}
	}
	if err := closeAll(w, f); err != nil {
		return nil, err
	}
	if sc.TestImages != "" {
		_, tl, err := idx.ReadPair(sc.TestImages, sc.TestLabels)
		if err != nil {
			return nil, err
		}
		m.Counts.TestDocs = len(tl)
	}
	m.Counts.TrainSamples, m.Counts.ValSamples, m.Counts.TestSamples = m.Counts.TrainDocs, m.Counts.ValDocs, m.Counts.TestDocs
	return m, nil
}

// writeText reads, splits, tokenizes and encodes the documents as pipeline's loadText does.
func writeText(cfg *pipeline.Config, out string) (*Meta, error) {
	sc := cfg.Source
	opts := sc.Options()
	split, err := pipeline.NewSplit(cfg)
	if err != nil {
		return nil, err
	}
	var testDocs []source.Document
	if sc.Test != "" {
		if testDocs, err = pipeline.ReadDocuments(sc.Test, opts); err != nil {
			return nil, err
		}
		for _, doc := range testDocs {
			split.Exclude(doc.Text)
		}
	}
	m := &Meta{Kind: "text"}
	var docs []source.Document
	var parts []source.Part
	i := 0
	for doc, err := range source.Read(sc.Train, opts) {
		if err != nil {
			return nil, err
		}
		switch p := split.Of(i, doc); p {
		case source.PartDuplicate:
			m.Counts.Duplicates++
		case source.PartTest:
			testDocs = append(testDocs, doc)
		default:
			docs = append(docs, doc)
			parts = append(parts, p)
		}
		i++
	}
	if len(docs) == 0 {
		return nil, errors.New("no training document")
	}
	labelIDs := map[string]int{}
	for _, doc := range docs {
		labelIDs[doc.Label] = 0
	}
	for l := range labelIDs {
		m.Classes = append(m.Classes, l)
	}
	slices.Sort(m.Classes)
	m.FastText = map[string]string{}
	for _, l := range m.Classes {
		m.FastText[l] = fastTextLabel(l)
	}

	tok, err := pipeline.NewTokenizer(cfg.Tokenize)
	if err != nil {
		return nil, err
	}
	unit, err := feed.ParseUnit(cfg.Tokenize.Unit)
	if err != nil {
		return nil, err
	}
	tokens := make([][][]string, len(docs))
	var trainIdx []int
	for i := range docs {
		if parts[i] == source.PartTrain {
			trainIdx = append(trainIdx, i)
		}
	}
	trainTexts := func(yield func(string) bool) {
		for _, i := range trainIdx {
			if !yield(docs[i].Text) {
				return
			}
		}
	}
	dict, err := pipeline.BuildDictionary(trainTexts, tok, cfg, runtime.GOMAXPROCS(0), func(i int, sents [][]string) { tokens[trainIdx[i]] = sents }, pipeline.DictionaryOptions{})
	if err != nil {
		return nil, err
	}
	for i := range docs {
		if parts[i] != source.PartTrain {
			tokens[i] = tok.Tokenize(docs[i].Text)
		}
	}
	v := dict.Vocab
	m.VocabSize, m.EmbedDim, m.InputDim = v.Len(), cfg.Embed.Dim, cfg.Embed.Dim
	if err := writeTable(filepath.Join(out, "embed.f32"), dict.Table.Data); err != nil {
		return nil, err
	}

	files := map[string]*splitWriter{}
	for _, name := range []string{"train", "val", "test"} {
		if files[name], err = newSplitWriter(out, name); err != nil {
			return nil, err
		}
	}
	for i, doc := range docs {
		samples := feed.EncodeTokens(tokens[i], v, unit, cfg.LSTM.TimeStep)
		if parts[i] == source.PartValidation {
			files["val"].add(m.Counts.ValDocs, doc.Label, samples, tokens[i], m.FastText)
			m.Counts.ValDocs++
			m.Counts.ValSamples += len(samples)
			continue
		}
		files["train"].add(m.Counts.TrainDocs, doc.Label, samples, tokens[i], m.FastText)
		m.Counts.TrainDocs++
		for _, s := range samples {
			if len(s) > 0 {
				m.Counts.TrainSamples++
			}
		}
	}
	for i, doc := range testDocs {
		if _, ok := labelIDs[doc.Label]; !ok {
			return nil, fmt.Errorf("test document %s has the label %q, never seen in training", doc.Name, doc.Label)
		}
		sents := tok.Tokenize(doc.Text)
		samples := feed.EncodeTokens(sents, v, unit, cfg.LSTM.TimeStep)
		files["test"].add(i, doc.Label, samples, sents, m.FastText)
		m.Counts.TestSamples += len(samples)
	}
	m.Counts.TestDocs = len(testDocs)
	for _, f := range files {
		if err := f.close(); err != nil {
			return nil, err
		}
	}
	lf, err := os.Create(filepath.Join(out, "labels.txt"))
	if err != nil {
		return nil, err
	}
	for _, l := range m.Classes {
		fmt.Fprintf(lf, "__label__%s\t%s\n", m.FastText[l], l)
	}
	return m, lf.Close()
}

// fastTextLabel is a label as one fastText word.
func fastTextLabel(l string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return '_'
		}
		return r
	}, l)
}

// fastTextToken is a token as one fastText word: whitespace and control characters (which
// fastText would split on) become U+2581, as SentencePiece writes a space.
func fastTextToken(t string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return '▁'
		}
		return r
	}, t)
}

type splitWriter struct {
	jf, tf *os.File
	jw, tw *bufio.Writer
	enc    *json.Encoder
}

func newSplitWriter(dir, name string) (*splitWriter, error) {
	jf, err := os.Create(filepath.Join(dir, name+".jsonl"))
	if err != nil {
		return nil, err
	}
	tf, err := os.Create(filepath.Join(dir, name+".txt"))
	if err != nil {
		jf.Close()
		return nil, err
	}
	s := &splitWriter{jf: jf, tf: tf, jw: bufio.NewWriter(jf), tw: bufio.NewWriter(tf)}
	s.enc = json.NewEncoder(s.jw)
	return s, nil
}

type record struct {
	Doc   int       `json:"doc"`
	Label string    `json:"label"`
	IDs   [][]int32 `json:"ids"`
}

func (s *splitWriter) add(doc int, label string, ids [][]int32, sents [][]string, ft map[string]string) {
	for i := range ids {
		if ids[i] == nil {
			ids[i] = []int32{}
		}
	}
	s.enc.Encode(record{Doc: doc, Label: label, IDs: ids}) // errors surface at close
	s.tw.WriteString("__label__" + ft[label])
	for _, sent := range sents {
		for _, t := range sent {
			if t = fastTextToken(t); t != "" {
				s.tw.WriteString(" " + t)
			}
		}
	}
	s.tw.WriteByte('\n')
}

func (s *splitWriter) close() error {
	return errors.Join(closeAll(s.jw, s.jf), closeAll(s.tw, s.tf))
}

func closeAll(w *bufio.Writer, f *os.File) error {
	return errors.Join(w.Flush(), f.Close())
}

func writeTable(path string, data []float32) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	var b [4]byte
	for _, x := range data {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
		w.Write(b[:])
	}
	return closeAll(w, f)
}
