package classify

import (
	"math"

	"github.com/seqclf/seqclf/feed"
	"github.com/seqclf/seqclf/lstm/quant"
)

// quantRun is a Predictor's state for a quantized model: its workspace and batch buffers.
type quantRun struct {
	ws      *quant.Workspace
	b       feed.Batch
	tokens  [][]int32
	lengths []int
}

// rowsBatch returns the batch of the images in r.b.Samples, its inputs made by the forward
// pass's goroutines a part at a time (quant.Batch.Fill), each through its own copy of f: a Rows
// keeps scratch of its own in Fill.
func (r *quantRun) rowsBatch(f *feed.Rows) quant.Batch {
	samples := r.b.Samples
	r.lengths = r.lengths[:0]
	steps := 0
	for _, s := range samples {
		n := f.Len(s)
		r.lengths = append(r.lengths, n)
		steps = max(steps, n)
	}
	fill := func(x []float32, lo, hi int) {
		(&feed.Rows{Images: f.Images, Slice: f.Slice}).Fill(x, samples[lo:hi], steps)
	}
	return quant.Batch{Fill: fill, Lengths: r.lengths, Steps: steps}
}

// predictQuant is Predict on p.Quant: the same batches and results, run by the int8 network. A
// text model reads its samples' ids from its own int8 table, not through p.Features.
func (p *Predictor) predictQuant(samples []feed.Sample) (probs []float32, loss float64) {
	q := p.Quant
	if p.quant == nil {
		p.quant = &quantRun{ws: q.NewWorkspace()}
	}
	r := p.quant
	c := q.Config.Classes
	probs = make([]float32, 0, len(samples)*c)
	var lossSum float64
	for lo := 0; lo < len(samples); lo += p.BatchSize {
		hi := min(lo+p.BatchSize, len(samples))
		batch := samples[lo:hi]
		var b quant.Batch
		if q.Embed != nil {
			r.tokens, r.lengths = r.tokens[:0], r.lengths[:0]
			for i := range batch {
				r.tokens = append(r.tokens, batch[i].IDs)
				r.lengths = append(r.lengths, len(batch[i].IDs))
				b.Steps = max(b.Steps, len(batch[i].IDs))
			}
			b.Tokens, b.Lengths = r.tokens, r.lengths
		} else {
			r.b.Samples = r.b.Samples[:0]
			for i := range batch {
				r.b.Samples = append(r.b.Samples, &batch[i])
			}
			if rows, ok := p.Features.(*feed.Rows); ok {
				b = r.rowsBatch(rows)
			} else {
				fb := r.b.Assemble(p.Features)
				b = quant.Batch{X: fb.X, Lengths: fb.Lengths, Steps: fb.Steps}
			}
		}
		q.Forward(r.ws, b)
		pr := q.Probs(r.ws)
		for i, s := range batch {
			if s.Label < 0 || s.Label >= c {
				lossSum = math.NaN()
				continue
			}
			lossSum -= math.Log(math.Max(float64(pr[i*c+s.Label]), 1e-30))
		}
		probs = append(probs, pr...)
	}
	if len(samples) > 0 {
		loss = lossSum / float64(len(samples))
	}
	return probs, loss
}
