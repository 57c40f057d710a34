package lstm

import (
	"runtime"
	"sync"
)

// The worker pool: goroutines that run the parts of a pass, started on first use. A pass hands
// out parts 1..n-1 and runs part 0 itself, so nothing waits for a goroutine to start, and a busy
// pool (several workspaces at once) only queues parts.
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

// parallel runs run(0) … run(parts-1), parts-1 of them on the pool, and returns when all are
// done. run must be a value made once (a method value kept by its owner): making a closure per
// call would allocate.
func parallel(parts int, wg *sync.WaitGroup, run func(part int)) {
	if parts <= 1 {
		run(0)
		return
	}
	pool.once.Do(startPool)
	wg.Add(parts - 1)
	for p := 1; p < parts; p++ {
		pool.jobs <- job{run, p, wg}
	}
	run(0)
	wg.Wait()
}

// span returns part p of parts of the range [0, n): the parts differ in size by at most one.
func span(n, parts, p int) (lo, hi int) {
	return n * p / parts, n * (p + 1) / parts
}
