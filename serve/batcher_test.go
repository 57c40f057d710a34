package serve

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/seqclf/seqclf"
)

// TestBatcherQueue: a full queue refuses at once; close answers what was queued, in one batch,
// and refuses what comes after.
func TestBatcherQueue(t *testing.T) {
	m, err := seqclf.Open(textModel)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	b := newBatcher(m, 0, 0, Config{MaxBatch: 8, MaxDelay: time.Millisecond, Queue: 2}, func(n int) { sizes = append(sizes, n) })
	items := make([]*item, 3)
	for i := range items {
		items[i] = &item{ctx: context.Background(), in: inputs{texts: []string{"a", "b"}, n: 2}, done: make(chan result, 1)}
	}
	if err := b.submit(items[0]); err != nil {
		t.Fatal(err)
	}
	if err := b.submit(items[1]); err != nil {
		t.Fatal(err)
	}
	if err := b.submit(items[2]); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("a third item in a queue of 2: %v, want ErrOverloaded", err)
	}
	// No worker yet: start one and close, which waits for it to answer the queue.
	b.wg.Go(b.work)
	b.close()
	for i, it := range items[:2] {
		r := <-it.done
		if r.err != nil || len(r.preds) != 2 {
			t.Errorf("item %d: %d predictions, %v", i, len(r.preds), r.err)
		}
	}
	if len(sizes) != 1 || sizes[0] != 4 {
		t.Errorf("batch sizes %v, want one batch of 4", sizes)
	}
	if err := b.submit(items[2]); !errors.Is(err, errRetired) {
		t.Errorf("submit after close: %v, want errRetired", err)
	}
	// A request whose context ended while it waited is answered with its error, not run.
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	it := &item{ctx: gone, in: inputs{texts: []string{"a"}, n: 1}, done: make(chan result, 1)}
	b.run([]*item{it})
	if r := <-it.done; !errors.Is(r.err, context.Canceled) {
		t.Errorf("a cancelled item: %v", r.err)
	}
}
