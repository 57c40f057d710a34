package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ints := func(ns ...int) []time.Duration {
		d := make([]time.Duration, len(ns))
		for i, n := range ns {
			d[i] = time.Duration(n)
		}
		return d
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, c := range []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 50, 0},
		{ints(7), 50, 7},
		{ints(7), 99, 7},
		{ints(1, 2), 50, 1}, // nearest rank: ceil(0.5·2) = 1st
		{ints(1, 2), 51, 2},
		{ints(1, 2, 3, 4), 50, 2},
		{ints(1, 2, 3, 4), 100, 4},
		// Wikipedia's nearest-rank examples.
		{ints(15, 20, 35, 40, 50), 5, 15},
		{ints(15, 20, 35, 40, 50), 30, 20},
		{ints(15, 20, 35, 40, 50), 40, 20},
		{ints(15, 20, 35, 40, 50), 50, 35},
		{ints(3, 6, 7, 8, 8, 10, 13, 15, 16, 20), 25, 7},
		{ints(3, 6, 7, 8, 8, 10, 13, 15, 16, 20), 75, 15},
		{ints(hundred...), 50, 50},
		{ints(hundred...), 99, 99},
		{ints(hundred...), 99.5, 100},
	} {
		if got := percentile(c.sorted, c.p); got != c.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", c.sorted, c.p, got, c.want)
		}
	}
}

func TestPercentileOutOfRange(t *testing.T) {
	for _, p := range []float64{0, -1, 100.1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("percentile(_, %v) did not panic", p)
				}
			}()
			percentile([]time.Duration{1}, p)
		}()
	}
}

func TestWriteTable(t *testing.T) {
	lat := make([]time.Duration, 200)
	for i := range lat {
		lat[len(lat)-1-i] = time.Duration(i+1) * time.Millisecond // unsorted: writeTable sorts
	}
	var b bytes.Buffer
	writeTable(&b, []level{{clients: 8, latencies: lat, errors: 3, elapsed: 2 * time.Second, stoppedBy: "requests", cpu: time.Second}})
	want := "| 8 | 200 | 100 | 100.000 | 198.000 | 3 |"
	if !strings.Contains(b.String(), want) {
		t.Errorf("table:\n%s\nwant a row %s", b.String(), want)
	}
	if !strings.Contains(b.String(), "used 50% of one core") {
		t.Errorf("table:\n%s\nwant the load generator's CPU share, 50%%", b.String())
	}
}
