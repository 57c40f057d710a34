// Command int8loop times the inner loop of the AVX2 int8 multiply against the same loop in
// float32, to show how far the int8 path can go on a CPU without AVX-512 VNNI: how much faster
// than float32 its multiply could be if nothing but the loop ran.
//
//	go run ./bench/int8loop            # 200 alternated rounds, K = 128
//
// Each loop multiplies 4 rows by 16 columns over K = 128 values, in L1, again and again, as the
// kernels' micro-tiles do (lstm/quant/internal/qkernel and lstm/internal/kernel):
//   - int8: per vector of 32 products VPSIGNB, VPMADDUBSW, VPMADDWD and VPADDD, and VPABSB per
//     broadcast of the activations (the AVX2 kernel's loop);
//   - int16: the same values widened, VPMADDWD and VPADDD per 16 products (which would give the
//     same sums);
//   - float32: two FMAs per broadcast.
//
// The three run in turn within each round, and it prints the median and the 10th and 90th
// percentiles over the rounds of each one's speed over float32's. It needs amd64 with AVX2.
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"time"
)

func main() {
	rounds := flag.Int("rounds", 200, "alternated rounds")
	reps := flag.Int("reps", 20000, "passes over the K values in each timing")
	flag.Parse()
	if !haveLoops() {
		fmt.Fprintln(os.Stderr, "int8loop: needs amd64 with AVX2 and FMA (and no purego tag)")
		os.Exit(1)
	}
	if *rounds < 1 || *reps < 1 {
		fmt.Fprintln(os.Stderr, "int8loop: -rounds and -reps must be at least 1")
		os.Exit(2)
	}
	const k = 128
	t := newTile(k)
	var r8, r16 []float64
	for range *rounds {
		t0 := time.Now()
		t.runInt8(*reps)
		t1 := time.Now()
		t.runInt16(*reps)
		t2 := time.Now()
		t.runFloat32(*reps)
		t3 := time.Now()
		f := t3.Sub(t2).Seconds()
		r8 = append(r8, f/t1.Sub(t0).Seconds())
		r16 = append(r16, f/t2.Sub(t1).Seconds())
	}
	macs := float64(4*16*k) * float64(*reps)
	fmt.Printf("%d rounds of %.0f multiply-adds a loop; speed over the float32 loop:\n", *rounds, macs)
	for _, r := range []struct {
		name string
		x    []float64
	}{{"int8 (VPMADDUBSW)", r8}, {"int16 (VPMADDWD)", r16}} {
		slices.Sort(r.x)
		n := len(r.x)
		fmt.Printf("  %-18s median %.2f×  (p10 %.2f×, p90 %.2f×)\n", r.name, r.x[n/2], r.x[n/10], r.x[n*9/10])
	}
}
