package lstm

import (
	"bytes"
	"hash/maphash"
	"sync"
	"unsafe"

	"github.com/seqclf/seqclf/lstm/internal/kernel"
)

// A text model's input rows are its token embeddings: a few thousand distinct rows, met again
// and again. For a frozen first layer, the input projection x_t·Wx + b of a row is then the same
// at every meeting, and a pass can copy it rather than multiply it: on a mail of 256 tokens of
// 100 dimensions and 128 units, that multiply is 100 of the 228 multiply-adds of each gate value
// and step (44%), at any batch size. inputMemo is that memory (Model.MemoInputs): the
// projections of the rows met so far, each found by a hash of its bits and checked against the
// row itself. A projection is stored as the passes that make the projection of all steps first
// make it (projectsAll: a GEMM's row, then the bias); the GEMM gives a row the same bits
// whatever rows it meets (its micro-kernels sum each value over the inputs in order), so a copy
// is the bits of the multiply it saves. A one-sample pass then keeps its bits (TestMemoInputs).
// A batch's pass adds h_{t-1}·Wh to the copy at each step, as the passes of 2 to 4 samples add
// it to their projection: a one-layer model's answer for a sample is then the same in a batch of
// any size from two (TestMemoBatch), where a model that does not remember sums x_t·Wx and
// h_{t-1}·Wh in one chain from five samples on.

// memoChunk is the rows of one chunk of an inputMemo's storage: chunks are never moved, so
// that the memory grows without copying what it holds.
const memoChunk = 256

// inputMemo is a frozen layer's memory of input projections, shared by the passes of every
// goroutine: lookups under a read lock, additions under the write lock until it holds max rows.
type inputMemo[T Float] struct {
	// wx and wh are the layer's Wx and Wh, packed (kernel.Packed), and bias its B.
	wx, wh kernel.Packed[T]
	bias   []T
	mu     sync.RWMutex
	slot   map[uint64]int32 // hash of a row's bits → its slot
	chunks [][]T            // slot i: chunks[i/memoChunk], row i%memoChunk of d+n values
	rows   int
	d, n   int // the widths of an input row and of its projection
	max    int // the most rows held
	seed   maphash.Seed
}

// newInputMemo returns a memory of layer l's input projections of at most maxBytes; nil if
// that holds no row.
func newInputMemo[T Float](l *Layer[T], maxBytes int) *inputMemo[T] {
	var zero T
	d, h4 := l.InputDim, 4*l.NumUnits
	rowBytes := (d + h4) * int(unsafe.Sizeof(zero))
	if maxBytes < rowBytes {
		return nil
	}
	m := &inputMemo[T]{bias: l.B.Value, slot: map[uint64]int32{}, d: d, n: h4, max: maxBytes / rowBytes, seed: maphash.MakeSeed()}
	m.wx.Pack(l.W.Value[:d*h4], h4, d, h4)
	m.wh.Pack(l.W.Value[d*h4:], h4, l.NumUnits, h4)
	return m
}

// rowBytes returns x's memory, for hashing and comparing bits (-0 is not 0, a NaN is itself).
func rowBytes[T Float](x []T) []byte {
	var zero T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), len(x)*int(unsafe.Sizeof(zero)))
}

// hash returns the hash of row x's bits.
func (m *inputMemo[T]) hash(x []T) uint64 { return maphash.Bytes(m.seed, rowBytes(x)) }

// at returns slot i's stored row and projection.
func (m *inputMemo[T]) at(i int) (x, z []T) {
	r := m.chunks[i/memoChunk][(i%memoChunk)*(m.d+m.n):]
	return r[:m.d], r[m.d : m.d+m.n]
}

// get returns the projection of row x, whose hash is h, or nil if it holds none. The caller
// holds the read lock.
func (m *inputMemo[T]) get(h uint64, x []T) []T {
	i, ok := m.slot[h]
	if !ok {
		return nil
	}
	sx, sz := m.at(int(i))
	if !bytes.Equal(rowBytes(sx), rowBytes(x)) {
		return nil // another row of the same hash holds the slot
	}
	return sz
}

// put stores the projection z of row x, whose hash is h, while there is room and no row of
// that hash is held. It takes the write lock.
func (m *inputMemo[T]) put(h uint64, x, z []T) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.slot[h]; ok || m.rows >= m.max {
		return
	}
	if m.rows%memoChunk == 0 {
		m.chunks = append(m.chunks, make([]T, min(memoChunk, m.max-m.rows)*(m.d+m.n)))
	}
	sx, sz := m.at(m.rows)
	copy(sx, x)
	copy(sz, z)
	m.slot[h] = int32(m.rows)
	m.rows++
}

// held returns the number of rows held.
func (m *inputMemo[T]) held() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.rows
}

// memoScratch is the buffers of one goroutine's lookups in an inputMemo and its computing of the
// rows missing.
type memoScratch[T Float] struct {
	miss   []int    // the rows (of x) that the memory lacks
	hashes []uint64 // their hashes
	a, z   []T      // their values, and their projections
}

// lookup looks up rows [r0, r1) of x (d values each) under the read lock: found calls hit
// with the row's number and projection (valid until the lock is released); the others go to
// sc.miss, their hashes to sc.hashes.
func (m *inputMemo[T]) lookup(sc *memoScratch[T], x []T, d, r0, r1 int, hit func(r int, z []T)) {
	sc.miss, sc.hashes = sc.miss[:0], sc.hashes[:0]
	m.mu.RLock()
	defer m.mu.RUnlock()
	for r := r0; r < r1; r++ {
		xr := x[r*d : (r+1)*d]
		h := m.hash(xr)
		if z := m.get(h, xr); z != nil {
			hit(r, z)
			continue
		}
		sc.miss = append(sc.miss, r)
		sc.hashes = append(sc.hashes, h)
	}
}

// compute makes the projections x_r·Wx + b of the rows r of x in sc.miss into sc.z (row i's
// at sc.z[i·n:]), by one GEMM over them all, and stores them in the memory. The GEMM gets two
// rows at least: one would go to the matrix-vector kernel, which sums in another order.
func (m *inputMemo[T]) compute(sc *memoScratch[T], x []T) {
	k, d, n := len(sc.miss), m.d, m.n
	if k == 0 {
		return
	}
	rows := max(k, 2)
	sc.a, sc.z = grow(sc.a, rows*d), grow(sc.z, rows*n)
	for i, r := range sc.miss {
		copy(sc.a[i*d:(i+1)*d], x[r*d:(r+1)*d])
	}
	if k == 1 {
		copy(sc.a[d:], sc.a[:d])
	}
	kernel.GemmPacked(rows, n, d, sc.a, d, &m.wx, 0, sc.z, n)
	kernel.AddBias(sc.z, m.bias)
	for i := range k {
		m.put(sc.hashes[i], sc.a[i*d:(i+1)*d], sc.z[i*n:(i+1)*n])
	}
}

// project calls emit with each of rows [r0, r1) of x and its projection, from the memory or
// computed (compute); emit copies it where it goes.
func (m *inputMemo[T]) project(sc *memoScratch[T], x []T, r0, r1 int, emit func(r int, z []T)) {
	n := m.n
	m.lookup(sc, x, m.d, r0, r1, emit)
	m.compute(sc, x)
	for i, r := range sc.miss {
		emit(r, sc.z[i*n:(i+1)*n])
	}
}

// memoChunkRows is the rows of x that MemoRows computes in one GEMM.
const memoChunkRows = 256

// MemoRows makes the first layer (both directions) of a model that remembers its input
// projections (MemoInputs) remember those of the rows of x (InputDim values each), in order,
// while there is room, skipping rows it holds. It is a warm-up for the rows that later passes
// will meet most, a text model's most frequent tokens: computed in GEMMs of 256 rows, not one
// pass at a time. It returns the rows the forward direction holds after; on a model that does
// not remember, it does nothing and returns 0. It may run while passes do.
func (m *Model[T]) MemoRows(x []T) int {
	for _, ls := range [][]*Layer[T]{m.Layers, m.Reverse} {
		if len(ls) == 0 || ls[0].frozen == nil || ls[0].frozen.memo == nil {
			continue
		}
		memo, d := ls[0].frozen.memo, ls[0].InputDim
		var sc memoScratch[T]
		for r0 := 0; r0 < len(x)/d && memo.held() < memo.max; r0 += memoChunkRows {
			memo.lookup(&sc, x, d, r0, min(len(x)/d, r0+memoChunkRows), func(int, []T) {})
			memo.compute(&sc, x)
		}
	}
	return m.MemoHeld()
}
