package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/seqclf/seqclf/classify"
	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/feed"
	"github.com/seqclf/seqclf/idx"
	"github.com/seqclf/seqclf/internal/rng"
	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/pipeline"
	"github.com/seqclf/seqclf/store"
	"github.com/seqclf/seqclf/train"
)

// The shapes measured, shared with torch_bench.py.
const (
	mnistBatch, mnistSteps, mnistInput, mnistUnits, mnistClasses = 128, 28, 28, 128, 10
	spamBatch, spamSteps, spamEmbed, spamUnits, spamClasses      = 64, 256, 100, 128, 2
	inferBatch                                                   = 256
	learningRate                                                 = 0.001
	benchSeed                                                    = 1
)

// lstmFLOPs is the forward cost of one sample-step of one layer, 2·(in+H)·4H (the fused multiply;
// the gate activations are not counted), and headFLOPs that of the dense head for one sample.
func lstmFLOPs(in, h int) float64      { return 2 * float64(in+h) * 4 * float64(h) }
func headFLOPs(h, classes int) float64 { return 2 * float64(h) * float64(classes) }

// trainFLOPs is the analytic cost of training on samples with tokens real steps in all: the
// forward pass, and a backward pass counted as twice the forward.
func trainFLOPs(tokens, samples, in, h, classes int) float64 {
	return 3 * (float64(tokens)*lstmFLOPs(in, h) + float64(samples)*headFLOPs(h, classes))
}

// inEpochOrder returns data placed so that train.Trainer.Epoch (epoch 0, seed benchSeed)
// visits it in the order given: batch k is data[k·B:(k+1)·B], as torch_bench.py reads it.
func inEpochOrder(data []feed.Sample) []feed.Sample {
	order := train.Order(benchSeed, 0, data)
	out := make([]feed.Sample, len(data))
	for j, i := range order {
		out[i] = data[j]
	}
	return out
}

// measured holds what one task's measurement found.
type measured struct {
	trainSamplesPerS, trainTokensPerS, trainGFLOPS float64
	steps                                          int
	inferSamplesPerS, latencyMS                    float64
	trainPeakRSS                                   float64
}

// measure trains for c.warmup+c.steps batches of data (in order), then runs inference at batch
// 256 and single-sample calls, all through the pipeline's Trainer and Predictor.
func measure(c commonFlags, m *lstm.Model[float32], f feed.Features, data []feed.Sample, batch int, tokens func([]feed.Sample) int) (measured, error) {
	var res measured
	// As pipeline.Run does: the loader's garbage goes back to the OS before training.
	debug.FreeOSMemory()
	need := (c.warmup + c.steps) * batch
	if len(data) < need || len(data) < (c.inferBatches+1)*inferBatch {
		return res, fmt.Errorf("%d samples: need %d for training and %d for inference", len(data), need, (c.inferBatches+1)*inferBatch)
	}
	t := train.Trainer{Model: m, Features: f, Opt: lstm.NewAdam[float32](learningRate), BatchSize: batch, Seed: benchSeed}
	// The timed steps stop early, after a whole step, once c.maxTime has passed.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var start, end time.Time
	done := 0
	if c.warmup == 0 {
		start = time.Now()
	}
	if _, err := t.Epoch(ctx, inEpochOrder(data[:need]), train.Position{}, func(step int, _ float64) {
		switch {
		case step == c.warmup:
			start = time.Now()
		case step > c.warmup:
			done, end = step-c.warmup, time.Now()
			if end.Sub(start).Seconds() > c.maxTime {
				cancel()
			}
		}
	}); err != nil {
		return res, err
	}
	secs := end.Sub(start).Seconds()
	res.trainPeakRSS = peakRSSMiB() // before inference's buffers: the peak of training
	writeHeapProfile()
	res.steps = done
	timed := data[c.warmup*batch : (c.warmup+done)*batch]
	cfg := m.Config
	res.trainSamplesPerS = float64(len(timed)) / secs
	res.trainTokensPerS = float64(tokens(timed)) / secs
	res.trainGFLOPS = trainFLOPs(tokens(timed), len(timed), cfg.InputDim, cfg.NumUnits, cfg.Classes) / secs / 1e9

	predictor := func(batch int) *classify.Predictor {
		return &classify.Predictor{Model: m, Features: f, BatchSize: batch}
	}
	res.inferSamplesPerS, res.latencyMS = measureInference(c, predictor, data, 1)
	return res, nil
}

// measureInference runs inference through the classify.Predictor that predictor makes for a
// batch size: samples/s over c.inferBatches batches of 256 (data[256:], after the batch
// data[:256] run warm times untimed, for the buffers), and the median milliseconds of
// c.latencyRuns single-sample calls (data[0], data[1], ..., after the last 10 of data untimed:
// a text model remembers the tokens it has met, and no timed sample is met before its call;
// the batches of 256 take another path, which does not remember them). bench/ort_bench.js
// times ONNX Runtime on the same samples in the same batches.
func measureInference(c commonFlags, predictor func(batch int) *classify.Predictor, data []feed.Sample, warm int) (samplesPerS, latencyMS float64) {
	p := predictor(inferBatch)
	for range warm {
		p.Predict(data[:inferBatch])
	}
	infer := data[inferBatch : (c.inferBatches+1)*inferBatch]
	start := time.Now()
	p.Predict(infer)
	samplesPerS = float64(len(infer)) / time.Since(start).Seconds()

	one := predictor(1)
	for i := len(data) - 10; i < len(data); i++ {
		one.Predict(data[i : i+1])
	}
	lat := make([]float64, c.latencyRuns)
	for i := range lat {
		s := data[i%len(data) : i%len(data)+1]
		t0 := time.Now()
		one.Predict(s)
		lat[i] = time.Since(t0).Seconds() * 1e3
	}
	return samplesPerS, median(lat)
}

func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := slices.Clone(x)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

func (r *Result) fill(m measured) {
	r.TrainSteps = m.steps
	r.TrainSamplesPerS, r.TrainTokensPerS, r.TrainGFLOPS = m.trainSamplesPerS, m.trainTokensPerS, m.trainGFLOPS
	r.InferSamplesPerS, r.LatencyMedianMS = m.inferSamplesPerS, m.latencyMS
	r.PeakRSSMiB = peakRSSMiB()
	r.TrainPeakRSSMiB = m.trainPeakRSS
}

func runMNIST(args []string) error {
	fs := flag.NewFlagSet("mnist", flag.ExitOnError)
	var c commonFlags
	c.add(fs, 60, 24, 200)
	dir := fs.String("data", "data/mnist", "directory of the MNIST IDX files (scripts/fetch-data.sh mnist)")
	save := fs.String("save", "", "write the trained model to this model file (for -model and the ONNX export)")
	model := fs.String("model", "", "no training: measure inference alone on this model file (task mnist-infer)")
	fs.Parse(args)
	im, data, err := readMNIST(*dir)
	if err != nil {
		return err
	}
	if *model != "" {
		return inferOnly(c, "mnist", *model, data, func(*store.Model) feed.Features { return &feed.Rows{Images: im, Slice: idx.SliceRows} })
	}
	m, err := lstm.New[float32](lstm.Config{InputDim: mnistInput, NumUnits: mnistUnits, NumLayers: 1, Classes: mnistClasses, Pooling: lstm.PoolLast}, rng.New(benchSeed, rng.Init))
	if err != nil {
		return err
	}
	f := &feed.Rows{Images: im, Slice: idx.SliceRows}
	res, err := measure(c, m, f, data, mnistBatch, func(s []feed.Sample) int { return len(s) * mnistSteps })
	if err != nil {
		return err
	}
	r := Result{Task: "mnist", Variant: c.variant, Round: c.round, LatencyCalls: c.latencyRuns, Backend: "lstm/internal/kernel"}
	r.fill(res)
	if *save != "" {
		in := store.Input{Kind: classify.KindImages, TimeStep: mnistSteps, Slice: idx.SliceRows.String()}
		if err := saveModel(*save, m, in, nil, nil, mnistClasses); err != nil {
			return err
		}
	}
	return writeResult(c.out, r)
}

func runSpam(args []string) error {
	fs := flag.NewFlagSet("spam", flag.ExitOnError)
	var c commonFlags
	c.add(fs, 16, 6, 50)
	path := fs.String("ids", "bench/out/spam-ids.txt", "the id file written by encode-spam")
	save := fs.String("save", "", "write the trained model to this model file (for -model and the ONNX export)")
	dict := fs.String("dict", "", "with -save: the dictionary file written by encode-spam -dict")
	model := fs.String("model", "", "no training: measure inference alone on this model file (task spam-infer)")
	fs.Parse(args)
	if *save != "" && *dict == "" {
		return fmt.Errorf("-save needs -dict, the dictionary the ids were encoded with")
	}
	vocabSize, data, err := readSpam(*path)
	if err != nil {
		return err
	}
	if *model != "" {
		return inferOnly(c, "spam", *model, data, func(m *store.Model) feed.Features { return &feed.Embeddings{Table: m.Table} })
	}
	cfg := pipeline.DefaultConfig()
	cfg.Seed, cfg.Embed.Dim = benchSeed, spamEmbed
	table, err := pipeline.NewEmbedTable(vocabSize, &cfg)
	if err != nil {
		return err
	}
	m, err := lstm.New[float32](lstm.Config{InputDim: spamEmbed, NumUnits: spamUnits, NumLayers: 1, Classes: spamClasses, Pooling: lstm.PoolLast}, rng.New(benchSeed, rng.Init))
	if err != nil {
		return err
	}
	f := &feed.Embeddings{Table: table, Adam: embed.NewAdam(learningRate)}
	countTokens := func(s []feed.Sample) int {
		n := 0
		for _, x := range s {
			n += len(x.IDs)
		}
		return n
	}
	res, err := measure(c, m, f, data, spamBatch, countTokens)
	if err != nil {
		return err
	}
	r := Result{Task: "spam", Variant: c.variant, Round: c.round, LatencyCalls: c.latencyRuns, Backend: "lstm/internal/kernel",
		MeanTokensPerSample: float64(countTokens(data)) / float64(len(data))}
	r.fill(res)
	if *save != "" {
		v, err := readDict(*dict)
		if err != nil {
			return err
		}
		in := store.Input{Kind: classify.KindText, Tokenize: spamTokenizer, Unit: feed.UnitDocument.String(), TimeStep: spamSteps}
		if err := saveModel(*save, m, in, v, table, spamClasses); err != nil {
			return err
		}
	}
	return writeResult(c.out, r)
}

// gemmShapes are the multiplies timed for the peak (m, n, k): two squares and the LSTM's own.
var gemmShapes = [][3]int{{512, 512, 512}, {1024, 1024, 1024}, {128, 512, 156}, {64, 512, 228}, {3584, 512, 28}}

// runGemm times float32 C = A·B with gonum's blas32 (the pure-Go fallback) and adds the rates that
// the engine's own kernel reached in lstm/internal/kernel's BenchmarkGemm, whose output
// -kernel-bench names: the kernel package is internal to lstm, so it cannot be called from here.
// The peak is the best rate of either.
func runGemm(args []string) error {
	fs := flag.NewFlagSet("gemm", flag.ExitOnError)
	out := fs.String("out", "-", "write the JSON result here")
	minTime := fs.Duration("min-time", 300*time.Millisecond, "time each shape at least this long")
	fs.Int("round", 0, "ignored: the peak is measured once")
	kernelBench := fs.String("kernel-bench", "", "output of go test -bench BenchmarkGemm ./lstm/internal/kernel/")
	fs.Parse(args)
	var peak float64
	var parts []string
	for _, s := range gemmShapes {
		m, n, k := s[0], s[1], s[2]
		a := blas32.General{Rows: m, Cols: k, Stride: k, Data: randFloats(m * k)}
		b := blas32.General{Rows: k, Cols: n, Stride: n, Data: randFloats(k * n)}
		c := blas32.General{Rows: m, Cols: n, Stride: n, Data: make([]float32, m*n)}
		blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, a, b, 0, c)
		best := 0.0
		for range 3 {
			reps, start := 0, time.Now()
			for time.Since(start) < *minTime/3 {
				blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, a, b, 0, c)
				reps++
			}
			best = max(best, 2*float64(m*n*k)*float64(reps)/time.Since(start).Seconds()/1e9)
		}
		peak = max(peak, best)
		parts = append(parts, fmt.Sprintf("%dx%dx%d:%.1f", m, n, k, best))
	}
	backend := "gonum blas32.Gemm"
	detail := "gonum " + strings.Join(parts, " ")
	if *kernelBench != "" {
		f, err := os.Open(*kernelBench)
		if err != nil {
			return err
		}
		kpeak, kparts := parseKernelBench(f)
		f.Close()
		if len(kparts) > 0 {
			backend = "lstm/internal/kernel Gemm (BenchmarkGemm) and gonum blas32.Gemm"
			detail = "kernel " + strings.Join(kparts, " ") + "; " + detail
			peak = max(peak, kpeak)
		}
	}
	return writeResult(*out, Result{Task: "gemm", GemmPeakGFLOPS: peak, GemmShapes: detail, Backend: backend})
}

// parseKernelBench reads go test -bench output and returns the best GFLOP/s of the sub-benchmarks
// of the assembly kernels (named .../avx512 or .../avx2; .../kernel before the benchmark ran per
// instruction set), and each one as name:rate.
func parseKernelBench(r io.Reader) (peak float64, parts []string) {
	// Sub-benchmarks ".../avx512" run one goroutine, ".../avx512par" GOMAXPROCS of them at once;
	// the peak is the latter's when there are any (the harness's threads), else the former's.
	var one, all float64
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !strings.HasPrefix(f[0], "BenchmarkGemm/") {
			continue
		}
		name := strings.TrimPrefix(f[0], "BenchmarkGemm/")
		slash := strings.LastIndexByte(name, '/')
		if slash < 0 {
			continue
		}
		isa := name[slash+1:]
		if i := strings.LastIndexByte(isa, '-'); i > 0 {
			isa = isa[:i] // the -GOMAXPROCS suffix
		}
		par := strings.HasSuffix(isa, "par")
		if isa = strings.TrimSuffix(isa, "par"); isa != "kernel" && isa != "avx512" && isa != "avx2" {
			continue
		}
		for i := 1; i < len(f); i++ {
			if f[i] == "GFLOP/s" {
				if v, err := strconv.ParseFloat(f[i-1], 64); err == nil {
					label := name[:slash]
					if par {
						all = max(all, v)
						label += "(all threads)"
					} else {
						one = max(one, v)
					}
					parts = append(parts, fmt.Sprintf("%s:%.1f", label, v))
				}
			}
		}
	}
	if all > 0 {
		return all, parts
	}
	return one, parts
}

func randFloats(n int) []float32 {
	r := rng.New(benchSeed, rng.BenchInputs)
	x := make([]float32, n)
	for i := range x {
		x[i] = r.Float32()*2 - 1
	}
	return x
}
