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
