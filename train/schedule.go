package train

import (
	"fmt"
	"math"

	"github.com/seqclf/seqclf/feed"
	"github.com/seqclf/seqclf/lstm"
)

// ScheduleKind names the shape of a learning-rate schedule.
type ScheduleKind int

const (
	// Constant keeps the peak rate (after any warm-up).
	Constant ScheduleKind = iota
	// Cosine anneals the peak rate to 0 along half a cosine, as torch's CosineAnnealingLR.
	Cosine
	// OneCycle rises from a 25th of the peak to the peak and anneals to a 10⁴th of the start,
	// as torch's OneCycleLR.
	OneCycle
)

// ParseSchedule returns the kind named s: constant, cosine or onecycle.
func ParseSchedule(s string) (ScheduleKind, error) {
	switch s {
	case "constant":
		return Constant, nil
	case "cosine":
		return Cosine, nil
	case "onecycle":
		return OneCycle, nil
	}
	return 0, fmt.Errorf("unknown schedule %q: use constant, cosine or onecycle", s)
}

// String returns the kind's name.
func (k ScheduleKind) String() string {
	switch k {
	case Cosine:
		return "cosine"
	case OneCycle:
		return "onecycle"
	}
	return "constant"
}

// The defaults of torch.optim.lr_scheduler.OneCycleLR.
const (
	oneCyclePctStart       = 0.3
	oneCycleDivFactor      = 25
	oneCycleFinalDivFactor = 1e4
)

// A Schedule gives the learning rate of every step of a run as a function of the step alone,
// so that a run resumed at any step trains with the rates an uninterrupted run would have.
//
// Steps are counted over the whole run from 0: step s of epoch e (both from 0) is
// e·steps_per_epoch + s, and the run has T = Epochs·steps_per_epoch of them. With W =
// WarmupSteps and the peak rate LR, step s trains with
//
//	constant:  LR·(s+1)/W for s < W, then LR
//	cosine:    LR·(s+1)/W for s < W, then LR·½(1 + cos(π·(s−W)/(T−W)))
//	onecycle:  LR/25 + (LR − LR/25)·½(1 − cos(π·s/E)) for s ≤ E, then
//	           m + (LR − m)·½(1 + cos(π·(s−E)/(T−1−E))), m = LR/25/10⁴
//
// where E, the step at the peak, is 0.3·T − 1 (torch's pct_start 0.3), or W − 1 when W > 0.
// Cosine after the warm-up is torch's CosineAnnealingLR with T_max T−W and eta_min 0;
// onecycle is torch's OneCycleLR with its defaults (pct_start 0.3, cosine annealing,
// div_factor 25, final_div_factor 10⁴, max_lr LR), rate for rate, but without its momentum
// cycling: the optimizer's β1 (or momentum) stays as set.
type Schedule struct {
	Kind        ScheduleKind
	LR          float64 // the peak rate: train.learning_rate
	WarmupSteps int
	// Epochs is the length of the run the schedule is planned over (train.epochs): stopping
	// early does not shorten it.
	Epochs int
}

// Rate returns the learning rate of step (from 0) of a run of total steps. Steps past the end
// take the last step's rate.
func (s *Schedule) Rate(step, total int) float64 {
	step = max(0, min(step, total-1))
	w := s.WarmupSteps
	if s.Kind == OneCycle {
		start := s.LR / oneCycleDivFactor
		end := start / oneCycleFinalDivFactor
		peak := oneCyclePctStart*float64(total) - 1
		if w > 0 {
			peak = float64(w - 1)
		}
		x := float64(step)
		if x <= peak {
			return anneal(start, s.LR, fraction(x, peak))
		}
		return anneal(s.LR, end, fraction(x-peak, float64(total-1)-peak))
	}
	if step < w {
		return s.LR * float64(step+1) / float64(w)
	}
	if s.Kind == Cosine {
		return s.LR * (1 + math.Cos(math.Pi*fraction(float64(step-w), float64(total-w)))) / 2
	}
	return s.LR
}

// fraction returns x/n at most 1, and 1 when n ≤ 0 (a phase of no steps is over at once).
func fraction(x, n float64) float64 {
	if n <= 0 {
		return 1
	}
	return min(x/n, 1)
}

// anneal returns the rate p of the way from a to b along half a cosine.
func anneal(a, b, p float64) float64 {
	return b + (a-b)*(1+math.Cos(math.Pi*p))/2
}

// setRate sets the learning rate of opt and of the embedding table that f trains, if any.
func setRate(opt lstm.Optimizer[float32], f feed.Features, lr float64) error {
	switch o := opt.(type) {
	case *lstm.Adam[float32]:
		o.LR = lr
	case *lstm.SGD[float32]:
		o.LR = lr
	default:
		return fmt.Errorf("train: a schedule cannot set the learning rate of a %T", opt)
	}
	if e, ok := f.(*feed.Embeddings); ok {
		e.LR = float32(lr)
		if e.Adam != nil {
			e.Adam.LR = lr
		}
	}
	return nil
}

// rateOf returns the learning rate opt is set to, NaN for an optimizer of unknown kind.
func rateOf(opt lstm.Optimizer[float32]) float64 {
	switch o := opt.(type) {
	case *lstm.Adam[float32]:
		return o.LR
	case *lstm.SGD[float32]:
		return o.LR
	}
	return math.NaN()
}
