package export

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/store"
)

// The ONNX versions WriteONNX writes: opset 14 of the default domain, and IR version 7, the
// first that opset 14 runs under (ONNX 1.9 and ONNX Runtime 1.8 and later read it).
const (
	ONNXOpset     = 14
	onnxIRVersion = 7
)

// The names of the ONNX graph's inputs and output.
const (
	ONNXInputIDs     = "ids"           // text: int64 [batch, time], token ids, padding after each sample's length
	ONNXInputLengths = "lengths"       // text: int64 [batch], real steps of each sample, 0 ≤ length ≤ time
	ONNXInputImages  = "images"        // row tokens: float32 [batch, steps, inputs]
	ONNXOutputProbs  = "probabilities" // float32 [batch, classes]
	onnxSymbolBatch  = "batch"
	onnxSymbolTime   = "time"
	onnxProducer     = "seqclf"
)

// WriteONNX writes m as an ONNX model, opset 14, IR version 7, for ONNX Runtime and the like.
//
// A text model's graph reads ids (int64 [batch, time], token ids from `seqclf tokenize --ids`,
// any id after a sample's length) and lengths (int64 [batch]); a row-token model's graph reads
// images (float32 [batch, steps, inputs], pixels in [0, 1], every step real). Both answer
// probabilities (float32 [batch, classes]), a sample per row, which is one LSTM run: for a model
// of unit sentence, a sentence; seqclf's averaging of a document's sentences stays outside.
//
// Inside: Gather of the embedding table, Transpose to time-major, one ONNX LSTM or GRU node per
// layer (sequence_lens from the lengths; direction forward, or bidirectional with the backward
// direction's weights second; W, R and B reordered to ONNX's gates, i, o, f, c for an LSTM with
// B's recurrent half zero, z, r, h for a GRU with linear_before_reset = 1 and only h's recurrent
// bias, b_hn, in B's second half). A bidirectional layer's Y, [time, 2, batch, H], is transposed
// and reshaped to [time, batch, 2H], the forward direction's first. Then the pooling over each
// sample's real steps (last: the top layer's Y_h, both directions side by side; mean, max and
// attention: Y masked by Range(time) < lengths, an empty sample pooled to zeros as seqclf does;
// attention as MatMul, Add, Tanh, MatMul by v, Softmax over time, Mul and ReduceSum), MatMul and
// Add for the head, and Softmax. The metadata_props hold the classes (JSON), kind, pooling, cell,
// bidirectional, unit, time_step and slice.
//
// Every cell, direction and pooling of package lstm has an ONNX form; WriteONNX writes nothing
// and returns an error wrapping ErrNotExportable for a model it does not know.
func WriteONNX(w io.Writer, m *store.Model) error {
	b, err := MarshalONNX(m)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// MarshalONNX returns the bytes that WriteONNX writes.
func MarshalONNX(m *store.Model) ([]byte, error) {
	if m == nil || m.LSTM == nil {
		return nil, errors.New("export: no model to export")
	}
	g, err := onnxGraph(m)
	if err != nil {
		return nil, err
	}
	cfg := m.LSTM.Config
	model := &pbModel{
		irVersion:    onnxIRVersion,
		opset:        ONNXOpset,
		producerName: onnxProducer,
		docString:    "seqclf LSTM classifier",
		graph:        g,
		metadata: [][2]string{
			{"classes", jsonList(m.Labels)},
			{"kind", m.Input.Kind},
			{"pooling", cfg.Pooling.String()},
			{"cell", cfg.Cell.String()},
			{"bidirectional", fmt.Sprint(cfg.Bidirectional)},
			{"unit", m.Input.Unit},
			{"time_step", fmt.Sprint(m.Input.TimeStep)},
			{"slice", m.Input.Slice},
		},
	}
	return model.marshal(nil), nil
}

// onnxGraph builds the graph of m.
func onnxGraph(m *store.Model) (*pbGraph, error) {
	cfg := m.LSTM.Config
	h, c := int64(cfg.NumUnits), int64(cfg.Classes)
	g := &graphBuilder{pbGraph: pbGraph{name: "seqclf"}}
	batchTime := []int64{-1, -1}
	symbols := []string{onnxSymbolBatch, onnxSymbolTime}

	// x is the bottom layer's input, time-major [time, batch, input_dim] as ONNX's LSTM
	// (layout 0) reads it; seqLens the int32 lengths, or "" when every step is real.
	var x, seqLens, lengths string
	if m.Table != nil {
		if m.Table.Dim() != cfg.InputDim {
			return nil, fmt.Errorf("export: embedding dim %d, model input %d", m.Table.Dim(), cfg.InputDim)
		}
		g.inputs = append(g.inputs,
			pbValueInfo{name: ONNXInputIDs, elemType: onnxInt64, dims: batchTime, params: symbols},
			pbValueInfo{name: ONNXInputLengths, elemType: onnxInt64, dims: []int64{-1}, params: symbols[:1]})
		table := g.init(floatTensor("embedding", m.Table.Data, int64(m.Table.Rows()), int64(m.Table.Dim())))
		embedded := g.node("Gather", []string{table, ONNXInputIDs}, intAttr("axis", 0))
		x = g.node("Transpose", []string{embedded}, intsAttr("perm", 1, 0, 2))
		lengths = ONNXInputLengths
		seqLens = g.node("Cast", []string{lengths}, intAttr("to", onnxInt32))
	} else {
		if m.Input.Kind == "text" {
			return nil, errors.New("export: a text model without its embedding table")
		}
		g.inputs = append(g.inputs, pbValueInfo{name: ONNXInputImages, elemType: onnxFloat,
			dims: []int64{-1, -1, int64(cfg.InputDim)}, params: []string{onnxSymbolBatch, "steps", ""}})
		x = g.node("Transpose", []string{ONNXInputImages}, intsAttr("perm", 1, 0, 2))
	}

	layout, err := onnxLayout(cfg.Cell)
	if err != nil {
		return nil, err
	}
	op := strings.ToUpper(cfg.Cell.String())
	dirs, e := int64(cfg.Directions()), int64(cfg.OutputDim())
	direction := "forward"
	if dirs == 2 {
		direction = "bidirectional"
	}
	var lastH string // Y_h of the top layer, [directions, batch, H]
	for l, layer := range m.LSTM.Layers {
		layers := []*lstm.Layer[float32]{layer}
		if m.LSTM.Reverse != nil {
			layers = append(layers, m.LSTM.Reverse[l])
		}
		// W, R and B of the directions, one after the other, as num_directions stacks them.
		var wt, rt, bt []float32
		for _, d := range layers {
			wi, wh, bi, bh := layout.split(d)
			wt, rt, bt = append(wt, wi...), append(rt, wh...), append(append(bt, bi...), bh...)
		}
		gates, in := int64(len(layout.x))*h, int64(layer.InputDim)
		name := fmt.Sprintf("%v_%d", cfg.Cell, l)
		w := g.init(floatTensor(name+"_W", wt, dirs, gates, in))
		r := g.init(floatTensor(name+"_R", rt, dirs, gates, h))
		b := g.init(floatTensor(name+"_B", bt, dirs, 2*gates))
		attrs := []pbAttr{intAttr("hidden_size", h), stringAttr("direction", direction)}
		if cfg.Cell == lstm.CellGRU {
			// PyTorch's GRU: the reset gate multiplies h·R_h + Rb_h, after the product.
			attrs = append(attrs, intAttr("linear_before_reset", 1))
		}
		y, yh := name+"_Y", name+"_Y_h"
		g.nodes = append(g.nodes, pbNode{name: name, opType: op,
			inputs: lstmInputs(x, w, r, b, seqLens), outputs: []string{y, yh}, attrs: attrs})
		if dirs == 1 {
			// Y is [time, num_directions = 1, batch, H]; the next layer reads [time, batch, H].
			x = g.node("Squeeze", []string{y, g.axes(1)})
		} else {
			// Y is [time, 2, batch, H]: [time, batch, 2H], the forward direction's H first, as
			// seqclf and PyTorch put them.
			yt := g.node("Transpose", []string{y}, intsAttr("perm", 0, 2, 1, 3))
			x = g.node("Reshape", []string{yt, g.shape(0, 0, e)})
		}
		lastH = yh
	}

	// mask returns inSample3, [time, batch, 1], true where t < lengths[b], from Range(0, time)
	// against the lengths, with the names of the int64 constants 0 and 1.
	mask := func() (inSample3, zero, one string) {
		zero, one = g.init(int64Tensor("zero", []int64{0})), g.init(int64Tensor("one", []int64{1}))
		steps := g.node("Gather", []string{g.node("Shape", []string{x}), zero}, intAttr("axis", 0))
		t := g.node("Range", []string{zero, steps, one})
		tCol := g.node("Unsqueeze", []string{t, g.axes(1)})            // [time, 1]
		inSample := g.node("Less", []string{tCol, lengths})            // [time, batch]
		inSample3 = g.node("Unsqueeze", []string{inSample, g.axes(2)}) // [time, batch, 1]
		return inSample3, zero, one
	}
	var pooled string // [batch, E]
	switch cfg.Pooling {
	case lstm.PoolLast:
		// With sequence_lens, Y_h is the output at each sample's last real step, and the
		// backward direction's its output at step 0, its last.
		if dirs == 1 {
			pooled = g.node("Squeeze", []string{lastH, g.axes(0)})
		} else {
			ht := g.node("Transpose", []string{lastH}, intsAttr("perm", 1, 0, 2)) // [batch, 2, H]
			pooled = g.node("Reshape", []string{ht, g.shape(0, e)})
		}
	case lstm.PoolMean, lstm.PoolMax:
		if lengths == "" { // every step is real
			if cfg.Pooling == lstm.PoolMean {
				pooled = g.node("ReduceMean", []string{x}, intsAttr("axes", 0), intAttr("keepdims", 0))
			} else {
				pooled = g.node("ReduceMax", []string{x}, intsAttr("axes", 0), intAttr("keepdims", 0))
			}
			break
		}
		inSample3, zero, one := mask()
		if cfg.Pooling == lstm.PoolMean {
			kept := g.node("Where", []string{inSample3, x, g.init(floatTensor("zero_f", []float32{0}))})
			sum := g.node("ReduceSum", []string{kept, g.axes(0)}, intAttr("keepdims", 0)) // [batch, E]
			// seqclf leaves the mean of no steps at 0: divide by max(length, 1).
			n := g.node("Cast", []string{g.node("Max", []string{lengths, one})}, intAttr("to", onnxFloat))
			pooled = g.node("Div", []string{sum, g.node("Unsqueeze", []string{n, g.axes(1)})})
		} else {
			lowest := g.init(floatTensor("lowest", []float32{float32(math.Inf(-1))}))
			kept := g.node("Where", []string{inSample3, x, lowest})
			maxed := g.node("ReduceMax", []string{kept}, intsAttr("axes", 0), intAttr("keepdims", 0))
			// seqclf leaves the max of no steps at 0.
			some := g.node("Unsqueeze", []string{g.node("Less", []string{zero, lengths}), g.axes(1)})
			pooled = g.node("Where", []string{some, maxed, g.init(floatTensor("zero_f", []float32{0}))})
		}
	case lstm.PoolAttention:
		// u = tanh(x·W_a + b_a), s = u·v: [time, batch, 1]; α = softmax of s over the real
		// steps (the others' scores pushed to -1e30, their α then set to 0, so that a sample of
		// no real step pools to zeros as in seqclf); pooled = Σ_t α_t·x_t.
		aw := g.init(floatTensor("attention_W", m.LSTM.AttnW.Value, e, h))
		ab := g.init(floatTensor("attention_b", m.LSTM.AttnB.Value, h))
		av := g.init(floatTensor("attention_v", m.LSTM.AttnV.Value, h, 1))
		u := g.node("Tanh", []string{g.node("Add", []string{g.node("MatMul", []string{x, aw}), ab})})
		score := g.node("MatMul", []string{u, av})
		var inSample3, zeroF string
		if lengths != "" {
			inSample3, _, _ = mask()
			zeroF = g.init(floatTensor("zero_f", []float32{0}))
			score = g.node("Where", []string{inSample3, score, g.init(floatTensor("masked", []float32{-1e30}))})
		}
		alpha := g.node("Softmax", []string{score}, intAttr("axis", 0))
		if lengths != "" {
			alpha = g.node("Where", []string{inSample3, alpha, zeroF})
		}
		pooled = g.node("ReduceSum", []string{g.node("Mul", []string{alpha, x}), g.axes(0)}, intAttr("keepdims", 0))
	default:
		return nil, fmt.Errorf("%w: pooling %v has no ONNX form", ErrNotExportable, cfg.Pooling)
	}

	headW := g.init(floatTensor("head_W", m.LSTM.HeadW.Value, e, c))
	headB := g.init(floatTensor("head_b", m.LSTM.HeadB.Value, c))
	logits := g.node("Add", []string{g.node("MatMul", []string{pooled, headW}), headB})
	g.nodes = append(g.nodes, pbNode{name: "softmax", opType: "Softmax", inputs: []string{logits},
		outputs: []string{ONNXOutputProbs}, attrs: []pbAttr{intAttr("axis", 1)}})
	g.output = append(g.output, pbValueInfo{name: ONNXOutputProbs, elemType: onnxFloat,
		dims: []int64{-1, c}, params: []string{onnxSymbolBatch, ""}})
	return &g.pbGraph, nil
}

// onnxLSTMWeights returns the layer's weights as ONNX's LSTM reads them: W [4H, I] and R [4H, H],
// one row per gate unit, gates in ONNX's order i, o, f, c; and B [8H], the biases of W (seqclf's
// b) then those of R (zero). seqclf's W is (I+H) × 4H, its columns in the order i, f, g, o.
func onnxLSTMWeights(l *lstm.Layer[float32]) (w, r, b []float32) {
	w, r, bw, br := onnxLSTM.split(l)
	return w, r, append(bw, br...)
}

// onnxGRUWeights returns a GRU layer's weights as ONNX's GRU (linear_before_reset = 1) reads
// them: W [3H, I] and R [3H, H], gates in ONNX's order z, r, h (seqclf's z, r, n_x for W and z,
// r, n_h for R); B [6H], the biases of W (b_z, b_r, b_in) then those of R (0, 0, b_hn).
func onnxGRUWeights(l *lstm.Layer[float32]) (w, r, b []float32) {
	w, r, bw, br := onnxGRU.split(l)
	return w, r, append(bw, br...)
}

// graphBuilder adds nodes and initializers to a graph under generated names.
type graphBuilder struct {
	pbGraph
	count int
	used  map[string]bool // the axes tensors added
}

// shape returns the name of the int64 tensor dims, the shape input of Reshape (0: the input's
// own dimension), adding it to the initializers the first time.
func (g *graphBuilder) shape(dims ...int64) string {
	name := "shape"
	for _, d := range dims {
		name += fmt.Sprintf("_%d", d)
	}
	if !g.used[name] {
		if g.used == nil {
			g.used = map[string]bool{}
		}
		g.used[name] = true
		g.init(int64Tensor(name, dims, int64(len(dims))))
	}
	return name
}

// axes returns the name of the int64 tensor [axis], the axes input of Squeeze, Unsqueeze and
// ReduceSum, adding it to the initializers the first time.
func (g *graphBuilder) axes(axis int64) string {
	name := fmt.Sprintf("axes_%d", axis)
	if !g.used[name] {
		if g.used == nil {
			g.used = map[string]bool{}
		}
		g.used[name] = true
		g.init(int64Tensor(name, []int64{axis}, 1))
	}
	return name
}

// node adds a node of one output and returns the output's name.
func (g *graphBuilder) node(op string, inputs []string, attrs ...pbAttr) string {
	g.count++
	name := fmt.Sprintf("%s_%d", strings.ToLower(op), g.count)
	g.nodes = append(g.nodes, pbNode{name: name, opType: op, inputs: inputs, outputs: []string{name}, attrs: attrs})
	return name
}

// init adds t as an initializer and returns its name.
func (g *graphBuilder) init(t *pbTensor) string {
	g.initializers = append(g.initializers, t)
	return t.name
}

// lstmInputs returns the inputs of an LSTM node, sequence_lens left out when seqLens is "".
func lstmInputs(x, w, r, b, seqLens string) []string {
	if seqLens == "" {
		return []string{x, w, r, b}
	}
	return []string{x, w, r, b, seqLens}
}

// jsonList returns ss as a JSON array of strings.
func jsonList(ss []string) string {
	b, _ := json.Marshal(ss) // strings always marshal
	return string(b)
}
