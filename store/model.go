package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"unsafe"

	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/lstm/quant"
)

// Keys of the model's buckets; doc.go describes each value.
const (
	keyShape     = "shape"  // config bucket: JSON of Shape
	keyInput     = "input"  // config bucket: JSON of Input
	keyRun       = "run"    // config bucket: the run's config, JSON as its writer encodes it
	keyLabels    = "names"  // labels bucket: JSON array of the class names, by label id
	keyEpochs    = "epochs" // history bucket: JSON of the epochs trained
	keyState     = "state"  // checkpoint bucket: JSON of CheckpointState
	prefixParam  = "param/" // checkpoint bucket: weights at the checkpoint, by parameter name
	prefixBest   = "best/"  // checkpoint bucket: weights of the best epoch so far
	prefixOpt    = "opt/"   // checkpoint bucket: optimizer state, opt/<name>/{m,v,velocity}
	keyEmbed     = "embed"  // checkpoint bucket: the embedding table at the checkpoint
	keyEmbedBest = "best/embed"
	keyEmbedM    = "embed/m" // checkpoint bucket: the table's Adam moments
	keyEmbedV    = "embed/v"
)

// Shape is the stored shape of a model: lstm.Config in the config's words.
type Shape struct {
	InputDim     int     `json:"input_dim"`
	NumUnits     int     `json:"num_units"`
	NumLayers    int     `json:"num_layers"`
	Classes      int     `json:"classes"`
	Pooling      string  `json:"pooling"` // last, mean, max or attention
	Dropout      float64 `json:"dropout"`
	InputDropout float64 `json:"input_dropout"`
	// WordDropout is lstm.Config.WordDropout; models written before it existed have none, 0.
	WordDropout float64 `json:"word_dropout,omitempty"`
	// Cell is lstm or gru; models written before GRU existed have none, which is lstm.
	Cell          string `json:"cell,omitempty"`
	Bidirectional bool   `json:"bidirectional,omitempty"`
}

// ShapeOf returns the stored shape of c: what a model file records of it, and what Info shows.
func ShapeOf(c lstm.Config) Shape {
	return Shape{InputDim: c.InputDim, NumUnits: c.NumUnits, NumLayers: c.NumLayers, Classes: c.Classes,
		Pooling: c.Pooling.String(), Dropout: c.Dropout, InputDropout: c.InputDropout, WordDropout: c.WordDropout,
		Cell: c.Cell.String(), Bidirectional: c.Bidirectional}
}

// config returns the lstm.Config that sh describes.
func (sh Shape) config() (lstm.Config, error) {
	p, err := lstm.ParsePooling(sh.Pooling)
	if err != nil {
		return lstm.Config{}, err
	}
	cell, err := lstm.ParseCell(sh.Cell)
	if err != nil {
		return lstm.Config{}, err
	}
	return lstm.Config{InputDim: sh.InputDim, NumUnits: sh.NumUnits, NumLayers: sh.NumLayers, Classes: sh.Classes,
		Pooling: p, Dropout: sh.Dropout, InputDropout: sh.InputDropout, WordDropout: sh.WordDropout, Cell: cell, Bidirectional: sh.Bidirectional}, nil
}

// Tokenizer holds the options of package tokenize that a dictionary was built with, so that
// texts are read at inference as they were in training.
type Tokenizer struct {
	Lowercase      bool `json:"lowercase"`
	NFKC           bool `json:"nfkc"`
	Numbers        bool `json:"numbers"` // numbers become one token, <num>
	SplitSentences bool `json:"split_sentences"`
	// Tokens is words or characters; models written before characters existed have none, which
	// is words.
	Tokens string `json:"tokens,omitempty"`
}

// Input says how a model reads its inputs: what a program that classifies needs beyond the
// weights, without the run's config.
type Input struct {
	Kind     string    `json:"kind"`     // text or mnist (rows of pixels)
	Tokenize Tokenizer `json:"tokenize"` // text
	Unit     string    `json:"unit"`     // text: sentence or document, what one LSTM run reads
	TimeStep int       `json:"time_step"`
	Slice    string    `json:"slice"` // mnist: rows or columns
}

// Trained is a trained model as PutModel writes it.
type Trained struct {
	LSTM   *lstm.Model[float32]
	Labels []string // class names, by label id
	Input  Input
	// Run is the run's config, as JSON; the store keeps it as it is.
	Run json.RawMessage
	// History is the epochs trained, as JSON; the store keeps it as it is.
	History json.RawMessage
}

// Model is a trained classifier read back from a store: the LSTM and its head, the class names,
// how it reads its inputs, and for text models the embedding table (the dictionary is read
// with Store.Vocab).
type Model struct {
	LSTM   *lstm.Model[float32]
	Labels []string
	Input  Input
	Table  *embed.Table // nil for a row-token model
	// Quant is the int8 network of a quantized model (PutQuantModel), which classifying runs;
	// LSTM and Table then hold the float32 values its int8 ones stand for, but for MapModel,
	// which leaves Table nil (Quant.Embed is the table). nil otherwise.
	Quant *quant.Model
}

// littleEndian is whether this machine stores float32 values as the store does: its vectors are
// then copied, or read in place, as they are, not value by value.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// putF32 encodes v as little-endian float32 values, the encoding of every vector in the store.
func putF32(v []float32) []byte {
	if littleEndian {
		return bytes.Clone(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v)))
	}
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// getF32 decodes b into dst, which must have room for exactly len(b)/4 values.
func getF32(dst []float32, b []byte, what string) error {
	if len(b) != 4*len(dst) {
		return fmt.Errorf("%w: %s has %d bytes, want %d", ErrNotStore, what, len(b), 4*len(dst))
	}
	if littleEndian {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(dst))), 4*len(dst)), b)
		return nil
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return nil
}

// f32View returns b, little-endian float32 values at an address that is a multiple of 4, as the
// float32 values themselves (on a little-endian machine; nil on another).
func f32View(b []byte) []float32 {
	if !littleEndian || len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}

// PutModel writes a trained model: its weights, shape, class names, input, run config and
// history, in one transaction. The dictionary and the embedding table go in with PutVocab and
// PutTable.
func (s *Store) PutModel(t *Trained) error {
	recs := map[[2]string]any{
		{bucketConfig, keyShape}:  ShapeOf(t.LSTM.Config),
		{bucketConfig, keyInput}:  t.Input,
		{bucketLabels, keyLabels}: t.Labels,
	}
	enc := map[[2]string][]byte{{bucketConfig, keyRun}: t.Run, {bucketHistory, keyEpochs}: t.History}
	for k, v := range recs {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		enc[k] = b
	}
	err := s.updateTx(func(tx *txn) error {
		if err := tx.deleteBucket(bucketWeights); err != nil {
			return err
		}
		for _, p := range t.LSTM.Params() {
			if err := tx.put(bucketWeights, p.Name, putF32(p.Value)); err != nil {
				return err
			}
		}
		for k, v := range enc {
			if err := tx.put(k[0], k[1], v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("writing the model to %s: %w", s.path, err)
	}
	return nil
}

// HasModel reports whether the store holds a trained model's weights.
func (s *Store) HasModel() (bool, error) {
	var trained bool
	err := s.viewTx(func(tx *txn) error { trained = len(tx.keys(bucketWeights)) > 0; return nil })
	return trained, err
}

// record reads and decodes the JSON at key of bucket into v; found is false if there is none.
func (s *Store) record(bucket, key string, v any) (found bool, err error) {
	var b []byte
	if err := s.viewTx(func(tx *txn) error { b = tx.get(bucket, key); return nil }); err != nil {
		return false, err
	}
	if b == nil {
		return false, nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return true, fmt.Errorf("%s: %w: %s/%s: %v", s.path, ErrNotStore, bucket, key, err)
	}
	return true, nil
}

// noModel is the error of a store without a trained model.
func (s *Store) noModel() error {
	return &MissingError{Path: s.path, What: MissingModel}
}

// Input reads how the store's model reads its inputs.
func (s *Store) Input() (Input, error) {
	var in Input
	found, err := s.record(bucketConfig, keyInput, &in)
	if err == nil && !found {
		err = s.noModel()
	}
	return in, err
}

// LoadModel reads the trained model of the store, with its embedding table if it has one: a copy
// of its own, valid after the store is closed.
func (s *Store) LoadModel() (*Model, error) { return s.loadModel(false) }

// MapModel is LoadModel for a program that answers with the model: it opens in the same time
// whatever the size of the embedding table, which is not read but mapped from the file (from a
// read-only store of this layout; otherwise it is a copy, as LoadModel's). A mapped table is
// copy-on-write memory of the process's own: it stays valid after the store is closed, and after
// the file is replaced or removed, for as long as the *embed.Table is reachable; hold the Table,
// not its Data alone, while reading the values. A quantized model's int8 table is mapped the
// same way, held by its *quant.Table, and its Table is nil (see Model.Quant). See the package's
// Caveats.
func (s *Store) MapModel() (*Model, error) { return s.loadModel(true) }

// loadModel reads the model; with inPlace, its table as MapModel says. The weights are copied in
// one piece per parameter.
func (s *Store) loadModel(inPlace bool) (*Model, error) {
	var out Model
	err := s.viewTx(func(tx *txn) error {
		b := tx.get(bucketConfig, keyShape)
		if b == nil {
			return s.noModel()
		}
		var sh Shape
		if err := json.Unmarshal(b, &sh); err != nil {
			return fmt.Errorf("%s: %w: model shape: %v", s.path, ErrNotStore, err)
		}
		if err := json.Unmarshal(tx.get(bucketConfig, keyInput), &out.Input); err != nil {
			return fmt.Errorf("%s: %w: model input: %v", s.path, ErrNotStore, err)
		}
		if err := json.Unmarshal(tx.get(bucketLabels, keyLabels), &out.Labels); err != nil {
			return fmt.Errorf("%s: %w: labels: %v", s.path, ErrNotStore, err)
		}
		cfg, err := sh.config()
		if err != nil {
			return fmt.Errorf("%s: %w: model shape: %v", s.path, ErrNotStore, err)
		}
		if len(out.Labels) != cfg.Classes {
			return fmt.Errorf("%s: %w: %d class names for %d classes", s.path, ErrNotStore, len(out.Labels), cfg.Classes)
		}
		if tx.get(bucketConfig, keyQuant) != nil {
			return s.readQuant(tx, cfg, &out, inPlace)
		}
		if out.LSTM, err = lstm.NewZero[float32](cfg); err != nil {
			return fmt.Errorf("%s: %w: %v", s.path, ErrNotStore, err)
		}
		for _, p := range out.LSTM.Params() {
			if err := getF32(p.Value, tx.value(bucketWeights, p.Name), "weights "+p.Name); err != nil {
				return fmt.Errorf("%s: %w", s.path, err)
			}
		}
		if tx.value(bucketMeta, metaEmbedRows) == nil {
			return nil
		}
		if out.Table, err = s.readTable(tx.tx, inPlace); err != nil {
			return err
		}
		if out.Table.Dim() != cfg.InputDim {
			return fmt.Errorf("%s: %w: embedding dim %d, model input %d", s.path, ErrNotStore, out.Table.Dim(), cfg.InputDim)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// RunConfig returns the run config the store's model was trained with, as JSON, as StartRun or
// PutModel received it.
func (s *Store) RunConfig() (json.RawMessage, error) {
	var b []byte
	if err := s.viewTx(func(tx *txn) error { b = tx.get(bucketConfig, keyRun); return nil }); err != nil {
		return nil, err
	}
	if b == nil {
		return nil, s.noModel()
	}
	return b, nil
}

// StartRun empties the store of any model, checkpoint and history, keeping the dictionary and
// table, and records the config of the run that starts, in one transaction.
func (s *Store) StartRun(run json.RawMessage) error {
	err := s.updateTx(func(tx *txn) error {
		for _, b := range []string{bucketConfig, bucketLabels, bucketWeights, bucketCheckpoint, bucketHistory} {
			if err := tx.deleteBucket(b); err != nil {
				return err
			}
		}
		return tx.put(bucketConfig, keyRun, run)
	})
	if err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	return nil
}

// PutTokenizer records the tokenizer options a dictionary was built with.
func (s *Store) PutTokenizer(t Tokenizer) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return s.updateTx(func(tx *txn) error { return tx.put(bucketMeta, metaTokenize, b) })
}

// Tokenizer returns the tokenizer options the store's dictionary was built with; found is false
// if none were recorded.
func (s *Store) Tokenizer() (t Tokenizer, found bool, err error) {
	found, err = s.record(bucketMeta, metaTokenize, &t)
	return t, found, err
}
