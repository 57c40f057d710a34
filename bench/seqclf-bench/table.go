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

// group gathers results by side/task, or side/task/variant for a variant's.
func group(rs []Result) map[string]sideTask {
	by := map[string]sideTask{}
	for _, r := range rs {
		k := r.Side + "/" + r.Task
		if r.Variant != "" {
			k += "/" + r.Variant
		}
		by[k] = append(by[k], r)
	}
	return by
}

// tableRows builds the comparison from the results of every round of every side and task.
func tableRows(rs []Result) (rows []row, notes []string) {
	by := group(rs)
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
		trainMetric, trainFormat, trainRate := "training samples/s", "%.0f", func(r Result) float64 { return r.TrainSamplesPerS }
		if t.task == "spam" {
			trainMetric, trainRate = "training real tokens/s", func(r Result) float64 { return r.TrainTokensPerS }
			add(trainMetric, trainFormat, t.trainGoal, trainRate)
			add("training samples/s", "%.1f", "", func(r Result) float64 { return r.TrainSamplesPerS })
		} else {
			add(trainMetric, trainFormat, t.trainGoal, trainRate)
		}
		// The same training with AVX-512 out of the way on both sides: seqclf's kernels held to
		// AVX2, PyTorch's OpenBLAS to its Haswell kernels (run.sh sets both).
		if ga, pa := by["seqclf/"+t.task+"/"+avx2], by["pytorch/"+t.task+"/"+avx2]; len(ga) > 0 || len(pa) > 0 {
			rows = append(rows, row{metric: t.name + ": " + trainMetric + ", AVX2 (seqclf AVX-512 off, OpenBLAS Haswell)",
				seqclf: ga.med(trainRate), pt: pa.med(trainRate), format: trainFormat, goal: "≥ 3.0×"})
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
		for _, st := range []sideTask{g, p, by["seqclf/"+t.task+"/"+avx2], by["pytorch/"+t.task+"/"+avx2]} {
			if len(st) == 0 {
				continue
			}
			var per []string
			for _, r := range st {
				per = append(per, fmt.Sprintf("%.0f", r.TrainSamplesPerS))
			}
			variant := ""
			if st[0].Variant != "" {
				variant = " (" + st[0].Variant + ")"
			}
			notes = append(notes, fmt.Sprintf("%s %s%s training samples/s by round: %s", st[0].Side, t.task, variant, strings.Join(per, ", ")))
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

// avx2 is the variant of the training rounds run with AVX-512 out of the way.
const avx2 = "avx2"

// inferRow is one line of the comparison with ONNX Runtime: seqclf's float32 model and its
// quantized one (int8) against ONNX Runtime running seqclf's ONNX export of the same weights.
type inferRow struct {
	metric         string
	f32, ort, int8 float64
	format, goal   string
}

// inferenceRows builds the comparison with ONNX Runtime from the inference-only rounds (tasks
// mnist-infer and spam-infer); hasInt8 reports whether any int8 round was measured.
func inferenceRows(by map[string]sideTask) (rows []inferRow, notes []string, hasInt8 bool) {
	for _, t := range []struct{ task, name string }{{"mnist", "MNIST rows"}, {"spam", "SpamAssassin"}} {
		task := t.task + "-infer"
		f, o, q := by["seqclf/"+task], by["onnxruntime/"+task], by["seqclf/"+task+"/int8"]
		if len(f) == 0 && len(o) == 0 && len(q) == 0 {
			continue
		}
		hasInt8 = hasInt8 || len(q) > 0
		add := func(metric, format, goal string, v func(Result) float64) {
			rows = append(rows, inferRow{metric: t.name + ": " + metric, f32: f.med(v), ort: o.med(v), int8: q.med(v), format: format, goal: goal})
		}
		rate := func(r Result) float64 { return r.InferSamplesPerS }
		lat := func(r Result) float64 { return r.LatencyMedianMS }
		add("inference samples/s, batch 256", "%.0f", "float32 ≥ 1.0×; int8 ≥ 1.5× ONNX Runtime's float32", rate)
		add("batch-1 latency, median (ms)", "%.3f", "float32 ≤ 0.5× (twice as fast)", lat)
		add("peak RSS of the process (MiB)", "%.0f", "", func(r Result) float64 { return r.PeakRSSMiB })
		for _, st := range []sideTask{f, o, q} {
			if len(st) == 0 {
				continue
			}
			var rates, lats []string
			for _, r := range st {
				rates = append(rates, fmt.Sprintf("%.0f", r.InferSamplesPerS))
				lats = append(lats, fmt.Sprintf("%.3f", r.LatencyMedianMS))
			}
			name := st[0].Side
			if st[0].Variant != "" {
				name += " " + st[0].Variant
			}
			notes = append(notes, fmt.Sprintf("%s %s by round: batch 256 %s samples/s; batch 1 %s ms", name, task, strings.Join(rates, ", "), strings.Join(lats, ", ")))
		}
	}
	for _, task := range []string{"mnist-infer", "spam-infer"} {
		if st := by["onnxruntime/"+task]; len(st) > 0 {
			notes = append(notes, "onnxruntime: "+st[0].Backend)
			break
		}
	}
	return rows, notes, hasInt8
}

// writeInferenceTable prints the comparison with ONNX Runtime as a Markdown table, the int8
// columns only when an int8 model was measured.
func writeInferenceTable(w io.Writer, rows []inferRow, hasInt8 bool) {
	ratio := func(a, b float64) string {
		if a > 0 && b > 0 {
			return fmt.Sprintf("%.2f×", a/b)
		}
		return "—"
	}
	if hasInt8 {
		fmt.Fprintln(w, "| inference, seqclf against ONNX Runtime | seqclf float32 | ONNX Runtime float32 | seqclf ÷ ONNX Runtime | seqclf int8 | int8 ÷ ONNX Runtime float32 | goal |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---|")
	} else {
		fmt.Fprintln(w, "| inference, seqclf against ONNX Runtime | seqclf float32 | ONNX Runtime float32 | seqclf ÷ ONNX Runtime | goal |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---|")
	}
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s |", r.metric, cell(r.format, r.f32), cell(r.format, r.ort), ratio(r.f32, r.ort))
		if hasInt8 {
			fmt.Fprintf(w, " %s | %s |", cell(r.format, r.int8), ratio(r.int8, r.ort))
		}
		goal := r.goal
		if !hasInt8 {
			goal, _, _ = strings.Cut(goal, "; int8")
		}
		fmt.Fprintf(w, " %s |\n", goal)
	}
}

// writeTable prints the comparison as Markdown tables, with PyTorch and then with ONNX Runtime,
// followed by their notes.
func writeTable(w io.Writer, rs []Result) {
	rows, notes := tableRows(rs)
	irows, inotes, hasInt8 := inferenceRows(group(rs))
	notes = append(notes, inotes...)
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
	if len(irows) > 0 {
		fmt.Fprintln(w)
		writeInferenceTable(w, irows, hasInt8)
		fmt.Fprintln(w)
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
