package lstm

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// The worker pool: goroutines that help run the parts of a pass, started on first use. The
// caller takes parts too, so nothing waits for a goroutine to start, and a busy pool (several
// workspaces at once) only queues the helpers.
var pool struct {
	once sync.Once
	jobs chan job
}

type job struct {
	run  func(part int)
	part int
	wg   *sync.WaitGroup
}

func startPool() {
	n := max(runtime.GOMAXPROCS(0)-1, 1)
	pool.jobs = make(chan job, 4*n)
	for range n {
		go func() {
			for j := range pool.jobs {
				j.run(j.part)
				j.wg.Done()
			}
		}()
	}
}

// parallel runs f(0) … f(parts-1) on up to threads goroutines (the caller and threads-1 of the
// pool) and returns when all are done. The parts are handed out one at a time, to whichever
// goroutine is free, so a core slowed by its neighbours on a shared machine takes fewer of them:
// what a part computes must not depend on where it runs. f must be a value made once (a method
// value kept by its owner): making a closure per call would allocate.
func (d *dispatch) parallel(threads, parts int, f func(part int)) {
	if threads <= 1 || parts <= 1 {
		for p := range parts {
			f(p)
		}
		return
	}
	pool.once.Do(startPool)
	d.f, d.parts = f, int64(parts)
	d.next.Store(0)
	helpers := min(threads, parts) - 1
	d.wg.Add(helpers)
	for range helpers {
		pool.jobs <- job{d.work, 0, &d.wg}
	}
	d.take(0)
	d.wg.Wait()
}

// dispatch is the state of one parallel call at a time; its owner keeps it.
type dispatch struct {
	f     func(part int)
	parts int64
	next  atomic.Int64
	wg    sync.WaitGroup
	work  func(int) // take, bound once
}

func newDispatch() *dispatch {
	d := &dispatch{}
	d.work = d.take
	return d
}

// take runs parts until none is left.
func (d *dispatch) take(int) {
	for {
		p := d.next.Add(1) - 1
		if p >= d.parts {
			return
		}
		d.f(int(p))
	}
}

// span returns part p of parts of the range [0, n): the parts differ in size by at most one.
func span(n, parts, p int) (lo, hi int) {
	return n * p / parts, n * (p + 1) / parts
}
