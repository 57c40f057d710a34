package export

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/store"
	"github.com/seqclf/seqclf/vocab"
)

// Files of an exported directory.
const (
	SafetensorsFile = "model.safetensors"
	ConfigFile      = "config.json"
	VocabFile       = "vocab.txt"
)

// FormatName and FormatVersion mark config.json and the safetensors metadata.
const (
	FormatName    = "seqclf-safetensors"
	FormatVersion = 1
)

// Config is config.json: the model's shape and how it reads its inputs, what a program needs
// beside the tensors to run the model as seqclf does, and what Import reads.
type Config struct {
	Format    string `json:"format"`  // FormatName
	Version   int    `json:"version"` // FormatVersion
	Kind      string `json:"kind"`    // text or mnist (rows of pixels)
	InputDim  int    `json:"input_dim"`
	NumUnits  int    `json:"num_units"`
	NumLayers int    `json:"num_layers"`
	// Cell is the layers' cell, lstm or gru (the tensors' prefix); a directory without it,
	// written before GRU existed, holds an LSTM.
	Cell string `json:"cell"`
	// Bidirectional: each layer has a backward direction (the _reverse tensors) and outputs
	// 2·num_units values a step, the forward direction's first.
	Bidirectional bool   `json:"bidirectional"`
	Pooling       string `json:"pooling"` // last, mean, max or attention
	// Classes are the class names, by the row of fc.weight.
	Classes   []string `json:"classes"`
	TimeStep  int      `json:"time_step"`
	VocabSize int      `json:"vocab_size,omitempty"` // text: rows of embedding.weight, lines of vocab.txt
	// Text: what one LSTM run reads (sentence or document) and the tokenizer's options.
	Unit     string          `json:"unit,omitempty"`
	Tokenize store.Tokenizer `json:"tokenize"`
	Slice    string          `json:"slice,omitempty"` // images: rows or columns
}

// input returns the store.Input that c describes.
func (c *Config) input() store.Input {
	return store.Input{Kind: c.Kind, Tokenize: c.Tokenize, Unit: c.Unit, TimeStep: c.TimeStep, Slice: c.Slice}
}

// metadata returns the safetensors __metadata__ of c: each field as a string, lists and objects
// as JSON.
func (c *Config) metadata() map[string]string {
	classes, _ := json.Marshal(c.Classes)
	tok, _ := json.Marshal(c.Tokenize)
	m := map[string]string{
		"format": c.Format, "version": strconv.Itoa(c.Version), "kind": c.Kind,
		"classes": string(classes), "pooling": c.Pooling, "time_step": strconv.Itoa(c.TimeStep),
		"num_layers": strconv.Itoa(c.NumLayers), "cell": c.Cell, "bidirectional": strconv.FormatBool(c.Bidirectional),
	}
	if c.Kind == "text" {
		m["unit"], m["tokenizer"] = c.Unit, string(tok)
	} else {
		m["slice"] = c.Slice
	}
	return m
}

// Tensors returns a model's parameters under the names and layouts of PyTorch's state_dict for
// nn.Embedding (embedding, nil table: left out), nn.LSTM or nn.GRU (lstm or gru, by the cell,
// with the _reverse tensors of a bidirectional model), the additive attention (attention.weight
// [H, E] as nn.Linear(E, H) holds it, attention.bias [H], attention.v [H]) and nn.Linear (fc).
//
// seqclf has one bias where PyTorch has two that it adds: for an LSTM and a GRU's r and z gates,
// bias_ih is seqclf's bias and bias_hh is zero, so the sum is exactly seqclf's; a GRU's n gate
// has both (b_in in bias_ih, b_hn in bias_hh), as seqclf keeps them apart.
func Tensors(m *lstm.Model[float32], table *embed.Table) ([]Tensor, error) {
	cfg := m.Config
	layout, err := torchLayout(cfg.Cell)
	if err != nil {
		return nil, err
	}
	if cfg.Pooling < lstm.PoolLast || cfg.Pooling > lstm.PoolAttention {
		return nil, fmt.Errorf("%w: pooling %v", ErrNotExportable, cfg.Pooling)
	}
	var out []Tensor
	if table != nil {
		out = append(out, Tensor{Name: "embedding.weight", Shape: []int{table.Rows(), table.Dim()}, Data: table.Data})
	}
	h, c, e := cfg.NumUnits, cfg.Classes, cfg.OutputDim()
	for k, dirs := range torchDirections(m) {
		for _, d := range dirs {
			wi, wh, bi, bh := layout.split(d.layer)
			g, in := len(wi)/d.layer.InputDim, d.layer.InputDim
			name := func(t string) string { return fmt.Sprintf("%v.%s_l%d%s", cfg.Cell, t, k, d.suffix) }
			out = append(out,
				Tensor{Name: name("weight_ih"), Shape: []int{g, in}, Data: wi},
				Tensor{Name: name("weight_hh"), Shape: []int{g, h}, Data: wh},
				Tensor{Name: name("bias_ih"), Shape: []int{g}, Data: bi},
				Tensor{Name: name("bias_hh"), Shape: []int{g}, Data: bh})
		}
	}
	if m.AttnW != nil {
		out = append(out,
			Tensor{Name: "attention.weight", Shape: []int{h, e}, Data: transpose(m.AttnW.Value, e, h)},
			Tensor{Name: "attention.bias", Shape: []int{h}, Data: m.AttnB.Value},
			Tensor{Name: "attention.v", Shape: []int{h}, Data: m.AttnV.Value})
	}
	return append(out,
		Tensor{Name: "fc.weight", Shape: []int{c, e}, Data: transpose(m.HeadW.Value, e, c)},
		Tensor{Name: "fc.bias", Shape: []int{c}, Data: m.HeadB.Value}), nil
}

// direction is one direction of one layer and the suffix of its PyTorch names.
type direction struct {
	layer  *lstm.Layer[float32]
	suffix string // "" or "_reverse"
}

// torchDirections returns each layer's directions: the forward one, then the backward one.
func torchDirections(m *lstm.Model[float32]) [][]direction {
	out := make([][]direction, len(m.Layers))
	for k, l := range m.Layers {
		out[k] = []direction{{l, ""}}
		if m.Reverse != nil {
			out[k] = append(out[k], direction{m.Reverse[k], "_reverse"})
		}
	}
	return out
}

// transpose returns the rows × cols matrix a transposed, cols × rows.
func transpose(a []float32, rows, cols int) []float32 {
	t := make([]float32, len(a))
	for i := range rows {
		for j := range cols {
			t[j*rows+i] = a[i*cols+j]
		}
	}
	return t
}

// Safetensors writes the model of the store at path into dir (made if needed): model.safetensors,
// config.json and, for a text model, vocab.txt (one token a line, the line number its id).
func Safetensors(path, dir string) error {
	st, err := store.Open(path)
	if err != nil {
		return err
	}
	defer st.Close()
	m, err := st.LoadModel()
	if err != nil {
		return err
	}
	var v *vocab.Vocab
	if m.Table != nil {
		if v, err = st.Vocab(); err != nil {
			return err
		}
		if v.Len() != m.Table.Rows() {
			return fmt.Errorf("%s: %w: a dictionary of %d entries for %d rows of embeddings", path, store.ErrNotStore, v.Len(), m.Table.Rows())
		}
	}
	return writeDir(dir, m, v)
}

// writeDir writes m (and v, its dictionary, for a text model) into dir as Safetensors does.
func writeDir(dir string, m *store.Model, v *vocab.Vocab) error {
	lc := m.LSTM.Config
	cfg := Config{Format: FormatName, Version: FormatVersion, Kind: m.Input.Kind,
		InputDim: lc.InputDim, NumUnits: lc.NumUnits, NumLayers: lc.NumLayers,
		Cell: lc.Cell.String(), Bidirectional: lc.Bidirectional,
		Pooling: lc.Pooling.String(), Classes: m.Labels, TimeStep: m.Input.TimeStep}
	if m.Table != nil {
		cfg.VocabSize, cfg.Unit, cfg.Tokenize = v.Len(), m.Input.Unit, m.Input.Tokenize
	} else {
		cfg.Slice = m.Input.Slice
	}
	tensors, err := Tensors(m.LSTM, m.Table)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, tensors, cfg.metadata()); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, SafetensorsFile), buf.Bytes(), 0o666); err != nil {
		return err
	}
	cj, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), append(cj, '\n'), 0o666); err != nil {
		return err
	}
	if v == nil {
		return nil
	}
	buf.Reset()
	w := bufio.NewWriter(&buf)
	for _, t := range v.Tokens() {
		w.WriteString(t)
		w.WriteByte('\n')
	}
	w.Flush()
	return os.WriteFile(filepath.Join(dir, VocabFile), buf.Bytes(), 0o666)
}
