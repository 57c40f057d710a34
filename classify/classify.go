package classify

import (
	"errors"
	"fmt"
	"sync"

	"github.com/seqclf/seqclf/feed"
	"github.com/seqclf/seqclf/idx"
	"github.com/seqclf/seqclf/source"
	"github.com/seqclf/seqclf/store"
	"github.com/seqclf/seqclf/tokenize"
)

// ErrKind means a model was given inputs of another kind: text for a model of images, or
// images for a model of text.
var ErrKind = errors.New("classify: input of the wrong kind")

// A ShapeError means images do not have the shape a model was trained on.
type ShapeError struct {
	Path string // the image file
	Err  error  // what differs
}

func (e *ShapeError) Error() string {
	return fmt.Sprintf("%s does not fit the model: %v", e.Path, e.Err)
}
func (e *ShapeError) Unwrap() error { return e.Err }

// Kinds of model, as store.Input.Kind names them.
const (
	KindText   = "text"
	KindImages = "mnist"
)

// A Dictionary gives the ids of tokens: a *vocab.Vocab, or the *store.Dictionary that
// Store.Dictionary reads in place. A token it does not hold is vocab.UnkID.
type Dictionary = feed.Dictionary

// Classifier gives the class probabilities of texts, or of images, with a trained model. It is
// safe for use by many goroutines at once: each call borrows a workspace of its own.
type Classifier struct {
	model     *store.Model
	dict      Dictionary          // text
	tok       *tokenize.Tokenizer // text
	unit      feed.Unit           // text
	slice     idx.Slice           // images
	batchSize int
	pool      sync.Pool // of *Predictor
}

// New returns a classifier for model m. A text model needs its dictionary d and a tokenizer
// with the options it was trained with (NewTokenizer); an image model takes nil for both.
// batchSize is the number of samples run through the model at once. The classifier freezes
// m.LSTM (Freeze): m must not be trained further.
func New(m *store.Model, d Dictionary, tok *tokenize.Tokenizer, batchSize int) (*Classifier, error) {
	c := &Classifier{model: m, dict: d, tok: tok, batchSize: max(batchSize, 1)}
	switch m.Input.Kind {
	case KindText:
		if !hasTable(m) || d == nil || tok == nil {
			return nil, fmt.Errorf("classify: a text model needs its embedding table, dictionary and tokenizer")
		}
		unit, err := feed.ParseUnit(m.Input.Unit)
		if err != nil {
			return nil, fmt.Errorf("classify: %w", err)
		}
		c.unit = unit
		c.pool.New = func() any {
			return &Predictor{Model: m.LSTM, Features: &feed.Embeddings{Table: m.Table}, BatchSize: c.batchSize, Quant: m.Quant}
		}
	case KindImages:
		slice, err := idx.ParseSlice(m.Input.Slice)
		if err != nil {
			return nil, fmt.Errorf("classify: %w", err)
		}
		c.slice = slice
	default:
		return nil, fmt.Errorf("classify: unknown model kind %q", m.Input.Kind)
	}
	Freeze(m)
	return c, nil
}

// InputMemoBytes is the most memory that a text model's first layer spends, per direction,
// remembering the input projections of the tokens it has met (lstm.Model.MemoInputs): 2.4 KiB
// a token for 100 dimensions and 128 units, so 32 MiB hold about 13,700 distinct tokens.
const InputMemoBytes = 32 << 20

// WarmUp makes a text model that remembers its tokens' input projections (Freeze) remember
// those of its most frequent tokens, the dictionary's first rows, as many as InputMemoBytes
// holds: what a server's first requests would otherwise compute a few at a time. For 20,000
// tokens of 100 dimensions and 128 units that is about 2 GFLOP, tens of ms on one core. It
// returns the tokens remembered; on a model of images it does nothing and returns 0. It may run
// while the model answers.
func WarmUp(m *store.Model) int {
	switch {
	case m.Input.Kind != KindText:
		return 0
	case m.Quant != nil:
		return m.Quant.WarmTokens()
	case m.LSTM != nil && m.Table != nil:
		return m.LSTM.MemoRows(m.Table.Data)
	}
	return 0
}

// WarmUp is the package's WarmUp for the classifier's model.
func (c *Classifier) WarmUp() int { return WarmUp(c.model) }

// Freeze readies m's network for answering, as New does: it freezes m.LSTM
// (lstm.Model.Freeze), and a text model's first layer remembers the input projections of its
// tokens, up to InputMemoBytes for each direction (lstm.Model.MemoInputs, or for an int8 model
// quant.Model.MemoTokens), which its passes then copy rather than compute. An int8 model's
// answers keep their bits, and so does a float32 one's for a text that goes alone; in a batch of
// five or more, a float32 text's answer is the one-layer model's in a batch of any size from
// two, which may differ in the last bits from what the model gave before Freeze (see
// lstm.Model.MemoInputs).
func Freeze(m *store.Model) {
	if m.LSTM == nil || m.LSTM.Frozen() {
		return
	}
	m.LSTM.Freeze()
	switch {
	case m.Input.Kind != KindText:
	case m.Quant != nil:
		m.Quant.MemoTokens(InputMemoBytes)
	default:
		m.LSTM.MemoInputs(InputMemoBytes)
	}
}

// hasTable reports whether m has an embedding table: its float32 one, or a quantized model's
// int8 one (which Store.MapModel leaves alone).
func hasTable(m *store.Model) bool {
	return m.Table != nil || m.Quant != nil && m.Quant.Embed != nil
}

// NewTokenizer returns the tokenizer that reads texts as a model with options o was trained to.
// It is the one place a tokenizer is made from stored or configured options: training, the
// dictionary builder and every way of classifying go through it. o.Tokens is words (or empty,
// as in models older than character tokens) or characters.
func NewTokenizer(o store.Tokenizer) (*tokenize.Tokenizer, error) {
	var chars bool
	switch o.Tokens {
	case "", "words":
	case "characters":
		chars = true
	default:
		return nil, fmt.Errorf("classify: tokenize.tokens %q is neither words nor characters", o.Tokens)
	}
	return tokenize.New(tokenize.Lowercase(o.Lowercase), tokenize.NFKC(o.NFKC),
		tokenize.Numbers(o.Numbers), tokenize.SplitSentences(o.SplitSentences), tokenize.Characters(chars))
}

// Load reads the trained model of a store and returns its classifier; for a text model it also
// reads the dictionary and builds the tokenizer the model was trained with. The embedding table
// and the dictionary are mapped from the file, not read (Store.MapModel, Store.Dictionary), so
// Load takes the same time whatever their size; the classifier stays valid after s is closed.
func Load(s *store.Store, batchSize int) (*Classifier, error) {
	in, err := s.Input()
	if err != nil {
		return nil, err
	}
	if in.Kind != KindText {
		m, err := s.MapModel()
		if err != nil {
			return nil, err
		}
		return New(m, nil, nil, batchSize)
	}
	// The tokenizer's sentence model builds beside the reads: it is the longest part of Load
	// (a few ms) once the table and dictionary are mapped, not read. A store of an earlier layout
	// decodes its dictionary, on a goroutine of its own too.
	var (
		m                *store.Model
		d                *store.Dictionary
		tok              *tokenize.Tokenizer
		mErr, dErr, tErr error
		wg               sync.WaitGroup
	)
	wg.Go(func() { tok, tErr = NewTokenizer(in.Tokenize) })
	wg.Go(func() { d, dErr = s.Dictionary() })
	m, mErr = s.MapModel()
	wg.Wait()
	if err := errors.Join(mErr, dErr, tErr); err != nil {
		return nil, err
	}
	if !hasTable(m) {
		return nil, fmt.Errorf("%s: %w: a text model without an embedding table", s.Path(), store.ErrNotStore)
	}
	return New(m, d, tok, batchSize)
}

// Classes returns the class names, by label id.
func (c *Classifier) Classes() []string { return c.model.Labels }

// Kind returns the kind of input the model reads: KindText or KindImages.
func (c *Classifier) Kind() string { return c.model.Input.Kind }

// Model returns the model the classifier runs.
func (c *Classifier) Model() *store.Model { return c.model }

// Encode returns the id sequences the model's LSTM runs on for text: one per sentence with unit
// sentence, one for the whole text with unit document, each cut to time_step. It is what a
// program outside seqclf feeds an exported model. A model of images has none.
func (c *Classifier) Encode(text string) ([][]int32, error) {
	if c.model.Input.Kind != KindText {
		return nil, fmt.Errorf("%w: the model reads %s images, not text", ErrKind, c.model.Input.Kind)
	}
	return c.encode(text), nil
}

// encode returns the id sequences of text (feed.EncodeTokens).
func (c *Classifier) encode(text string) [][]int32 {
	return feed.EncodeTokens(c.tok.Tokenize(source.DecodeString(text)), c.dict, c.unit, c.model.Input.TimeStep)
}

// Classify returns the class probabilities of each text, len(texts) × classes flattened. With
// unit sentence, a document's probabilities are the softmax of the mean log-probability of its
// sentences. A text that is not valid UTF-8 is read as Latin-1, as sources read it.
func (c *Classifier) Classify(texts []string) ([]float32, error) {
	if c.model.Input.Kind != KindText {
		return nil, fmt.Errorf("%w: the model reads %s images, not text", ErrKind, c.model.Input.Kind)
	}
	var samples []feed.Sample
	for d, text := range texts {
		for _, ids := range c.encode(text) {
			samples = append(samples, feed.Sample{IDs: ids, Doc: d, Label: -1})
		}
	}
	p := c.pool.Get().(*Predictor)
	probs, _ := p.Predict(samples)
	c.pool.Put(p)
	return CombineByDoc(probs, len(c.model.Labels), samples, len(texts)), nil
}

// ClassifyImages returns the class probabilities of images first to last-1 of im, (last−first)
// × classes flattened. The images must have the shape the model was trained on.
func (c *Classifier) ClassifyImages(im *idx.Images, first, last int) ([]float32, error) {
	if c.model.Input.Kind != KindImages {
		return nil, fmt.Errorf("%w: the model reads text, not images", ErrKind)
	}
	if err := im.CheckShape(idx.Shape{TimeStep: c.model.Input.TimeStep, InputSize: c.model.LSTM.Config.InputDim}, c.slice); err != nil {
		return nil, &ShapeError{Path: im.Path, Err: err}
	}
	if first < 0 || last > im.Count || first > last {
		return nil, fmt.Errorf("classify: images [%d, %d) of %d", first, last, im.Count)
	}
	samples := make([]feed.Sample, 0, last-first)
	for i := first; i < last; i++ {
		samples = append(samples, feed.Sample{Index: i, Label: -1})
	}
	p := &Predictor{Model: c.model.LSTM, Features: &feed.Rows{Images: im, Slice: c.slice}, BatchSize: c.batchSize, Quant: c.model.Quant}
	probs, _ := p.Predict(samples)
	return probs, nil
}
