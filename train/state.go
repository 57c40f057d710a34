package train

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/seqclf/seqclf/feed"
	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/report"
	"github.com/seqclf/seqclf/store"
)

// State is what a training run keeps between steps, saved whole in each checkpoint: the
// model, the optimizer, the trainable table, the history, and the best epoch's weights.
type State struct {
	store.CheckpointState
	History report.History

	model *lstm.Model[float32]
	opt   lstm.Optimizer[float32]
	emb   *feed.Embeddings // nil for row tokens
	best  [][]float32      // weights of the best epoch, nil before one
	// bestEmb is the table at the best epoch, nil before one or for a fixed table.
	bestEmb []float32
}

// NewState returns the state of a run starting on model with opt; emb is the trainable (or
// fixed) embedding table's features, nil for a model of row tokens.
func NewState(model *lstm.Model[float32], opt lstm.Optimizer[float32], emb *feed.Embeddings) *State {
	st := &State{model: model, opt: opt, emb: emb}
	st.setBestValLoss(math.Inf(1))
	return st
}

func (st *State) bestValLoss() float64     { return math.Float64frombits(st.BestValLoss) }
func (st *State) setBestValLoss(v float64) { st.BestValLoss = math.Float64bits(v) }

// Save writes the whole state to s as its checkpoint, in one transaction.
func (st *State) Save(s *store.Store) error {
	switch o := st.opt.(type) {
	case *lstm.Adam[float32]:
		st.AdamSteps = o.Steps
	}
	if st.emb != nil && st.emb.Adam != nil {
		st.EmbAdamSteps = st.emb.Adam.Steps
	}
	st.HasBest = st.best != nil
	hist, err := json.Marshal(st.History)
	if err != nil {
		return err
	}
	c := &store.Checkpoint{State: st.CheckpointState, History: hist, Params: map[string][]float32{},
		Best: map[string][]float32{}, Opt: map[string]map[string][]float32{}}
	for i, p := range st.model.Params() {
		c.Params[p.Name] = p.Value
		if st.best != nil {
			c.Best[p.Name] = st.best[i]
		}
		if o := optState(st.opt, i); o != nil {
			c.Opt[p.Name] = o
		}
	}
	if st.emb != nil {
		c.Embed, c.EmbedBest = st.emb.Table.Data, st.bestEmb
		if a := st.emb.Adam; a != nil {
			c.EmbedM, c.EmbedV = a.M, a.V
		}
	}
	return s.PutCheckpoint(c)
}

// optState returns the optimizer's state vectors of parameter i, by key.
func optState(opt lstm.Optimizer[float32], i int) map[string][]float32 {
	switch o := opt.(type) {
	case *lstm.Adam[float32]:
		if o.M != nil {
			return map[string][]float32{"m": o.M[i], "v": o.V[i]}
		}
	case *lstm.SGD[float32]:
		if o.Velocity != nil {
			return map[string][]float32{"velocity": o.Velocity[i]}
		}
	}
	return nil
}

// Load reads the checkpoint of s into st, whose model, optimizer and table must have the shapes
// the checkpoint was written with. It reports false if s has none.
func (st *State) Load(s *store.Store) (bool, error) {
	c, err := s.Checkpoint()
	if err != nil || c == nil {
		return false, err
	}
	if err := st.Restore(c); err != nil {
		return false, fmt.Errorf("reading the checkpoint of %s: %w: %v", s.Path(), store.ErrNotStore, err)
	}
	return true, nil
}

// Restore sets st from checkpoint c, whose shapes must be those of st's model, optimizer and
// table.
func (st *State) Restore(c *store.Checkpoint) error {
	st.CheckpointState = c.State
	st.History = report.History{}
	if c.History != nil {
		if err := json.Unmarshal(c.History, &st.History); err != nil {
			return fmt.Errorf("history: %v", err)
		}
	}
	set := func(what string, dst, src []float32) error {
		if src == nil {
			return fmt.Errorf("checkpoint lacks %s", what)
		}
		if len(src) != len(dst) {
			return fmt.Errorf("checkpoint %s has %d values, want %d", what, len(src), len(dst))
		}
		copy(dst, src)
		return nil
	}
	params := st.model.Params()
	st.best = nil
	if st.HasBest {
		st.best = make([][]float32, len(params))
	}
	for i, p := range params {
		if err := set(p.Name, p.Value, c.Params[p.Name]); err != nil {
			return err
		}
		if st.HasBest {
			st.best[i] = make([]float32, len(p.Value))
			if err := set("best "+p.Name, st.best[i], c.Best[p.Name]); err != nil {
				return err
			}
		}
	}
	vecs := func(key string) ([][]float32, error) {
		out := make([][]float32, len(params))
		for i, p := range params {
			out[i] = make([]float32, len(p.Value))
			if err := set(p.Name+"/"+key, out[i], c.Opt[p.Name][key]); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	var err error
	switch o := st.opt.(type) {
	case *lstm.Adam[float32]:
		if o.Steps = st.AdamSteps; o.Steps > 0 {
			if o.M, err = vecs("m"); err == nil {
				o.V, err = vecs("v")
			}
		}
	case *lstm.SGD[float32]:
		if (st.Epoch > 0 || st.Step > 0) && o.Momentum != 0 {
			o.Velocity, err = vecs("velocity")
		}
	}
	if err != nil {
		return err
	}
	if st.emb == nil {
		return nil
	}
	data := st.emb.Table.Data
	if err := set("embedding table", data, c.Embed); err != nil {
		return err
	}
	if st.HasBest && c.EmbedBest != nil {
		st.bestEmb = make([]float32, len(data))
		if err := set("best embedding table", st.bestEmb, c.EmbedBest); err != nil {
			return err
		}
	}
	if a := st.emb.Adam; a != nil && st.EmbAdamSteps > 0 {
		a.Steps = st.EmbAdamSteps
		a.M, a.V = make([]float32, len(data)), make([]float32, len(data))
		if err := set("embedding table's m", a.M, c.EmbedM); err != nil {
			return err
		}
		if err := set("embedding table's v", a.V, c.EmbedV); err != nil {
			return err
		}
	}
	return nil
}

// finite reports whether every weight (and the table) is a finite number: a step that diverges
// reports a finite loss, computed before its update, and leaves Inf or NaN weights that must not
// become a checkpoint.
func (st *State) finite() bool {
	ok := func(v []float32) bool {
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return false
			}
		}
		return true
	}
	for _, p := range st.model.Params() {
		if !ok(p.Value) {
			return false
		}
	}
	return st.emb == nil || ok(st.emb.Table.Data)
}

// keepBest copies the current weights (and table) as the best so far.
func (st *State) keepBest() {
	params := st.model.Params()
	if st.best == nil {
		st.best = make([][]float32, len(params))
	}
	for i, p := range params {
		st.best[i] = append(st.best[i][:0], p.Value...)
	}
	if st.emb != nil && st.emb.Table.Trainable {
		st.bestEmb = append(st.bestEmb[:0], st.emb.Table.Data...)
	}
}

// restoreBest puts the best epoch's weights (and table) back into the model.
func (st *State) restoreBest() {
	if st.best == nil {
		return
	}
	for i, p := range st.model.Params() {
		copy(p.Value, st.best[i])
	}
	if st.emb != nil && st.bestEmb != nil {
		copy(st.emb.Table.Data, st.bestEmb)
	}
}

// SaveModel writes the trained model to s, a model file: the table (for a text model), then its
// weights, class names, input, run config and history in one transaction. The dictionary goes
// in with store.PutVocab.
func (st *State) SaveModel(s *store.Store, labels []string, in store.Input, run json.RawMessage) error {
	if st.emb != nil {
		if err := s.PutTable(st.emb.Table); err != nil {
			return err
		}
	}
	hist, err := json.Marshal(st.History)
	if err != nil {
		return err
	}
	return s.PutModel(&store.Trained{LSTM: st.model, Labels: labels, Input: in, Run: run, History: hist})
}

// Finish marks the training done in its checkpoint store s: a resumed run then has nothing to
// do, unless train.epochs is raised.
func (st *State) Finish(s *store.Store) error {
	st.Done = true
	return st.Save(s)
}
