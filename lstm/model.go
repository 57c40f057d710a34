package lstm

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"unsafe"

	"github.com/seqclf/seqclf/lstm/internal/kernel"
	"github.com/seqclf/seqclf/lstm/internal/pooling"
)

// Pooling says how a sample's per-step outputs of the top layer become the one vector the head
// reads. Every mode reads only the sample's real steps.
type Pooling int

const (
	// PoolLast reads the output at the sample's last real step (the seed's choice).
	PoolLast Pooling = iota
	// PoolMean averages the outputs over the real steps.
	PoolMean
	// PoolMax takes the elementwise maximum over the real steps.
	PoolMax
	// PoolAttention weighs the outputs of the real steps by a learned additive attention
	// (see the package doc) and sums them.
	PoolAttention
)

var poolingNames = [...]string{"last", "mean", "max", "attention"}

// String returns the pooling's name as the config writes it: last, mean, max or attention.
func (p Pooling) String() string {
	if p < 0 || int(p) >= len(poolingNames) {
		return fmt.Sprintf("Pooling(%d)", int(p))
	}
	return poolingNames[p]
}

// ParsePooling returns the pooling named s (last, mean, max or attention).
func ParsePooling(s string) (Pooling, error) {
	for i, n := range poolingNames {
		if s == n {
			return Pooling(i), nil
		}
	}
	return 0, fmt.Errorf("unknown pooling %q: use one of %s", s, strings.Join(poolingNames[:], ", "))
}

// Cell is the recurrent cell of a model's layers.
type Cell int

const (
	// CellLSTM is the seed's LSTM cell (see the package doc).
	CellLSTM Cell = iota
	// CellGRU is the gated recurrent unit, with PyTorch's nn.GRU equations.
	CellGRU
)

var cellNames = [...]string{"lstm", "gru"}

// String returns the cell's name as the config writes it: lstm or gru.
func (c Cell) String() string {
	if c < 0 || int(c) >= len(cellNames) {
		return fmt.Sprintf("Cell(%d)", int(c))
	}
	return cellNames[c]
}

// ParseCell returns the cell named s (lstm or gru; "" is lstm).
func ParseCell(s string) (Cell, error) {
	if s == "" {
		return CellLSTM, nil
	}
	for i, n := range cellNames {
		if s == n {
			return Cell(i), nil
		}
	}
	return 0, fmt.Errorf("unknown cell %q: use one of %s", s, strings.Join(cellNames[:], ", "))
}

// Config is the shape of a model, in the seed's words.
type Config struct {
	InputDim  int     // the size of one time step's input: the embedding dim, or 28 pixels for MNIST rows
	NumUnits  int     // num_units: the neurons of each gate, the size of h and c
	NumLayers int     // stacked LSTM layers, ≥ 1
	Classes   int     // outputs of the dense head, ≥ 2
	Pooling   Pooling // how the head reads the top layer's outputs
	Dropout   float64 // dropout between stacked layers while training, in [0, 1)
	// InputDropout drops inputs of the bottom layer while training (each value of each step,
	// as nn.Dropout on an embedding's output), in [0, 1).
	InputDropout float64
	// WordDropout drops whole steps of the bottom layer's inputs while training: each step of
	// each sample is zeroed with this probability (a token's embedding dropped entirely) and
	// the kept ones scaled by 1/(1-p), in [0, 1). It composes with InputDropout.
	WordDropout float64
	// Cell is the layers' cell: LSTM (the zero value) or GRU.
	Cell Cell
	// Bidirectional adds to each layer a backward direction over each sample's real steps; its
	// outputs are concatenated to the forward direction's, so the next layer and the head read
	// 2·NumUnits values a step.
	Bidirectional bool
}

// Validate returns an error naming the first field that cannot make a model.
func (c Config) Validate() error {
	switch {
	case c.InputDim <= 0:
		return fmt.Errorf("input dimension is %d: it must be at least 1", c.InputDim)
	case c.NumUnits <= 0:
		return fmt.Errorf("num_units is %d: it must be at least 1", c.NumUnits)
	case c.NumLayers <= 0:
		return fmt.Errorf("num_layers is %d: it must be at least 1", c.NumLayers)
	case c.Classes < 2:
		return fmt.Errorf("classes is %d: a classifier needs at least 2", c.Classes)
	case c.Pooling < PoolLast || c.Pooling > PoolAttention:
		return fmt.Errorf("pooling is %v: use last, mean, max or attention", c.Pooling)
	case c.Cell < CellLSTM || c.Cell > CellGRU:
		return fmt.Errorf("cell is %v: use lstm or gru", c.Cell)
	case !(c.Dropout >= 0 && c.Dropout < 1):
		return fmt.Errorf("dropout is %v: it must be in [0, 1)", c.Dropout)
	case !(c.InputDropout >= 0 && c.InputDropout < 1):
		return fmt.Errorf("input dropout is %v: it must be in [0, 1)", c.InputDropout)
	case !(c.WordDropout >= 0 && c.WordDropout < 1):
		return fmt.Errorf("word dropout is %v: it must be in [0, 1)", c.WordDropout)
	}
	return nil
}

// Directions returns the directions of each layer: 2 when Bidirectional, else 1.
func (c Config) Directions() int {
	if c.Bidirectional {
		return 2
	}
	return 1
}

// OutputDim returns the size of a layer's output at one step, what the next layer, the pooling
// and the head read: NumUnits times the directions.
func (c Config) OutputDim() int { return c.Directions() * c.NumUnits }

// Model is a stack of recurrent layers and a dense head from the pooled output to Classes. It
// holds only parameters: the buffers of a forward pass live in a Workspace.
type Model[T Float] struct {
	Config Config
	Layers []*Layer[T]
	// Reverse holds each layer's backward direction when Config.Bidirectional is set; nil
	// otherwise.
	Reverse []*Layer[T]
	// AttnW (OutputDim × NumUnits), AttnB (NumUnits) and AttnV (NumUnits × 1) are the additive
	// attention's parameters when Config.Pooling is PoolAttention; nil otherwise.
	AttnW, AttnB, AttnV *Param[T]
	// HeadW (OutputDim × Classes) and HeadB (Classes) map the pooled output to the logits.
	HeadW, HeadB *Param[T]
	params       []*Param[T]
	frozen       bool
}

// Freeze marks m's weights as fixed from now on, for a model that only answers (a
// classify.Classifier freezes its model): passes may then keep copies of the weights in other
// layouts, made once rather than at every pass (the panels of a one-sample pass: a fifth of the
// caller's time on 28 steps of MNIST rows). Call it before passes run on other goroutines. Changing
// the weights afterwards is a programmer's error: TrainStep and Backward panic, and a write to a
// Param's Value is not seen by the copies.
func (m *Model[T]) Freeze() {
	m.frozen = true
	for _, ls := range [][]*Layer[T]{m.Layers, m.Reverse} {
		for _, l := range ls {
			if l.frozen == nil {
				l.frozen = &frozenLayer[T]{}
			}
		}
	}
}

// Frozen reports whether Freeze was called.
func (m *Model[T]) Frozen() bool { return m.frozen }

// MemoInputs makes the frozen model m remember, in its first layer (both directions), the input
// projection x·Wx + b of each distinct input row it meets, up to maxBytes in all for each
// direction (a row costs InputDim + 4·NumUnits values), so that a pass over a row met before
// copies its projection rather than multiplying it. It pays for inputs drawn from a finite set,
// as a text model's token embeddings are: on the benchmark's mails (100 dimensions, 128 units)
// the multiply is 44% of a pass's multiply-adds, at any batch size;
// rows that seldom repeat (MNIST's pixel rows) would only fill it. MemoRows fills it ahead.
//
// One-sample passes keep their bits. A batch of five samples or more then sums as batches of
// two to four do (the projection first, then h·Wh added at each step): a one-layer model gives
// a sample the same bits in a batch of any size from two, and may differ in the last bits from
// the model that does not remember, which sums x·Wx and h·Wh in one chain from five samples on.
// Layers it cannot help are left alone: GRU layers, units not a multiple of 64, float64, no
// assembly kernels. Call it after Freeze and before passes run on other goroutines; maxBytes ≤ 0
// (or too small for one row) turns it off. It panics on a model that is not frozen.
func (m *Model[T]) MemoInputs(maxBytes int) {
	if !m.frozen {
		panic(errNotFrozen)
	}
	for _, ls := range [][]*Layer[T]{m.Layers, m.Reverse} {
		if len(ls) > 0 && remembers(ls[0]) {
			l := ls[0]
			l.frozen.memo = newInputMemo(l, maxBytes)
		}
	}
}

// remembers reports whether layer l's one-sample passes could use a memory of its input
// projections: forwardOne's layers (float32 LSTM, units a multiple of 64, assembly kernels).
func remembers[T Float](l *Layer[T]) bool {
	var zero T
	isa, _ := kernel.ISA()
	return l.Cell == CellLSTM && l.NumUnits%64 == 0 && unsafe.Sizeof(zero) == 4 && isa != "go"
}

// MemoHeld returns the number of input rows whose projections the first layer's forward
// direction remembers (MemoInputs).
func (m *Model[T]) MemoHeld() int {
	if len(m.Layers) == 0 || m.Layers[0].frozen == nil || m.Layers[0].frozen.memo == nil {
		return 0
	}
	return m.Layers[0].frozen.memo.held()
}

// errNotFrozen is MemoInputs' panic on a model that is not frozen.
const errNotFrozen = "lstm: MemoInputs on a model that is not frozen (call Freeze first)"

// errFrozen is the panic of a pass that would change a frozen model's weights.
const errFrozen = "lstm: training a frozen model (Model.Freeze)"

// New returns a model of the given shape, initialised from rng: each layer (forward direction,
// then backward) as its cell says, then the head's weights Glorot-uniform and its biases zero,
// then the attention's weights Glorot-uniform and its biases zero.
func New[T Float](cfg Config, rng *rand.Rand) (*Model[T], error) {
	m, err := NewZero[T](cfg)
	if err != nil {
		return nil, err
	}
	for i, l := range m.Layers {
		l.init(rng)
		if m.Reverse != nil {
			m.Reverse[i].init(rng)
		}
	}
	e := cfg.OutputDim()
	glorotUniform(m.HeadW.Value, 0, cfg.Classes, e, cfg.Classes, rng)
	if m.AttnW != nil {
		a := m.AttnB.Cols
		glorotUniform(m.AttnW.Value, 0, a, e, a, rng)
		glorotUniform(m.AttnV.Value, 0, 1, a, 1, rng)
	}
	return m, nil
}

// NewZero returns a model of the given shape with every parameter zero, to be filled with
// stored weights.
func NewZero[T Float](cfg Config) (*Model[T], error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Model[T]{Config: cfg}
	in, h := cfg.InputDim, cfg.NumUnits
	newLayer := func(name string) *Layer[T] {
		l := &Layer[T]{InputDim: in, NumUnits: h, Cell: cfg.Cell,
			W: newParam[T](name+".w", in+h, 4*h), B: newParam[T](name+".b", 1, 4*h)}
		m.params = append(m.params, l.W, l.B)
		return l
	}
	for i := range cfg.NumLayers {
		name := fmt.Sprintf("%v.%d", cfg.Cell, i)
		m.Layers = append(m.Layers, newLayer(name))
		if cfg.Bidirectional {
			m.Reverse = append(m.Reverse, newLayer(name+".reverse"))
		}
		in = cfg.OutputDim()
	}
	if cfg.Pooling == PoolAttention {
		m.AttnW = newParam[T]("attention.w", cfg.OutputDim(), h)
		m.AttnB = newParam[T]("attention.b", 1, h)
		m.AttnV = newParam[T]("attention.v", h, 1)
		m.params = append(m.params, m.AttnW, m.AttnB, m.AttnV)
	}
	m.HeadW = newParam[T]("head.w", cfg.OutputDim(), cfg.Classes)
	m.HeadB = newParam[T]("head.b", 1, cfg.Classes)
	m.params = append(m.params, m.HeadW, m.HeadB)
	return m, nil
}

// Params returns the model's parameters in a fixed order: each layer's W and B (the forward
// direction's, then the backward's), the attention's W, B and V, then the head's.
// The slice is the model's own: do not change it.
func (m *Model[T]) Params() []*Param[T] {
	return m.params
}

// NumParams returns the number of free trainable values: each layer's and direction's
// Layer.NumParams, the attention's E·H + 2·H, and E·classes + classes for the head,
// where E is Config.OutputDim. A GRU's zero blocks are not counted.
func (m *Model[T]) NumParams() int {
	n := NumParams(m.params)
	for _, l := range append(m.Layers[:len(m.Layers):len(m.Layers)], m.Reverse...) {
		n -= len(l.W.Value) + len(l.B.Value) - l.NumParams()
	}
	return n
}

// Batch is one batch of padded sequences, time-major (see Padding in the package doc).
type Batch[T Float] struct {
	// X holds the inputs, [Steps][len(Lengths)][InputDim]. A sample's values at its padding
	// steps do not change any result but must be finite (zeros, say): a NaN there would reach
	// the weights' gradients.
	X       []T
	Lengths []int // the real steps of each sample, in [0, Steps]
	Steps   int   // the time steps of X, at least the longest length
	Labels  []int // the class of each sample, for TrainStep; Forward and ForwardTrain do not read it
}

// TrainOptions are the knobs of one training step beyond the optimizer.
type TrainOptions[T Float] struct {
	ClassWeights []T     // per-class loss weights, or nil for all 1
	ClipNorm     float64 // clip the gradients' global norm to this, if > 0
	// LabelSmoothing mixes each target with the uniform distribution over the classes, as
	// PyTorch's nn.CrossEntropyLoss(label_smoothing=ε); in [0, 1).
	LabelSmoothing float64
}

// TrainStep runs one training step on b: ForwardTrain with dropout drawn from rng (which may be
// nil only for a model without dropout), Loss against b.Labels, Backward from zeroed gradients,
// clipping, and opt.Step. It returns the batch's loss. The inputs' gradient is left in
// ws.InputGrad for a trainable embedding table.
func (m *Model[T]) TrainStep(ws *Workspace[T], b Batch[T], opt Optimizer[T], o TrainOptions[T], rng *rand.Rand) (float64, error) {
	m.ForwardTrain(ws, b, rng)
	loss, err := m.SmoothedLoss(ws, b.Labels, o.ClassWeights, o.LabelSmoothing)
	if err != nil {
		return 0, err
	}
	ZeroGrad(m.params)
	m.Backward(ws)
	if o.ClipNorm > 0 {
		ClipGradNorm(m.params, o.ClipNorm)
	}
	opt.Step(m.params)
	return loss, nil
}

// Workspace holds the buffers of forward and backward passes. Its buffers grow to the largest
// batch seen and are reused, so a training loop allocates nothing once its first batch has run.
// A workspace serves one goroutine at a time.
type Workspace[T Float] struct {
	// Threads is the most goroutines a pass uses (its samples split among them); NewWorkspace
	// sets it to GOMAXPROCS. The results do not depend on it.
	Threads int
	// SkipInputGrad spares Backward the gradient with respect to the inputs, when nothing reads
	// it (inputs that are not trained, as MNIST's pixels); InputGrad is then stale.
	SkipInputGrad bool
	// ForwardOnly makes a forward pass keep of the gates and cell states only what the next step
	// needs, for inference: a batch of long sequences then takes a fraction of the memory.
	// Outputs still works; Backward panics.
	ForwardOnly bool

	passes  []*pass[T]
	steps   int
	units   int
	lengths []int
	x       []T
	train   bool
	layers  []layerBuffers[T]
	in      [][]T // in[l], l ≥ 1: the input of layer l after dropout
	mask    [][]T // mask[l], l ≥ 1: the dropout mask applied to it, 0 or 1/(1-p)
	// The backward directions of a bidirectional model: their passes and buffers, the input of
	// each layer with each sample's real steps in reverse order (mirror), each layer's output
	// (both directions side by side, in time order) and the gradient with respect to it.
	rpasses []*pass[T]
	rlayers []layerBuffers[T]
	rin     [][]T
	cat     [][]T // T·B·2H
	dcat    [][]T // T·B·2H
	pooled  []T   // B·E
	argmax  []int32
	// Attention pooling: tanh(out·W + b) for every step (T·B·A), the weights α of the real steps
	// (T·B), the gradient with respect to them (T·B), and the gradient with respect to the
	// pre-activations (T·B·A).
	attU, alpha, attD []T
	dalpha            []float64
	logits            []T  // B·C
	probs             []T  // B·C
	fresh             bool // probs holds the softmax of the last forward pass's logits
	dlogits           []T  // B·C
	dpooled           []T  // B·H
	lossed            bool
}

// NewWorkspace returns an empty workspace for m.
func (m *Model[T]) NewWorkspace() *Workspace[T] {
	n := m.Config.NumLayers
	ws := &Workspace[T]{Threads: runtime.GOMAXPROCS(0), layers: make([]layerBuffers[T], n), in: make([][]T, n), mask: make([][]T, n)}
	for range n {
		ws.passes = append(ws.passes, newPass[T]())
	}
	if m.Config.Bidirectional {
		ws.rlayers, ws.rin, ws.cat, ws.dcat = make([]layerBuffers[T], n), make([][]T, n), make([][]T, n), make([][]T, n)
		for range n {
			ws.rpasses = append(ws.rpasses, newPass[T]())
		}
	}
	return ws
}

// forwardOnlyFrom is the size of the gates' buffer, in values, above which a ForwardOnly pass
// keeps one step of it. Below, all steps are kept, so that a batch of a few samples can make the
// input projection of all steps in one multiply (projectAllBelow; one sample: a matrix-vector
// product per step saved).
var forwardOnlyFrom = 1 << 20

// parts returns how many parts of samples a pass over a batch of the given size is cut into:
// with several threads, blocks of partSamples or more, up to four a thread, so that a core
// slowed by others on a shared machine leaves its share to the free one (and at least one part
// a thread, of 8 samples or more).
func (ws *Workspace[T]) parts(batch int) int {
	if ws.Threads <= 1 {
		return 1
	}
	return max(1, min(ws.Threads, batch/8), min(4*ws.Threads, batch/partSamples))
}

// partSamples is the smallest part of a multi-threaded pass, in samples: a batch of 128 in 8
// parts, of 256 in 8 (four a thread). With a process busy half the time on one of the 2 cores, a
// training step of MNIST rows went from a median 7,360 samples/s (two fixed halves) to 7,910
// (parts of 32) and 9,830 (parts of 16); with both cores free, 9,180, 10,220 and 11,300 (four
// rounds alternated, BenchmarkTrainStep).
const partSamples = 16

// Outputs returns the per-step outputs h_t of layer l (0 is the bottom) from the last forward
// pass (Forward or ForwardTrain), shaped [time_step][batch_size][num_units] as in the seed's
// figure, or [time_step][batch_size][2·num_units] for a bidirectional model (the forward
// direction's output, then the backward direction's, at each step). At a sample's padding steps
// the forward direction's repeat its last real output and the backward direction's its output
// at step 0. The slice belongs to ws.
func (ws *Workspace[T]) Outputs(l int) []T {
	if ws.cat != nil {
		return ws.cat[l]
	}
	bh := len(ws.lengths) * ws.units
	return ws.layers[l].hs[bh : (ws.steps+1)*bh]
}

// mirror returns the step that step t of a sample of n real steps holds in the reversed order of
// a backward direction: its real steps in reverse, its padding steps in place.
func mirror(t, n int) int {
	if t < n {
		return n - 1 - t
	}
	return t
}

// reverseSteps writes into dst the time-major src ([steps][batch][dim]) with each sample's real
// steps reversed (mirror). Applied twice it gives src back.
func reverseSteps[T Float](dst, src []T, lengths []int, steps, dim int) {
	batch := len(lengths)
	for t := range steps {
		for b, n := range lengths {
			s := (mirror(t, n)*batch + b) * dim
			copy(dst[(t*batch+b)*dim:(t*batch+b+1)*dim], src[s:s+dim])
		}
	}
}

// InputGrad returns the gradient of the loss with respect to the inputs x of the last Backward,
// shaped like x: [time_step][batch_size][input_dim]. The slice belongs to ws.
func (ws *Workspace[T]) InputGrad() []T {
	return ws.layers[0].dx
}

// Forward runs the model on b for inference, without dropout, and returns the logits,
// [len(b.Lengths)][Classes], which belong to ws.
func (m *Model[T]) Forward(ws *Workspace[T], b Batch[T]) []T {
	return m.forward(ws, b, false, nil)
}

// ForwardTrain runs the model on b as a training step does: the dropout of Config.InputDropout
// and Config.Dropout draws its masks from rng, which may be nil only for a model without dropout.
// It returns the logits as Forward does. Loss and Backward then give the gradients of this pass;
// TrainStep runs all three and the optimizer's step.
func (m *Model[T]) ForwardTrain(ws *Workspace[T], b Batch[T], rng *rand.Rand) []T {
	if rng == nil && m.drawsMasks() {
		panic("lstm: training with dropout needs a random source for its masks, got a nil rng")
	}
	return m.forward(ws, b, true, rng)
}

// forward runs the model on bt, with dropout drawn from rng when train is set.
func (m *Model[T]) forward(ws *Workspace[T], bt Batch[T], train bool, rng *rand.Rand) []T {
	cfg := m.Config
	steps := bt.Steps
	batch, h, c := len(bt.Lengths), cfg.NumUnits, cfg.Classes
	for b, n := range bt.Lengths {
		if n < 0 || n > steps {
			panic(fmt.Sprintf("lstm: sample %d has length %d, outside [0, %d]", b, n, steps))
		}
	}
	ws.steps, ws.units, ws.x, ws.train, ws.lossed, ws.fresh = steps, h, bt.X, train, false, false
	ws.lengths = append(ws.lengths[:0], bt.Lengths...)
	e := cfg.OutputDim()
	in := bt.X
	for l, layer := range m.Layers {
		buf := &ws.layers[l]
		all := !ws.ForwardOnly || steps*batch*4*h <= forwardOnlyFrom
		buf.resize(steps, batch, h, all, cfg.Cell)
		if p := m.dropout(l); train && m.masked(l) {
			ws.in[l] = grow(ws.in[l], len(in))
			ws.mask[l] = grow(ws.mask[l], len(in))
			mask := ws.mask[l]
			if p > 0 {
				keep := 1 - p
				scale := T(1 / keep)
				thr := keepBelow(keep)
				for i := range mask {
					var k T
					if rng.Uint64()&(1<<53-1) < thr {
						k = scale
					}
					mask[i] = k
				}
			} else {
				for i := range mask {
					mask[i] = 1
				}
			}
			if l == 0 && cfg.WordDropout > 0 {
				m.dropWords(mask, steps, batch, rng)
			}
			for i, v := range in {
				ws.in[l][i] = v * mask[i]
			}
			in = ws.in[l]
		} else {
			ws.in[l] = in
		}
		ws.run(ws.passes[l], layer, buf, in)
		if m.Reverse == nil {
			in = buf.hs[batch*h : (steps+1)*batch*h]
			continue
		}
		rbuf := &ws.rlayers[l]
		rbuf.resize(steps, batch, h, all, cfg.Cell)
		ws.rin[l] = grow(ws.rin[l], len(in))
		reverseSteps(ws.rin[l], in, ws.lengths, steps, layer.InputDim)
		ws.run(ws.rpasses[l], m.Reverse[l], rbuf, ws.rin[l])
		// Side by side, in time order: the forward output at t, the backward one at mirror(t).
		ws.cat[l] = grow(ws.cat[l], steps*batch*e)
		fw, bw := buf.hs[batch*h:], rbuf.hs[batch*h:]
		for t := range steps {
			for b, n := range ws.lengths {
				row := ws.cat[l][(t*batch+b)*e : (t*batch+b+1)*e]
				copy(row[:h], fw[(t*batch+b)*h:])
				copy(row[h:], bw[(mirror(t, n)*batch+b)*h:(mirror(t, n)*batch+b+1)*h])
			}
		}
		in = ws.cat[l]
	}
	ws.pooled = grow(ws.pooled, batch*e)
	m.pool(ws, in)
	ws.logits = grow(ws.logits, batch*c)
	for b := range batch {
		copy(ws.logits[b*c:(b+1)*c], m.HeadB.Value)
	}
	kernel.Gemm(false, false, batch, c, e, 1, ws.pooled, e, m.HeadW.Value, c, 1, ws.logits, c)
	return ws.logits
}

// run runs one direction of one layer over x.
func (ws *Workspace[T]) run(r *pass[T], l *Layer[T], buf *layerBuffers[T], x []T) {
	r.l, r.buf, r.x, r.lengths, r.steps = l, buf, x, ws.lengths, ws.steps
	r.threads, r.parts = ws.Threads, ws.parts(len(ws.lengths))
	r.forwardOnly = ws.ForwardOnly
	r.forward()
}

// pool reduces the top layer's outputs out ([steps][batch][E]) to ws.pooled ([batch][E]), as
// package pool does; max pooling keeps each value's step in ws.argmax for the backward pass.
func (m *Model[T]) pool(ws *Workspace[T], out []T) {
	batch, e, steps := len(ws.lengths), m.Config.OutputDim(), ws.steps
	o := pooling.Outputs[T]{Out: out, Lengths: ws.lengths, Steps: steps, E: e}
	if m.Reverse != nil {
		o.H = m.Config.NumUnits
	}
	var att *pooling.Attend[T]
	var argmax []int32
	switch m.Config.Pooling {
	case PoolMax:
		ws.argmax = grow(ws.argmax, batch*e)
		argmax = ws.argmax
	case PoolAttention:
		rows := steps * batch
		ws.attU = grow(ws.attU, rows*m.AttnB.Cols)
		ws.alpha = grow(ws.alpha, rows)
		att = &pooling.Attend[T]{W: m.AttnW.Value, B: m.AttnB.Value, V: m.AttnV.Value, U: ws.attU, Alpha: ws.alpha}
	}
	pooling.Reduce(pooling.Kind(m.Config.Pooling), o, ws.pooled, argmax, att)
}

// attendBackward adds the gradients of the attention's parameters and, into dout, the gradient
// with respect to the pooled outputs out, from ws.dpooled.
func (m *Model[T]) attendBackward(ws *Workspace[T], out, dout []T) {
	batch, e, steps := len(ws.lengths), m.Config.OutputDim(), ws.steps
	a := m.AttnB.Cols
	rows := steps * batch
	ws.attD = grow(ws.attD, rows*a)
	ws.dalpha = grow(ws.dalpha, rows)
	clear(ws.attD)
	v, dv := m.AttnV.Value, m.AttnV.Grad
	for b, n := range ws.lengths {
		dp := ws.dpooled[b*e : (b+1)*e]
		// dα_t = dpooled·out_t; ds_t = α_t·(dα_t − Σ α·dα).
		var mean float64
		for t := range n {
			i := t*batch + b
			ws.dalpha[i] = dot(dp, out[i*e:(i+1)*e])
			mean += float64(ws.alpha[i]) * ws.dalpha[i]
		}
		for t := range n {
			i := t*batch + b
			al := ws.alpha[i]
			ds := T(float64(al) * (ws.dalpha[i] - mean))
			u, d := ws.attU[i*a:(i+1)*a], ws.attD[i*a:(i+1)*a]
			kernel.Axpy(ds, u, dv)
			for j, uj := range u {
				d[j] = ds * v[j] * (1 - uj*uj)
			}
			kernel.Axpy(al, dp, dout[i*e:(i+1)*e])
		}
	}
	kernel.Gemm(true, false, e, a, rows, 1, out, e, ws.attD, a, 1, m.AttnW.Grad, a)
	kernel.AddColumnSums(m.AttnB.Grad, ws.attD)
	kernel.Gemm(false, true, rows, e, a, 1, ws.attD, a, m.AttnW.Value, a, 1, dout, e)
}

// dot returns x·y, summed in float64.
func dot[T Float](x, y []T) float64 {
	var s float64
	for i, v := range x {
		s += float64(v) * float64(y[i])
	}
	return s
}

// Probs returns the softmax of the last forward pass's logits, [batch][Classes]; the slice belongs
// to ws. A Loss since that pass has made them already: they are not made again.
func (m *Model[T]) Probs(ws *Workspace[T]) []T {
	if ws.fresh {
		return ws.probs
	}
	c := m.Config.Classes
	ws.probs = grow(ws.probs, len(ws.logits))
	for r := 0; r < len(ws.logits); r += c {
		softmax(ws.probs[r:r+c], ws.logits[r:r+c])
	}
	ws.fresh = true
	return ws.probs
}

// softmax writes the softmax of z into p, subtracting max(z) first so that no exp overflows,
// and returns log Σ exp(z), the log-sum-exp.
func softmax[T Float](p, z []T) float64 {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, float64(v))
	}
	var s float64
	for j, v := range z {
		e := math.Exp(float64(v) - mx)
		p[j] = T(e)
		s += e
	}
	for j := range p {
		p[j] = T(float64(p[j]) / s)
	}
	return mx + math.Log(s)
}

// ErrLabel is returned by Loss for a label outside [0, Classes).
var ErrLabel = errors.New("lstm: label out of range")

// Loss returns the softmax cross-entropy of the last forward pass's logits against labels, the
// mean over the batch of -log p(label), each sample weighted by classWeights[label] when
// classWeights is not nil (the weighted mean Σ w_b·ℓ_b / Σ w_b, as PyTorch's
// nn.CrossEntropyLoss). It keeps the gradient with respect to the logits for Backward.
func (m *Model[T]) Loss(ws *Workspace[T], labels []int, classWeights []T) (float64, error) {
	return m.SmoothedLoss(ws, labels, classWeights, 0)
}

// SmoothedLoss is Loss against targets smoothed by ε: each sample's target puts 1-ε+ε/C on its
// label and ε/C on every other class, as PyTorch's nn.CrossEntropyLoss(weight,
// label_smoothing=ε), whose smoothing term weighs class j by classWeights[j] and whose mean
// divides by Σ w_label. ε = 0 is Loss.
func (m *Model[T]) SmoothedLoss(ws *Workspace[T], labels []int, classWeights []T, smoothing float64) (float64, error) {
	c := m.Config.Classes
	batch := len(ws.lengths)
	if len(labels) != batch {
		panic(fmt.Sprintf("lstm: %d labels for a batch of %d", len(labels), batch))
	}
	if classWeights != nil && len(classWeights) != c {
		panic(fmt.Sprintf("lstm: %d class weights for %d classes", len(classWeights), c))
	}
	if !(smoothing >= 0 && smoothing < 1) {
		panic(fmt.Sprintf("lstm: label smoothing %v outside [0, 1)", smoothing))
	}
	weight := func(j int) float64 {
		if classWeights == nil {
			return 1
		}
		return float64(classWeights[j])
	}
	// The smoothing term's weights: Σ_j w_j, and ε/C.
	wall := float64(c)
	if classWeights != nil {
		wall = 0
		for j := range c {
			wall += weight(j)
		}
	}
	eps := smoothing / float64(c)
	ws.probs = grow(ws.probs, batch*c)
	ws.dlogits = grow(ws.dlogits, batch*c)
	var loss, wsum float64
	for b, y := range labels {
		if y < 0 || y >= c {
			return 0, fmt.Errorf("%w: sample %d has label %d, want 0..%d", ErrLabel, b, y, c-1)
		}
		w := weight(y)
		z, p := ws.logits[b*c:(b+1)*c], ws.probs[b*c:(b+1)*c]
		lse := softmax(p, z)
		loss += (1 - smoothing) * w * (lse - float64(z[y]))
		if smoothing > 0 {
			for j, zj := range z {
				loss += eps * weight(j) * (lse - float64(zj))
			}
		}
		wsum += w
	}
	for b, y := range labels {
		w := (1 - smoothing) * weight(y)
		p, d := ws.probs[b*c:(b+1)*c], ws.dlogits[b*c:(b+1)*c]
		for j := range d {
			g := (w + eps*wall) * float64(p[j])
			if smoothing > 0 {
				g -= eps * weight(j)
			}
			d[j] = T(g / wsum)
		}
		d[y] -= T(w / wsum)
	}
	ws.lossed, ws.fresh = true, true
	return loss / wsum, nil
}

// Backward propagates the gradient of the last Loss back through the head, the pooling and every
// layer, adding the parameters' gradients into their Grad (call ZeroGrad between steps) and
// leaving the inputs' gradient in ws.InputGrad. After ForwardTrain it differentiates the pass
// with its dropout masks; after Forward, the model without dropout.
func (m *Model[T]) Backward(ws *Workspace[T]) {
	if m.frozen {
		panic(errFrozen)
	}
	if !ws.lossed {
		panic("lstm: Backward without a Loss after the last forward pass")
	}
	if ws.ForwardOnly {
		panic("lstm: Backward on a ForwardOnly workspace")
	}
	cfg := m.Config
	batch, h, c, steps, e := len(ws.lengths), cfg.NumUnits, cfg.Classes, ws.steps, cfg.OutputDim()
	be := batch * e
	// Head: dW += pooledᵀ·dlogits, db += Σ dlogits, dpooled = dlogits·Wᵀ.
	kernel.Gemm(true, false, e, c, batch, 1, ws.pooled, e, ws.dlogits, c, 1, m.HeadW.Grad, c)
	kernel.AddColumnSums(m.HeadB.Grad, ws.dlogits)
	ws.dpooled = grow(ws.dpooled, be)
	kernel.Gemm(false, true, batch, e, c, 1, ws.dlogits, c, m.HeadW.Value, c, 0, ws.dpooled, e)

	for l, layer := range m.Layers {
		ws.layers[l].resizeBackward(steps, batch, h, layer.InputDim)
		if m.Reverse != nil {
			ws.rlayers[l].resizeBackward(steps, batch, h, layer.InputDim)
			ws.dcat[l] = grow(ws.dcat[l], steps*be)
		}
	}
	top := len(m.Layers) - 1
	dh := ws.dout(top)
	for _, r := range ws.passes {
		r.dhFrom = 0
	}
	if cfg.Pooling == PoolLast && m.Reverse == nil && steps > 0 {
		// Only the last step's outputs reach the head: backward treats the steps before as
		// zero without reading them, so they need not be cleared.
		ws.passes[top].dhFrom = steps - 1
		clear(dh[(steps-1)*be:])
	} else {
		clear(dh)
	}
	switch cfg.Pooling {
	case PoolLast:
		if steps > 0 {
			copy(dh[(steps-1)*be:], ws.dpooled)
			if m.Reverse != nil {
				for b := range batch {
					clear(dh[(steps-1)*be+b*e+h : (steps-1)*be+(b+1)*e])
					copy(dh[b*e+h:(b+1)*e], ws.dpooled[b*e+h:(b+1)*e])
				}
			}
		}
	case PoolMean:
		for b, n := range ws.lengths {
			for t := range n {
				kernel.Axpy(1/T(n), ws.dpooled[b*e:(b+1)*e], dh[t*be+b*e:t*be+(b+1)*e])
			}
		}
	case PoolMax:
		for i, t := range ws.argmax[:be] {
			if t >= 0 {
				dh[int(t)*be+i] += ws.dpooled[i]
			}
		}
	case PoolAttention:
		m.attendBackward(ws, ws.Outputs(top), dh)
	}
	for l := top; l >= 0; l-- {
		buf := &ws.layers[l]
		skip := l == 0 && ws.SkipInputGrad
		if m.Reverse != nil {
			// Each direction's share of the gradient, the backward one's in its own order.
			rbuf := &ws.rlayers[l]
			for t := range steps {
				for b, n := range ws.lengths {
					row := ws.dcat[l][(t*batch+b)*e : (t*batch+b+1)*e]
					copy(buf.dh[(t*batch+b)*h:(t*batch+b+1)*h], row[:h])
					mt := mirror(t, n)
					copy(rbuf.dh[(mt*batch+b)*h:(mt*batch+b+1)*h], row[h:])
				}
			}
		}
		r := ws.passes[l]
		r.skipDX = skip
		r.backward()
		if m.Reverse != nil {
			rbuf, rr := &ws.rlayers[l], ws.rpasses[l]
			rr.skipDX = skip
			rr.backward()
			if !skip {
				d := m.Layers[l].InputDim
				for t := range steps {
					for b, n := range ws.lengths {
						mt := mirror(t, n)
						kernel.Add(buf.dx[(t*batch+b)*d:(t*batch+b+1)*d], buf.dx[(t*batch+b)*d:(t*batch+b+1)*d], rbuf.dx[(mt*batch+b)*d:(mt*batch+b+1)*d])
					}
				}
			}
		}
		dropped := ws.train && m.masked(l)
		switch {
		case l > 0 && dropped:
			kernel.Mul(ws.dout(l-1), buf.dx, ws.mask[l])
		case l > 0:
			copy(ws.dout(l-1), buf.dx)
		case dropped && !r.skipDX:
			kernel.Mul(buf.dx, buf.dx, ws.mask[0])
		}
	}
}

// dout returns the buffer of the gradient with respect to layer l's output: the forward pass's
// dh, or for a bidirectional model the gradient with respect to both directions side by side.
func (ws *Workspace[T]) dout(l int) []T {
	if ws.dcat != nil {
		return ws.dcat[l]
	}
	return ws.layers[l].dh
}

// drawsMasks reports whether a training pass draws dropout masks: for the bottom layer's inputs,
// or between layers when there are two or more.
func (m *Model[T]) drawsMasks() bool {
	for l := range m.Layers {
		if m.masked(l) {
			return true
		}
	}
	return false
}

// keepBelow returns the integer threshold t such that rng.Uint64()&(1<<53−1) < t exactly when
// rng.Float64() < keep would be, from the same draw: Float64 is the low 53 bits over 2⁵³, so the
// masks are the same bits, without a conversion and a division per value.
func keepBelow(keep float64) uint64 {
	return uint64(math.Ceil(keep * (1 << 53)))
}

// dropWords multiplies the bottom layer's mask, [steps][batch][InputDim], by the word dropout's:
// each step of each sample zeroed with probability Config.WordDropout, kept ones scaled by
// 1/(1-p). It draws one number per step and sample, time-major, after the values' masks.
func (m *Model[T]) dropWords(mask []T, steps, batch int, rng *rand.Rand) {
	keep := 1 - m.Config.WordDropout
	scale := T(1 / keep)
	d := m.Config.InputDim
	for t := range steps {
		for b := range batch {
			row := mask[(t*batch+b)*d : (t*batch+b+1)*d]
			k := scale
			if rng.Float64() >= keep {
				k = 0
			}
			for i := range row {
				row[i] *= k
			}
		}
	}
}

// masked reports whether a training pass multiplies layer l's inputs by a dropout mask.
func (m *Model[T]) masked(l int) bool {
	return m.dropout(l) > 0 || l == 0 && m.Config.WordDropout > 0
}

// dropout returns the dropout rate of layer l's inputs while training.
func (m *Model[T]) dropout(l int) float64 {
	if l == 0 {
		return m.Config.InputDropout
	}
	return m.Config.Dropout
}
