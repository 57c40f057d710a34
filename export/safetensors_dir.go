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
	Pooling   string `json:"pooling"` // last, mean or max
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
		"num_layers": strconv.Itoa(c.NumLayers),
	}
	if c.Kind == "text" {
		m["unit"], m["tokenizer"] = c.Unit, string(tok)
	} else {
		m["slice"] = c.Slice
	}
	return m
}

// Tensors returns a model's parameters under the names and layouts of PyTorch's state_dict for
// nn.Embedding (embedding, nil table: left out), nn.LSTM (lstm) and nn.Linear (fc).
//
// seqclf has one bias per layer where PyTorch has two that it adds: bias_ih is seqclf's bias and
// bias_hh is zero, so the sum is exactly seqclf's.
func Tensors(m *lstm.Model[float32], table *embed.Table) []Tensor {
	var out []Tensor
	if table != nil {
		out = append(out, Tensor{Name: "embedding.weight", Shape: []int{table.Rows(), table.Dim()}, Data: table.Data})
	}
	h, c := m.Config.NumUnits, m.Config.Classes
	for k, l := range m.Layers {
		in, g := l.InputDim, 4*h
		ih, hh := make([]float32, g*in), make([]float32, g*h)
		w := l.W.Value // (in + h) × 4h: rows 0..in-1 input weights, then the recurrent ones
		for r := range in + h {
			for j := range g {
				if r < in {
					ih[j*in+r] = w[r*g+j]
				} else {
					hh[j*h+r-in] = w[r*g+j]
				}
			}
		}
		out = append(out,
			Tensor{Name: fmt.Sprintf("lstm.weight_ih_l%d", k), Shape: []int{g, in}, Data: ih},
			Tensor{Name: fmt.Sprintf("lstm.weight_hh_l%d", k), Shape: []int{g, h}, Data: hh},
			Tensor{Name: fmt.Sprintf("lstm.bias_ih_l%d", k), Shape: []int{g}, Data: l.B.Value},
			Tensor{Name: fmt.Sprintf("lstm.bias_hh_l%d", k), Shape: []int{g}, Data: make([]float32, g)})
	}
	fc := make([]float32, c*h)
	for i := range h {
		for j := range c {
			fc[j*h+i] = m.HeadW.Value[i*c+j]
		}
	}
	return append(out,
		Tensor{Name: "fc.weight", Shape: []int{c, h}, Data: fc},
		Tensor{Name: "fc.bias", Shape: []int{c}, Data: m.HeadB.Value})
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
	cfg := Config{Format: FormatName, Version: FormatVersion, Kind: m.Input.Kind,
		InputDim: m.LSTM.Config.InputDim, NumUnits: m.LSTM.Config.NumUnits, NumLayers: m.LSTM.Config.NumLayers,
		Pooling: m.LSTM.Config.Pooling.String(), Classes: m.Labels, TimeStep: m.Input.TimeStep}
	var v *vocab.Vocab
	if m.Table != nil {
		if v, err = st.Vocab(); err != nil {
			return err
		}
		if v.Len() != m.Table.Rows() {
			return fmt.Errorf("%s: %w: a dictionary of %d entries for %d rows of embeddings", path, store.ErrNotStore, v.Len(), m.Table.Rows())
		}
		cfg.VocabSize, cfg.Unit, cfg.Tokenize = v.Len(), m.Input.Unit, m.Input.Tokenize
	} else {
		cfg.Slice = m.Input.Slice
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, Tensors(m.LSTM, m.Table), cfg.metadata()); err != nil {
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
