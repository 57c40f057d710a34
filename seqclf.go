package seqclf

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/seqclf/seqclf/classify"
	"github.com/seqclf/seqclf/idx"
	"github.com/seqclf/seqclf/store"
)

// Kinds of model, as Info.Kind names them.
const (
	KindText   = classify.KindText   // reads texts: tokens, the dictionary, the embedding table
	KindImages = classify.KindImages // reads MNIST-format images, a row of pixels a step
)

// Errors a caller may branch on. Open returns the store's errors as they are: a
// *store.MissingError (errors.Is store.ErrMissing) for a file that does not exist or holds no
// trained model, store.ErrNotStore, store.ErrVersion, store.ErrInUse.
var (
	// ErrKind means a model was given inputs of another kind: texts for a model of images, or
	// images for a model of texts.
	ErrKind = classify.ErrKind
	// ErrClosed means the model was used after Close.
	ErrClosed = errors.New("seqclf: model is closed")
)

// A ShapeError means images do not have the shape a model was trained on (28×28 for MNIST
// rows); its Err says what differs.
type ShapeError = classify.ShapeError

// DefaultBatchSize is the number of inputs run through the model at once unless WithBatchSize
// says otherwise.
const DefaultBatchSize = 64

// imageChunk is the number of batches of images between two looks at the context: a chunk shares
// one workspace, which costs about as much to make as a batch does to run.
const imageChunk = 16

// An Option changes how Open sets a model up.
type Option func(*options) error

type options struct {
	batchSize int
}

// WithBatchSize sets the number of inputs run through the model at once (default 64), and so how
// often a call looks at its context. Larger batches run faster per input on long lists; a single
// text goes alone whatever the size.
func WithBatchSize(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("seqclf: batch size %d, want at least 1", n)
		}
		o.batchSize = n
		return nil
	}
}

// A Prediction is a model's answer for one input. Its probabilities are keyed by class name so
// that it stands alone: logged, encoded, or read as p.Probabilities["spam"] > 0.9 without the
// model at hand (Model.Classes gives the classes in order). Encoded as JSON it is a line of
// `seqclf classify --json`.
type Prediction struct {
	// Label is the most probable class (the first in Classes' order of equally probable ones).
	Label string `json:"label"`
	// Probability is Label's probability.
	Probability float32 `json:"probability"`
	// Probabilities holds every class's probability by class name; they sum to 1.
	Probabilities map[string]float32 `json:"probabilities"`
}

// Info describes a model: what it reads, its shape and its size.
type Info struct {
	Path string // the file it was opened from
	Kind string // KindText or KindImages, as Input.Kind
	// Input says how the model reads: its kind, the tokenizer's options (text), what one LSTM run
	// reads (text: unit document or sentence), the most steps of a run (time_step), and how
	// images are sliced (rows or columns).
	Input store.Input
	// Shape is the network: the input size of a step, the layers, their units, the pooling
	// before the head, the classes; with the dropout it was trained with.
	Shape store.Shape
	// Parameters counts the trained values: the LSTM layers, the head, and the embedding table's
	// rows × dim.
	Parameters int
	// Vocab is the dictionary's size, <pad> and <unk> included (the embedding table has one row
	// per entry); 0 for a model of images.
	Vocab int
	// Quantized is whether the model's weights are int8 (seqclf model quantize); Parameters then
	// counts them as the float32 model does.
	Quantized bool
}

// A Model is a trained classifier, in memory. It is safe for use by many goroutines at once.
type Model struct {
	clf       atomic.Pointer[classify.Classifier] // nil after Close
	classes   []string
	info      Info
	batchSize int
}

// Open reads the trained model at path (the model.db that `seqclf pipeline run` writes): the
// weights, the class names, and for a text model the dictionary, the embedding table and the
// tokenizer's settings. The file is opened read-only and closed before Open returns, so it may
// be replaced while the model answers; open it again to use the new one.
func Open(path string, opts ...Option) (*Model, error) {
	o := options{batchSize: DefaultBatchSize}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	s, err := store.Open(path)
	if err != nil {
		return nil, err
	}
	// The classifier outlives the store: its table and dictionary are copies, or mappings of the
	// file that stay valid once it is closed, replaced or removed (store.MapModel).
	c, err := classify.Load(s, o.batchSize)
	s.Close()
	if err != nil {
		return nil, err
	}
	sm := c.Model()
	cfg := sm.LSTM.Config
	info := Info{
		Path:       path,
		Kind:       sm.Input.Kind,
		Input:      sm.Input,
		Shape:      store.ShapeOf(cfg),
		Parameters: sm.LSTM.NumParams(),
		Quantized:  sm.Quant != nil,
	}
	switch {
	case sm.Table != nil:
		info.Parameters += sm.Table.Rows() * sm.Table.Dim()
		info.Vocab = sm.Table.Rows()
	case sm.Quant != nil && sm.Quant.Embed != nil: // mapped int8, no float32 table
		info.Parameters += sm.Quant.Embed.Rows * sm.Quant.Embed.Dim
		info.Vocab = sm.Quant.Embed.Rows
	}
	m := &Model{classes: slices.Clone(c.Classes()), info: info, batchSize: o.batchSize}
	m.clf.Store(c)
	return m, nil
}

// Classes returns the class names, in the model's order (a copy).
func (m *Model) Classes() []string { return slices.Clone(m.classes) }

// Info returns what the model reads, its shape and its size.
func (m *Model) Info() Info { return m.info }

// Close releases the model: later calls to Classify, ClassifyImages and ClassifyImageFile return
// ErrClosed, and calls under way finish. It always returns nil.
func (m *Model) Close() error {
	m.clf.Store(nil)
	return nil
}

// WarmUp readies a text model for fast single answers: it remembers the input projections of
// its most frequent tokens (classify.WarmUp), which a call with one text then copies rather
// than computes; without it, the model remembers the tokens as calls meet them. It takes tens
// of ms for 20,000 tokens and may run while the model answers; `seqclf serve` runs it in the
// background at start. It returns the tokens remembered: 0 for a model of images or after
// Close.
func (m *Model) WarmUp() int {
	c, err := m.classifier()
	if err != nil {
		return 0
	}
	return c.WarmUp()
}

// classifier returns the model's classifier, or ErrClosed.
func (m *Model) classifier() (*classify.Classifier, error) {
	c := m.clf.Load()
	if c == nil {
		return nil, ErrClosed
	}
	return c, nil
}

// Classify returns the answer for each text, in order. A text is read as the model was trained
// to: tokenized with the same settings, cut to time_step tokens, and, for a model whose unit is
// the sentence, answered with the softmax of its sentences' mean log-probability. Text that is
// not valid UTF-8 is read as Latin-1. The texts go through the model in batches; ctx is looked
// at before each, and its error returned once it is done.
//
// A model of images returns an error wrapping ErrKind.
func (m *Model) Classify(ctx context.Context, texts ...string) ([]Prediction, error) {
	c, err := m.classifier()
	if err != nil {
		return nil, err
	}
	if m.info.Kind != KindText {
		return nil, fmt.Errorf("%w: %s is a model of %s images, not of text", ErrKind, m.info.Path, m.info.Kind)
	}
	out := make([]Prediction, 0, len(texts))
	for lo := 0; lo < len(texts); lo += m.batchSize {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		probs, err := c.Classify(texts[lo:min(lo+m.batchSize, len(texts))])
		if err != nil {
			return nil, err
		}
		out = m.appendPredictions(out, probs)
	}
	return out, nil
}

// ClassifyImages returns the answer for each image of im, in order. The images must have the
// shape the model was trained on, or the error is a *ShapeError; ctx is looked at every 16
// batches. A model of text returns an error wrapping ErrKind.
func (m *Model) ClassifyImages(ctx context.Context, im *idx.Images) ([]Prediction, error) {
	c, err := m.classifier()
	if err != nil {
		return nil, err
	}
	if m.info.Kind != KindImages {
		return nil, fmt.Errorf("%w: %s is a model of text, not of images", ErrKind, m.info.Path)
	}
	out := make([]Prediction, 0, im.Count)
	// An empty file still has its shape checked.
	for lo := 0; lo == 0 || lo < im.Count; lo += imageChunk * m.batchSize {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		probs, err := c.ClassifyImages(im, lo, min(lo+imageChunk*m.batchSize, im.Count))
		if err != nil {
			return nil, err
		}
		out = m.appendPredictions(out, probs)
	}
	return out, nil
}

// ClassifyImageFile reads the IDX image file at path (raw or gzip-compressed) and returns
// ClassifyImages' answers for its images. A model of text returns an error wrapping ErrKind
// without reading the file.
func (m *Model) ClassifyImageFile(ctx context.Context, path string) ([]Prediction, error) {
	if _, err := m.classifier(); err != nil {
		return nil, err
	}
	if m.info.Kind != KindImages {
		return nil, fmt.Errorf("%w: %s is a model of text, not of images", ErrKind, m.info.Path)
	}
	im, err := idx.ReadImages(path)
	if err != nil {
		return nil, err
	}
	return m.ClassifyImages(ctx, im)
}

// appendPredictions appends to out the predictions of probs, inputs × classes flattened.
func (m *Model) appendPredictions(out []Prediction, probs []float32) []Prediction {
	k := len(m.classes)
	for r := 0; r+k <= len(probs); r += k {
		p := probs[r : r+k]
		best := classify.Argmax(p)
		pr := Prediction{Label: m.classes[best], Probability: p[best], Probabilities: make(map[string]float32, k)}
		for j, class := range m.classes {
			pr.Probabilities[class] = p[j]
		}
		out = append(out, pr)
	}
	return out
}
