package serve

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/seqclf/seqclf"
	"github.com/seqclf/seqclf/idx"
)

// ErrOverloaded means the queue of requests waiting for the model is full: the server answers
// 503 with Retry-After at once rather than hold the request.
var ErrOverloaded = errors.New("serve: the queue is full")

// errRetired means a batcher was closed by a reload between a handler's look at the current
// model and its submit: the handler submits again, to the new model.
var errRetired = errors.New("serve: the model was replaced")

// An item is one request's inputs waiting in the queue, and where its answers go.
type item struct {
	ctx  context.Context
	in   inputs
	done chan result // buffered: the worker never waits for the handler
}

type result struct {
	preds []seqclf.Prediction
	err   error
}

// A batcher runs the requests to one model in batches: its workers each take the first item
// waiting, then more until the batch holds maxBatch inputs or maxDelay has passed, and classify
// the batch in one call. Each request gets its own slice of the answers.
type batcher struct {
	model      *seqclf.Model
	rows, cols int // a model of images: the shape of an image
	maxBatch   int
	maxDelay   time.Duration
	observe    func(inputs int) // a batch's size, for the metrics
	before     func()           // tests: called before each batch

	mu     sync.RWMutex // closed and sends on queue against close(queue)
	closed bool
	queue  chan *item
	wg     sync.WaitGroup // the workers
}

// newBatcher starts the workers of a batcher for m with cfg's batch size, delay, queue and
// workers; rows and cols are the shape of an image, 0 for a text model.
func newBatcher(m *seqclf.Model, rows, cols int, cfg Config, observe func(int)) *batcher {
	b := &batcher{model: m, rows: rows, cols: cols, maxBatch: cfg.MaxBatch, maxDelay: cfg.MaxDelay, observe: observe,
		before: cfg.beforeBatch, queue: make(chan *item, cfg.Queue)}
	for range cfg.Workers {
		b.wg.Go(b.work)
	}
	return b
}

// submit queues it, or returns ErrOverloaded at once if the queue is full (errRetired if the
// batcher is closed).
func (b *batcher) submit(it *item) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return errRetired
	}
	select {
	case b.queue <- it:
		return nil
	default:
		return ErrOverloaded
	}
}

// depth returns the number of requests waiting.
func (b *batcher) depth() int { return len(b.queue) }

// close stops taking requests and returns once the workers have answered every request queued.
func (b *batcher) close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.queue)
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// work is a worker: it runs batches until the queue is closed and empty.
func (b *batcher) work() {
	var timer *time.Timer
	batch := make([]*item, 0, min(b.maxBatch, 1024))
	for first := range b.queue {
		batch = append(batch[:0], first)
		n := first.in.n
		if b.maxDelay > 0 && n < b.maxBatch {
			if timer == nil {
				timer = time.NewTimer(b.maxDelay)
			} else {
				timer.Reset(b.maxDelay)
			}
		collect:
			for n < b.maxBatch {
				select {
				case it, ok := <-b.queue:
					if !ok {
						break collect
					}
					batch = append(batch, it)
					n += it.in.n
				case <-timer.C:
					break collect
				}
			}
			timer.Stop()
		} else {
			// No waiting: take what is queued already.
		drain:
			for n < b.maxBatch {
				select {
				case it, ok := <-b.queue:
					if !ok {
						break drain
					}
					batch = append(batch, it)
					n += it.in.n
				default:
					break drain
				}
			}
		}
		b.run(batch)
		clear(batch)
	}
}

// run classifies the inputs of the batch's live requests in one call and answers each.
func (b *batcher) run(batch []*item) {
	if b.before != nil {
		b.before()
	}
	live := batch[:0:0]
	n := 0
	for _, it := range batch {
		if err := it.ctx.Err(); err != nil {
			it.done <- result{err: err} // the client left or its time ran out while it waited
			continue
		}
		live = append(live, it)
		n += it.in.n
	}
	if len(live) == 0 {
		return
	}
	preds, err := b.classify(live, n)
	if err == nil && len(preds) != n {
		err = fmt.Errorf("serve: the model answered %d inputs of %d", len(preds), n)
	}
	if b.observe != nil {
		b.observe(n)
	}
	off := 0
	for _, it := range live {
		if err != nil {
			it.done <- result{err: err}
			continue
		}
		it.done <- result{preds: preds[off : off+it.in.n : off+it.in.n]}
		off += it.in.n
	}
}

// classify runs the model on the inputs of live, n in all, in order. A panic in the model
// becomes an error for this batch's requests, not the end of the server.
func (b *batcher) classify(live []*item, n int) (preds []seqclf.Prediction, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("serve: the model failed: %v", p)
		}
	}()
	// The requests have their own contexts, checked above; a batch under way is not stopped.
	ctx := context.Background()
	if b.rows == 0 {
		texts := make([]string, 0, n)
		for _, it := range live {
			texts = append(texts, it.in.texts...)
		}
		return b.model.Classify(ctx, texts...)
	}
	im := &idx.Images{Path: "request", Count: n, Rows: b.rows, Cols: b.cols, Pixels: make([]byte, 0, n*b.rows*b.cols)}
	for _, it := range live {
		im.Pixels = append(im.Pixels, it.in.pixels...)
	}
	return b.model.ClassifyImages(ctx, im)
}
