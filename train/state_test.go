package train

import (
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/feed"
	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/report"
	"github.com/seqclf/seqclf/store"
)

// newTextState builds the same text model, Adam optimizer and trainable table from seed 8; with
// cosine, a cosine schedule over 3 epochs after 3 warm-up steps.
func newTextState(t *testing.T, sgd, cosine bool) (*State, *Trainer) {
	t.Helper()
	rng := rand.New(rand.NewPCG(8, 8))
	table, err := embed.New(10, 5, 0.3, rng)
	if err != nil {
		t.Fatal(err)
	}
	m, err := lstm.New[float32](lstm.Config{InputDim: 5, NumUnits: 6, NumLayers: 2, Classes: 2, Dropout: 0.1}, rng)
	if err != nil {
		t.Fatal(err)
	}
	var opt lstm.Optimizer[float32] = lstm.NewAdam[float32](0.01)
	f := &feed.Embeddings{Table: table, Adam: embed.NewAdam(0.01)}
	if sgd {
		opt = &lstm.SGD[float32]{LR: 0.05, Momentum: 0.9}
		f = &feed.Embeddings{Table: table, LR: 0.05}
	}
	st := &State{model: m, opt: opt, emb: f}
	st.setBestValLoss(0.5)
	tr := &Trainer{Model: m, Features: f, Opt: opt, BatchSize: 16, Seed: 2}
	if cosine {
		tr.Schedule = &Schedule{Kind: Cosine, LR: 0.01, WarmupSteps: 3, Epochs: 3}
		if sgd {
			tr.Schedule.LR = 0.05
		}
	}
	return st, tr
}

// TestCheckpointResumesExactly trains three epochs straight, and again with the state saved to
// a real store after the first epoch and after two steps of the second, each time read back
// into fresh objects: the weights, the table and the history must come out identical, with a
// constant rate and with a cosine schedule.
func TestCheckpointResumesExactly(t *testing.T) {
	for _, c := range []struct{ sgd, cosine bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		sgd := c.sgd
		samples := orderSamples(rand.New(rand.NewPCG(1, 2)), 100)
		ctx := context.Background()
		whole, tr := newTextState(t, sgd, c.cosine)
		for epoch := range 3 {
			if _, err := tr.Epoch(ctx, samples, Position{Epoch: epoch, Step: 0}, nil); err != nil {
				t.Fatal(err)
			}
			if epoch == 0 {
				whole.keepBest()
			}
		}

		path := filepath.Join(t.TempDir(), "model.db")
		s, err := store.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		st, tr := newTextState(t, sgd, c.cosine)
		if _, err := tr.Epoch(ctx, samples, Position{Epoch: 0, Step: 0}, nil); err != nil {
			t.Fatal(err)
		}
		st.keepBest()
		st.Epoch, st.Step = 1, 0
		st.History.Add(report.EpochStats{Epoch: 1, TrainLoss: 0.7})
		if err := st.Save(s); err != nil {
			t.Fatal(err)
		}
		reload := func() (*State, *Trainer) {
			st, tr := newTextState(t, sgd, c.cosine)
			found, err := st.Load(s)
			if err != nil || !found {
				t.Fatalf("loadCheckpoint: %v, found %v", err, found)
			}
			return st, tr
		}
		st, tr = reload()
		if st.Epoch != 1 || st.Step != 0 || len(st.History.Epochs) != 1 || st.bestValLoss() != 0.5 {
			t.Fatalf("checkpoint read back as epoch %d step %d, %d history entries, best loss %g", st.Epoch, st.Step, len(st.History.Epochs), st.bestValLoss())
		}
		cctx, cancel := context.WithCancel(ctx)
		res, err := tr.Epoch(cctx, samples, Position{Epoch: 1, Step: 0}, func(step int, _ float64) {
			if step == 2 {
				cancel()
			}
		})
		if err != nil || !res.Stopped {
			t.Fatalf("stopped epoch: %+v %v", res, err)
		}
		st.Step = res.Steps
		if err := st.Save(s); err != nil {
			t.Fatal(err)
		}
		st, tr = reload()
		if _, err := tr.Epoch(ctx, samples, Position{Epoch: 1, Step: st.Step}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Epoch(ctx, samples, Position{Epoch: 2, Step: 0}, nil); err != nil {
			t.Fatal(err)
		}
		for i, p := range whole.model.Params() {
			if !slices.Equal(p.Value, st.model.Params()[i].Value) {
				t.Errorf("%+v: %s differs after resuming from the store", c, p.Name)
			}
			if !slices.Equal(whole.best[i], st.best[i]) {
				t.Errorf("%+v: best %s differs after resuming from the store", c, p.Name)
			}
		}
		if !slices.Equal(whole.emb.Table.Data, st.emb.Table.Data) {
			t.Errorf("%+v: the embedding table differs after resuming from the store", c)
		}

		// The trained model reads back whole.
		in := store.Input{Kind: "text", Unit: "document", TimeStep: 12, Tokenize: store.Tokenizer{Lowercase: true}}
		if err := st.SaveModel(s, []string{"B first", "A first"}, in, []byte(`{"seed":8}`)); err != nil {
			t.Fatal(err)
		}
		s.Close()
		ro, err := store.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ro.LoadModel()
		if err != nil {
			t.Fatal(err)
		}
		if got.LSTM.Config != st.model.Config || !slices.Equal(got.Labels, []string{"B first", "A first"}) || got.Input != in {
			t.Errorf("model read back as %+v %v %+v", got.LSTM.Config, got.Labels, got.Input)
		}
		if run, err := ro.RunConfig(); err != nil || string(run) != `{"seed":8}` {
			t.Errorf("run config read back as %s, %v", run, err)
		}
		for i, p := range got.LSTM.Params() {
			if !slices.Equal(p.Value, st.model.Params()[i].Value) {
				t.Errorf("%s differs in the saved model", p.Name)
			}
		}
		if got.Table == nil || !slices.Equal(got.Table.Data, st.emb.Table.Data) {
			t.Error("the saved model's table differs")
		}
		ro.Close()
	}
}

func TestLoadModelFromStoreWithoutModel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vocab.db")
	s, err := store.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.LoadModel()
	if !errors.Is(err, store.ErrMissing) {
		t.Errorf("LoadModel on a store without a model: %v, want store.ErrMissing", err)
	}
	s.Close()
}
