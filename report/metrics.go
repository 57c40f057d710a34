package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/seqclf/seqclf/internal/atomicfile"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// ClassScores holds the scores of one class, computed one-vs-rest.
type ClassScores struct {
	// Class is the class name.
	Class string `json:"class"`
	// Precision is TP / (TP + FP): of the samples predicted as this class,
	// the share that are. 0 when the class is never predicted.
	Precision float64 `json:"precision"`
	// Recall is TP / (TP + FN): of the samples of this class, the share
	// found. 0 when the class has no samples.
	Recall float64 `json:"recall"`
	// F1 is the harmonic mean 2PR / (P + R); 0 when P + R = 0.
	F1 float64 `json:"f1"`
	// Support is the number of samples whose true label is this class.
	Support int `json:"support"`
	// Predicted is the number of samples predicted as this class.
	Predicted int `json:"predicted"`
}

// Scores is the evaluation of a classifier on one set of samples. It
// follows scikit-learn's classification_report: undefined precision or
// recall counts as 0, and the macro and weighted averages run over the
// classes that occur among the true or the predicted labels (scikit-learn's
// default labels), so a class absent from a small test set does not count
// as a 0 in the macro-F1.
type Scores struct {
	// Classes names the classes; labels are indexes into it.
	Classes []string `json:"classes"`
	// Samples is the number of samples evaluated.
	Samples int `json:"samples"`
	// Accuracy is the share of samples whose predicted label is the true one.
	Accuracy float64 `json:"accuracy"`
	// MacroPrecision, MacroRecall and MacroF1 are the unweighted means of
	// the per-class scores.
	MacroPrecision float64 `json:"macro_precision"`
	// MacroRecall is the unweighted mean of the per-class recalls.
	MacroRecall float64 `json:"macro_recall"`
	// MacroF1 is the unweighted mean of the per-class F1 scores.
	MacroF1 float64 `json:"macro_f1"`
	// WeightedF1 is the mean of the per-class F1 scores weighted by support.
	WeightedF1 float64 `json:"weighted_f1"`
	// PerClass holds each class's scores, in the order of Classes.
	PerClass []ClassScores `json:"per_class"`
	// Confusion[i][j] counts the samples of true class i predicted as j.
	Confusion [][]int `json:"confusion"`
}

// Evaluate compares true and predicted labels (indexes into classes) and
// returns the report. It is an error for the slices to differ in length,
// to be empty, or to hold a label outside classes.
func Evaluate(truth, predicted []int, classes []string) (*Scores, error) {
	if len(truth) != len(predicted) {
		return nil, fmt.Errorf("evaluate: %d true labels but %d predictions", len(truth), len(predicted))
	}
	if len(truth) == 0 {
		return nil, errors.New("evaluate: no samples to evaluate; the test set is empty")
	}
	k := len(classes)
	if k == 0 {
		return nil, errors.New("evaluate: no class names")
	}
	r := &Scores{Classes: append([]string(nil), classes...), Samples: len(truth), Confusion: make([][]int, k)}
	for i := range r.Confusion {
		r.Confusion[i] = make([]int, k)
	}
	correct := 0
	for i, t := range truth {
		p := predicted[i]
		if t < 0 || t >= k {
			return nil, fmt.Errorf("evaluate: true label %d of sample %d is not one of the %d classes", t, i, k)
		}
		if p < 0 || p >= k {
			return nil, fmt.Errorf("evaluate: predicted label %d of sample %d is not one of the %d classes", p, i, k)
		}
		r.Confusion[t][p]++
		if t == p {
			correct++
		}
	}
	r.Accuracy = float64(correct) / float64(len(truth))

	present := 0
	r.PerClass = make([]ClassScores, k)
	for c := range k {
		m := ClassScores{Class: classes[c]}
		tp := r.Confusion[c][c]
		for j := range k {
			m.Support += r.Confusion[c][j]
			m.Predicted += r.Confusion[j][c]
		}
		if m.Predicted > 0 {
			m.Precision = float64(tp) / float64(m.Predicted)
		}
		if m.Support > 0 {
			m.Recall = float64(tp) / float64(m.Support)
		}
		if m.Precision+m.Recall > 0 {
			m.F1 = 2 * m.Precision * m.Recall / (m.Precision + m.Recall)
		}
		r.PerClass[c] = m
		if m.Support > 0 || m.Predicted > 0 {
			present++
			r.MacroPrecision += m.Precision
			r.MacroRecall += m.Recall
			r.MacroF1 += m.F1
			r.WeightedF1 += m.F1 * float64(m.Support)
		}
	}
	r.MacroPrecision /= float64(present)
	r.MacroRecall /= float64(present)
	r.MacroF1 /= float64(present)
	r.WeightedF1 /= float64(len(truth))
	return r, nil
}

// WriteTable writes the report as aligned text for a terminal: one line
// per class with precision, recall, F1 and support, the accuracy and the
// averages, then the confusion matrix with true classes as rows.
func (r *Scores) WriteTable(w io.Writer) error {
	var b bytes.Buffer
	nameW := len("weighted avg")
	for _, c := range r.Classes {
		nameW = max(nameW, utf8.RuneCountInString(c))
	}
	row := func(name, p, rc, f string, support int) {
		fmt.Fprintf(&b, "%-*s  %10s%10s%10s%10d\n", nameW, name, p, rc, f, support)
	}
	f4 := func(x float64) string { return strconv.FormatFloat(x, 'f', 4, 64) }
	fmt.Fprintf(&b, "%-*s  %10s%10s%10s%10s\n", nameW, "", "precision", "recall", "f1", "support")
	for _, m := range r.PerClass {
		row(m.Class, f4(m.Precision), f4(m.Recall), f4(m.F1), m.Support)
	}
	b.WriteString("\n")
	row("accuracy", "", "", f4(r.Accuracy), r.Samples)
	row("macro avg", f4(r.MacroPrecision), f4(r.MacroRecall), f4(r.MacroF1), r.Samples)
	weightedP, weightedR := 0.0, 0.0
	for _, m := range r.PerClass {
		weightedP += m.Precision * float64(m.Support)
		weightedR += m.Recall * float64(m.Support)
	}
	n := float64(r.Samples)
	row("weighted avg", f4(weightedP/n), f4(weightedR/n), f4(r.WeightedF1), r.Samples)

	// The confusion matrix: columns headed by class names when they fit in
	// about 100 characters, by class numbers otherwise (the rows then carry
	// the number beside the name).
	b.WriteString("\nconfusion matrix (rows: true class, columns: predicted class)\n")
	cellW := 1
	for _, rowCounts := range r.Confusion {
		for _, v := range rowCounts {
			cellW = max(cellW, len(strconv.Itoa(v)))
		}
	}
	headers := make([]string, len(r.Classes))
	rowNames := make([]string, len(r.Classes))
	width := nameW
	for i, c := range r.Classes {
		headers[i], rowNames[i] = c, c
		width += 2 + max(cellW, utf8.RuneCountInString(c))
	}
	labelW := nameW
	if width > 100 {
		numW := len(strconv.Itoa(len(r.Classes) - 1))
		labelW = 0
		for i, c := range r.Classes {
			headers[i] = strconv.Itoa(i)
			rowNames[i] = fmt.Sprintf("%*d %s", numW, i, c)
			labelW = max(labelW, utf8.RuneCountInString(rowNames[i]))
		}
	}
	fmt.Fprintf(&b, "%-*s", labelW, "")
	for _, h := range headers {
		fmt.Fprintf(&b, "  %*s", max(cellW, utf8.RuneCountInString(h)), h)
	}
	b.WriteString("\n")
	for i, counts := range r.Confusion {
		fmt.Fprintf(&b, "%-*s", labelW, rowNames[i])
		for j, v := range counts {
			fmt.Fprintf(&b, "  %*d", max(cellW, utf8.RuneCountInString(headers[j])), v)
		}
		b.WriteString("\n")
	}
	_, err := w.Write(b.Bytes())
	return err
}

// EpochStats records one epoch of training. ValLoss and ValAccuracy are
// NaN when there is no validation set; JSON writes NaN and ±Inf as null.
type EpochStats struct {
	// Epoch counts from 1.
	Epoch int
	// TrainLoss and TrainAccuracy are the means over the epoch's batches.
	TrainLoss float64
	// TrainAccuracy is the share of training samples classified right
	// during the epoch.
	TrainAccuracy float64
	// ValLoss is the mean loss on the validation set after the epoch.
	ValLoss float64
	// ValAccuracy is the accuracy on the validation set after the epoch.
	ValAccuracy float64
	// Seconds is the epoch's wall-clock training time.
	Seconds float64
	// SamplesPerSec is the training throughput: samples / Seconds.
	SamplesPerSec float64
	// LearningRate is the rate of the epoch's last step (train.schedule);
	// NaN when unknown, as in the history of a run from before it was kept.
	LearningRate float64
}

type epochJSON struct {
	Epoch         int      `json:"epoch"`
	TrainLoss     *float64 `json:"train_loss"`
	TrainAccuracy *float64 `json:"train_accuracy"`
	ValLoss       *float64 `json:"val_loss"`
	ValAccuracy   *float64 `json:"val_accuracy"`
	Seconds       *float64 `json:"seconds"`
	SamplesPerSec *float64 `json:"samples_per_sec"`
	LearningRate  *float64 `json:"learning_rate"`
}

// finite returns &x, or nil for NaN and ±Inf, which JSON cannot hold.
func finite(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// orNaN returns *p, or NaN for nil.
func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// MarshalJSON writes the metrics.json names (epoch, train_loss, val_loss,
// val_accuracy, seconds, samples_per_sec, learning_rate, ...), with null
// for values that are NaN or infinite.
func (e EpochStats) MarshalJSON() ([]byte, error) {
	return json.Marshal(epochJSON{e.Epoch, finite(e.TrainLoss), finite(e.TrainAccuracy),
		finite(e.ValLoss), finite(e.ValAccuracy), finite(e.Seconds), finite(e.SamplesPerSec), finite(e.LearningRate)})
}

// UnmarshalJSON reads what MarshalJSON writes; null and missing values
// become NaN.
func (e *EpochStats) UnmarshalJSON(data []byte) error {
	var j epochJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*e = EpochStats{j.Epoch, orNaN(j.TrainLoss), orNaN(j.TrainAccuracy), orNaN(j.ValLoss),
		orNaN(j.ValAccuracy), orNaN(j.Seconds), orNaN(j.SamplesPerSec), orNaN(j.LearningRate)}
	return nil
}

// History is the record of a training run, one entry per finished epoch.
type History struct {
	// Epochs holds the epochs in the order they ran.
	Epochs []EpochStats `json:"epochs"`
}

// Add appends one epoch's record.
func (h *History) Add(e EpochStats) { h.Epochs = append(h.Epochs, e) }

// BestEpoch returns the epoch with the lowest validation loss (the first
// of equals), and false if no epoch has one.
func (h *History) BestEpoch() (EpochStats, bool) {
	best, ok := EpochStats{}, false
	for _, e := range h.Epochs {
		if !math.IsNaN(e.ValLoss) && (!ok || e.ValLoss < best.ValLoss) {
			best, ok = e, true
		}
	}
	return best, ok
}

// Metrics is the content of OUTPUT_DIR/metrics.json: the test set's
// report and the training history.
type Metrics struct {
	// Test is the evaluation on the test set; null if there was none.
	Test *Scores `json:"test"`
	// Epochs is the training history.
	Epochs []EpochStats `json:"epochs"`
}

// WriteMetricsJSON writes test and history to path as indented JSON. The
// file is written beside path under a temporary name and renamed into
// place, so path never holds half a file.
func WriteMetricsJSON(path string, test *Scores, history *History) error {
	m := Metrics{Test: test, Epochs: []EpochStats{}}
	if history != nil && history.Epochs != nil {
		m.Epochs = history.Epochs
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("metrics: %s: %w", path, err)
	}
	return atomicfile.Write(path, append(data, '\n'))
}

// WriteCurves draws the loss and the accuracy per epoch, train and
// validation, side by side, into a PNG file at path (written atomically,
// like WriteMetricsJSON). Values that are NaN are left out of the lines.
func (h *History) WriteCurves(path string) error {
	if len(h.Epochs) == 0 {
		return fmt.Errorf("curves: %s: no finished epoch to draw", path)
	}
	series := func(get func(EpochStats) float64, scale float64) plotter.XYs {
		var xy plotter.XYs
		for _, e := range h.Epochs {
			if v := get(e); !math.IsNaN(v) && !math.IsInf(v, 0) {
				xy = append(xy, plotter.XY{X: float64(e.Epoch), Y: v * scale})
			}
		}
		return xy
	}
	train := color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff} // blue
	val := color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}   // red

	panel := func(title, ylabel string, lines ...struct {
		name string
		xy   plotter.XYs
		c    color.Color
	}) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.Title.TextStyle.Font.Size = vg.Points(14)
		p.X.Label.Text = "epoch"
		p.Y.Label.Text = ylabel
		p.X.Tick.Marker = epochTicks{}
		p.Add(plotter.NewGrid())
		p.Legend.Top = true
		p.Legend.XOffs = -vg.Points(8)
		drawn := 0
		for _, l := range lines {
			if len(l.xy) == 0 {
				continue
			}
			line, points, err := plotter.NewLinePoints(l.xy)
			if err != nil {
				return nil, err
			}
			line.Color, line.Width = l.c, vg.Points(2)
			points.Color, points.Shape = l.c, draw.CircleGlyph{}
			points.Radius = vg.Points(2.5)
			p.Add(line, points)
			p.Legend.Add(l.name, line, points)
			drawn++
		}
		if drawn == 0 {
			// Nothing recorded: an empty frame over the epochs, not an
			// axis with an infinite range.
			p.Title.Text += " (not recorded)"
			p.X.Min, p.X.Max = float64(h.Epochs[0].Epoch), float64(h.Epochs[len(h.Epochs)-1].Epoch)
			p.Y.Min, p.Y.Max = 0, 1
		}
		return p, nil
	}
	type line = struct {
		name string
		xy   plotter.XYs
		c    color.Color
	}
	loss, err := panel("Loss", "cross-entropy",
		line{"train", series(func(e EpochStats) float64 { return e.TrainLoss }, 1), train},
		line{"validation", series(func(e EpochStats) float64 { return e.ValLoss }, 1), val})
	if err != nil {
		return fmt.Errorf("curves: %s: %w", path, err)
	}
	acc, err := panel("Accuracy", "accuracy (%)",
		line{"train", series(func(e EpochStats) float64 { return e.TrainAccuracy }, 100), train},
		line{"validation", series(func(e EpochStats) float64 { return e.ValAccuracy }, 100), val})
	if err != nil {
		return fmt.Errorf("curves: %s: %w", path, err)
	}
	// Loss falls and accuracy rises: legends go where the lines are not.
	// The loss axis starts at 0 with headroom above the first epoch; the
	// accuracy axis ends at 100% and keeps its bottom near the data, so a
	// run that moves from 97% to 99% is not drawn flat against the top.
	loss.Y.Min = min(loss.Y.Min, 0)
	loss.Y.Max += 0.05 * (loss.Y.Max - loss.Y.Min)
	acc.Y.Max = max(acc.Y.Max, 100)
	acc.Legend.Top = false
	acc.Legend.YOffs = vg.Points(8)

	img := vgimg.NewWith(vgimg.UseWH(10*vg.Inch, 4*vg.Inch), vgimg.UseDPI(100))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(24), PadTop: vg.Points(8),
		PadBottom: vg.Points(8), PadLeft: vg.Points(8), PadRight: vg.Points(12)}
	plots := [][]*plot.Plot{{loss, acc}}
	canvases := plot.Align(plots, tiles, dc)
	loss.Draw(canvases[0][0])
	acc.Draw(canvases[0][1])

	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return fmt.Errorf("curves: %s: encoding PNG: %w", path, err)
	}
	return atomicfile.Write(path, buf.Bytes())
}

// epochTicks labels whole epochs only: every epoch up to 10, then a
// round step so that at most about 10 are labelled.
type epochTicks struct{}

// Ticks implements plot.Ticker.
func (epochTicks) Ticks(lo, hi float64) []plot.Tick {
	first, last := math.Ceil(lo), math.Floor(hi)
	step := 1.0
	for _, s := range []float64{1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000} {
		step = s
		if (last-first)/s <= 10 {
			break
		}
	}
	var ticks []plot.Tick
	for v := math.Ceil(first/step) * step; v <= last; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.Itoa(int(v))})
	}
	return ticks
}
