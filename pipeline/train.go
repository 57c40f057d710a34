package pipeline

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/seqclf/seqclf/lstm"
)

// Sample is one sequence that one LSTM run sees, with its label. Text sources fill IDs (token ids,
// already truncated to time_step); row-token sources (MNIST) set Index, the image it reads.
type Sample struct {
	IDs   []int32
	Index int
	Label int
	Doc   int // the document it came from: with unit: sentence, a document gives several samples
}

// Features turns a batch of samples into the LSTM's inputs and, when they are trainable, learns
// from the gradient with respect to those inputs.
type Features interface {
	// Dim is the size of one time step's input.
	Dim() int
	// Len is the number of real time steps of s.
	Len(s *Sample) int
	// Fill writes the inputs of batch time-major into x, [steps][len(batch)][Dim()], zeros at padding.
	Fill(x []float32, batch []*Sample, steps int)
	// Learn receives the gradient of the loss with respect to x, shaped as Fill wrote it.
	Learn(dx []float32, batch []*Sample, steps int)
	// Trainable says whether Learn does anything: when not, that gradient is not computed.
	Trainable() bool
}

// Trainer runs training steps of a model on batches of samples. It reuses its buffers from
// batch to batch.
type Trainer struct {
	Model     *lstm.Model[float32]
	Features  Features
	Opt       lstm.Optimizer[float32]
	Options   lstm.TrainOptions[float32]
	BatchSize int
	// Seed derives the dropout source of each step, so that a run resumed at any step draws
	// what an uninterrupted run would have drawn.
	Seed uint64

	b   batch
	pcg rand.PCG
	rng *rand.Rand
}

// batch holds one batch's samples and the buffers made from them, reused from batch to batch.
type batch struct {
	ws      *lstm.Workspace[float32]
	x       []float32
	samples []*Sample
	lengths []int
	labels  []int
}

// assemble fills the buffers from b.samples through f and returns the batch's time steps: the
// longest sample's length.
func (b *batch) assemble(f Features) int {
	b.lengths, b.labels = b.lengths[:0], b.labels[:0]
	steps := 0
	for _, s := range b.samples {
		n := f.Len(s)
		b.lengths = append(b.lengths, n)
		b.labels = append(b.labels, s.Label)
		steps = max(steps, n)
	}
	b.x = grow(b.x, steps*len(b.samples)*f.Dim())
	f.Fill(b.x, b.samples, steps)
	return steps
}

// grow returns s resliced to n values, reallocated only when its capacity is too small.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// EpochResult sums up a pass over training data.
type EpochResult struct {
	Loss     float64 // mean loss over the samples trained
	Accuracy float64 // share of samples whose prediction, before the step, was right
	Samples  int
	Steps    int  // steps done, counting from the start of the epoch
	Stopped  bool // the context was cancelled: the epoch ended early after a whole step
}

// Order returns the order of the n training samples in epoch epoch, drawn from the seed alone.
func Order(seed uint64, epoch, n int) []int {
	return rand.New(rand.NewPCG(seed, uint64(epoch)<<1|1)).Perm(n)
}

// Epoch trains on samples in the order Order(t.Seed, epoch, len(samples)), starting at step
// first (0 for a whole epoch, more to resume one). onStep, if not nil, is called after each step
// with the steps done and the batch's loss. When ctx is cancelled, the step under way finishes
// and Epoch returns with Stopped set.
func (t *Trainer) Epoch(ctx context.Context, samples []Sample, epoch, first int, onStep func(step int, loss float64)) (EpochResult, error) {
	b := &t.b
	if b.ws == nil {
		b.ws = t.Model.NewWorkspace()
		b.ws.SkipInputGrad = !t.Features.Trainable()
		t.rng = rand.New(&t.pcg)
	}
	order := Order(t.Seed, epoch, len(samples))
	steps := (len(samples) + t.BatchSize - 1) / t.BatchSize
	res := EpochResult{Steps: first}
	var lossSum float64
	correct := 0
	for step := first; step < steps; step++ {
		if ctx.Err() != nil {
			res.Stopped = true
			break
		}
		lo, hi := step*t.BatchSize, min((step+1)*t.BatchSize, len(samples))
		b.samples = b.samples[:0]
		for _, i := range order[lo:hi] {
			b.samples = append(b.samples, &samples[i])
		}
		n := b.assemble(t.Features)
		t.pcg.Seed(t.Seed, uint64(epoch)<<32|uint64(step))
		loss, err := t.Model.TrainStep(b.ws, b.x, b.lengths, n, b.labels, t.Opt, t.Options, t.rng)
		if err != nil {
			return res, err
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return res, fmt.Errorf("%w: epoch %d, step %d: the loss is %v", ErrDiverged, epoch+1, step+1, loss)
		}
		t.Features.Learn(b.ws.InputGrad(), b.samples, n)
		correct += countCorrect(t.Model.Probs(b.ws), b.labels, t.Model.Config.Classes)
		lossSum += loss * float64(len(b.samples))
		res.Samples += len(b.samples)
		res.Steps = step + 1
		if onStep != nil {
			onStep(step+1, loss)
		}
	}
	if res.Samples > 0 {
		res.Loss = lossSum / float64(res.Samples)
		res.Accuracy = float64(correct) / float64(res.Samples)
	}
	return res, nil
}

func countCorrect(probs []float32, labels []int, classes int) int {
	n := 0
	for b, y := range labels {
		if argmax(probs[b*classes:(b+1)*classes]) == y {
			n++
		}
	}
	return n
}

func argmax(p []float32) int {
	best := 0
	for j, v := range p {
		if v > p[best] {
			best = j
		}
	}
	return best
}

// Predictor computes class probabilities for batches of samples with a trained model. It holds a
// workspace: use one Predictor per goroutine.
type Predictor struct {
	Model     *lstm.Model[float32]
	Features  Features
	BatchSize int
	b         batch
}

// Predict returns the class probabilities of each sample, [len(samples)][Classes] flattened, and
// the mean loss against their labels (NaN if a label is out of range, as for unlabelled data).
func (p *Predictor) Predict(samples []Sample) (probs []float32, loss float64) {
	b := &p.b
	if b.ws == nil {
		b.ws = p.Model.NewWorkspace()
		b.ws.ForwardOnly = true
	}
	c := p.Model.Config.Classes
	probs = make([]float32, 0, len(samples)*c)
	var lossSum float64
	for lo := 0; lo < len(samples); lo += p.BatchSize {
		hi := min(lo+p.BatchSize, len(samples))
		b.samples = b.samples[:0]
		for i := lo; i < hi; i++ {
			b.samples = append(b.samples, &samples[i])
		}
		n := b.assemble(p.Features)
		p.Model.Forward(b.ws, b.x, b.lengths, n, false, nil)
		if l, err := p.Model.Loss(b.ws, b.labels, nil); err == nil {
			lossSum += l * float64(hi-lo)
		} else {
			lossSum = math.NaN()
		}
		probs = append(probs, p.Model.Probs(b.ws)...)
	}
	if len(samples) > 0 {
		loss = lossSum / float64(len(samples))
	}
	return probs, loss
}

// labelsOf returns the labels of samples.
func labelsOf(samples []Sample) []int {
	l := make([]int, len(samples))
	for i, s := range samples {
		l[i] = s.Label
	}
	return l
}
