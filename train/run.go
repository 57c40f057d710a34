package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/seqclf/seqclf/classify"
	"github.com/seqclf/seqclf/feed"
	"github.com/seqclf/seqclf/internal/progress"
	"github.com/seqclf/seqclf/report"
	"github.com/seqclf/seqclf/store"
)

// ErrInterrupted is wrapped by the *Stopped error of Run when its context is cancelled: the
// step under way finished and the checkpoint was saved, which a resumed run goes on from.
var ErrInterrupted = errors.New("training interrupted")

// ErrDiverged is wrapped by the *Stopped error of Run when the loss or the weights stop being
// finite numbers. The checkpoint of the last whole epoch is kept; a resumed run with a lower
// learning rate, or a clip norm, goes on from it.
var ErrDiverged = errors.New("training diverged")

// Stopped is the error of a run that ended before its last epoch: interrupted or diverged
// (Err). It says what the store holds, for the caller to advise how to go on.
type Stopped struct {
	Err  error  // ErrInterrupted or ErrDiverged, wrapped with what happened
	Path string // the store
	// Checkpointed says whether the store holds a checkpoint to resume from, made after Epoch
	// whole epochs and Step steps of the next.
	Checkpointed bool
	Epoch, Step  int
}

func (e *Stopped) Error() string {
	if !e.Checkpointed {
		return fmt.Sprintf("%v; no checkpoint was made before it", e.Err)
	}
	at := fmt.Sprintf("made after epoch %d", e.Epoch)
	if e.Step > 0 {
		at = fmt.Sprintf("made at epoch %d, step %d", e.Epoch+1, e.Step)
	}
	return fmt.Sprintf("%v; %s keeps the checkpoint %s", e.Err, e.Path, at)
}

func (e *Stopped) Unwrap() error { return e.Err }

// Job is a training run's work: the trainer, the data, when to stop, and where its checkpoints
// go.
type Job struct {
	Trainer    *Trainer
	Train, Val []feed.Sample
	// ValDocs is the number of documents Val's samples come from (their Doc, from 0): when a
	// document gives several samples (unit sentence), validation is measured per document, as
	// the test report is. 0: per sample.
	ValDocs int
	Epochs  int
	// Patience stops training after this many epochs without a lower validation loss; 0: never.
	Patience int
	// Store receives a checkpoint after every epoch and when the run is interrupted.
	Store *store.Store
	// Checkpointed says whether Store already holds a checkpoint (a resumed run), which a
	// failure must keep.
	Checkpointed bool
	Log          io.Writer         // notes, as early stopping; nil: none
	Progress     []progress.Option // options of the progress display on Log
	// CheckpointHook, when set, is called as each checkpoint's write begins and as it ends: a
	// crash test kills the process in between.
	CheckpointHook func(begin bool)
}

// Run trains st's model for the job's epochs from where st stands, with a checkpoint after
// each, stopping early when the validation loss has not improved for Patience epochs, and puts
// the best epoch's weights back at the end. When ctx is cancelled it finishes the step under
// way, saves a checkpoint and returns a *Stopped wrapping ErrInterrupted.
func Run(ctx context.Context, j *Job, st *State) error {
	log := j.Log
	if log == nil {
		log = io.Discard
	}
	tr := j.Trainer
	val := &classify.Predictor{Model: tr.Model, Features: tr.Features, BatchSize: max(tr.BatchSize, 256)}
	bar := progress.New(log, j.Progress...)
	checkpointed := j.Checkpointed
	stopped := func(err error) error {
		return &Stopped{Err: err, Path: j.Store.Path(), Checkpointed: checkpointed, Epoch: st.Epoch, Step: st.Step}
	}
	save := func() error {
		if j.CheckpointHook != nil {
			j.CheckpointHook(true)
			defer j.CheckpointHook(false)
		}
		if err := st.Save(j.Store); err != nil {
			return err
		}
		checkpointed = true
		return nil
	}
	classes := tr.Model.Config.Classes
	bs := tr.BatchSize
	for st.Epoch < j.Epochs {
		bar.Start(progress.Epoch{N: st.Epoch + 1, Of: j.Epochs, Samples: len(j.Train)})
		if st.Step > 0 {
			bar.Update(min(st.Step*bs, len(j.Train)), math.NaN())
		}
		start := time.Now()
		res, err := tr.Epoch(ctx, j.Train, Position{Epoch: st.Epoch, Step: st.Step}, func(step int, loss float64) {
			bar.Update(min(step*bs, len(j.Train)), loss)
		})
		if err != nil {
			bar.Finish("")
			if errors.Is(err, ErrDiverged) {
				return stopped(err)
			}
			return err
		}
		if !st.finite() {
			bar.Finish("")
			return stopped(fmt.Errorf("%w: epoch %d: the weights are no longer finite numbers after its last step", ErrDiverged, st.Epoch+1))
		}
		if res.Stopped {
			st.Step = res.Steps
			bar.Finish("")
			if err := save(); err != nil {
				return err
			}
			return stopped(fmt.Errorf("%w at epoch %d, step %d", ErrInterrupted, st.Epoch+1, st.Step))
		}
		secs := time.Since(start).Seconds()
		stats := report.EpochStats{Epoch: st.Epoch + 1, TrainLoss: res.Loss, TrainAccuracy: res.Accuracy,
			ValLoss: math.NaN(), ValAccuracy: math.NaN(), Seconds: secs, SamplesPerSec: float64(res.Samples) / secs,
			LearningRate: res.LearningRate}
		summary := ""
		improved := len(j.Val) == 0
		if len(j.Val) > 0 {
			probs, loss := val.Predict(j.Val)
			correct, n := countCorrect(probs, labelsOf(j.Val), classes), len(j.Val)
			if j.ValDocs > 0 && j.ValDocs < len(j.Val) {
				loss, correct = byDocument(probs, classes, j.Val, j.ValDocs)
				n = j.ValDocs
			}
			stats.ValLoss = loss
			stats.ValAccuracy = float64(correct) / float64(n)
			summary = fmt.Sprintf("val loss %.4f  val acc %.2f%%  ", loss, 100*stats.ValAccuracy)
			improved = loss < st.bestValLoss()
		}
		summary += fmt.Sprintf("lr %.3g", res.LearningRate)
		st.History.Add(stats)
		st.Epoch, st.Step = st.Epoch+1, 0
		if improved {
			st.setBestValLoss(stats.ValLoss)
			st.BadEpochs = 0
			if len(j.Val) > 0 {
				st.keepBest()
			}
		} else {
			st.BadEpochs++
		}
		if err := save(); err != nil {
			return err
		}
		bar.Finish(summary)
		if p := j.Patience; p > 0 && st.BadEpochs >= p {
			fmt.Fprintf(log, "early stopping: no lower validation loss in %d epochs\n", p)
			break
		}
	}
	if st.best != nil {
		if best, ok := st.History.BestEpoch(); ok && best.Epoch != len(st.History.Epochs) {
			fmt.Fprintf(log, "keeping the weights of epoch %d, the lowest validation loss (%.4f)\n", best.Epoch, best.ValLoss)
		}
		st.restoreBest()
	}
	return nil
}

// byDocument returns the mean loss and the number of right answers over docs documents, each
// answered by combining the probabilities of its samples as the test report does.
func byDocument(probs []float32, classes int, samples []feed.Sample, docs int) (loss float64, correct int) {
	p := classify.CombineByDoc(probs, classes, samples, docs)
	label := make([]int, docs)
	for _, s := range samples {
		label[s.Doc] = s.Label
	}
	for d, y := range label {
		row := p[d*classes : (d+1)*classes]
		loss -= math.Log(math.Max(float64(row[y]), 1e-30))
		if classify.Argmax(row) == y {
			correct++
		}
	}
	return loss / float64(docs), correct
}
