package train

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/seqclf/seqclf/classify"
	"github.com/seqclf/seqclf/feed"
	"github.com/seqclf/seqclf/internal/rng"
	"github.com/seqclf/seqclf/lstm"
)

// Trainer runs training steps of a model on batches of samples. It reuses its buffers from
// batch to batch.
type Trainer struct {
	Model     *lstm.Model[float32]
	Features  feed.Features
	Opt       lstm.Optimizer[float32]
	Options   lstm.TrainOptions[float32]
	BatchSize int
	// Seed derives the dropout source of each step, so that a run resumed at any step draws
	// what an uninterrupted run would have drawn.
	Seed uint64
	// Schedule, when set, sets the learning rate of Opt and of the embedding table Features
	// trains (a *feed.Embeddings) before each step; nil leaves their rates as they are.
	Schedule *Schedule
	// BucketByLength draws batches of samples of similar length (BucketedOrder) rather than
	// batches of any samples (Order): less padding to compute, the same seed the same batches.
	BucketByLength bool

	ws  *lstm.Workspace[float32]
	b   feed.Batch
	pcg rand.PCG
	rng *rand.Rand
}

// EpochResult sums up a pass over training data.
type EpochResult struct {
	Loss     float64 // mean loss over the samples trained
	Accuracy float64 // share of samples whose prediction, before the step, was right
	Samples  int
	Steps    int  // steps done, counting from the start of the epoch
	Stopped  bool // the context was cancelled: the epoch ended early after a whole step
	// LearningRate is the rate of the epoch's last step (whether or not it was done).
	LearningRate float64
}

// Position is a place in training: Step steps done of the epoch Epoch, both from 0.
type Position struct {
	Epoch, Step int
}

// Order returns the order in which epoch (from 0) goes through samples, as indexes into it,
// drawn from the seed alone.
func Order(seed uint64, epoch int, samples []feed.Sample) []int {
	return rng.New(seed, rng.Shuffle(epoch)).Perm(len(samples))
}

// BucketedOrder returns an order of epoch (from 0) whose batches of batchSize hold samples of
// similar length, drawn from the seed and the lengths alone: Order's shuffle is cut into pools of
// bucketPool batches, each pool is sorted by length (ties in shuffled order) and cut into
// batches, and the whole batches are shuffled, the last and partial one kept last. length gives
// a sample's length (feed.Features.Len).
func BucketedOrder(seed uint64, epoch int, samples []feed.Sample, batchSize int, length func(*feed.Sample) int) []int {
	r := rng.New(seed, rng.Shuffle(epoch))
	order := r.Perm(len(samples))
	lengths := make([]int, len(samples))
	for i := range samples {
		lengths[i] = length(&samples[i])
	}
	pool := bucketPool * batchSize
	for lo := 0; lo < len(order); lo += pool {
		slices.SortStableFunc(order[lo:min(lo+pool, len(order))], func(a, b int) int {
			return cmp.Compare(lengths[a], lengths[b])
		})
	}
	full := len(order) / batchSize
	out := make([]int, 0, len(order))
	for _, k := range r.Perm(full) {
		out = append(out, order[k*batchSize:(k+1)*batchSize]...)
	}
	return append(out, order[full*batchSize:]...)
}

// bucketPool is the number of batches whose samples BucketedOrder sorts by length together:
// torchtext's BucketIterator sorts 100 batches at a time too. Larger pools make batches of more
// even length, smaller ones keep more of the shuffle.
const bucketPool = 100

// order returns the order of epoch's samples: bucketed or not.
func (t *Trainer) order(epoch int, samples []feed.Sample) []int {
	if t.BucketByLength {
		return BucketedOrder(t.Seed, epoch, samples, t.BatchSize, t.Features.Len)
	}
	return Order(t.Seed, epoch, samples)
}

// Epoch trains epoch at.Epoch on samples in the order Order(t.Seed, at.Epoch, samples) (or
// BucketedOrder), starting at step at.Step (0 for a whole epoch, more to resume one). Each
// batch runs its samples longest first, so that the LSTM's passes stop computing the rows of
// samples that have ended. onStep, if not nil, is called after each step
// with the steps done and the batch's loss. When ctx is cancelled, the step under way finishes
// and Epoch returns with Stopped set. With a Schedule, step s trains with the rate of the run's
// step at.Epoch·steps_per_epoch + s.
func (t *Trainer) Epoch(ctx context.Context, samples []feed.Sample, at Position, onStep func(step int, loss float64)) (EpochResult, error) {
	epoch, first := at.Epoch, at.Step
	if t.ws == nil {
		t.ws = t.Model.NewWorkspace()
		t.ws.SkipInputGrad = !t.Features.Trainable()
		t.rng = rand.New(&t.pcg)
	}
	order := t.order(epoch, samples)
	steps := (len(samples) + t.BatchSize - 1) / t.BatchSize
	res := EpochResult{Steps: first, LearningRate: t.rate(epoch*steps+steps-1, steps)}
	var lossSum float64
	correct := 0
	for step := first; step < steps; step++ {
		if ctx.Err() != nil {
			res.Stopped = true
			break
		}
		lo, hi := step*t.BatchSize, min((step+1)*t.BatchSize, len(samples))
		t.b.Samples = t.b.Samples[:0]
		for _, i := range order[lo:hi] {
			t.b.Samples = append(t.b.Samples, &samples[i])
		}
		slices.SortStableFunc(t.b.Samples, t.longerFirst)
		b := t.b.Assemble(t.Features)
		if t.Schedule != nil {
			if err := setRate(t.Opt, t.Features, t.rate(epoch*steps+step, steps)); err != nil {
				return res, err
			}
		}
		rng.Seed(&t.pcg, t.Seed, rng.Dropout(rng.Step{Epoch: epoch, Step: step}))
		loss, err := t.Model.TrainStep(t.ws, b, t.Opt, t.Options, t.rng)
		if err != nil {
			return res, err
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return res, fmt.Errorf("%w: epoch %d, step %d: the loss is %v", ErrDiverged, epoch+1, step+1, loss)
		}
		t.Features.Learn(t.ws.InputGrad(), t.b.Samples, b.Steps)
		correct += countCorrect(t.Model.Probs(t.ws), b.Labels, t.Model.Config.Classes)
		lossSum += loss * float64(len(t.b.Samples))
		res.Samples += len(t.b.Samples)
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

// longerFirst orders samples by decreasing length.
func (t *Trainer) longerFirst(a, b *feed.Sample) int {
	return cmp.Compare(t.Features.Len(b), t.Features.Len(a))
}

// rate returns the learning rate of the run's step (from 0) with steps steps an epoch: the
// schedule's, or without one the optimizer's.
func (t *Trainer) rate(step, steps int) float64 {
	if t.Schedule == nil {
		return rateOf(t.Opt)
	}
	return t.Schedule.Rate(step, t.Schedule.Epochs*steps)
}

func countCorrect(probs []float32, labels []int, classes int) int {
	n := 0
	for b, y := range labels {
		if classify.Argmax(probs[b*classes:(b+1)*classes]) == y {
			n++
		}
	}
	return n
}

// labelsOf returns the labels of samples.
func labelsOf(samples []feed.Sample) []int {
	l := make([]int, len(samples))
	for i, s := range samples {
		l[i] = s.Label
	}
	return l
}
