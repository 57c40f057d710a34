package pipeline

import (
	"fmt"
	"math"
	"sync"

	"github.com/seqclf/seqclf/tokenize"
	"github.com/seqclf/seqclf/vocab"
)

// Unit says what one LSTM run sees: a sentence (the seed's choice; a document's label goes to each
// of its sentences) or a whole document.
type Unit int

const (
	// UnitSentence runs the LSTM once per sentence.
	UnitSentence Unit = iota
	// UnitDocument runs it once per document, its tokens cut to time_step.
	UnitDocument
)

// ParseUnit returns the unit named s: sentence or document.
func ParseUnit(s string) (Unit, error) {
	switch s {
	case "sentence":
		return UnitSentence, nil
	case "document":
		return UnitDocument, nil
	}
	return 0, fmt.Errorf("unknown unit %q: use sentence or document", s)
}

// String returns the unit's name.
func (u Unit) String() string {
	if u == UnitDocument {
		return "document"
	}
	return "sentence"
}

// EncodeText returns the id sequences that the LSTM sees for one document: one per sentence with
// UnitSentence, one for the whole text with UnitDocument, each cut to timeStep ids. A text without
// any token gives one empty sequence, so that every document gets a prediction.
func EncodeText(tok *tokenize.Tokenizer, v *vocab.Vocab, text string, unit Unit, timeStep int) [][]int32 {
	return EncodeTokens(tok.Tokenize(text), v, unit, timeStep)
}

// EncodeTokens is EncodeText on a text already split into sentences of tokens.
func EncodeTokens(sents [][]string, v *vocab.Vocab, unit Unit, timeStep int) [][]int32 {
	var out [][]int32
	if unit == UnitDocument {
		var ids []int32
		for _, s := range sents {
			if len(ids) >= timeStep {
				break
			}
			ids = v.AppendEncode(ids, s)
		}
		out = append(out, ids[:min(len(ids), timeStep)])
	} else {
		for _, s := range sents {
			ids := v.Encode(s)
			out = append(out, ids[:min(len(ids), timeStep)])
		}
	}
	if len(out) == 0 {
		out = append(out, nil)
	}
	return out
}

// Classifier gives the class probabilities of texts with a trained text model. It is safe for
// use by many goroutines at once: each call borrows a workspace of its own.
type Classifier struct {
	model     *Model
	vocab     *vocab.Vocab
	tok       *tokenize.Tokenizer
	unit      Unit
	timeStep  int
	batchSize int
	pool      sync.Pool // of *Predictor
}

// NewClassifier returns a classifier for model m (with its table), reading texts with tok and v
// as in training.
func NewClassifier(m *Model, v *vocab.Vocab, tok *tokenize.Tokenizer, unit Unit, timeStep, batchSize int) *Classifier {
	c := &Classifier{model: m, vocab: v, tok: tok, unit: unit, timeStep: timeStep, batchSize: batchSize}
	c.pool.New = func() any {
		return &Predictor{Model: m.LSTM, Features: &EmbedFeatures{Table: m.Table}, BatchSize: batchSize}
	}
	return c
}

// Classes returns the class names, by label id.
func (c *Classifier) Classes() []string { return c.model.Labels }

// Classify returns the class probabilities of each text, len(texts) × classes flattened. With
// UnitSentence, a document's probabilities are the softmax of the mean log-probability of its
// sentences. A text that is not valid UTF-8 is read as Latin-1, as the sources read it.
func (c *Classifier) Classify(texts []string) []float32 {
	var samples []Sample
	for d, text := range texts {
		for _, ids := range EncodeText(c.tok, c.vocab, decodeString(text), c.unit, c.timeStep) {
			samples = append(samples, Sample{IDs: ids, Doc: d})
		}
	}
	p := c.pool.Get().(*Predictor)
	probs, _ := p.Predict(samples)
	c.pool.Put(p)
	return CombineByDoc(probs, samples, len(texts), len(c.model.Labels))
}

// CombineByDoc turns per-sample probabilities (samples × classes) into per-document ones
// (docs × classes): a document's probabilities are the softmax of the mean log-probability of
// its samples. A document with one sample keeps its probabilities.
func CombineByDoc(probs []float32, samples []Sample, docs, classes int) []float32 {
	sum := make([]float64, docs*classes)
	n := make([]int, docs)
	for i, s := range samples {
		n[s.Doc]++
		for j := range classes {
			sum[s.Doc*classes+j] += math.Log(math.Max(float64(probs[i*classes+j]), 1e-30))
		}
	}
	out := make([]float32, docs*classes)
	for d := range docs {
		row := sum[d*classes : (d+1)*classes]
		mx := math.Inf(-1)
		for j := range row {
			row[j] /= float64(max(n[d], 1))
			mx = math.Max(mx, row[j])
		}
		var z float64
		for _, v := range row {
			z += math.Exp(v - mx)
		}
		for j, v := range row {
			out[d*classes+j] = float32(math.Exp(v-mx) / z)
		}
	}
	return out
}

// NewTokenizer returns the tokenizer that tc describes.
func NewTokenizer(tc TokenizeConfig) (*tokenize.Tokenizer, error) {
	return tokenize.New(tokenize.Lowercase(tc.Lowercase), tokenize.NFKC(tc.NFKC),
		tokenize.Numbers(tc.Numbers), tokenize.SplitSentences(tc.SplitSentences))
}

// LoadClassifier reads a trained text model from a store, with its dictionary and the tokenizer
// settings, unit and time_step it was trained with.
func LoadClassifier(s *Store, batchSize int) (*Classifier, error) {
	cfg, err := LoadRunConfig(s)
	if err != nil {
		return nil, err
	}
	if cfg.Source.Kind != "text" {
		return nil, fmt.Errorf("%s is a model of %s images, not of text: give the images with --images", s.Path(), cfg.Source.Kind)
	}
	// The model, the dictionary and the tokenizer's sentence model load side by side: about 12,
	// 12 and 20 ms for the default model, the bulk of classify's start.
	var (
		m                *Model
		v                *vocab.Vocab
		tok              *tokenize.Tokenizer
		mErr, vErr, tErr error
		wg               sync.WaitGroup
	)
	wg.Add(2)
	go func() { defer wg.Done(); tok, tErr = NewTokenizer(cfg.Tokenize) }()
	go func() { defer wg.Done(); v, vErr = s.Vocab() }()
	m, mErr = LoadModel(s)
	wg.Wait()
	for _, err := range []error{mErr, vErr, tErr} {
		if err != nil {
			return nil, err
		}
	}
	if m.Table == nil {
		return nil, fmt.Errorf("%s: %w: a text model without an embedding table", s.Path(), ErrNotStore)
	}
	unit, err := ParseUnit(cfg.Tokenize.Unit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", s.Path(), ErrNotStore, err)
	}
	return NewClassifier(m, v, tok, unit, cfg.LSTM.TimeStep, batchSize), nil
}
