package quant

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/lstm/internal/kernel"
	"github.com/seqclf/seqclf/lstm/internal/pooling"
	"github.com/seqclf/seqclf/lstm/quant/internal/qkernel"
)

// Layer is one direction of one recurrent layer with int8 weights: lstm.Layer's W cut into its
// input rows Wx (InputDim × 4·NumUnits) and its recurrent rows Wh (NumUnits × 4·NumUnits), each
// with a scale per column, and the float32 bias B (4·NumUnits).
type Layer struct {
	InputDim, NumUnits int
	Cell               lstm.Cell
	Wx, Wh             Weights
	B                  []float32

	px, ph *qkernel.Matrix // Wx with B, and Wh, packed for the kernels
	memo   *tokenMemo      // the input projections of the tokens remembered (MemoTokens), or nil
}

// Model is an lstm.Model with int8 layer weights; the attention and the head run in float32.
// Embed, when set, is the int8 embedding table that a Batch's Tokens index. Make one with New,
// or fill the fields (a stored model) and call Prepare.
type Model struct {
	Config  lstm.Config
	Layers  []*Layer
	Reverse []*Layer // the backward directions when Config.Bidirectional; nil otherwise
	// AttnW (OutputDim × NumUnits), AttnB and AttnV (NumUnits each) are the additive attention's
	// parameters when Config.Pooling is lstm.PoolAttention; nil otherwise.
	AttnW, AttnB, AttnV []float32
	// HeadW (OutputDim × Classes) and HeadB (Classes) map the pooled output to the logits. HeadW
	// holds the values of int8 weights with a scale per column (QuantizeWeights), which is how a
	// file keeps them; the head runs in float32.
	HeadW, HeadB []float32
	Embed        *Table

	prepared bool
}

// New returns m quantized (see the package doc), with table, when not nil, quantized a row at a
// time as the model's Embed. m and table are left as they are.
func New(m *lstm.Model[float32], table *embed.Table) (*Model, error) {
	q := &Model{Config: m.Config}
	quantize := func(l *lstm.Layer[float32]) *Layer {
		d, h := l.InputDim, l.NumUnits
		w := l.W.Value
		return &Layer{InputDim: d, NumUnits: h, Cell: l.Cell,
			Wx: QuantizeWeights(w[:d*4*h], d, 4*h), Wh: QuantizeWeights(w[d*4*h:], h, 4*h),
			B: append([]float32(nil), l.B.Value...)}
	}
	for _, l := range m.Layers {
		q.Layers = append(q.Layers, quantize(l))
	}
	for _, l := range m.Reverse {
		q.Reverse = append(q.Reverse, quantize(l))
	}
	if m.AttnW != nil {
		q.AttnW = append([]float32(nil), m.AttnW.Value...)
		q.AttnB = append([]float32(nil), m.AttnB.Value...)
		q.AttnV = append([]float32(nil), m.AttnV.Value...)
	}
	q.HeadW = QuantizeWeights(m.HeadW.Value, m.HeadW.Rows, m.HeadW.Cols).Dequantize()
	q.HeadB = append([]float32(nil), m.HeadB.Value...)
	if table != nil {
		q.Embed = QuantizeTable(table)
	}
	return q, q.Prepare()
}

// Prepare checks that the fields fit Config and packs the weights for the kernels; New calls it.
// A model is ready for Forward once it returns nil. Call it once, before any Forward.
func (m *Model) Prepare() error {
	cfg := m.Config
	if err := cfg.Validate(); err != nil {
		return err
	}
	e, h := cfg.OutputDim(), cfg.NumUnits
	if len(m.Layers) != cfg.NumLayers || cfg.Bidirectional != (m.Reverse != nil) || m.Reverse != nil && len(m.Reverse) != cfg.NumLayers {
		return fmt.Errorf("quant: %d layers and %d backward ones for a config of %d layers (bidirectional %v)", len(m.Layers), len(m.Reverse), cfg.NumLayers, cfg.Bidirectional)
	}
	in := cfg.InputDim
	for i := range cfg.NumLayers {
		for _, l := range []*Layer{m.Layers[i], at(m.Reverse, i)} {
			if l == nil {
				continue
			}
			if l.InputDim != in || l.NumUnits != h || l.Cell != cfg.Cell || len(l.B) != 4*h {
				return fmt.Errorf("quant: layer %d is %d→%d %v with %d biases, want %d→%d %v", i, l.InputDim, l.NumUnits, l.Cell, len(l.B), in, h, cfg.Cell)
			}
			if err := l.Wx.check(fmt.Sprintf("layer %d's input weights", i), in, 4*h); err != nil {
				return err
			}
			if err := l.Wh.check(fmt.Sprintf("layer %d's recurrent weights", i), h, 4*h); err != nil {
				return err
			}
			l.px = qkernel.Pack(l.Wx.Values, in, 4*h, l.Wx.Scale, l.B)
			l.ph = qkernel.Pack(l.Wh.Values, h, 4*h, l.Wh.Scale, nil)
		}
		in = e
	}
	if cfg.Pooling == lstm.PoolAttention && (len(m.AttnW) != e*h || len(m.AttnB) != h || len(m.AttnV) != h) {
		return fmt.Errorf("quant: attention of %d, %d and %d values, want %d, %d and %d", len(m.AttnW), len(m.AttnB), len(m.AttnV), e*h, h, h)
	}
	if len(m.HeadW) != e*cfg.Classes || len(m.HeadB) != cfg.Classes {
		return fmt.Errorf("quant: head of %d and %d values, want %d and %d", len(m.HeadW), len(m.HeadB), e*cfg.Classes, cfg.Classes)
	}
	if t := m.Embed; t != nil {
		if t.Dim != cfg.InputDim || t.Rows < 1 || len(t.Values) != t.Rows*t.Dim || len(t.Scale) != t.Rows {
			return fmt.Errorf("quant: embedding table of %d values and %d scales for %d×%d, model input %d", len(t.Values), len(t.Scale), t.Rows, t.Dim, cfg.InputDim)
		}
	}
	m.prepared = true
	return nil
}

// at returns ls[i], or nil for a nil ls (a model without backward directions).
func at(ls []*Layer, i int) *Layer {
	if ls == nil {
		return nil
	}
	return ls[i]
}

// Batch is one batch of padded sequences, as lstm.Batch: either float inputs X,
// [Steps][len(Lengths)][InputDim] time-major, or Fill that writes them a part at a time, or, for
// a model with an Embed table, the token ids of each sample in Tokens (sample b's step t reads
// row Tokens[b][t]; steps past its length read nothing that matters).
type Batch struct {
	X []float32
	// Fill, when X is nil, writes the float inputs of samples [lo, hi) into x time-major,
	// [Steps][hi-lo][InputDim], as X would hold them: each goroutine of a pass fills its own
	// samples as it takes them, so that making the inputs runs in parallel too. It is called
	// from several goroutines at once, for disjoint ranges.
	Fill    func(x []float32, lo, hi int)
	Tokens  [][]int32
	Lengths []int // the real steps of each sample, in [0, Steps]
	Steps   int
}

// Workspace holds the buffers of forward passes of one model; they grow to the largest batch
// seen and are reused. A workspace serves one goroutine at a time.
type Workspace struct {
	// Threads is the most goroutines a pass uses, its samples split among them; NewWorkspace
	// sets it to GOMAXPROCS. The results do not depend on it.
	Threads int

	m                  *Model
	steps              int
	lengths            []int
	hs, rhs, cat       [][]float32 // per layer: outputs of each direction, (T+1)·B·H, and side by side
	pooled, logits     []float32
	probs, attU, alpha []float32
	scratch            []*scratch // per goroutine
}

// scratch holds one goroutine's buffers for its part of a pass: the quantized inputs and
// outputs of a step, their scales and sums, the gates and the cell state.
type scratch struct {
	xq, hq     []int8
	xs, hsc    []float32
	xsum, hsum []int32
	z, c       []float32
	x          []float32 // the part's inputs, [steps][rows][InputDim], of a pass with fill
	// The tokens a step's projection lacks in the layer's memory (projectStep), and their
	// int8 rows, scales, sums and projections.
	missRows []int
	missIDs  []int32
	mq       []int8
	ms       []float32
	msum     []int32
	mz       []float32
}

// NewWorkspace returns an empty workspace for m.
func (m *Model) NewWorkspace() *Workspace {
	n := m.Config.NumLayers
	ws := &Workspace{Threads: runtime.GOMAXPROCS(0), m: m, hs: make([][]float32, n)}
	if m.Config.Bidirectional {
		ws.rhs, ws.cat = make([][]float32, n), make([][]float32, n)
	}
	return ws
}

// partSamples is the smallest part of a pass, in samples: as in package lstm, a batch is cut
// into parts that the goroutines take as they come free.
const partSamples = 16

// parts returns how many parts of samples a pass over batch samples is cut into: two a
// goroutine, enough for one that a busy core slows to leave its second part to the others. Every
// part takes its rows through every step of the batch, whatever their lengths, so parts of as
// many samples cost about the same; and larger parts run the kernels on more rows a call (with
// four parts of 64 samples rather than eight of 32 the int8 pass of the MNIST rows shape ran 3%
// faster at batch 256 on 2 threads).
func (ws *Workspace) parts(batch int) int {
	if ws.Threads <= 1 {
		return 1
	}
	return max(1, min(ws.Threads, batch/8), min(2*ws.Threads, batch/partSamples))
}

// Forward runs the model on b and returns the logits, [len(b.Lengths)][Classes], which belong to
// ws.
func (m *Model) Forward(ws *Workspace, b Batch) []float32 {
	if !m.prepared {
		panic("quant: Forward on a model that was not prepared (New or Prepare)")
	}
	if ws.m != m {
		panic("quant: a workspace of another model")
	}
	cfg := m.Config
	steps, batch, h, e := b.Steps, len(b.Lengths), cfg.NumUnits, cfg.OutputDim()
	for i, n := range b.Lengths {
		if n < 0 || n > steps {
			panic(fmt.Sprintf("quant: sample %d has length %d, outside [0, %d]", i, n, steps))
		}
	}
	if b.Tokens != nil {
		if m.Embed == nil {
			panic("quant: a batch of tokens for a model without an embedding table")
		}
		if len(b.Tokens) != batch {
			panic(fmt.Sprintf("quant: %d token sequences for %d lengths", len(b.Tokens), batch))
		}
	} else if b.X == nil && b.Fill == nil {
		panic("quant: a batch without inputs (X, Fill or Tokens)")
	} else if b.X != nil && len(b.X) != steps*batch*cfg.InputDim {
		panic(fmt.Sprintf("quant: input has %d values, want %d×%d×%d", len(b.X), steps, batch, cfg.InputDim))
	}
	ws.steps = steps
	ws.lengths = append(ws.lengths[:0], b.Lengths...)
	in, tokens, fill := b.X, b.Tokens, b.Fill
	if tokens != nil || in != nil {
		fill = nil
	}
	for l, layer := range m.Layers {
		ws.hs[l] = grow(ws.hs[l], (steps+1)*batch*h)
		ws.run(&pass{l: layer, in: in, fill: fill, tokens: tokens, out: ws.hs[l]})
		if m.Reverse == nil {
			in, tokens, fill = ws.hs[l][batch*h:], nil, nil
			continue
		}
		ws.rhs[l] = grow(ws.rhs[l], (steps+1)*batch*h)
		ws.run(&pass{l: m.Reverse[l], in: in, fill: fill, tokens: tokens, out: ws.rhs[l], reversed: true})
		fill = nil
		ws.cat[l] = grow(ws.cat[l], steps*batch*e)
		fw, bw := ws.hs[l][batch*h:], ws.rhs[l][batch*h:]
		for t := range steps {
			for s, n := range ws.lengths {
				row := ws.cat[l][(t*batch+s)*e : (t*batch+s+1)*e]
				copy(row[:h], fw[(t*batch+s)*h:])
				mt := mirror(t, n)
				copy(row[h:], bw[(mt*batch+s)*h:(mt*batch+s+1)*h])
			}
		}
		in, tokens = ws.cat[l], nil
	}
	ws.pooled = grow(ws.pooled, batch*e)
	m.pool(ws, in)
	c := cfg.Classes
	ws.logits = grow(ws.logits, batch*c)
	for s := range batch {
		copy(ws.logits[s*c:(s+1)*c], m.HeadB)
	}
	kernel.Gemm(false, false, batch, c, e, 1, ws.pooled, e, m.HeadW, c, 1, ws.logits, c)
	return ws.logits
}

// Probs returns the softmax of the last Forward's logits, [batch][Classes]; the slice belongs to
// ws.
func (m *Model) Probs(ws *Workspace) []float32 {
	c := m.Config.Classes
	ws.probs = grow(ws.probs, len(ws.logits))
	for r := 0; r < len(ws.logits); r += c {
		z, p := ws.logits[r:r+c], ws.probs[r:r+c]
		mx := math.Inf(-1)
		for _, v := range z {
			mx = math.Max(mx, float64(v))
		}
		var s float64
		for j, v := range z {
			x := math.Exp(float64(v) - mx)
			p[j] = float32(x)
			s += x
		}
		for j := range p {
			p[j] = float32(float64(p[j]) / s)
		}
	}
	return ws.probs
}

// pass is one direction of one layer over a batch: its input (float rows, a Batch's Fill, or
// token ids), and its outputs h_{-1} … h_{T-1}, (T+1)·B·H. A reversed pass reads each sample's
// real steps in reverse order and writes its outputs in that order.
type pass struct {
	l        *Layer
	in       []float32
	fill     func(x []float32, lo, hi int)
	tokens   [][]int32
	out      []float32
	reversed bool
}

// run runs p, its samples cut into parts that up to ws.Threads goroutines take as they come
// free. Each part owns its samples through every step.
func (ws *Workspace) run(p *pass) {
	batch := len(ws.lengths)
	parts := ws.parts(batch)
	workers := min(ws.Threads, parts)
	for len(ws.scratch) < workers {
		ws.scratch = append(ws.scratch, &scratch{})
	}
	if workers <= 1 {
		for part := range parts {
			lo, hi := span(batch, parts, part)
			ws.recur(p, ws.scratch[0], lo, hi)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for {
				part := int(next.Add(1) - 1)
				if part >= parts {
					return
				}
				lo, hi := span(batch, parts, part)
				ws.recur(p, ws.scratch[w], lo, hi)
			}
		})
	}
	wg.Wait()
}

// recur runs samples [lo, hi) of p through every step: at step t it quantizes (or looks up) the
// inputs, z = x_t·Wx + b (or copies it from the layer's memory of its tokens), z += h_{t-1}·Wh
// with h_{t-1} quantized, and applies the gates. An
// LSTM's gates (qkernel.LSTMStep) quantize the outputs they make for the next step; a GRU's
// outputs are quantized at the start of the next step.
func (ws *Workspace) recur(p *pass, sc *scratch, lo, hi int) {
	l := p.l
	d, h := l.InputDim, l.NumUnits
	h4 := 4 * h
	batch := len(ws.lengths)
	bh := batch * h
	rows := hi - lo
	if rows == 0 {
		return
	}
	xlda, hlda := l.px.RowBytes(), l.ph.RowBytes()
	sc.xq, sc.hq = grow(sc.xq, rows*xlda), grow(sc.hq, rows*hlda)
	sc.xs, sc.hsc = grow(sc.xs, rows), grow(sc.hsc, rows)
	sc.xsum, sc.hsum = grow(sc.xsum, rows), grow(sc.hsum, rows)
	sc.z = grow(sc.z, rows*h4)
	sc.c = grow(sc.c, rows*h)
	// h_{-1} = 0, and so its quantization, for the rows that have no step.
	clear(sc.hq)
	clear(sc.hsc)
	clear(sc.hsum)
	gru := l.Cell == lstm.CellGRU
	out := p.out
	clear(out[lo*h : hi*h])
	clear(sc.c)
	z := sc.z
	// in holds the part's inputs, row i of step s at in[(s·ldin+i)·d:]: the pass's, or filled here.
	in, ldin := p.in, batch
	if in != nil {
		in = in[lo*d:]
	}
	if p.fill != nil {
		sc.x = grow(sc.x, ws.steps*rows*d)
		p.fill(sc.x, lo, hi)
		in, ldin = sc.x, rows
	}
	for t := range ws.steps {
		if p.tokens != nil && l.memo != nil {
			ws.projectStep(p, sc, lo, rows, t, z)
		} else {
			ws.projectInputs(p, sc, lo, rows, t, in, ldin, xlda, z)
		}
		hPrev, hCur := out[t*bh:(t+1)*bh], out[(t+1)*bh:(t+2)*bh]
		if t > 0 {
			if gru {
				qkernel.QuantizeRows(rows, h, sc.hq, hlda, hPrev[lo*h:], h, sc.hsc, sc.hsum)
			}
			qkernel.Gemm(rows, sc.hq, hlda, sc.hsum, sc.hsc, l.ph, true, z, h4)
		}
		if gru {
			for i := range rows {
				o := (lo + i) * h
				if t >= ws.lengths[lo+i] {
					copy(hCur[o:o+h], hPrev[o:o+h])
					continue
				}
				kernel.GRUForward(z[i*h4:(i+1)*h4], hPrev[o:o+h], hCur[o:o+h])
			}
			continue
		}
		// The LSTM's gates over each run of rows that have step t; the others keep their h, c
		// and quantized h.
		for i := 0; i < rows; {
			o := (lo + i) * h
			if t >= ws.lengths[lo+i] {
				copy(hCur[o:o+h], hPrev[o:o+h])
				i++
				continue
			}
			j := i + 1
			for j < rows && t < ws.lengths[lo+j] {
				j++
			}
			qkernel.LSTMStep(j-i, h, z[i*h4:], h4, sc.c[i*h:], h, hCur[o:], h, sc.hq[i*hlda:], hlda, sc.hsc[i:], sc.hsum[i:])
			i = j
		}
	}
}

// projectInputs sets z (row i at z[i·4H:]) to the input projections x_t·Wx + b of step t of
// samples [lo, lo+rows): their inputs quantized, or their tokens' int8 rows looked up, then
// one multiply. in holds the part's inputs, row i of step s at in[(s·ldin+i)·d:].
func (ws *Workspace) projectInputs(p *pass, sc *scratch, lo, rows, t int, in []float32, ldin, xlda int, z []float32) {
	l, table := p.l, ws.m.Embed
	d, h4 := l.InputDim, 4*l.NumUnits
	if p.tokens == nil && !p.reversed {
		// Step t's rows of the part lie side by side.
		qkernel.QuantizeRows(rows, d, sc.xq, xlda, in[t*ldin*d:], d, sc.xs, sc.xsum)
	}
	for i := range rows {
		if p.tokens == nil && !p.reversed {
			break
		}
		b := lo + i
		n, s := ws.lengths[b], t
		if p.reversed {
			s = mirror(t, n)
		}
		xrow := sc.xq[i*xlda : (i+1)*xlda]
		if p.tokens != nil {
			id := int32(0)
			if s < n && s < len(p.tokens[b]) {
				id = p.tokens[b][s]
			}
			copy(xrow, table.Values[int(id)*d:int(id+1)*d])
			clear(xrow[d:])
			// The row's sum, which the kernel subtracts, made here rather than kept for
			// every row: the table's pages are then read only for the rows used.
			qkernel.DequantizeRows(1, d, nil, xrow[:d], nil, sc.xsum[i:i+1])
			sc.xs[i] = table.Scale[id]
			continue
		}
		sc.xs[i], sc.xsum[i] = qkernel.Quantize(xrow, in[(s*ldin+i)*d:(s*ldin+i+1)*d])
	}
	qkernel.Gemm(rows, sc.xq, xlda, sc.xsum, sc.xs, l.px, false, z, h4)
}

// pool reduces the top layer's outputs out ([steps][batch][E]) to ws.pooled ([batch][E]), as
// lstm.Model's pooling does (package pooling).
func (m *Model) pool(ws *Workspace, out []float32) {
	batch, e, steps := len(ws.lengths), m.Config.OutputDim(), ws.steps
	o := pooling.Outputs[float32]{Out: out, Lengths: ws.lengths, Steps: steps, E: e}
	if m.Reverse != nil {
		o.H = m.Config.NumUnits
	}
	var att *pooling.Attend[float32]
	if m.Config.Pooling == lstm.PoolAttention {
		rows := steps * batch
		ws.attU = grow(ws.attU, rows*len(m.AttnB))
		ws.alpha = grow(ws.alpha, rows)
		att = &pooling.Attend[float32]{W: m.AttnW, B: m.AttnB, V: m.AttnV, U: ws.attU, Alpha: ws.alpha}
	}
	pooling.Reduce(pooling.Kind(m.Config.Pooling), o, ws.pooled, nil, att)
}

// mirror returns the step that step t of a sample of n real steps holds in a backward
// direction's order: its real steps reversed, its padding steps in place.
func mirror(t, n int) int {
	if t < n {
		return n - 1 - t
	}
	return t
}

// span returns part p of parts of [0, n).
func span(n, parts, p int) (lo, hi int) {
	return n * p / parts, n * (p + 1) / parts
}

// grow returns s resliced to n values, reallocated only when its capacity is too small.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// Dequantize returns the float32 model that m's int8 weights stand for: what a program that
// reads lstm.Model (a summary, an export) sees of a quantized model. Its Forward gives about
// what m's does, without the activations' quantization.
func (m *Model) Dequantize() *lstm.Model[float32] {
	f, err := lstm.NewZero[float32](m.Config)
	if err != nil {
		panic(err) // Prepare has validated the config
	}
	fill := func(dst *lstm.Layer[float32], l *Layer) {
		n := copy(dst.W.Value, l.Wx.Dequantize())
		copy(dst.W.Value[n:], l.Wh.Dequantize())
		copy(dst.B.Value, l.B)
	}
	for i, l := range m.Layers {
		fill(f.Layers[i], l)
		if m.Reverse != nil {
			fill(f.Reverse[i], m.Reverse[i])
		}
	}
	if f.AttnW != nil {
		copy(f.AttnW.Value, m.AttnW)
		copy(f.AttnB.Value, m.AttnB)
		copy(f.AttnV.Value, m.AttnV)
	}
	copy(f.HeadW.Value, m.HeadW)
	copy(f.HeadB.Value, m.HeadB)
	return f
}
