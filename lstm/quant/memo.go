package quant

import (
	"sync"
	"sync/atomic"

	"github.com/seqclf/seqclf/lstm/quant/internal/qkernel"
)

// A layer that reads token ids (the first of a text model, each direction) makes at every step
// the projection x·Wx + b of each row's token from the token's int8 row of the table: the same
// values every time the token comes back, since the kernels' integer sums are exact and each
// value's scaling is its own. tokenMemo keeps them for the tokens below its limit, the most
// frequent (a dictionary lists them first), so that a step copies a token's projection rather
// than multiplying it (Model.MemoTokens): the answers keep their bits (TestMemoTokens).

// memoChunk is the tokens of one chunk of a tokenMemo's storage, allocated at the first of its
// tokens that is stored.
const memoChunk = 256

// tokenMemo is a layer's memory of the input projections of the tokens below limit, shared by
// the passes of every goroutine.
type tokenMemo struct {
	n     int             // values of a projection: 4·NumUnits
	limit int             // the tokens remembered are those below it
	state []atomic.Uint32 // a token's: memoEmpty, memoWriting, memoReady
	mu    sync.Mutex      // held while a chunk is made
	chunk []atomic.Pointer[[]float32]
}

// The states of a token in a tokenMemo.
const (
	memoEmpty = iota
	memoWriting
	memoReady
)

func newTokenMemo(n, limit int) *tokenMemo {
	return &tokenMemo{n: n, limit: limit, state: make([]atomic.Uint32, limit), chunk: make([]atomic.Pointer[[]float32], (limit+memoChunk-1)/memoChunk)}
}

// get copies token id's projection into dst and reports true, if the memory holds it.
func (m *tokenMemo) get(id int32, dst []float32) bool {
	if int(id) >= m.limit || m.state[id].Load() != memoReady {
		return false
	}
	c := *m.chunk[int(id)/memoChunk].Load()
	o := (int(id) % memoChunk) * m.n
	copy(dst[:m.n], c[o:o+m.n])
	return true
}

// put stores z as token id's projection, unless the token is past the limit or another
// goroutine stores it or has.
func (m *tokenMemo) put(id int32, z []float32) {
	if int(id) >= m.limit || !m.state[id].CompareAndSwap(memoEmpty, memoWriting) {
		return
	}
	p := m.chunk[int(id)/memoChunk].Load()
	if p == nil {
		m.mu.Lock()
		if p = m.chunk[int(id)/memoChunk].Load(); p == nil {
			c := make([]float32, memoChunk*m.n)
			p = &c
			m.chunk[int(id)/memoChunk].Store(p)
		}
		m.mu.Unlock()
	}
	o := (int(id) % memoChunk) * m.n
	copy((*p)[o:o+m.n], z)
	m.state[id].Store(memoReady)
}

// held returns the number of tokens held.
func (m *tokenMemo) held() int {
	n := 0
	for i := range m.state {
		if m.state[i].Load() == memoReady {
			n++
		}
	}
	return n
}

// MemoTokens makes the model's layers that read token ids (a text model's first layer, each
// direction) remember the input projections of the most frequent tokens, the table's first
// rows, as many as maxBytes holds for each direction (4·NumUnits float32 values a token): a
// step then copies a remembered token's projection rather than multiplying its int8 row. The
// answers keep their bits. maxBytes ≤ 0 turns it off. Call it before passes run on other
// goroutines; WarmTokens fills the memory ahead.
func (m *Model) MemoTokens(maxBytes int) {
	for _, ls := range [][]*Layer{m.Layers, m.Reverse} {
		if len(ls) == 0 || m.Embed == nil {
			continue
		}
		l := ls[0]
		l.memo = nil
		if limit := min(m.Embed.Rows, maxBytes/(16*l.NumUnits)); limit > 0 {
			l.memo = newTokenMemo(4*l.NumUnits, limit)
		}
	}
}

// WarmTokens makes the layers that remember their tokens' projections (MemoTokens) compute and
// store them all, in batches of 256 tokens. It returns the tokens the first layer's forward
// direction holds after, 0 without a memory. It may run while passes do.
func (m *Model) WarmTokens() int {
	if len(m.Layers) == 0 || m.Layers[0].memo == nil {
		return 0
	}
	for _, ls := range [][]*Layer{m.Layers, m.Reverse} {
		if len(ls) == 0 || ls[0].memo == nil {
			continue
		}
		l, memo := ls[0], ls[0].memo
		var sc scratch
		ids := make([]int32, 0, memoChunk)
		for lo := 0; lo < memo.limit; lo += memoChunk {
			ids = ids[:0]
			for id := lo; id < min(lo+memoChunk, memo.limit); id++ {
				ids = append(ids, int32(id))
			}
			l.projectTokens(m.Embed, &sc, ids)
		}
	}
	return m.Layers[0].memo.held()
}

// projectTokens makes the input projections of the tokens ids into sc.mz (token i's at
// sc.mz[i·4H:]) and into the layer's memory.
func (l *Layer) projectTokens(table *Table, sc *scratch, ids []int32) {
	d, h4 := l.InputDim, 4*l.NumUnits
	k, xlda := len(ids), l.px.RowBytes()
	sc.mq, sc.ms, sc.msum = grow(sc.mq, k*xlda), grow(sc.ms, k), grow(sc.msum, k)
	sc.mz = grow(sc.mz, k*h4)
	for i, id := range ids {
		xrow := sc.mq[i*xlda : (i+1)*xlda]
		copy(xrow, table.Values[int(id)*d:int(id+1)*d])
		clear(xrow[d:])
		qkernel.DequantizeRows(1, d, nil, xrow[:d], nil, sc.msum[i:i+1])
		sc.ms[i] = table.Scale[id]
	}
	qkernel.Gemm(k, sc.mq, xlda, sc.msum, sc.ms, l.px, false, sc.mz, h4)
	if l.memo != nil {
		for i, id := range ids {
			l.memo.put(id, sc.mz[i*h4:(i+1)*h4])
		}
	}
}

// projectStep sets z (row i at z[i·4H:]) to the input projections of step t of samples
// [lo, lo+rows) of a pass over token ids whose layer remembers them: copied from the memory,
// or made (projectTokens).
func (ws *Workspace) projectStep(p *pass, sc *scratch, lo, rows, t int, z []float32) {
	l, h4 := p.l, 4*p.l.NumUnits
	sc.missRows, sc.missIDs = sc.missRows[:0], sc.missIDs[:0]
	for i := range rows {
		b := lo + i
		n, s := ws.lengths[b], t
		if p.reversed {
			s = mirror(t, n)
		}
		id := int32(0)
		if s < n && s < len(p.tokens[b]) {
			id = p.tokens[b][s]
		}
		if !l.memo.get(id, z[i*h4:(i+1)*h4]) {
			sc.missRows = append(sc.missRows, i)
			sc.missIDs = append(sc.missIDs, id)
		}
	}
	if len(sc.missIDs) == 0 {
		return
	}
	l.projectTokens(ws.m.Embed, sc, sc.missIDs)
	for j, i := range sc.missRows {
		copy(z[i*h4:(i+1)*h4], sc.mz[j*h4:(j+1)*h4])
	}
}
