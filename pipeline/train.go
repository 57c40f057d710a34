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

	ws      *lstm.Workspace[float32]
	x       []float32
	batch   []*Sample
	lengths []int
	labels  []int
	pcg     rand.PCG
	rng     *rand.Rand
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
	if t.ws == nil {
		t.ws = t.Model.NewWorkspace()
		t.ws.SkipInputGrad = !t.Features.Trainable()
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
		t.batch = t.batch[:0]
		for _, i := range order[lo:hi] {
			t.batch = append(t.batch, &samples[i])
		}
		n := t.assemble()
		t.pcg.Seed(t.Seed, uint64(epoch)<<32|uint64(step))
		loss, err := t.Model.TrainStep(t.ws, t.x, t.lengths, n, t.labels, t.Opt, t.Options, t.rng)
		if err != nil {
			return res, err
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return res, fmt.Errorf("%w: epoch %d, step %d: the loss is %v", ErrDiverged, epoch+1, step+1, loss)
		}
		t.Features.Learn(t.ws.InputGrad(), t.batch, n)
		correct += countCorrect(t.Model.Probs(t.ws), t.labels, t.Model.Config.Classes)
		lossSum += loss * float64(len(t.batch))
		res.Samples += len(t.batch)
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

// assemble fills the trainer's buffers from t.batch and returns the batch's time steps: the
// longest sample's length.
func (t *Trainer) assemble() int {
	t.lengths, t.labels = t.lengths[:0], t.labels[:0]
	steps := 0
	for _, s := range t.batch {
		n := t.Features.Len(s)
		t.lengths = append(t.lengths, n)
		t.labels = append(t.labels, s.Label)
		steps = max(steps, n)
	}
	size := steps * len(t.batch) * t.Features.Dim()
	if cap(t.x) < size {
		t.x = make([]float32, size)
	}
	t.x = t.x[:size]
	t.Features.Fill(t.x, t.batch, steps)
	return steps
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
	t         Trainer
}

// Predict returns the class probabilities of each sample, [len(samples)][Classes] flattened, and
// the mean loss against their labels (NaN if a label is out of range, as for unlabelled data).
func (p *Predictor) Predict(samples []Sample) (probs []float32, loss float64) {
	if p.t.ws == nil {
		p.t = Trainer{Model: p.Model, Features: p.Features, ws: p.Model.NewWorkspace()}
		p.t.ws.ForwardOnly = true
	}
	c := p.Model.Config.Classes
	probs = make([]float32, 0, len(samples)*c)
	var lossSum float64
	for lo := 0; lo < len(samples); lo += p.BatchSize {
		hi := min(lo+p.BatchSize, len(samples))
		p.t.batch = p.t.batch[:0]
		for i := lo; i < hi; i++ {
			p.t.batch = append(p.t.batch, &samples[i])
		}
		n := p.t.assemble()
		p.Model.Forward(p.t.ws, p.t.x, p.t.lengths, n, false, nil)
		if l, err := p.Model.Loss(p.t.ws, p.t.labels, nil); err == nil {
			lossSum += l * float64(hi-lo)
		} else {
			lossSum = math.NaN()
		}
		probs = append(probs, p.Model.Probs(p.t.ws)...)
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
