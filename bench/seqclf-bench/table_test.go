package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	rs := []Result{
		{Side: "seqclf", Task: "gemm", GemmPeakGFLOPS: 100},
		{Side: "pytorch", Task: "gemm", GemmPeakGFLOPS: 200},
		{Side: "seqclf", Task: "mnist", Round: 1, TrainSamplesPerS: 900, TrainGFLOPS: 12, PeakRSSMiB: 100, LatencyMedianMS: 1},
		{Side: "seqclf", Task: "mnist", Round: 2, TrainSamplesPerS: 1000, TrainGFLOPS: 14, PeakRSSMiB: 100, LatencyMedianMS: 1},
		{Side: "seqclf", Task: "mnist", Round: 3, TrainSamplesPerS: 5000, TrainGFLOPS: 70, PeakRSSMiB: 100, LatencyMedianMS: 1},
		{Side: "pytorch", Task: "mnist", Round: 1, TrainSamplesPerS: 500, TrainGFLOPS: 7, PeakRSSMiB: 400, LatencyMedianMS: 2},
		{Side: "seqclf", Task: "coldstart", ColdStartMS: 20, Note: "20, 21 ms by run"},
		{Side: "pytorch", Task: "coldstart", ColdStartMS: 800, Note: "800, 810 ms by run"},
	}
	var b bytes.Buffer
	writeTable(&b, rs)
	out := b.String()
	for _, want := range []string{
		"| GEMM peak, float32, 2 threads (GFLOP/s) | 100.0 | 200.0 | 0.50× |",
		"| MNIST rows: training samples/s | 1000 | 500 | 2.00× | ≥ 3.0× |", // the median of three rounds
		"| MNIST rows: training, share of machine GEMM peak | 7% | 4% | — |",
		"| MNIST rows: batch-1 latency, median (ms) | 1.000 | 2.000 | 0.50× |",
		"| MNIST rows: peak RSS of the process, inference included (MiB) | 100 | 400 | 0.25× |",
		"| `seqclf classify` cold start, one line (ms) | 20.0 | 800.0 | 0.03× | ≤ 50 ms |",
		"pytorch cold start (process start to first label): 800, 810 ms by run",
		"seqclf mnist training samples/s by round: 900, 1000, 5000",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Spam") {
		t.Errorf("table has rows for a task not measured:\n%s", out)
	}
}

func TestTableWithoutPyTorch(t *testing.T) {
	var b bytes.Buffer
	writeTable(&b, []Result{{Side: "seqclf", Task: "spam", TrainTokensPerS: 9000, TrainSamplesPerS: 36}})
	out := b.String()
	if !strings.HasPrefix(out, "PyTorch was not measured") || !strings.Contains(out, "| SpamAssassin: training real tokens/s | 9000 | — | — |") {
		t.Errorf("unexpected table:\n%s", out)
	}
}

func TestIDsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ids.txt")
	docs := []doc{{1, []int32{2, 3, 4}}, {0, []int32{5}}}
	if err := writeIDs(path, 6, docs); err != nil {
		t.Fatal(err)
	}
	v, got, err := readIDs(path)
	if err != nil || v != 6 || len(got) != 2 || got[0].label != 1 || len(got[0].ids) != 3 || got[1].ids[0] != 5 {
		t.Fatalf("readIDs = %d, %v, %v", v, got, err)
	}
	os.WriteFile(path, []byte(idsHeader+" vocab=3 docs=1\n0\t1 7\n"), 0o644)
	if _, _, err := readIDs(path); err == nil {
		t.Error("an id past the dictionary was read")
	}
}

func TestTableAVX2(t *testing.T) {
	var b bytes.Buffer
	writeTable(&b, []Result{
		{Side: "seqclf", Task: "mnist", TrainSamplesPerS: 4000},
		{Side: "pytorch", Task: "mnist", TrainSamplesPerS: 1000},
		{Side: "seqclf", Task: "mnist", Variant: "avx2", Round: 1, TrainSamplesPerS: 3000},
		{Side: "seqclf", Task: "mnist", Variant: "avx2", Round: 2, TrainSamplesPerS: 3300},
		{Side: "pytorch", Task: "mnist", Variant: "avx2", TrainSamplesPerS: 1100},
	})
	out := b.String()
	for _, want := range []string{
		"| MNIST rows: training samples/s | 4000 | 1000 | 4.00× | ≥ 3.0× |", // the variant's rounds kept apart
		"| MNIST rows: training samples/s, AVX2 (seqclf AVX-512 off, OpenBLAS Haswell) | 3150 | 1100 | 2.86× | ≥ 3.0× |",
		"seqclf mnist (avx2) training samples/s by round: 3000, 3300",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "ONNX Runtime") {
		t.Errorf("an ONNX Runtime table without its rounds:\n%s", out)
	}
}

func TestTableONNXRuntime(t *testing.T) {
	rs := []Result{
		{Side: "seqclf", Task: "mnist", InferSamplesPerS: 999}, // the training process's: not this table's
		{Side: "seqclf", Task: "mnist-infer", Round: 1, InferSamplesPerS: 20000, LatencyMedianMS: 0.05, PeakRSSMiB: 70},
		{Side: "seqclf", Task: "mnist-infer", Round: 2, InferSamplesPerS: 30000, LatencyMedianMS: 0.07, PeakRSSMiB: 70},
		{Side: "onnxruntime", Task: "mnist-infer", Round: 1, InferSamplesPerS: 20000, LatencyMedianMS: 0.1, PeakRSSMiB: 190, Backend: "onnxruntime-node 1.30.0"},
	}
	var b bytes.Buffer
	writeTable(&b, rs)
	out := b.String()
	for _, want := range []string{
		"| inference, seqclf against ONNX Runtime | seqclf float32 | ONNX Runtime float32 | seqclf ÷ ONNX Runtime | goal |",
		"| MNIST rows: inference samples/s, batch 256 | 25000 | 20000 | 1.25× | float32 ≥ 1.0× |",
		"| MNIST rows: batch-1 latency, median (ms) | 0.060 | 0.100 | 0.60× | float32 ≤ 0.5× (twice as fast) |",
		"seqclf mnist-infer by round: batch 256 20000, 30000 samples/s; batch 1 0.050, 0.070 ms",
		"onnxruntime: onnxruntime-node 1.30.0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "int8") || strings.Contains(out, "SpamAssassin") {
		t.Errorf("int8 columns or SpamAssassin rows without their rounds:\n%s", out)
	}

	b.Reset()
	writeTable(&b, append(rs, Result{Side: "seqclf", Task: "mnist-infer", Variant: "int8", InferSamplesPerS: 40000, LatencyMedianMS: 0.04}))
	out = b.String()
	for _, want := range []string{
		"| seqclf int8 | int8 ÷ ONNX Runtime float32 | goal |",
		"| MNIST rows: inference samples/s, batch 256 | 25000 | 20000 | 1.25× | 40000 | 2.00× | float32 ≥ 1.0×; int8 ≥ 1.5× ONNX Runtime's float32 |",
		"seqclf int8 mnist-infer by round: batch 256 40000 samples/s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table with int8 lacks %q:\n%s", want, out)
		}
	}
}
