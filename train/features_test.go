package train

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/seqclf/seqclf/classify"
	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/feed"
	"github.com/seqclf/seqclf/lstm"
)

// TestEmbedFeaturesLearn trains an embedding table and an LSTM together on token ids for "does
// token 2 come before token 3?", and checks that only the rows of used tokens moved.
func TestEmbedFeaturesLearn(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	table, err := embed.New(10, 6, 0.5, rng)
	if err != nil {
		t.Fatal(err)
	}
	before := slices.Clone(table.Data)
	m, err := lstm.New[float32](lstm.Config{InputDim: 6, NumUnits: 16, NumLayers: 1, Classes: 2}, rng)
	if err != nil {
		t.Fatal(err)
	}
	f := &feed.Embeddings{Table: table, Adam: embed.NewAdam(0.01)}
	tr := &Trainer{Model: m, Features: f, Opt: lstm.NewAdam[float32](0.01), BatchSize: 32, Seed: 1}
	train := orderSamples(rng, 1600)
	for epoch := range 6 {
		if _, err := tr.Epoch(context.Background(), train, Position{Epoch: epoch, Step: 0}, nil); err != nil {
			t.Fatal(err)
		}
	}
	test := orderSamples(rng, 1000)
	probs, _ := (&classify.Predictor{Model: m, Features: f, BatchSize: 100}).Predict(test)
	acc := float64(countCorrect(probs, labelsOf(test), 2)) / float64(len(test))
	t.Logf("accuracy %.3f", acc)
	if acc < 0.95 {
		t.Errorf("accuracy %.3f on fresh samples, want > 0.95", acc)
	}
	for id := range 10 {
		moved := !slices.Equal(table.Row(id), before[id*6:(id+1)*6])
		if used := id >= 2 && id <= 8; moved != used {
			t.Errorf("row %d: moved %v, used by the data %v", id, moved, used)
		}
	}
}

// orderSamples makes samples of "does token 2 come before token 3?" over the ids 0 <pad>,
// 1 <unk>, 2 A, 3 B and 4..8 fillers; id 9 is never used.
func orderSamples(rng *rand.Rand, n int) []feed.Sample {
	var out []feed.Sample
	for d := range n {
		length := 3 + rng.IntN(8)
		ids := make([]int32, length)
		for i := range ids {
			ids[i] = int32(4 + rng.IntN(5))
		}
		pa, pb := rng.IntN(length), rng.IntN(length-1)
		if pb >= pa {
			pb++
		}
		ids[pa], ids[pb] = 2, 3
		label := 0
		if pa < pb {
			label = 1
		}
		out = append(out, feed.Sample{IDs: ids, Label: label, Doc: d})
	}
	return out
}
