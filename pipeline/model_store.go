package pipeline

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"

	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/lstm"
)

// Keys of the model's buckets (see the README's store layout).
const (
	keyLSTM      = "lstm"   // config bucket: JSON of lstm.Config
	keyRun       = "run"    // config bucket: JSON of the run's Config
	keyLabels    = "names"  // labels bucket: JSON array of the class names, by label id
	keyEpochs    = "epochs" // history bucket: JSON of History
	keyState     = "state"  // checkpoint bucket: JSON of checkpointState
	prefixParam  = "param/" // checkpoint bucket: weights at the checkpoint, by parameter name
	prefixBest   = "best/"  // checkpoint bucket: weights of the best epoch so far
	prefixOpt    = "opt/"   // checkpoint bucket: optimizer state, opt/<name>/{m,v,velocity}
	keyEmbed     = "embed"  // checkpoint bucket: the embedding table at the checkpoint
	keyEmbedBest = "best/embed"
	keyEmbedM    = "embed/m" // checkpoint bucket: the table's Adam moments
	keyEmbedV    = "embed/v"
)

// putF32 encodes v as little-endian float32 values, the encoding of every vector in the store.
func putF32(v []float32) []byte {
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
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return nil
}

// checkpointState is the JSON part of a checkpoint.
type checkpointState struct {
	Epoch        int    `json:"epoch"`            // the epoch under way, from 0
	Step         int    `json:"step"`             // its steps done
	BestValLoss  uint64 `json:"best_val_loss"`    // float64 bits (it starts at +Inf)
	BadEpochs    int    `json:"bad_epochs"`       // epochs since the best, for early stopping
	HasBest      bool   `json:"has_best"`         // best/ weights are present
	AdamSteps    int    `json:"adam_steps"`       // lstm.Adam.Steps
	EmbAdamSteps int    `json:"embed_adam_steps"` // embed.Adam.Steps
	Done         bool   `json:"done"`             // training finished: nothing to resume
}

// trainState is what a training run keeps between steps, saved whole in each checkpoint.
type trainState struct {
	checkpointState
	history History
	model   *lstm.Model[float32]
	opt     lstm.Optimizer[float32]
	emb     *EmbedFeatures // nil for row tokens
	best    [][]float32    // weights of the best epoch, nil before one
	bestEmb []float32
}

func (st *trainState) bestValLoss() float64     { return math.Float64frombits(st.BestValLoss) }
func (st *trainState) setBestValLoss(v float64) { st.BestValLoss = math.Float64bits(v) }

// checkpointHook, when set (by the crash test), is called as a checkpoint's write begins and
// as it ends.
var checkpointHook func(begin bool)

// saveCheckpoint writes the whole state in one transaction: a reader sees the previous
// checkpoint or this one, never a mix.
func (st *trainState) saveCheckpoint(s *Store) error {
	switch o := st.opt.(type) {
	case *lstm.Adam[float32]:
		st.AdamSteps = o.Steps
	}
	if st.emb != nil && st.emb.Adam != nil {
		st.EmbAdamSteps = st.emb.Adam.Steps
	}
	st.HasBest = st.best != nil
	state, err := json.Marshal(st.checkpointState)
	if err != nil {
		return err
	}
	hist, err := json.Marshal(st.history)
	if err != nil {
		return err
	}
	if checkpointHook != nil {
		checkpointHook(true)
		defer checkpointHook(false)
	}
	err = s.Update(func(tx *StoreTx) error {
		if err := tx.DeleteBucket(BucketCheckpoint); err != nil {
			return err
		}
		put := func(key string, v []float32) error {
			if v == nil {
				return nil
			}
			return tx.Put(BucketCheckpoint, key, putF32(v))
		}
		params := st.model.Params()
		for i, p := range params {
			if err := put(prefixParam+p.Name, p.Value); err != nil {
				return err
			}
			if st.best != nil {
				if err := put(prefixBest+p.Name, st.best[i]); err != nil {
					return err
				}
			}
			for key, v := range optState(st.opt, i) {
				if err := put(prefixOpt+p.Name+"/"+key, v); err != nil {
					return err
				}
			}
		}
		if st.emb != nil {
			if err := put(keyEmbed, st.emb.Table.Data); err != nil {
				return err
			}
			if err := put(keyEmbedBest, st.bestEmb); err != nil {
				return err
			}
			if a := st.emb.Adam; a != nil {
				if err := put(keyEmbedM, a.M); err != nil {
					return err
				}
				if err := put(keyEmbedV, a.V); err != nil {
					return err
				}
			}
		}
		if err := tx.Put(BucketHistory, keyEpochs, hist); err != nil {
			return err
		}
		return tx.Put(BucketCheckpoint, keyState, state)
	})
	if err != nil {
		return fmt.Errorf("writing the checkpoint to %s: %w", s.Path(), err)
	}
	return nil
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

// loadCheckpoint reads the last checkpoint into st, whose model, optimizer and features must
// have the shapes the checkpoint was written with. It reports false if the store has none.
func (st *trainState) loadCheckpoint(s *Store) (bool, error) {
	found := false
	err := s.View(func(tx *StoreTx) error {
		state := tx.Get(BucketCheckpoint, keyState)
		if state == nil {
			return nil
		}
		found = true
		if err := json.Unmarshal(state, &st.checkpointState); err != nil {
			return fmt.Errorf("%w: checkpoint state: %v", ErrNotStore, err)
		}
		if h := tx.Get(BucketHistory, keyEpochs); h != nil {
			if err := json.Unmarshal(h, &st.history); err != nil {
				return fmt.Errorf("%w: history: %v", ErrNotStore, err)
			}
		}
		get := func(key string, dst []float32) error {
			b := tx.Get(BucketCheckpoint, key)
			if b == nil {
				return fmt.Errorf("%w: checkpoint lacks %s", ErrNotStore, key)
			}
			return getF32(dst, b, "checkpoint "+key)
		}
		params := st.model.Params()
		if st.HasBest {
			st.best = make([][]float32, len(params))
		}
		for i, p := range params {
			if err := get(prefixParam+p.Name, p.Value); err != nil {
				return err
			}
			if st.HasBest {
				st.best[i] = make([]float32, len(p.Value))
				if err := get(prefixBest+p.Name, st.best[i]); err != nil {
					return err
				}
			}
		}
		if err := restoreOpt(st, get); err != nil {
			return err
		}
		if st.emb != nil {
			if err := get(keyEmbed, st.emb.Table.Data); err != nil {
				return err
			}
			if st.HasBest {
				st.bestEmb = make([]float32, len(st.emb.Table.Data))
				if err := get(keyEmbedBest, st.bestEmb); err != nil {
					return err
				}
			}
			if a := st.emb.Adam; a != nil && st.EmbAdamSteps > 0 {
				a.Steps = st.EmbAdamSteps
				a.M, a.V = make([]float32, len(st.emb.Table.Data)), make([]float32, len(st.emb.Table.Data))
				if err := get(keyEmbedM, a.M); err != nil {
					return err
				}
				if err := get(keyEmbedV, a.V); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("reading the checkpoint of %s: %w", s.Path(), err)
	}
	return found, nil
}

func restoreOpt(st *trainState, get func(string, []float32) error) error {
	params := st.model.Params()
	vecs := func(key string) ([][]float32, error) {
		out := make([][]float32, len(params))
		for i, p := range params {
			out[i] = make([]float32, len(p.Value))
			if err := get(prefixOpt+p.Name+"/"+key, out[i]); err != nil {
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
		if st.Epoch > 0 || st.Step > 0 {
			if o.Momentum != 0 {
				o.Velocity, err = vecs("velocity")
			}
		}
	}
	return err
}

// finite reports whether every weight (and the table) is a finite number: a step that diverges
// reports a finite loss, computed before its update, and leaves Inf or NaN weights that must not
// become a checkpoint.
func (st *trainState) finite() bool {
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
func (st *trainState) keepBest() {
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
func (st *trainState) restoreBest() {
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

// saveModel writes the trained model: its shape, class names, run config, weights and history,
// in one transaction, and marks the checkpoint done. The table goes to the embed bucket.
func saveModel(s *Store, st *trainState, labels []string, runConfig any) error {
	if st.emb != nil {
		if err := s.PutTable(st.emb.Table); err != nil {
			return err
		}
	}
	st.Done = true
	state, err := json.Marshal(st.checkpointState)
	if err != nil {
		return err
	}
	shape, err := json.Marshal(st.model.Config)
	if err != nil {
		return err
	}
	names, err := json.Marshal(labels)
	if err != nil {
		return err
	}
	run, err := json.Marshal(runConfig)
	if err != nil {
		return err
	}
	hist, err := json.Marshal(st.history)
	if err != nil {
		return err
	}
	err = s.Update(func(tx *StoreTx) error {
		if err := tx.DeleteBucket(BucketWeights); err != nil {
			return err
		}
		for _, p := range st.model.Params() {
			if err := tx.Put(BucketWeights, p.Name, putF32(p.Value)); err != nil {
				return err
			}
		}
		for _, kv := range []struct {
			bucket, key string
			value       []byte
		}{
			{BucketConfig, keyLSTM, shape},
			{BucketConfig, keyRun, run},
			{BucketLabels, keyLabels, names},
			{BucketHistory, keyEpochs, hist},
			{BucketCheckpoint, keyState, state},
		} {
			if err := tx.Put(kv.bucket, kv.key, kv.value); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("writing the model to %s: %w", s.Path(), err)
	}
	return nil
}

// Model is a trained classifier read back from a store: the LSTM and its head, the class
// names, and for text models the embedding table (the dictionary is read with Store.Vocab).
type Model struct {
	LSTM   *lstm.Model[float32]
	Labels []string
	Table  *embed.Table // nil for a row-token model
}

// LoadModel reads the trained model of a store.
func LoadModel(s *Store) (*Model, error) {
	var cfg lstm.Config
	var labels []string
	var weights map[string][]byte
	err := s.View(func(tx *StoreTx) error {
		shape := tx.Get(BucketConfig, keyLSTM)
		if shape == nil {
			return fmt.Errorf("%s holds no trained model (%w): train one with seqclf pipeline run", s.Path(), ErrStoreMissing)
		}
		if err := json.Unmarshal(shape, &cfg); err != nil {
			return fmt.Errorf("%s: %w: model config: %v", s.Path(), ErrNotStore, err)
		}
		if err := json.Unmarshal(tx.Get(BucketLabels, keyLabels), &labels); err != nil {
			return fmt.Errorf("%s: %w: labels: %v", s.Path(), ErrNotStore, err)
		}
		weights = map[string][]byte{}
		for _, k := range tx.Keys(BucketWeights) {
			weights[k] = tx.Get(BucketWeights, k)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(labels) != cfg.Classes {
		return nil, fmt.Errorf("%s: %w: %d class names for %d classes", s.Path(), ErrNotStore, len(labels), cfg.Classes)
	}
	m, err := lstm.NewZero[float32](cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", s.Path(), ErrNotStore, err)
	}
	for _, p := range m.Params() {
		if err := getF32(p.Value, weights[p.Name], "weights "+p.Name); err != nil {
			return nil, fmt.Errorf("%s: %w", s.Path(), err)
		}
	}
	out := &Model{LSTM: m, Labels: labels}
	if rows, _ := s.Meta(MetaEmbedRows); rows != nil {
		if out.Table, err = s.Table(); err != nil {
			return nil, err
		}
		if out.Table.Dim() != cfg.InputDim {
			return nil, fmt.Errorf("%s: %w: embedding dim %d, model input %d", s.Path(), ErrNotStore, out.Table.Dim(), cfg.InputDim)
		}
	}
	return out, nil
}

// LoadRunConfig reads the config that the store's model was trained with.
func LoadRunConfig(s *Store) (*Config, error) {
	var b []byte
	if err := s.View(func(tx *StoreTx) error { b = tx.Get(BucketConfig, keyRun); return nil }); err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("%s holds no trained model (%w): train one with seqclf pipeline run", s.Path(), ErrStoreMissing)
	}
	var cfg Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("%s: %w: run config: %v", s.Path(), ErrNotStore, err)
	}
	return &cfg, nil
}
