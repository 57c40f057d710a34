package store

import (
	"encoding/json"
	"fmt"
	"strings"
)

// CheckpointState is the JSON part of a checkpoint: where training stands.
type CheckpointState struct {
	Epoch        int    `json:"epoch"`            // the epoch under way, from 0
	Step         int    `json:"step"`             // its steps done
	BestValLoss  uint64 `json:"best_val_loss"`    // float64 bits (it starts at +Inf)
	BadEpochs    int    `json:"bad_epochs"`       // epochs since the best, for early stopping
	HasBest      bool   `json:"has_best"`         // best weights are present
	AdamSteps    int    `json:"adam_steps"`       // the LSTM's Adam steps
	EmbAdamSteps int    `json:"embed_adam_steps"` // the embedding table's Adam steps
	Done         bool   `json:"done"`             // training finished: nothing to resume
}

// A Checkpoint is the whole state of a training run, written after each epoch (and when a run
// is interrupted) so that a resumed run goes on exactly where it stopped.
type Checkpoint struct {
	State CheckpointState
	// History is the epochs trained so far, as JSON; the store keeps it as it is.
	History json.RawMessage
	// Params are the model's weights, by parameter name; Best the weights of the best epoch so
	// far (State.HasBest), by parameter name.
	Params, Best map[string][]float32
	// Opt is the optimizer's state, by parameter name and then by vector: m and v for Adam,
	// velocity for SGD with momentum.
	Opt map[string]map[string][]float32
	// Embed is the embedding table's values, EmbedBest its values at the best epoch, EmbedM and
	// EmbedV its Adam moments; nil when the model has no trainable table (or no such state).
	Embed, EmbedBest, EmbedM, EmbedV []float32
}

// PutCheckpoint replaces the store's checkpoint and history with c in one transaction: a reader
// sees the previous checkpoint or this one, never a mix.
func (s *Store) PutCheckpoint(c *Checkpoint) error {
	state, err := json.Marshal(c.State)
	if err != nil {
		return err
	}
	err = s.updateTx(func(tx *txn) error {
		if err := tx.deleteBucket(bucketCheckpoint); err != nil {
			return err
		}
		put := func(key string, v []float32) error {
			if v == nil {
				return nil
			}
			return tx.put(bucketCheckpoint, key, putF32(v))
		}
		for name, v := range c.Params {
			if err := put(prefixParam+name, v); err != nil {
				return err
			}
		}
		for name, v := range c.Best {
			if err := put(prefixBest+name, v); err != nil {
				return err
			}
		}
		for name, vecs := range c.Opt {
			for key, v := range vecs {
				if err := put(prefixOpt+name+"/"+key, v); err != nil {
					return err
				}
			}
		}
		for key, v := range map[string][]float32{keyEmbed: c.Embed, keyEmbedBest: c.EmbedBest, keyEmbedM: c.EmbedM, keyEmbedV: c.EmbedV} {
			if err := put(key, v); err != nil {
				return err
			}
		}
		if err := tx.put(bucketHistory, keyEpochs, c.History); err != nil {
			return err
		}
		return tx.put(bucketCheckpoint, keyState, state)
	})
	if err != nil {
		return fmt.Errorf("writing the checkpoint to %s: %w", s.path, err)
	}
	return nil
}

// Checkpoint reads the store's checkpoint back, or returns nil if it has none.
func (s *Store) Checkpoint() (*Checkpoint, error) {
	var c *Checkpoint
	err := s.viewTx(func(tx *txn) error {
		state := tx.get(bucketCheckpoint, keyState)
		if state == nil {
			return nil
		}
		c = &Checkpoint{Params: map[string][]float32{}, Best: map[string][]float32{}, Opt: map[string]map[string][]float32{}}
		if err := json.Unmarshal(state, &c.State); err != nil {
			return fmt.Errorf("%w: checkpoint state: %v", ErrNotStore, err)
		}
		c.History = tx.get(bucketHistory, keyEpochs)
		for _, key := range tx.keys(bucketCheckpoint) {
			if key == keyState {
				continue
			}
			b := tx.value(bucketCheckpoint, key) // decoded into v, a copy
			if len(b)%4 != 0 {
				return fmt.Errorf("%w: checkpoint %s has %d bytes, not whole float32 values", ErrNotStore, key, len(b))
			}
			v := make([]float32, len(b)/4)
			if err := getF32(v, b, "checkpoint "+key); err != nil {
				return err
			}
			switch {
			case key == keyEmbed:
				c.Embed = v
			case key == keyEmbedBest:
				c.EmbedBest = v
			case key == keyEmbedM:
				c.EmbedM = v
			case key == keyEmbedV:
				c.EmbedV = v
			case strings.HasPrefix(key, prefixParam):
				c.Params[key[len(prefixParam):]] = v
			case strings.HasPrefix(key, prefixBest):
				c.Best[key[len(prefixBest):]] = v
			case strings.HasPrefix(key, prefixOpt):
				i := strings.LastIndexByte(key, '/')
				name := key[len(prefixOpt):i]
				if c.Opt[name] == nil {
					c.Opt[name] = map[string][]float32{}
				}
				c.Opt[name][key[i+1:]] = v
			default:
				return fmt.Errorf("%w: unknown checkpoint key %s", ErrNotStore, key)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the checkpoint of %s: %w", s.path, err)
	}
	return c, nil
}
