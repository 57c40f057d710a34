package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"time"
)

// percentile returns the p-th percentile (0 < p ≤ 100) of the latencies by the nearest-rank
// method: the smallest value with at least p% of the values at or below it. sorted must be in
// increasing order; an empty slice gives 0.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	if p <= 0 || p > 100 {
		panic(fmt.Sprintf("percentile %v out of (0, 100]", p))
	}
	rank := int(math.Ceil(p * float64(len(sorted)) / 100)) // p·n first: 99·100/100 is exact
	return sorted[max(rank, 1)-1]
}

// level is the outcome of one level of concurrency.
type level struct {
	clients   int
	latencies []time.Duration // of the requests answered 200, in any order
	errors    int             // requests that failed: no answer, a status other than 200, a bad body
	elapsed   time.Duration   // from the first request sent to the last answer
	stoppedBy string          // "requests" or "duration"
	cpu       time.Duration   // this process's CPU time (user + system) during the level
}

func (l *level) requestsPerSecond() float64 {
	if l.elapsed <= 0 {
		return 0
	}
	return float64(len(l.latencies)) / l.elapsed.Seconds()
}

// writeTable writes the levels as a markdown table, with the CPU the load generator took itself
// in a note: it shares the machine with the server.
func writeTable(w io.Writer, levels []level) {
	fmt.Fprintln(w, "| clients | requests | requests/s | p50 ms | p99 ms | errors |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|")
	for _, l := range levels {
		s := slices.Clone(l.latencies)
		slices.Sort(s)
		fmt.Fprintf(w, "| %d | %d | %.0f | %.3f | %.3f | %d |\n", l.clients, len(s), l.requestsPerSecond(),
			ms(percentile(s, 50)), ms(percentile(s, 99)), l.errors)
	}
	fmt.Fprintln(w)
	for _, l := range levels {
		share := 0.0
		if l.elapsed > 0 {
			share = 100 * l.cpu.Seconds() / l.elapsed.Seconds()
		}
		fmt.Fprintf(w, "%d clients: stopped by %s after %.1f s; loadgen itself used %.0f%% of one core.\n",
			l.clients, l.stoppedBy, l.elapsed.Seconds(), share)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
