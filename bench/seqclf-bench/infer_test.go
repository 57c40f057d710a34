package main

import (
	"path/filepath"
	"testing"

	"github.com/seqclf/seqclf/classify"
	"github.com/seqclf/seqclf/feed"
	"github.com/seqclf/seqclf/internal/rng"
	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/pipeline"
	"github.com/seqclf/seqclf/store"
	"github.com/seqclf/seqclf/vocab"
)

// TestSaveModel checks that a text model saved for the inference rounds reads back as a model
// file that classifies: the same weights, its dictionary, table and input.
func TestSaveModel(t *testing.T) {
	dir := t.TempDir()
	v, err := vocab.New([]string{vocab.Pad, vocab.Unk, "free", "cruise"}, make([]int64, 4), 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeDict(filepath.Join(dir, "dict.db"), v); err != nil {
		t.Fatal(err)
	}
	if v, err = readDict(filepath.Join(dir, "dict.db")); err != nil || v.Len() != 4 {
		t.Fatalf("readDict: %v, %v", v, err)
	}
	cfg := pipeline.DefaultConfig()
	cfg.Embed.Dim = 3
	table, err := pipeline.NewEmbedTable(v.Len(), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	m, err := lstm.New[float32](lstm.Config{InputDim: 3, NumUnits: 4, NumLayers: 1, Classes: 2, Pooling: lstm.PoolLast}, rng.New(benchSeed, rng.Init))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "model.db")
	in := store.Input{Kind: classify.KindText, Tokenize: spamTokenizer, Unit: feed.UnitDocument.String(), TimeStep: 8}
	if err := saveModel(path, m, in, v, table, 2); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := classify.Load(s, 4)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Model()
	if got.Input != in || got.Labels[1] != "spam" || got.LSTM.Layers[0].W.Value[5] != m.Layers[0].W.Value[5] || got.Table.Data[7] != table.Data[7] {
		t.Errorf("read back %+v, labels %v", got.Input, got.Labels)
	}
	if p, err := c.Classify([]string{"Free cruise!"}); err != nil || len(p) != 2 {
		t.Errorf("Classify = %v, %v", p, err)
	}
}
