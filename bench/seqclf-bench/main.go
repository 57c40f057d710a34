// Command seqclf-bench is seqclf's half of the side-by-side benchmark in bench/: it trains and
// runs the LSTM through the lstm and pipeline packages on the same data, shapes and batches as
// bench/torch_bench.py, measures inference alone on a saved model for the comparison with ONNX
// Runtime (bench/ort_bench.js), and prints the comparison tables. bench/run.sh drives it; see
// bench/README.md.
//
// Usage:
//
//	seqclf-bench encode-spam -data data/spam-assassin -out ids.txt [-dict dict.db]  # real mails → ids for both sides
//	seqclf-bench mnist -data data/mnist -out result.json [-save model.db]         # one measuring process
//	seqclf-bench spam -ids ids.txt -out result.json [-save model.db -dict dict.db]
//	seqclf-bench mnist|spam ... -model model.db -out result.json                  # inference alone on a saved model
//	seqclf-bench gemm -out result.json                                            # the GEMM peak
//	seqclf-bench export-model -model model.db -out model.json                     # for torch_bench.py save-model
//	seqclf-bench coldstart -seqclf CMD -torch CMD -out DIR                        # process start to first label
//	seqclf-bench table result.json...                                             # the comparison
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
)

func main() {
	// As the seqclf command does (cmd/seqclf/main.go): collect at a quarter's growth, unless GOGC is set.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(25)
	}
	if len(os.Args) < 2 {
		usage()
	}
	cmd, args := os.Args[1], os.Args[2:]
	// SEQCLF_BENCH_CPUPROFILE=file writes a CPU profile of the whole command (go tool pprof);
	// SEQCLF_BENCH_MEMPROFILE=file the live heap at the end of training.
	if path := os.Getenv("SEQCLF_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "seqclf-bench: %v\n", err)
			os.Exit(1)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	var err error
	switch cmd {
	case "encode-spam":
		err = runEncodeSpam(args)
	case "mnist":
		err = runMNIST(args)
	case "spam":
		err = runSpam(args)
	case "gemm":
		err = runGemm(args)
	case "export-model":
		err = runExportModel(args)
	case "coldstart":
		err = runColdStart(args)
	case "table":
		err = runTable(args)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "seqclf-bench %s: %v\n", cmd, err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// writeHeapProfile writes the live heap to SEQCLF_BENCH_MEMPROFILE, if set: called at the end of
// training, it shows what the training peak holds.
func writeHeapProfile() {
	path := os.Getenv("SEQCLF_BENCH_MEMPROFILE")
	if path == "" {
		return
	}
	runtime.GC() // the profile is of the last collection: make it now
	f, err := os.Create(path)
	if err == nil {
		err = pprof.WriteHeapProfile(f)
		f.Close()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "seqclf-bench: heap profile: %v\n", err)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: seqclf-bench encode-spam|mnist|spam|gemm|export-model|coldstart|table [flags]")
	os.Exit(2)
}

// Result is what one measuring process reports, in the JSON that torch_bench.py writes too.
// Zero fields were not measured.
type Result struct {
	// Side is "seqclf", "pytorch" or "onnxruntime"; Task "mnist", "spam", "gemm", "coldstart", or
	// "mnist-infer" and "spam-infer" (inference alone, on a saved model). Variant sets a side's
	// rows apart: "avx2" (training with seqclf's kernels held to AVX2 and PyTorch's OpenBLAS to
	// Haswell's kernels) or "int8" (seqclf's quantized model); "" for the default.
	Side    string `json:"side"`
	Task    string `json:"task"`
	Variant string `json:"variant,omitempty"`
	Round   int    `json:"round"`
	Threads int    `json:"threads"`

	TrainSteps          int     `json:"train_steps,omitempty"`
	TrainSamplesPerS    float64 `json:"train_samples_per_s,omitempty"`
	TrainTokensPerS     float64 `json:"train_tokens_per_s,omitempty"` // real (unpadded) tokens
	TrainGFLOPS         float64 `json:"train_gflops,omitempty"`       // analytic LSTM+head FLOPs / time
	InferSamplesPerS    float64 `json:"infer_samples_per_s,omitempty"`
	LatencyMedianMS     float64 `json:"latency_median_ms,omitempty"`
	LatencyCalls        int     `json:"latency_calls,omitempty"`
	PeakRSSMiB          float64 `json:"peak_rss_mib,omitempty"`
	TrainPeakRSSMiB     float64 `json:"train_peak_rss_mib,omitempty"` // at the end of training, before inference`
	GemmPeakGFLOPS      float64 `json:"gemm_peak_gflops,omitempty"`
	GemmShapes          string  `json:"gemm_shapes,omitempty"` // per-shape GFLOP/s
	Backend             string  `json:"backend,omitempty"`     // the BLAS or kernel that ran
	Note                string  `json:"note,omitempty"`
	MeanTokensPerSample float64 `json:"mean_tokens_per_sample,omitempty"`
	ColdStartMS         float64 `json:"cold_start_ms,omitempty"` // process start to the first label, median
}

// peakRSSMiB returns the process's peak resident set size (Linux reports ru_maxrss in KiB).
func peakRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024
}

func writeResult(path string, r Result) error {
	r.Side = "seqclf"
	r.Threads = runtime.GOMAXPROCS(0)
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if path == "" || path == "-" {
		_, err = os.Stdout.Write(append(b, '\n'))
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// commonFlags are the knobs every measuring command shares.
type commonFlags struct {
	out                                      string
	round                                    int
	warmup, steps, inferBatches, latencyRuns int
	maxTime                                  float64 // seconds
	variant                                  string
}

func (c *commonFlags) add(fs *flag.FlagSet, steps, inferBatches, latencyRuns int) {
	fs.StringVar(&c.out, "out", "-", "write the JSON result here (- for stdout)")
	fs.IntVar(&c.round, "round", 1, "round number, recorded in the result")
	fs.IntVar(&c.warmup, "warmup", 2, "untimed training steps before the timed ones")
	fs.IntVar(&c.steps, "steps", steps, "timed training steps, at most")
	fs.Float64Var(&c.maxTime, "max-time", 30, "seconds: stop the timed training steps after the step that passes this")
	fs.IntVar(&c.inferBatches, "infer-batches", inferBatches, "timed inference batches of 256")
	fs.IntVar(&c.latencyRuns, "latency-calls", latencyRuns, "single-sample calls for the latency median")
	fs.StringVar(&c.variant, "variant", "", "recorded in the result, a row of its own in the table (avx2: the kernels held to AVX2)")
}
