package lstm

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"

	"github.com/seqclf/seqclf/lstm/internal/kernel"
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
	}
	return nil
}

// Model is a stack of LSTM layers and a dense head from NumUnits to Classes. It holds only
// parameters: the buffers of a forward pass live in a Workspace.
type Model[T Float] struct {
	Config Config
	Layers []*Layer[T]
	// HeadW (NumUnits × Classes) and HeadB (Classes) map the pooled output to the logits.
	HeadW, HeadB *Param[T]
	params       []*Param[T]
}

// New returns a model of the given shape, initialised from rng: each layer as newLayer says,
// then the head's weights Glorot-uniform and its biases zero.
func New[T Float](cfg Config, rng *rand.Rand) (*Model[T], error) {
	m, err := NewZero[T](cfg)
	if err != nil {
		return nil, err
	}
	for _, l := range m.Layers {
		l.init(rng)
	}
	glorotUniform(m.HeadW.Value, 0, cfg.Classes, cfg.NumUnits, cfg.Classes, rng)
	return m, nil
}

// NewZero returns a model of the given shape with every parameter zero, to be filled with
// stored weights.
func NewZero[T Float](cfg Config) (*Model[T], error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Model[T]{Config: cfg}
	in := cfg.InputDim
	for i := range cfg.NumLayers {
		l := &Layer[T]{
			InputDim: in,
			NumUnits: cfg.NumUnits,
			W:        newParam[T](fmt.Sprintf("lstm.%d.w", i), in+cfg.NumUnits, 4*cfg.NumUnits),
			B:        newParam[T](fmt.Sprintf("lstm.%d.b", i), 1, 4*cfg.NumUnits),
		}
		m.Layers = append(m.Layers, l)
		m.params = append(m.params, l.W, l.B)
		in = cfg.NumUnits
	}
	m.HeadW = newParam[T]("head.w", cfg.NumUnits, cfg.Classes)
	m.HeadB = newParam[T]("head.b", 1, cfg.Classes)
	m.params = append(m.params, m.HeadW, m.HeadB)
	return m, nil
}

// Params returns the model's parameters in a fixed order: each layer's W and B, then the head's.
// The slice is the model's own: do not change it.
func (m *Model[T]) Params() []*Param[T] {
	return m.params
}

// NumParams returns the number of trainable values: Σ over layers of 4·H·(H+input)+4·H, plus
// H·classes + classes for the head.
func (m *Model[T]) NumParams() int {
	return NumParams(m.params)
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
}

// TrainStep runs one training step on b: ForwardTrain with dropout drawn from rng (which may be
// nil only for a model without dropout), Loss against b.Labels, Backward from zeroed gradients,
// clipping, and opt.Step. It returns the batch's loss. The inputs' gradient is left in
// ws.InputGrad for a trainable embedding table.
func (m *Model[T]) TrainStep(ws *Workspace[T], b Batch[T], opt Optimizer[T], o TrainOptions[T], rng *rand.Rand) (float64, error) {
	m.ForwardTrain(ws, b, rng)
	loss, err := m.Loss(ws, b.Labels, o.ClassWeights)
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
	pooled  []T   // B·H
	argmax  []int32
	logits  []T  // B·C
	probs   []T  // B·C
	fresh   bool // probs holds the softmax of the last forward pass's logits
	dlogits []T  // B·C
	dpooled []T  // B·H
	lossed  bool
}

// NewWorkspace returns an empty workspace for m.
func (m *Model[T]) NewWorkspace() *Workspace[T] {
	n := m.Config.NumLayers
	ws := &Workspace[T]{Threads: runtime.GOMAXPROCS(0), layers: make([]layerBuffers[T], n), in: make([][]T, n), mask: make([][]T, n)}
	for range n {
		ws.passes = append(ws.passes, newPass[T]())
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
// figure. At a sample's padding steps they repeat its last real output. The slice belongs to ws.
func (ws *Workspace[T]) Outputs(l int) []T {
	bh := len(ws.lengths) * ws.units
	return ws.layers[l].hs[bh : (ws.steps+1)*bh]
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
	in := bt.X
	for l, layer := range m.Layers {
		buf := &ws.layers[l]
		buf.resize(steps, batch, h, !ws.ForwardOnly || steps*batch*4*h <= forwardOnlyFrom)
		if p := m.dropout(l); train && p > 0 {
			ws.in[l] = grow(ws.in[l], len(in))
			ws.mask[l] = grow(ws.mask[l], len(in))
			keep := 1 - p
			scale := T(1 / keep)
			for i, v := range in {
				var k T
				if rng.Float64() < keep {
					k = scale
				}
				ws.mask[l][i] = k
				ws.in[l][i] = v * k
			}
			in = ws.in[l]
		} else {
			ws.in[l] = in
		}
		r := ws.passes[l]
		r.l, r.buf, r.x, r.lengths, r.steps = layer, buf, in, ws.lengths, steps
		r.threads, r.parts = ws.Threads, ws.parts(batch)
		r.forward()
		in = buf.hs[batch*h : (steps+1)*batch*h]
	}
	ws.pooled = grow(ws.pooled, batch*h)
	m.pool(ws, in)
	ws.logits = grow(ws.logits, batch*c)
	for b := range batch {
		copy(ws.logits[b*c:(b+1)*c], m.HeadB.Value)
	}
	kernel.Gemm(false, false, batch, c, h, 1, ws.pooled, h, m.HeadW.Value, c, 1, ws.logits, c)
	return ws.logits
}

// pool reduces the top layer's outputs out ([steps][batch][H]) to ws.pooled ([batch][H]).
func (m *Model[T]) pool(ws *Workspace[T], out []T) {
	batch, h, steps := len(ws.lengths), m.Config.NumUnits, ws.steps
	bh := batch * h
	switch m.Config.Pooling {
	case PoolLast:
		if steps == 0 {
			clear(ws.pooled)
			return
		}
		// Padding steps repeat the last real output, so the final step holds it.
		copy(ws.pooled, out[(steps-1)*bh:steps*bh])
	case PoolMean:
		clear(ws.pooled)
		for b, n := range ws.lengths {
			p := ws.pooled[b*h : (b+1)*h]
			for t := range n {
				kernel.Axpy(1, out[t*bh+b*h:t*bh+(b+1)*h], p)
			}
			if n > 0 {
				kernel.Scale(1/T(n), p)
			}
		}
	case PoolMax:
		ws.argmax = grow(ws.argmax, bh)
		for b, n := range ws.lengths {
			p, arg := ws.pooled[b*h:(b+1)*h], ws.argmax[b*h:(b+1)*h]
			clear(p)
			for j := range arg {
				arg[j] = -1
			}
			for t := range n {
				row := out[t*bh+b*h : t*bh+(b+1)*h]
				for j, v := range row {
					if t == 0 || v > p[j] {
						p[j], arg[j] = v, int32(t)
					}
				}
			}
		}
	}
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
	c := m.Config.Classes
	batch := len(ws.lengths)
	if len(labels) != batch {
		panic(fmt.Sprintf("lstm: %d labels for a batch of %d", len(labels), batch))
	}
	if classWeights != nil && len(classWeights) != c {
		panic(fmt.Sprintf("lstm: %d class weights for %d classes", len(classWeights), c))
	}
	ws.probs = grow(ws.probs, batch*c)
	ws.dlogits = grow(ws.dlogits, batch*c)
	var loss, wsum float64
	for b, y := range labels {
		if y < 0 || y >= c {
			return 0, fmt.Errorf("%w: sample %d has label %d, want 0..%d", ErrLabel, b, y, c-1)
		}
		w := 1.0
		if classWeights != nil {
			w = float64(classWeights[y])
		}
		z, p := ws.logits[b*c:(b+1)*c], ws.probs[b*c:(b+1)*c]
		lse := softmax(p, z)
		loss += w * (lse - float64(z[y]))
		wsum += w
	}
	for b, y := range labels {
		w := 1.0
		if classWeights != nil {
			w = float64(classWeights[y])
		}
		p, d := ws.probs[b*c:(b+1)*c], ws.dlogits[b*c:(b+1)*c]
		for j := range d {
			d[j] = T(w * float64(p[j]) / wsum)
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
	if !ws.lossed {
		panic("lstm: Backward without a Loss after the last forward pass")
	}
	if ws.ForwardOnly {
		panic("lstm: Backward on a ForwardOnly workspace")
	}
	cfg := m.Config
	batch, h, c, steps := len(ws.lengths), cfg.NumUnits, cfg.Classes, ws.steps
	bh := batch * h
	// Head: dW += pooledᵀ·dlogits, db += Σ dlogits, dpooled = dlogits·Wᵀ.
	kernel.Gemm(true, false, h, c, batch, 1, ws.pooled, h, ws.dlogits, c, 1, m.HeadW.Grad, c)
	kernel.AddColumnSums(m.HeadB.Grad, ws.dlogits)
	ws.dpooled = grow(ws.dpooled, bh)
	kernel.Gemm(false, true, batch, h, c, 1, ws.dlogits, c, m.HeadW.Value, c, 0, ws.dpooled, h)

	for l, layer := range m.Layers {
		ws.layers[l].resizeBackward(steps, batch, h, layer.InputDim)
	}
	top := len(m.Layers) - 1
	dh := ws.layers[top].dh
	clear(dh)
	switch cfg.Pooling {
	case PoolLast:
		if steps > 0 {
			copy(dh[(steps-1)*bh:], ws.dpooled)
		}
	case PoolMean:
		for b, n := range ws.lengths {
			for t := range n {
				kernel.Axpy(1/T(n), ws.dpooled[b*h:(b+1)*h], dh[t*bh+b*h:t*bh+(b+1)*h])
			}
		}
	case PoolMax:
		for i, t := range ws.argmax[:bh] {
			if t >= 0 {
				dh[int(t)*bh+i] += ws.dpooled[i]
			}
		}
	}
	for l := top; l >= 0; l-- {
		buf := &ws.layers[l]
		r := ws.passes[l]
		r.skipDX = l == 0 && ws.SkipInputGrad
		r.backward()
		dropped := ws.train && m.dropout(l) > 0
		switch {
		case l > 0 && dropped:
			kernel.Mul(ws.layers[l-1].dh, buf.dx, ws.mask[l])
		case l > 0:
			copy(ws.layers[l-1].dh, buf.dx)
		case dropped && !r.skipDX:
			kernel.Mul(buf.dx, buf.dx, ws.mask[0])
		}
	}
}

// drawsMasks reports whether a training pass draws dropout masks: for the bottom layer's inputs,
// or between layers when there are two or more.
func (m *Model[T]) drawsMasks() bool {
	for l := range m.Layers {
		if m.dropout(l) > 0 {
			return true
		}
	}
	return false
}

// dropout returns the dropout rate of layer l's inputs while training.
func (m *Model[T]) dropout(l int) float64 {
	if l == 0 {
		return m.Config.InputDropout
	}
	return m.Config.Dropout
}
