package classify

import (
	"math"

	"github.com/seqclf/seqclf/feed"
	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/lstm/quant"
)

// Predictor computes class probabilities for batches of samples with a model. It holds a
// workspace: use one Predictor per goroutine.
type Predictor struct {
	Model     *lstm.Model[float32]
	Features  feed.Features
	BatchSize int
	// Quant, when set, is the int8 network that Predict runs in Model's place (a quantized
	// model's store.Model.Quant); Model then only gives the shape.
	Quant *quant.Model

	ws    *lstm.Workspace[float32]
	b     feed.Batch
	quant *quantRun
}

// Predict returns the class probabilities of each sample, [len(samples)][Classes] flattened,
// and the mean loss against their labels (NaN if a label is out of range, as for unlabelled
// data).
func (p *Predictor) Predict(samples []feed.Sample) (probs []float32, loss float64) {
	if p.Quant != nil {
		return p.predictQuant(samples)
	}
	if p.ws == nil {
		p.ws = p.Model.NewWorkspace()
		p.ws.ForwardOnly = true
	}
	c := p.Model.Config.Classes
	probs = make([]float32, 0, len(samples)*c)
	var lossSum float64
	for lo := 0; lo < len(samples); lo += p.BatchSize {
		hi := min(lo+p.BatchSize, len(samples))
		p.b.Samples = p.b.Samples[:0]
		for i := lo; i < hi; i++ {
			p.b.Samples = append(p.b.Samples, &samples[i])
		}
		b := p.b.Assemble(p.Features)
		p.Model.Forward(p.ws, b)
		if l, err := p.Model.Loss(p.ws, b.Labels, nil); err == nil {
			lossSum += l * float64(hi-lo)
		} else {
			lossSum = math.NaN()
		}
		probs = append(probs, p.Model.Probs(p.ws)...)
	}
	if len(samples) > 0 {
		loss = lossSum / float64(len(samples))
	}
	return probs, loss
}

// CombineByDoc turns per-sample probabilities (samples × classes) into per-document ones
// (docs × classes), each sample going to its Doc: a document's probabilities are the softmax of
// the mean log-probability of its samples. A document with one sample keeps its probabilities.
func CombineByDoc(probs []float32, classes int, samples []feed.Sample, docs int) []float32 {
	sum := make([]float64, docs*classes)
	n := make([]int, docs)
	for i, s := range samples {
		n[s.Doc]++
		for j := range classes {
			sum[s.Doc*classes+j] += math.Log(math.Max(float64(probs[i*classes+j]), 1e-30))
		}
	}
	out := make([]float32, docs*classes)
	for d := range docs {
		row := sum[d*classes : (d+1)*classes]
		mx := math.Inf(-1)
		for j := range row {
			row[j] /= float64(max(n[d], 1))
			mx = math.Max(mx, row[j])
		}
		var z float64
		for _, v := range row {
			z += math.Exp(v - mx)
		}
		for j, v := range row {
			out[d*classes+j] = float32(math.Exp(v-mx) / z)
		}
	}
	return out
}

// Argmax returns the index of the largest of p, the first of equals.
func Argmax(p []float32) int {
	best := 0
	for j, v := range p {
		if v > p[best] {
			best = j
		}
	}
	return best
}
