package export

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/store"
	"github.com/seqclf/seqclf/vocab"
)

// ReadDir reads a directory in the layout Safetensors writes (from seqclf, or from PyTorch as
// scripts/seqclf_torch.py writes it) and returns the model it holds, with its dictionary for a
// text model (nil for images).
//
// Each LSTM layer's bias, and a GRU layer's r and z biases, are bias_ih + bias_hh, added in
// float32 as PyTorch adds them: exact when bias_hh is zero there (a model seqclf exported),
// otherwise rounded as PyTorch's own sum is. A GRU's n gate keeps b_in and b_hn apart, as
// PyTorch does; its zero blocks (see package lstm) stay zero.
func ReadDir(dir string) (*store.Model, *vocab.Vocab, *Config, error) {
	cb, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, nil, nil, err
	}
	var cfg Config
	if err := json.Unmarshal(cb, &cfg); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	if cfg.Format != FormatName || cfg.Version != FormatVersion {
		return nil, nil, nil, fmt.Errorf("%s: format %q version %d: want %q version %d", filepath.Join(dir, ConfigFile), cfg.Format, cfg.Version, FormatName, FormatVersion)
	}
	pool, err := lstm.ParsePooling(cfg.Pooling)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	cell, err := lstm.ParseCell(cfg.Cell)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	m, err := lstm.NewZero[float32](lstm.Config{InputDim: cfg.InputDim, NumUnits: cfg.NumUnits, NumLayers: cfg.NumLayers,
		Classes: len(cfg.Classes), Pooling: pool, Cell: cell, Bidirectional: cfg.Bidirectional})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	layout, err := torchLayout(cell)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	if cfg.TimeStep < 1 {
		return nil, nil, nil, fmt.Errorf("%s: time_step is %d: it must be at least 1", filepath.Join(dir, ConfigFile), cfg.TimeStep)
	}
	sb, err := os.ReadFile(filepath.Join(dir, SafetensorsFile))
	if err != nil {
		return nil, nil, nil, err
	}
	ts, _, err := ReadSafetensors(sb)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, SafetensorsFile), err)
	}
	get := func(name string, shape ...int) ([]float32, error) {
		t, ok := ts[name]
		if !ok {
			return nil, fmt.Errorf("%s: no tensor %s", filepath.Join(dir, SafetensorsFile), name)
		}
		if !slices.Equal(t.Shape, shape) {
			return nil, fmt.Errorf("%s: tensor %s of shape %v, want %v", filepath.Join(dir, SafetensorsFile), name, t.Shape, shape)
		}
		delete(ts, name)
		return t.Data, nil
	}
	h, c, e := cfg.NumUnits, len(cfg.Classes), m.Config.OutputDim()
	for k, dirs := range torchDirections(m) {
		for _, d := range dirs {
			in, g := d.layer.InputDim, len(layout.x)*h
			name := func(t string) string { return fmt.Sprintf("%v.%s_l%d%s", cell, t, k, d.suffix) }
			wi, err1 := get(name("weight_ih"), g, in)
			wh, err2 := get(name("weight_hh"), g, h)
			bi, err3 := get(name("bias_ih"), g)
			bh, err4 := get(name("bias_hh"), g)
			if err := errors.Join(err1, err2, err3, err4); err != nil {
				return nil, nil, nil, err
			}
			layout.join(d.layer, wi, wh, bi, bh)
		}
	}
	if m.AttnW != nil {
		aw, err1 := get("attention.weight", h, e)
		ab, err2 := get("attention.bias", h)
		av, err3 := get("attention.v", h)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, nil, nil, err
		}
		copy(m.AttnW.Value, transpose(aw, h, e))
		copy(m.AttnB.Value, ab)
		copy(m.AttnV.Value, av)
	}
	fw, err1 := get("fc.weight", c, e)
	fb, err2 := get("fc.bias", c)
	if err := errors.Join(err1, err2); err != nil {
		return nil, nil, nil, err
	}
	copy(m.HeadW.Value, transpose(fw, c, e))
	copy(m.HeadB.Value, fb)
	out := &store.Model{LSTM: m, Labels: cfg.Classes, Input: cfg.input()}
	var v *vocab.Vocab
	switch cfg.Kind {
	case "text":
		if cfg.Unit != "sentence" && cfg.Unit != "document" {
			return nil, nil, nil, fmt.Errorf("%s: unit %q: use sentence or document", filepath.Join(dir, ConfigFile), cfg.Unit)
		}
		if v, err = readVocab(filepath.Join(dir, VocabFile)); err != nil {
			return nil, nil, nil, err
		}
		emb, err := get("embedding.weight", v.Len(), cfg.InputDim)
		if err != nil {
			return nil, nil, nil, err
		}
		if out.Table, err = embed.FromData(v.Len(), cfg.InputDim, emb); err != nil {
			return nil, nil, nil, err
		}
	case "mnist":
		if cfg.Slice != "rows" && cfg.Slice != "columns" {
			return nil, nil, nil, fmt.Errorf("%s: slice %q: use rows or columns", filepath.Join(dir, ConfigFile), cfg.Slice)
		}
	default:
		return nil, nil, nil, fmt.Errorf("%s: kind %q: use text or mnist", filepath.Join(dir, ConfigFile), cfg.Kind)
	}
	if len(ts) > 0 {
		names := make([]string, 0, len(ts))
		for n := range ts {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, nil, nil, fmt.Errorf("%s: unexpected tensors %s", filepath.Join(dir, SafetensorsFile), strings.Join(names, ", "))
	}
	return out, v, &cfg, nil
}

// readVocab reads vocab.txt: one token a line, the line number (from 0) its id; <pad> and <unk>
// must be ids 0 and 1. The corpus counts are unknown: all 0.
func readVocab(path string) (*vocab.Vocab, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	tokens := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	v, err := vocab.New(tokens, make([]int64, len(tokens)), len(tokens))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// Import reads the directory dir (ReadDir) and writes its model to the model file out as
// `seqclf pipeline run` writes one: under a temporary name beside it, compacted, then renamed
// over out. The embedding table is stored not trainable; the run config is config.json.
func Import(dir, out string) error {
	m, v, cfg, err := ReadDir(dir)
	if err != nil {
		return err
	}
	run, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	return store.WriteModelFile(out, "."+filepath.Base(out)+".import-", func(s *store.Store) error {
		if v != nil {
			if err := s.PutVocab(v); err != nil {
				return err
			}
			if err := s.PutTable(m.Table); err != nil {
				return err
			}
			if err := s.PutTokenizer(m.Input.Tokenize); err != nil {
				return err
			}
		}
		return s.PutModel(&store.Trained{LSTM: m.LSTM, Labels: m.Labels, Input: m.Input, Run: run, History: json.RawMessage("[]")})
	})
}
