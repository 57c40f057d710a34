package lstm

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/seqclf/seqclf/lstm/internal/kernel"
)

// The forward pass of one LSTM layer over one sample (batch 1, the latency of a single
// request), on up to two cores. A step of one sample is a matrix-vector product by the
// recurrent weights Wh (H × 4H: 256 KiB for 128 units) and the gates: it streams Wh from L2 and
// is bound by the core's L2 bandwidth. This path cuts the units in two halves, [0, H/2) and
// [H/2, H): half s owns the columns of its units in each of the four gate blocks, copied at the
// start of the pass into a contiguous panel (H × 2H: one core streams it at about 1.4 times the
// rate of the same columns read in place, rows 4H apart). The caller runs half 0 of every step;
// half 1 goes to a helper goroutine on the other core when there is one, so each core streams
// its own panel from its own L2, and the two exchange h_t, half each, through the buffers and an
// atomic per step. Each half's product runs in two runs of rows (kernel.GemvChain): over the
// first H/2 values of h_{t-1} (half 0's units), then over the rest, so that the caller streams
// the first half of its panel while the helper still makes the rest of h_{t-1}. Without a
// helper (one thread, or the helper not started yet), the caller runs both halves: still the
// panels' faster reads.
//
// The gates' pre-activations of step t are kept in the pass's z buffer in the panels' column
// order (half 0's i, f, g, o, then half 1's), so that each half's product writes and its
// GatesForward reads one contiguous run. The input projection is made into that order in blocks
// (oneBlocks), claimed in order: the helper, from when it starts, makes the blocks not yet
// claimed, running ahead of the caller, which makes a block itself when its steps need it and
// nobody has. So the caller starts the recurrence at once, alone while the helper wakes up
// (70–100 µs on the AVX-512 machine, about 40 steps), rather than making the whole projection
// first. A frozen model's panels are made once (Model.Freeze), not at each pass. A pass that
// may be followed by a backward pass puts z back in the usual order at the end.
//
// Every value is computed as the one-core path computes it: the projection by the same GEMM
// micro-kernels, each value a sum over the same inputs in the same order; the recurrent product
// as the FMA chain over the rows in order that the matrix-vector kernel makes of each column in
// its blocks of 64 (AVX2) or 128 (AVX-512) or more, whatever the block; the gates unit by unit.
// So the answers are the bits of the pass without this path, on one core or two
// (TestOneSampleSameBits).
//
// The helper is one goroutine for the process, waiting on a channel between passes: a pass hands
// it its work, and it spins while that pass runs and for oneLinger after, then parks. Only one
// pass at a time uses it (oneBusy); the others run both halves on their own core. The caller
// waits on the helper only for work the helper has claimed (a block of the projection, a half
// step): work it has not reached by the time the caller needs it, the caller takes, so a helper
// that is late to start costs speed, never progress; one kept off its core by other work is
// noticed (stallClock) and left out of the passes that follow for a while.

// oneMinSteps is the fewest steps a sample needs for this path: below, copying the panels
// (a few µs) costs more than it saves.
const oneMinSteps = 8

// oneHelperSteps is the fewest steps for which a pass hands half its work to the helper
// before any pass has been timed on one core (oneCost): a helper parked between passes took
// 70–100 µs to start on an AVX-512 machine (an idle vCPU's wake-up, with the caller spinning),
// by which time a pass of 28 steps of MNIST rows (about 55 µs there) is over.
const oneHelperSteps = 64

// oneHelperTime is the time that a pass would take on one core, by oneCost, from which it
// hands half its work to the helper: about twice the helper's start. The same 28 steps took
// 160 µs on one core on a Zen 3 EPYC with AVX2 and 126 µs with the helper, which ran three
// quarters of the half steps; on the AVX-512 machine they take about 55 µs and run alone.
const oneHelperTime = 100 * time.Microsecond

// oneCost is the least time per step and per H² units (ns, float64 bits) of the passes timed
// on one core on this path, the first of the process (cold caches, buffers made) left out; 0
// before one is.
var (
	oneCost      atomic.Uint64
	oneCostFirst atomic.Bool
)

// helperWorth reports whether a pass of the given steps and units is long enough to hand half
// of it to the helper.
func helperWorth(steps, h int) bool {
	c := math.Float64frombits(oneCost.Load())
	if c == 0 {
		return steps >= oneHelperSteps
	}
	return c*float64(steps)*float64(h*h) >= float64(oneHelperTime)
}

// noteOneCost records the time d of a pass on one core in oneCost.
func noteOneCost(d time.Duration, steps, h int) {
	if oneCostFirst.CompareAndSwap(false, true) {
		return
	}
	c := float64(d) / (float64(steps) * float64(h*h))
	for {
		old := oneCost.Load()
		if old != 0 && math.Float64frombits(old) <= c {
			return
		}
		if oneCost.CompareAndSwap(old, math.Float64bits(c)) {
			return
		}
	}
}

// oneBlock is the steps of one block of the input projection: small enough that a goroutine
// waits little on a block the other is making, large enough to fill the GEMM's row blocks.
const oneBlock = 16

// oneBlocks returns the blocks of the input projection of a pass of the given steps: of about
// oneBlock steps, but at least four of oneMinSteps or more where the pass has the steps, so
// that in a short pass (28 steps of MNIST rows: three blocks) the caller, which makes the first
// block itself when the helper has not started yet, starts the recurrence after a few steps'
// projection rather than all of it. A block's multiply has rows enough for the GEMM's
// kernels (two or more: one goes to the matrix-vector kernel, which sums in another order).
func oneBlocks(steps int) int {
	return max(1, steps/oneBlock, min(4, steps/oneMinSteps))
}

// The states of a step's half 1 in oneRun.turn.
const (
	halfFree    = 0 // up for grabs (once half 0 of the step before has run)
	halfHelper  = 1 // claimed by the helper
	halfCaller  = 2 // taken by the caller
	halfBlocked = 3 // not yet: the panels are being copied
	stepShift   = 2
)

// oneRun is one pass on this path: the hand-off between the caller and the helper, one cache
// line a counter, and what the pass reads and writes, fixed for its length. Each pass makes its
// own, so that a helper still running for an earlier pass (late, and finding nothing left to
// claim) can never claim work of a later one, and so never writes, or reads but atomically,
// what a later pass uses.
type oneRun[T Float] struct {
	_ [64]byte
	// turn is step<<stepShift | state of that step's half 1: step t is the next half 1 to
	// run; t = steps once all have.
	turn atomic.Uint64
	_    [56]byte
	// doneA is the number of steps whose half 0 has run.
	doneA atomic.Uint64
	_     [56]byte
	// next is the next block of steps whose input projection is up for grabs.
	next atomic.Uint64
	_    [56]byte
	// stalled is set when the caller waited oneStall on the helper.
	stalled atomic.Bool

	x, w, z, hs, cs, tc []T
	// panel[s] is half s's 4·(H/2) columns of Wh in gate order, H rows, in blocks of bw
	// columns: block b's rows one after another from b·H·bw (panelBlock).
	panel [2][]T
	bw    int
	bias  []T // 4H: B in panel order
	// wx is Wx in panel order, packed (a frozen layer's), or nil: the projection then
	// multiplies by Wx in place, a gate and half at a time.
	wx *kernel.Packed[T]
	// memo is the frozen layer's memory of input projections (Model.MemoInputs), or nil;
	// scratch[s] is the buffers of the projection made by the caller (0) or the helper (1).
	memo            *inputMemo[T]
	scratch         *[2]memoScratch[T]
	acc             [2][]T // acc[s]: 4·(H/2), half s's sums between its two runs of rows
	steps, d, h     int
	cSlots, tcSlots int
	blocks          int
	// projected[j] is set once block j's projection is in z.
	projected []atomic.Uint32
}

// onePass holds a pass's buffers for this path, reused from one pass to the next.
type onePass[T Float] struct {
	panel     [2][]T
	acc       [2][]T
	projected []atomic.Uint32
	bias      []T
	row       []T // 4H: scratch of the reordering back
	scratch   [2]memoScratch[T]
	// helped is how many half 1s the helper ran in the last pass (tests and benchmarks).
	helped int
}

// frozenLayer is what a frozen layer (Model.Freeze) keeps for this path: its panels, bias and
// Wx in panel order, made by the first pass that needs them and only read after, and the
// memory of its input projections (Model.MemoInputs), if it has one.
type frozenLayer[T Float] struct {
	once  sync.Once
	panel [2][]T
	bias  []T
	wx    kernel.Packed[T]
	wxRow []T // Wx in panel order, which wx packs
	memo  *inputMemo[T]
}

// panels returns the frozen layer's panels, bias and packed Wx, made on the first call.
func (f *frozenLayer[T]) panels(l *Layer[T]) ([2][]T, []T, *kernel.Packed[T]) {
	f.once.Do(func() {
		h, d := l.NumUnits, l.InputDim
		run := &oneRun[T]{w: l.W.Value, d: d, h: h, bw: panelBlock(h)}
		for s := range 2 {
			run.panel[s] = make([]T, h*2*h)
			run.pack(s)
		}
		f.panel = run.panel
		f.bias = make([]T, 4*h)
		f.wxRow = make([]T, d*4*h)
		for s := range 2 {
			toPanel(f.bias[s*2*h:(s+1)*2*h], l.B.Value, h, s)
			for k := range d {
				toPanel(f.wxRow[k*4*h+s*2*h:k*4*h+(s+1)*2*h], l.W.Value[k*4*h:(k+1)*4*h], h, s)
			}
		}
		f.wx.Pack(f.wxRow, 4*h, d, 4*h)
	})
	return f.panel, f.bias, &f.wx
}

// oneOff turns this path off (tests and benchmarks compare the two).
var oneOff bool

// oneBusy is held by the pass that has the helper.
var oneBusy atomic.Bool

// oneHelper is the helper's queue: one pass at most waits in it.
var oneHelper struct {
	once sync.Once
	c    chan interface{ help() }
}

// oneLinger is how long the helper spins after a pass for the next one before it parks, as ONNX
// Runtime's threads spin between runs: a parked helper took 70–100 µs to start again (an idle
// vCPU's wake-up), longer than a whole pass of 28 MNIST rows on two cores: on the Zen 3 machine,
// an image's classification took a median of 80 µs against 124 µs with the helper parked (6
// alternated pairs of seqclf-bench runs). While it lingers (oneLingering), a pass hands it half
// its work whatever its length. It yields its P every 64 rounds, so that a goroutine waiting for
// one (another request) waits a few µs at most.
const oneLinger = 500 * time.Microsecond

// oneLingering is set while the helper spins for the next pass.
var oneLingering atomic.Bool

func startOneHelper() {
	oneHelper.c = make(chan interface{ help() }, 1)
	go func() {
		for run := range oneHelper.c {
			run.help()
			for run != nil {
				run = linger()
				if run != nil {
					run.help()
				}
			}
		}
	}()
}

// linger spins for up to oneLinger for the next pass, returning it, or nil if none came.
func linger() interface{ help() } {
	oneLingering.Store(true)
	defer oneLingering.Store(false)
	start := time.Now()
	for spins := 0; ; spins++ {
		select {
		case run := <-oneHelper.c:
			return run
		default:
		}
		if spins&63 == 63 {
			if time.Since(start) > oneLinger {
				return nil
			}
			runtime.Gosched() // a goroutine waiting for a P (another request) gets this one
		}
	}
}

// forwardOne runs the pass on this path when it applies, and reports whether it did: one
// sample of LSTM, float32 on assembly kernels, all steps kept (projectsAll), the sample as long
// as the batch, at least oneMinSteps steps, and H a multiple of 64 (each half's 4·H/2 columns a
// whole number of the matrix-vector kernel's blocks, as the full width's are).
func (r *pass[T]) forwardOne() bool {
	h := r.l.NumUnits
	var zero T
	if oneOff || len(r.lengths) != 1 || r.lengths[0] != r.steps || r.steps < oneMinSteps || r.l.Cell != CellLSTM ||
		unsafe.Sizeof(zero) != 4 || h%64 != 0 || !r.projectsAll() {
		return false
	}
	if isa, _ := kernel.ISA(); isa == "go" {
		return false
	}
	if r.one == nil {
		r.one = &onePass[T]{}
	}
	o, hh := r.one, h/2
	for s := range o.acc {
		o.acc[s] = grow(o.acc[s], 4*hh)
	}
	var panel [2][]T
	var bias []T
	var wx *kernel.Packed[T]
	var memo *inputMemo[T]
	if f := r.l.frozen; f != nil {
		panel, bias, wx = f.panels(r.l)
		memo = f.memo
	} else {
		for s := range o.panel {
			o.panel[s] = grow(o.panel[s], h*4*hh)
		}
		o.bias = grow(o.bias, 4*h)
		for s := range 2 {
			toPanel(o.bias[s*4*hh:(s+1)*4*hh], r.l.B.Value, h, s)
		}
		panel, bias = o.panel, o.bias
	}
	blocks := oneBlocks(r.steps)
	if len(o.projected) < blocks {
		o.projected = make([]atomic.Uint32, blocks)
	}
	for j := range blocks {
		o.projected[j].Store(0)
	}
	run := &oneRun[T]{
		x: r.x, w: r.l.W.Value, z: r.buf.z, hs: r.buf.hs, cs: r.buf.cs, tc: r.buf.tc,
		panel: panel, bw: panelBlock(h), bias: bias, acc: o.acc, wx: wx, memo: memo, scratch: &o.scratch,
		steps: r.steps, d: r.l.InputDim, h: h, cSlots: r.buf.cSlots, tcSlots: r.buf.tcSlots,
		blocks: blocks, projected: o.projected[:blocks],
	}
	run.turn.Store(halfBlocked) // the helper may start on the projection meanwhile
	clear(run.hs[:h])
	clear(run.cs[:h])

	helper := r.threads > 1 && (oneLingering.Load() || helperWorth(r.steps, h)) && runtime.GOMAXPROCS(0) > 1 && time.Now().UnixNano() >= oneAvoidUntil.Load() &&
		oneBusy.CompareAndSwap(false, true)
	if helper {
		oneHelper.once.Do(startOneHelper)
		select {
		case oneHelper.c <- run:
		default:
			oneBusy.Store(false)
			helper = false
		}
	}
	released := false
	if helper {
		// A panic of the caller (recovered by, say, a server) would otherwise leave the helper
		// held, and every later pass of the process without it: turn past the last step sends
		// the helper away, and the helper is free again.
		defer func() {
			if !released {
				run.turn.Store(uint64(run.steps) << stepShift)
				oneBusy.Store(false)
			}
		}()
	}
	start := time.Now()
	if r.l.frozen == nil {
		run.pack(0)
		run.pack(1)
	}
	run.turn.Store(halfFree)
	o.helped = run.steps - run.steps0()
	if !helper && r.threads > 1 && runtime.GOMAXPROCS(0) > 1 {
		noteOneCost(time.Since(start), r.steps, h)
	}
	if helper {
		released = true
		oneBusy.Store(false)
		if d := oneAvoid.Load(); d > 0 && o.helped > 0 && !run.stalled.Load() {
			oneAvoid.CompareAndSwap(d, d/2)
		}
	}
	if !r.forwardOnly {
		o.unorder(run)
	}
	return true
}

// steps0 runs the recurrence from the caller: half 0 of every step, and each half 1 that the
// helper has not claimed by the time the caller needs it. It returns how many half 1s it ran.
func (o *oneRun[T]) steps0() (taken int) {
	o.rows(0, 0)
	for t := range o.steps {
		o.ensure(o.block(t))
		taken += o.await(t)
		o.finish(0, t)
		o.doneA.Store(uint64(t + 1))
		if t+1 < o.steps {
			// Its own units of h_t are ready: the first run of rows of the next step
			// streams while the helper makes the others.
			o.rows(0, t+1)
		}
	}
	return taken + o.await(o.steps)
}

// await returns once half 1 of step t-1 has run (turn has moved on to step t), running it
// itself if the helper has not claimed it: it reports 1 if it did.
func (o *oneRun[T]) await(t int) int {
	if t == 0 {
		return 0
	}
	free := uint64(t-1)<<stepShift | halfFree
	var stall stallClock
	for spins := 0; ; spins++ {
		v := o.turn.Load()
		if v>>stepShift >= uint64(t) {
			return 0
		}
		if v == free && o.turn.CompareAndSwap(free, free|halfCaller) {
			o.rows(1, t-1)
			o.finish(1, t-1)
			o.turn.Store(uint64(t) << stepShift)
			return 1
		}
		if stall.tick(spins, true) { // the helper has claimed it: nothing to do but wait
			o.stalled.Store(true)
		}
		pause(spins)
	}
}

// oneStall is how long the caller may wait on work that the helper has claimed before the
// helper is taken as kept off its core by other work (a half step takes about a microsecond, a
// block of the projection about 8; a time slice of the OS scheduler, milliseconds): the passes
// of the next oneAvoid then run without it. With a busy process on the other core, a pass with
// the helper waited up to a time slice whenever the helper lost its core holding a half (400
// passes: p90 2.3 ms, p99 6.5 ms, against 0.66 and 0.70 without the helper). oneAvoid doubles
// from oneAvoidMin at each stall up to oneAvoidMax, and halves at each pass the helper ran
// without one: a stall now and then (another process passing through) costs a few ms of passes
// on one core, a lasting one a probe pass a second.
//
// A long wait of the helper on the caller makes it leave the pass, freeing its core: with a
// busy process on one core, the scheduler may leave the caller to share that core while the
// spinning helper has the other (p90 3.8 ms with the helper, 0.72 without, in one measurement
// with a busy loop pinned to one core). That one sets no oneAvoidUntil: the caller may only have
// lost its core for a moment, and the next pass may well have both.
const (
	oneStall    = 50 * time.Microsecond
	oneAvoidMin = 5 * time.Millisecond
	oneAvoidMax = time.Second
)

var (
	// oneAvoidUntil is the time (Unix ns) before which passes do not use the helper.
	oneAvoidUntil atomic.Int64
	// oneAvoid is the length of the last wait set in oneAvoidUntil, in ns.
	oneAvoid atomic.Int64
)

// avoidHelper keeps the helper out of the passes of the next oneAvoid, doubled.
func avoidHelper(now time.Time) {
	d := min(max(2*oneAvoid.Load(), int64(oneAvoidMin)), int64(oneAvoidMax))
	oneAvoid.Store(d)
	oneAvoidUntil.Store(now.UnixNano() + d)
}

// stallClock times a wait of one goroutine on the other, from its 256th round on (a short wait
// never reads the clock), and reports it stalled once it has lasted oneStall, setting
// oneAvoidUntil if avoid is set.
type stallClock struct {
	start   time.Time
	flagged bool
}

func (c *stallClock) tick(spins int, avoid bool) (stalled bool) {
	if spins&255 != 255 || c.flagged {
		return c.flagged
	}
	now := time.Now()
	if c.start.IsZero() {
		c.start = now
		return false
	}
	if now.Sub(c.start) > oneStall {
		if avoid {
			avoidHelper(now)
		}
		c.flagged = true
	}
	return c.flagged
}

// help is the helper's share of the pass: the blocks of the projection not yet claimed, then
// the half 1 of each step it can claim. It returns once every step has been claimed.
func (o *oneRun[T]) help() {
	for o.projectNext() {
	}
	var stall stallClock
	for spins := 0; ; {
		v := o.turn.Load()
		t := v >> stepShift
		if t >= uint64(o.steps) {
			return
		}
		if v&(1<<stepShift-1) != halfFree || o.doneA.Load() < t || o.projected[o.block(int(t))].Load() == 0 {
			spins++
			if v&(1<<stepShift-1) == halfBlocked {
				// The caller is copying the panels (longer than oneStall for a large H):
				// that is no stall.
				stall = stallClock{}
			}
			if stall.tick(spins, false) {
				return // the caller is off its core: it will take the halves left
			}
			pause(spins)
			continue
		}
		if !o.turn.CompareAndSwap(v, v|halfHelper) {
			continue
		}
		h4, n := 4*o.h, 2*o.h
		kernel.PrefetchW(o.z[int(t)*h4+n : int(t+1)*h4]) // written by the other core's projection
		o.rows(1, int(t))
		o.finish(1, int(t))
		o.turn.Store((t + 1) << stepShift)
		spins, stall = 0, stallClock{}
	}
}

// pause is one round of a spin-wait: a yield to the scheduler now and then, so that a goroutine
// waiting on another that is off its core lets the scheduler run something else.
func pause(spins int) {
	if spins&1023 == 1023 {
		runtime.Gosched()
	}
}

// projectNext claims the next block of the projection and makes it, reporting false when
// none is left.
func (o *oneRun[T]) projectNext() bool {
	j := o.next.Add(1) - 1
	if j >= uint64(o.blocks) {
		return false
	}
	o.project(int(j), 1)
	o.projected[j].Store(1)
	return true
}

// ensure returns once block j's projection is made: by the caller itself if nobody has
// claimed it, or by whoever has. Blocks are claimed in order.
func (o *oneRun[T]) ensure(j int) {
	var stall stallClock
	for spins := 0; o.projected[j].Load() == 0; spins++ {
		if v := o.next.Load(); v == uint64(j) && o.next.CompareAndSwap(v, v+1) {
			o.project(j, 0)
			o.projected[j].Store(1)
			return
		}
		if stall.tick(spins, true) { // the helper is making it
			o.stalled.Store(true)
		}
		pause(spins)
	}
}

// block returns the block of the projection that holds step t: block j holds steps
// j·steps/blocks to (j+1)·steps/blocks.
func (o *oneRun[T]) block(t int) int {
	j := t * o.blocks / o.steps
	if t >= (j+1)*o.steps/o.blocks {
		j++
	}
	return j
}

// panelBlock returns the columns of a panel's blocks for h units: kernel.GemvChainBlock's
// width, where it has one that divides a half's 4·(H/2) columns; otherwise all of them (one
// block, rows whole).
func panelBlock(h int) int {
	bw := kernel.GemvChainBlock()
	if bw == 0 || 2*h%bw != 0 {
		return 2 * h
	}
	return bw
}

// pack copies half s's columns of Wh into its panel: for each row, its units' columns of the
// gates i, f, g, o in turn, cut into the panel's blocks.
func (o *oneRun[T]) pack(s int) {
	h, hh, bw := o.h, o.h/2, o.bw
	h4 := 4 * h
	wh, p := o.w[o.d*h4:], o.panel[s]
	for k := range h {
		row := wh[k*h4 : (k+1)*h4]
		for g := range 4 {
			src := row[g*h+s*hh : g*h+(s+1)*hh]
			for off := 0; off < hh; {
				c := g*hh + off // the column in the half
				n := min(hh-off, bw-c%bw)
				copy(p[c/bw*h*bw+k*bw+c%bw:][:n], src[off:off+n])
				off += n
			}
		}
	}
}

// toPanel sets dst (2H values) to half s's columns of row (4H values, gate blocks i, f, g, o
// of H units each): the columns of units [s·H/2, (s+1)·H/2) of each block, in block order.
func toPanel[T Float](dst, row []T, h, s int) {
	hh := h / 2
	for g := range 4 {
		copy(dst[g*hh:(g+1)*hh], row[g*h+s*hh:g*h+(s+1)*hh])
	}
}

// project makes the input projection x_t·Wx + b of block j of the steps into z, in panel order,
// from the caller (side 0) or the helper (side 1): copied from the memory of a frozen layer
// where it holds a row (projectMemo); otherwise one GEMM by Wx in panel order, packed, for a
// frozen layer; otherwise one GEMM per half and gate, from the columns of Wx in place. Every
// block has at least oneMinSteps rows: one row would go to the matrix-vector kernel, which sums
// in another order than the one-core path's GEMM of all steps.
func (o *oneRun[T]) project(j, side int) {
	t0, t1 := j*o.steps/o.blocks, (j+1)*o.steps/o.blocks
	h, hh, d := o.h, o.h/2, o.d
	h4 := 4 * h
	if o.memo != nil {
		o.projectMemo(t0, t1, side)
		return
	}
	if o.wx != nil {
		kernel.GemmPacked(t1-t0, h4, d, o.x[t0*d:], d, o.wx, 0, o.z[t0*h4:], h4)
		kernel.AddBias(o.z[t0*h4:t1*h4], o.bias)
		return
	}
	for s := range 2 {
		for g := range 4 {
			kernel.Gemm(false, false, t1-t0, hh, d, 1, o.x[t0*d:], d, o.w[g*h+s*hh:], h4, 0, o.z[t0*h4+s*4*hh+g*hh:], h4)
		}
	}
	kernel.AddBias(o.z[t0*h4:t1*h4], o.bias)
}

// projectMemo makes the input projection of steps [t0, t1) into z, in panel order: from the
// layer's memory (inputMemo.project, in the usual order), each put in panel order.
func (o *oneRun[T]) projectMemo(t0, t1, side int) {
	h, h4 := o.h, 4*o.h
	o.memo.project(&o.scratch[side], o.x, t0, t1, func(t int, z []T) {
		toPanel(o.z[t*h4:t*h4+2*h], z, h, 0)
		toPanel(o.z[t*h4+2*h:(t+1)*h4], z, h, 1)
	})
}

// rows runs half s's first run of rows of step t: the sums over h_{t-1}'s first H/2 values
// (the units of half 0), into the half's accumulators.
func (o *oneRun[T]) rows(s, t int) {
	h, hh, bw := o.h, o.h/2, o.bw
	for c0 := 0; c0 < 4*hh; c0 += bw { // block c0/bw starts at c0·H
		if !kernel.GemvChain(hh, bw, o.hs[t*h:t*h+hh], o.panel[s][c0*h:], bw, o.acc[s][c0:], false, nil) {
			panic(noGemvChain)
		}
	}
}

// noGemvChain is forwardOne's panic if it runs where kernel.GemvChain has no kernel, which its
// conditions rule out: it would otherwise compute nothing, silently.
const noGemvChain = "lstm: forwardOne without a kernel.GemvChain kernel"

// finish runs the rest of half s of step t: the sums over the last H/2 values of h_{t-1}, added
// to the pre-activations z_t of the half's units (the input projection), then their gates, c_t
// and h_t. With rows before it, the sums are the FMA chains of one matrix-vector product over
// all of h_{t-1}: the bits of the one-core path's.
func (o *oneRun[T]) finish(s, t int) {
	h, hh := o.h, o.h/2
	h4, n := 4*h, 4*hh
	zt := o.z[t*h4+s*n : t*h4+(s+1)*n]
	for c0, bw := 0, o.bw; c0 < n; c0 += bw {
		if !kernel.GemvChain(hh, bw, o.hs[t*h+hh:(t+1)*h], o.panel[s][c0*h+hh*bw:], bw, o.acc[s][c0:], true, zt[c0:]) {
			panic(noGemvChain)
		}
	}
	lo := s * hh
	cPrev := o.cs[(t%o.cSlots)*h+lo:]
	cCur := o.cs[((t+1)%o.cSlots)*h+lo:]
	tct := o.tc[(t%o.tcSlots)*h+lo:]
	kernel.GatesForward(zt, cPrev[:hh], cCur[:hh], tct[:hh], o.hs[(t+1)*h+lo:(t+1)*h+lo+hh])
}

// unorder puts run's z back in the usual column order, for a backward pass.
func (o *onePass[T]) unorder(run *oneRun[T]) {
	h, hh := run.h, run.h/2
	h4 := 4 * h
	o.row = grow(o.row, h4)
	for t := range run.steps {
		zt := run.z[t*h4 : (t+1)*h4]
		copy(o.row, zt)
		for s := range 2 {
			for g := range 4 {
				copy(zt[g*h+s*hh:g*h+(s+1)*hh], o.row[s*4*hh+g*hh:])
			}
		}
	}
}
