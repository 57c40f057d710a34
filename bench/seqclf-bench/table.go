package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
)

func runTable(paths []string) error {
	var rs []Result
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var r Result
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		rs = append(rs, r)
	}
	writeTable(os.Stdout, rs)
	return nil
}

// sideTask gathers the rounds of one side on one task.
type sideTask []Result

// med returns the median over the rounds of the field f picks, 0 if no round measured it.
func (st sideTask) med(f func(Result) float64) float64 {
	var xs []float64
	for _, r := range st {
		if v := f(r); v > 0 {
			xs = append(xs, v)
		}
	}
	return median(xs)
}

// row is one line of the comparison: the two sides' values, how to print them, and the goal.
type row struct {
	metric     string
	seqclf, pt float64
	format     string // for the values
	goal       string
}

// tableRows builds the comparison from the results of every round of every side and task.
func tableRows(rs []Result) (rows []row, notes []string) {
	by := map[string]sideTask{}
	for _, r := range rs {
		by[r.Side+"/"+r.Task] = append(by[r.Side+"/"+r.Task], r)
	}
	gemm := func(side string) float64 {
		return by[side+"/gemm"].med(func(r Result) float64 { return r.GemmPeakGFLOPS })
	}
	goPeak, ptPeak := gemm("seqclf"), gemm("pytorch")
	machinePeak := max(goPeak, ptPeak)
	if machinePeak > 0 {
		rows = append(rows, row{metric: "GEMM peak, float32, 2 threads (GFLOP/s)", seqclf: goPeak, pt: ptPeak, format: "%.1f", goal: "—"})
	}
	tasks := []struct{ task, name, trainGoal string }{
		{"mnist", "MNIST rows", "≥ 3.0×"},
		{"spam", "SpamAssassin", "≥ 2.5× (tokens/s)"},
	}
	for _, t := range tasks {
		g, p := by["seqclf/"+t.task], by["pytorch/"+t.task]
		if len(g) == 0 && len(p) == 0 {
			continue
		}
		pick := func(f func(Result) float64) (float64, float64) { return g.med(f), p.med(f) }
		add := func(metric, format, goal string, f func(Result) float64) {
			a, b := pick(f)
			rows = append(rows, row{metric: t.name + ": " + metric, seqclf: a, pt: b, format: format, goal: goal})
		}
		if t.task == "spam" {
			add("training real tokens/s", "%.0f", t.trainGoal, func(r Result) float64 { return r.TrainTokensPerS })
			add("training samples/s", "%.1f", "", func(r Result) float64 { return r.TrainSamplesPerS })
		} else {
			add("training samples/s", "%.0f", t.trainGoal, func(r Result) float64 { return r.TrainSamplesPerS })
		}
		add("training GFLOP/s (analytic)", "%.1f", "", func(r Result) float64 { return r.TrainGFLOPS })
		if machinePeak > 0 {
			a, b := pick(func(r Result) float64 { return r.TrainGFLOPS })
			rows = append(rows, row{metric: t.name + ": training, share of machine GEMM peak", seqclf: 100 * a / machinePeak, pt: 100 * b / machinePeak, format: "%.0f%%", goal: "seqclf ≥ 60%"})
		}
		add("inference samples/s, batch 256", "%.0f", "≥ 3×", func(r Result) float64 { return r.InferSamplesPerS })
		add("batch-1 latency, median (ms)", "%.3f", "≤ 0.25×", func(r Result) float64 { return r.LatencyMedianMS })
		add("peak RSS in training (MiB)", "%.0f", "≤ 0.25×", func(r Result) float64 { return r.TrainPeakRSSMiB })
		add("peak RSS of the process, inference included (MiB)", "%.0f", "", func(r Result) float64 { return r.PeakRSSMiB })
		for _, st := range []sideTask{g, p} {
			if len(st) == 0 {
				continue
			}
			var per []string
			for _, r := range st {
				per = append(per, fmt.Sprintf("%.0f", r.TrainSamplesPerS))
			}
			notes = append(notes, fmt.Sprintf("%s %s training samples/s by round: %s", st[0].Side, t.task, strings.Join(per, ", ")))
		}
	}
	cold := func(side string) float64 {
		return by[side+"/coldstart"].med(func(r Result) float64 { return r.ColdStartMS })
	}
	rows = append(rows, row{metric: "`seqclf classify` cold start, one line (ms)", seqclf: cold("seqclf"), pt: cold("pytorch"), format: "%.1f", goal: "≤ 50 ms"})
	for _, side := range []string{"seqclf", "pytorch"} {
		if st := by[side+"/coldstart"]; len(st) > 0 {
			notes = append(notes, fmt.Sprintf("%s cold start (process start to first label): %s", side, st[0].Note))
		}
	}
	if goPeak > 0 && machinePeak > 0 {
		notes = append(notes, fmt.Sprintf("machine GEMM peak = the better side's: %.1f GFLOP/s; seqclf's training share of its own GEMM's peak: %s",
			machinePeak, ownShares(by, goPeak)))
	}
	for _, side := range []string{"seqclf", "pytorch"} {
		if st := by[side+"/gemm"]; len(st) > 0 {
			notes = append(notes, fmt.Sprintf("%s GEMM (%s): %s", side, st[0].Backend, st[0].GemmShapes))
		}
	}
	return rows, notes
}

func ownShares(by map[string]sideTask, peak float64) string {
	var s []string
	for _, task := range []string{"mnist", "spam"} {
		if v := by["seqclf/"+task].med(func(r Result) float64 { return r.TrainGFLOPS }); v > 0 {
			s = append(s, fmt.Sprintf("%s %.0f%%", task, 100*v/peak))
		}
	}
	return strings.Join(s, ", ")
}

// writeTable prints the comparison as a Markdown table followed by its notes.
func writeTable(w io.Writer, rs []Result) {
	rows, notes := tableRows(rs)
	rounds := map[string]int{}
	for _, r := range rs {
		if r.Task != "gemm" {
			rounds[r.Side]++
		}
	}
	if rounds["pytorch"] == 0 {
		fmt.Fprintln(w, "PyTorch was not measured (not installed, or its runs failed): seqclf alone.")
	}
	fmt.Fprintln(w, "| metric | seqclf | PyTorch | seqclf ÷ PyTorch | goal |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---|")
	for _, r := range rows {
		a, b, ratio := cell(r.format, r.seqclf), cell(r.format, r.pt), "—"
		if r.seqclf > 0 && r.pt > 0 {
			ratio = fmt.Sprintf("%.2f×", r.seqclf/r.pt)
		}
		if strings.HasSuffix(r.format, "%%") {
			ratio = "—"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", r.metric, a, b, ratio, r.goal)
	}
	sort.Strings(notes)
	for _, n := range notes {
		fmt.Fprintln(w, "- "+n)
	}
}

func cell(format string, v float64) string {
	if v <= 0 || math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf(format, v)
}
