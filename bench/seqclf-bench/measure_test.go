package main

import (
	"strings"
	"testing"

	"github.com/seqclf/seqclf/feed"
	"github.com/seqclf/seqclf/train"
)

func TestParseKernelBench(t *testing.T) {
	out := `goos: linux
BenchmarkGemm/recurrence-NN-128x512x128/kernel-2         	    1000	    150000 ns/op	       111.5 GFLOP/s
BenchmarkGemm/recurrence-NN-128x512x128/gonum-2          	     100	   1500000 ns/op	        11.2 GFLOP/s
BenchmarkGemm/text-input-NN-16384x512x100/kernel-2       	      10	  10000000 ns/op	       167.8 GFLOP/s
BenchmarkGemm/dh-NT-128x128x512/avx512-2         	    1000	    150000 ns/op	        80.4 GFLOP/cpu-s	        80.1 GFLOP/s
BenchmarkGates/forward-2 	 1000	 100 ns/op
PASS`
	peak, parts := parseKernelBench(strings.NewReader(out))
	if peak != 167.8 {
		t.Errorf("peak %v, want 167.8", peak)
	}
	want := "recurrence-NN-128x512x128:111.5 text-input-NN-16384x512x100:167.8 dh-NT-128x128x512:80.1"
	if got := strings.Join(parts, " "); got != want {
		t.Errorf("parts %q, want %q", got, want)
	}
	// With the all-threads sub-benchmarks, the peak is theirs, even when lower than one
	// goroutine's best on another shape.
	par := out + "\nBenchmarkGemm/recurrence-NN-128x512x128/avx512par-2   1000  10 ns/op  150.5 GFLOP/s\n"
	if peak, parts := parseKernelBench(strings.NewReader(par)); peak != 150.5 || parts[len(parts)-1] != "recurrence-NN-128x512x128(all threads):150.5" {
		t.Errorf("with avx512par: peak %v, parts %q", peak, parts)
	}
}

// TestInEpochOrder checks that the trainer's epoch visits the samples in the order given, so
// that both sides see the same batches.
func TestInEpochOrder(t *testing.T) {
	data := make([]feed.Sample, 37)
	for i := range data {
		data[i].Index = i
	}
	placed := inEpochOrder(data)
	for j, i := range train.Order(benchSeed, 0, data) {
		if placed[i].Index != j {
			t.Fatalf("visit %d reads sample %d", j, placed[i].Index)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		x    []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.x); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.x, got, c.want)
		}
	}
}

func TestTrainFLOPs(t *testing.T) {
	// One MNIST-rows sample: 28 steps of 2·(28+128)·512, a head of 2·128·10, all times 3.
	if got, want := trainFLOPs(28, 1, 28, 128, 10), 3*(28*2*156*512+2*128*10.0); got != want {
		t.Errorf("trainFLOPs = %v, want %v", got, want)
	}
}
