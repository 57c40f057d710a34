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
// Inside: Gather of the embedding table, Transpose to time-major, one ONNX LSTM node per layer
// (forward, sequence_lens from the lengths; W, R and B reordered to ONNX's gates i, o, f, c, B's
// recurrent half zero), then the pooling over each sample's real steps (last: the top layer's
// Y_h; mean and max: Y masked by Range(time) < lengths, an empty sample pooled to zeros as seqclf
// does), MatMul and Add for the head, and Softmax. The metadata_props hold the classes (JSON),
// kind, pooling, unit, time_step and slice.
//
// WriteONNX writes nothing when m cannot be exported.
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

	var lastH string // Y_h of the top layer, [1, batch, H]
	for l, layer := range m.LSTM.Layers {
		wt, rt, bt := onnxLSTMWeights(layer)
		in := int64(layer.InputDim)
		w := g.init(floatTensor(fmt.Sprintf("lstm_%d_W", l), wt, 1, 4*h, in))
		r := g.init(floatTensor(fmt.Sprintf("lstm_%d_R", l), rt, 1, 4*h, h))
		b := g.init(floatTensor(fmt.Sprintf("lstm_%d_B", l), bt, 1, 8*h))
		name := fmt.Sprintf("lstm_%d", l)
		y, yh := name+"_Y", name+"_Y_h"
		g.nodes = append(g.nodes, pbNode{name: name, opType: "LSTM",
			inputs: lstmInputs(x, w, r, b, seqLens), outputs: []string{y, yh},
			attrs: []pbAttr{intAttr("hidden_size", h), stringAttr("direction", "forward")}})
		// Y is [time, num_directions = 1, batch, H]; the next layer reads [time, batch, H].
		x = g.node("Squeeze", []string{y, g.axes(1)})
		lastH = yh
	}

	var pooled string // [batch, H]
	switch cfg.Pooling {
	case lstm.PoolLast:
		// With sequence_lens, Y_h is the output at each sample's last real step.
		pooled = g.node("Squeeze", []string{lastH, g.axes(0)})
	case lstm.PoolMean, lstm.PoolMax:
		if lengths == "" { // every step is real
			if cfg.Pooling == lstm.PoolMean {
				pooled = g.node("ReduceMean", []string{x}, intsAttr("axes", 0), intAttr("keepdims", 0))
			} else {
				pooled = g.node("ReduceMax", []string{x}, intsAttr("axes", 0), intAttr("keepdims", 0))
			}
			break
		}
		// inSample3[t, b, 0] = t < lengths[b], from Range(0, time) against the lengths.
		zero, one := g.init(int64Tensor("zero", []int64{0})), g.init(int64Tensor("one", []int64{1}))
		steps := g.node("Gather", []string{g.node("Shape", []string{x}), zero}, intAttr("axis", 0))
		t := g.node("Range", []string{zero, steps, one})
		tCol := g.node("Unsqueeze", []string{t, g.axes(1)})             // [time, 1]
		inSample := g.node("Less", []string{tCol, lengths})             // [time, batch]
		inSample3 := g.node("Unsqueeze", []string{inSample, g.axes(2)}) // [time, batch, 1]
		if cfg.Pooling == lstm.PoolMean {
			kept := g.node("Where", []string{inSample3, x, g.init(floatTensor("zero_f", []float32{0}))})
			sum := g.node("ReduceSum", []string{kept, g.axes(0)}, intAttr("keepdims", 0)) // [batch, H]
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
	default:
		return nil, fmt.Errorf("export: pooling %v has no ONNX form", cfg.Pooling)
	}

	headW := g.init(floatTensor("head_W", m.LSTM.HeadW.Value, h, c))
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
	in, h := l.InputDim, l.NumUnits
	// fromSeqclf[k] is seqclf's gate block for ONNX's block k: i, o, f, c = g.
	fromSeqclf := [4]int{0, 3, 1, 2}
	w = make([]float32, 4*h*in)
	r = make([]float32, 4*h*h)
	b = make([]float32, 8*h)
	src, bias := l.W.Value, l.B.Value
	for k, s := range fromSeqclf {
		for j := range h {
			col := s*h + j
			row := k*h + j
			for i := range in {
				w[row*in+i] = src[i*4*h+col]
			}
			for i := range h {
				r[row*h+i] = src[(in+i)*4*h+col]
			}
			b[row] = bias[col]
		}
	}
	return w, r, b
}

// graphBuilder adds nodes and initializers to a graph under generated names.
type graphBuilder struct {
	pbGraph
	count int
	used  map[string]bool // the axes tensors added
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
