package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/seqclf/seqclf/classify"
	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/feed"
	"github.com/seqclf/seqclf/idx"
	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/store"
)

// updateONNX rewrites testdata/onnx-*.onnx and their inputs; testdata/onnx-probs.json is then
// remade by ONNX Runtime: node scripts/ort_check.js export/testdata/onnx-*-inputs.json.
var updateONNX = flag.Bool("update-onnx", false, "rewrite the ONNX golden files in testdata")

// onnxCase is one exported model and a batch to run it on.
type onnxCase struct {
	name    string
	model   *store.Model
	seqs    [][]int32   // text: ids of each sample
	images  [][]float32 // row tokens: steps×inputs values of each sample
	comment string
}

// onnxTensor is a tensor in the JSON files that scripts/ort_check.js reads and writes.
type onnxTensor struct {
	Type string    `json:"type"` // int64 or float32
	Dims []int     `json:"dims"`
	Data []float64 `json:"data"`
}

type onnxInputs struct {
	Model   string                `json:"model"` // the .onnx file, beside the inputs file
	Comment string                `json:"comment,omitempty"`
	Inputs  map[string]onnxTensor `json:"inputs"`
}

func loadStoreModel(t *testing.T, path string) (*store.Model, *store.Store) {
	t.Helper()
	s, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	m, err := s.LoadModel()
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

// randomModel returns a model of the given shape drawn from seed, with an embedding table of
// vocab rows when vocab > 0, biases drawn too so that the gates' order shows.
func randomModel(t *testing.T, seed uint64, cfg lstm.Config, vocab int) *store.Model {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	m, err := lstm.New[float32](cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		if strings.HasSuffix(p.Name, ".b") {
			for i := range p.Value {
				p.Value[i] = float32(rng.NormFloat64() * 0.5)
			}
		}
	}
	sm := &store.Model{LSTM: m, Input: store.Input{Kind: "mnist", Slice: "rows", TimeStep: 6}}
	for i := range cfg.Classes {
		sm.Labels = append(sm.Labels, string(rune('a'+i)))
	}
	if vocab > 0 {
		sm.Input = store.Input{Kind: "text", Unit: "document", TimeStep: 7}
		if sm.Table, err = embed.New(vocab, cfg.InputDim, 1, rng); err != nil {
			t.Fatal(err)
		}
	}
	return sm
}

func randomSeqs(seed uint64, lengths []int, vocab int) [][]int32 {
	rng := rand.New(rand.NewPCG(seed, 2))
	seqs := make([][]int32, len(lengths))
	for b, n := range lengths {
		for range n {
			seqs[b] = append(seqs[b], int32(1+rng.IntN(vocab-1)))
		}
	}
	return seqs
}

func randomImages(seed uint64, batch, steps, inputs int) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, 3))
	ims := make([][]float32, batch)
	for b := range ims {
		for range steps * inputs {
			ims[b] = append(ims[b], float32(rng.Float64()))
		}
	}
	return ims
}

func onnxCases(t *testing.T) []onnxCase {
	t.Helper()
	text, s := loadStoreModel(t, "../store/testdata/model-v3-text.db")
	v, err := s.Vocab()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := classify.NewTokenizer(text.Input.Tokenize)
	if err != nil {
		t.Fatal(err)
	}
	unit, err := feed.ParseUnit(text.Input.Unit)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../store/testdata/texts.txt")
	if err != nil {
		t.Fatal(err)
	}
	var textSeqs, docSeqs [][]int32
	for line := range strings.Lines(string(raw)) {
		line = strings.TrimSuffix(line, "\n")
		textSeqs = append(textSeqs, feed.EncodeText(tok, v, line, unit, text.Input.TimeStep)...)
		docSeqs = append(docSeqs, feed.EncodeText(tok, v, line, feed.UnitDocument, text.Input.TimeStep)...)
	}
	mnist, _ := loadStoreModel(t, "../store/testdata/model-v3-mnist.db")
	ims, err := idx.ReadImages("../idx/testdata/mnist-t10k-20-images-idx3-ubyte.gz")
	if err != nil {
		t.Fatal(err)
	}
	var mnistImages [][]float32
	for i := range 5 {
		x := make([]float32, ims.Rows*ims.Cols)
		ims.FillBatch(x, []int{i}, idx.SliceRows) // one image: time-major is row-major
		mnistImages = append(mnistImages, x)
	}

	textCfg := func(p lstm.Pooling, layers int) lstm.Config {
		return lstm.Config{InputDim: 5, NumUnits: 6, NumLayers: layers, Classes: 3, Pooling: p}
	}
	imageCfg := func(p lstm.Pooling, layers int) lstm.Config {
		return lstm.Config{InputDim: 4, NumUnits: 5, NumLayers: layers, Classes: 3, Pooling: p}
	}
	gru := func(c lstm.Config) lstm.Config { c.Cell = lstm.CellGRU; return c }
	bi := func(c lstm.Config) lstm.Config { c.Bidirectional = true; return c }
	lengths := []int{7, 1, 3, 0, 5, 2} // with an empty sample, which seqclf pools to zeros
	return []onnxCase{
		{name: "text", model: text, seqs: textSeqs,
			comment: "model-v3-text.db (max pooling, unit sentence): one sample per sentence of store/testdata/texts.txt"},
		{name: "text-document", model: text, seqs: docSeqs,
			comment: "model-v3-text.db (max pooling) run on whole documents: one sample per line of store/testdata/texts.txt"},
		{name: "mnist", model: mnist, images: mnistImages,
			comment: "model-v3-mnist.db (last pooling): the first 5 images of idx/testdata/mnist-t10k-20-images-idx3-ubyte.gz"},
		{name: "text-last-2", model: randomModel(t, 10, textCfg(lstm.PoolLast, 2), 20), seqs: randomSeqs(10, lengths, 20)},
		{name: "text-mean-2", model: randomModel(t, 11, textCfg(lstm.PoolMean, 2), 20), seqs: randomSeqs(11, lengths, 20)},
		{name: "text-max-1", model: randomModel(t, 12, textCfg(lstm.PoolMax, 1), 20), seqs: randomSeqs(12, lengths, 20)},
		{name: "images-mean-2", model: randomModel(t, 13, imageCfg(lstm.PoolMean, 2), 0), images: randomImages(13, 4, 6, 4)},
		{name: "images-max-2", model: randomModel(t, 14, imageCfg(lstm.PoolMax, 2), 0), images: randomImages(14, 4, 6, 4)},
		// GRU, bidirectional layers and attention.
		{name: "text-gru-last-2", model: randomModel(t, 15, gru(textCfg(lstm.PoolLast, 2)), 20), seqs: randomSeqs(15, lengths, 20)},
		{name: "text-gru-attention-1", model: randomModel(t, 16, gru(textCfg(lstm.PoolAttention, 1)), 20), seqs: randomSeqs(16, lengths, 20)},
		{name: "text-bilstm-last-2", model: randomModel(t, 17, bi(textCfg(lstm.PoolLast, 2)), 20), seqs: randomSeqs(17, lengths, 20)},
		{name: "text-bilstm-max-2", model: randomModel(t, 18, bi(textCfg(lstm.PoolMax, 2)), 20), seqs: randomSeqs(18, lengths, 20)},
		{name: "text-bilstm-attention-1", model: randomModel(t, 19, bi(textCfg(lstm.PoolAttention, 1)), 20), seqs: randomSeqs(19, lengths, 20)},
		{name: "text-bigru-mean-2", model: randomModel(t, 20, bi(gru(textCfg(lstm.PoolMean, 2))), 20), seqs: randomSeqs(20, lengths, 20)},
		{name: "text-bigru-attention-2", model: randomModel(t, 21, bi(gru(textCfg(lstm.PoolAttention, 2))), 20), seqs: randomSeqs(21, lengths, 20)},
		{name: "text-lstm-attention-1", model: randomModel(t, 22, textCfg(lstm.PoolAttention, 1), 20), seqs: randomSeqs(22, lengths, 20)},
		{name: "images-bigru-last-1", model: randomModel(t, 23, bi(gru(imageCfg(lstm.PoolLast, 1))), 0), images: randomImages(23, 4, 6, 4)},
		{name: "images-bilstm-attention-2", model: randomModel(t, 24, bi(imageCfg(lstm.PoolAttention, 2)), 0), images: randomImages(24, 4, 6, 4)},
		{name: "images-gru-max-1", model: randomModel(t, 25, gru(imageCfg(lstm.PoolMax, 1)), 0), images: randomImages(25, 4, 6, 4)},
	}
}

// seqclfProbs runs c's model as seqclf does and returns the probabilities, [batch][classes].
func seqclfProbs(c onnxCase) []float32 {
	m := c.model.LSTM
	var b lstm.Batch[float32]
	if c.seqs != nil {
		for _, s := range c.seqs {
			b.Lengths = append(b.Lengths, len(s))
			b.Steps = max(b.Steps, len(s))
		}
		b.X = make([]float32, b.Steps*len(c.seqs)*m.Config.InputDim)
		c.model.Table.FillTimeMajor(b.X, c.seqs, b.Steps)
	} else {
		in := m.Config.InputDim
		b.Steps = len(c.images[0]) / in
		b.X = make([]float32, b.Steps*len(c.images)*in)
		for n, im := range c.images {
			b.Lengths = append(b.Lengths, b.Steps)
			for s := range b.Steps {
				copy(b.X[(s*len(c.images)+n)*in:], im[s*in:(s+1)*in])
			}
		}
	}
	ws := m.NewWorkspace()
	m.Forward(ws, b)
	return append([]float32(nil), m.Probs(ws)...)
}

// inputs returns the ONNX graph's inputs for c.
func (c onnxCase) inputs() map[string]onnxTensor {
	if c.seqs != nil {
		steps := 0
		for _, s := range c.seqs {
			steps = max(steps, len(s))
		}
		ids := make([]float64, len(c.seqs)*steps)
		var lengths []float64
		for b, s := range c.seqs {
			for i, id := range s {
				ids[b*steps+i] = float64(id)
			}
			lengths = append(lengths, float64(len(s)))
		}
		return map[string]onnxTensor{
			ONNXInputIDs:     {Type: "int64", Dims: []int{len(c.seqs), steps}, Data: ids},
			ONNXInputLengths: {Type: "int64", Dims: []int{len(c.seqs)}, Data: lengths},
		}
	}
	in := c.model.LSTM.Config.InputDim
	var data []float64
	for _, im := range c.images {
		for _, x := range im {
			data = append(data, float64(x))
		}
	}
	return map[string]onnxTensor{
		ONNXInputImages: {Type: "float32", Dims: []int{len(c.images), len(c.images[0]) / in, in}, Data: data},
	}
}

// TestONNXMatchesRuntime exports each case's model, checks the bytes against the golden file
// that ONNX Runtime ran, and checks ONNX Runtime's recorded probabilities against seqclf's.
func TestONNXMatchesRuntime(t *testing.T) {
	cases := onnxCases(t)
	var runtimeProbs map[string]onnxTensor
	if !*updateONNX {
		b, err := os.ReadFile("testdata/onnx-probs.json")
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &runtimeProbs); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := MarshalONNX(c.model)
			if err != nil {
				t.Fatal(err)
			}
			onnxPath := filepath.Join("testdata", "onnx-"+c.name+".onnx")
			inputsPath := filepath.Join("testdata", "onnx-"+c.name+"-inputs.json")
			if *updateONNX {
				in, err := json.MarshalIndent(onnxInputs{Model: filepath.Base(onnxPath), Comment: c.comment, Inputs: c.inputs()}, "", " ")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(onnxPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(inputsPath, append(in, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(onnxPath)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("the export differs from %s, which ONNX Runtime ran: rerun with -update-onnx and scripts/ort_check.js", onnxPath)
			}
			rt, ok := runtimeProbs[c.name]
			if !ok {
				t.Fatalf("testdata/onnx-probs.json has no %s", c.name)
			}
			probs := seqclfProbs(c)
			classes := c.model.LSTM.Config.Classes
			if len(rt.Data) != len(probs) || rt.Dims[1] != classes {
				t.Fatalf("ONNX Runtime gave %v probabilities, seqclf %d", rt.Dims, len(probs))
			}
			worst := 0.0
			for i, p := range probs {
				worst = max(worst, math.Abs(float64(p)-rt.Data[i]))
			}
			t.Logf("%s: %d samples, largest |ONNX Runtime − seqclf| = %.3g", c.name, len(probs)/classes, worst)
			if worst > 1e-5 {
				t.Errorf("ONNX Runtime and seqclf differ by %g, more than 1e-5", worst)
			}
		})
	}
}

// TestONNXGraph decodes an export and checks its inputs, outputs, operators and weights' shapes.
func TestONNXGraph(t *testing.T) {
	for _, tc := range []struct {
		path    string
		inputs  []string
		ops     []string
		weights map[string][]int64
	}{
		{"../store/testdata/model-v3-text.db", []string{"ids", "lengths"},
			[]string{"Gather", "Transpose", "Cast", "LSTM", "Squeeze", "Range", "Less", "Where", "ReduceMax", "MatMul", "Add", "Softmax"},
			map[string][]int64{"lstm_0_W": {1, 32, 8}, "lstm_0_R": {1, 32, 8}, "lstm_0_B": {1, 64}, "head_W": {8, 2}, "head_b": {2}}},
		{"../store/testdata/model-v3-mnist.db", []string{"images"},
			[]string{"Transpose", "LSTM", "Squeeze", "MatMul", "Add", "Softmax"},
			map[string][]int64{"lstm_0_W": {1, 32, 28}, "lstm_0_R": {1, 32, 8}, "lstm_0_B": {1, 64}, "head_W": {8, 10}, "head_b": {10}}},
	} {
		m, _ := loadStoreModel(t, tc.path)
		b, err := MarshalONNX(m)
		if err != nil {
			t.Fatal(err)
		}
		model := decodeFields(t, b)
		if got := model[1]; len(got) != 1 || got[0].(uint64) != onnxIRVersion {
			t.Errorf("%s: ir_version %v", tc.path, got)
		}
		opset := decodeFields(t, model[8][0].([]byte))
		if opset[2][0].(uint64) != ONNXOpset {
			t.Errorf("%s: opset %v", tc.path, opset[2])
		}
		graph := decodeFields(t, model[7][0].([]byte))
		var inputs, outputs []string
		for _, v := range graph[11] {
			inputs = append(inputs, string(decodeFields(t, v.([]byte))[1][0].([]byte)))
		}
		for _, v := range graph[12] {
			outputs = append(outputs, string(decodeFields(t, v.([]byte))[1][0].([]byte)))
		}
		if strings.Join(inputs, ",") != strings.Join(tc.inputs, ",") || strings.Join(outputs, ",") != ONNXOutputProbs {
			t.Errorf("%s: inputs %v, outputs %v", tc.path, inputs, outputs)
		}
		ops := map[string]bool{}
		for _, n := range graph[1] {
			ops[string(decodeFields(t, n.([]byte))[4][0].([]byte))] = true
		}
		for _, op := range tc.ops {
			if !ops[op] {
				t.Errorf("%s: no %s node in %v", tc.path, op, ops)
			}
		}
		shapes := map[string][]int64{}
		for _, v := range graph[5] {
			f := decodeFields(t, v.([]byte))
			var dims []int64
			for _, d := range f[1] {
				dims = append(dims, int64(d.(uint64)))
			}
			shapes[string(f[8][0].([]byte))] = dims
		}
		for name, want := range tc.weights {
			if got := shapes[name]; !slicesEqual(got, want) {
				t.Errorf("%s: %s has dims %v, want %v", tc.path, name, got, want)
			}
		}
	}
}

// TestONNXGateOrder checks the reordering of one layer's weights against the definition: ONNX
// row k·H+j of W is seqclf's column of gate fromSeqclf[k], unit j.
func TestONNXGateOrder(t *testing.T) {
	cfg := lstm.Config{InputDim: 2, NumUnits: 1, NumLayers: 1, Classes: 2}
	m, err := lstm.NewZero[float32](cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := m.Layers[0]
	// seqclf's columns i, f, g, o; rows x0, x1, h0.
	copy(l.W.Value, []float32{
		1, 2, 3, 4,
		10, 20, 30, 40,
		100, 200, 300, 400,
	})
	copy(l.B.Value, []float32{-1, -2, -3, -4})
	w, r, b := onnxLSTMWeights(l)
	wantW := []float32{1, 10, 4, 40, 2, 20, 3, 30} // i, o, f, c
	wantR := []float32{100, 400, 200, 300}
	wantB := []float32{-1, -4, -2, -3, 0, 0, 0, 0}
	if !slicesEqual(w, wantW) || !slicesEqual(r, wantR) || !slicesEqual(b, wantB) {
		t.Errorf("W %v R %v B %v, want %v %v %v", w, r, b, wantW, wantR, wantB)
	}
}

// TestONNXGRUGateOrder checks a GRU layer's weights against ONNX's GRU: gates z, r, h; W from
// seqclf's input rows of z, r, n_x, R from its recurrent rows of z, r, n_h; B = [b_z, b_r, b_in,
// 0, 0, b_hn].
func TestONNXGRUGateOrder(t *testing.T) {
	cfg := lstm.Config{InputDim: 1, NumUnits: 1, NumLayers: 1, Classes: 2, Cell: lstm.CellGRU}
	m, err := lstm.NewZero[float32](cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := m.Layers[0]
	// seqclf's columns r, z, n_x, n_h; rows x0, h0 (n_h of x0 and n_x of h0 are zero).
	copy(l.W.Value, []float32{
		1, 2, 3, 0,
		10, 20, 0, 40,
	})
	copy(l.B.Value, []float32{-1, -2, -3, -4})
	w, r, b := onnxGRUWeights(l)
	wantW, wantR, wantB := []float32{2, 1, 3}, []float32{20, 10, 40}, []float32{-2, -1, -3, 0, 0, -4}
	if !slicesEqual(w, wantW) || !slicesEqual(r, wantR) || !slicesEqual(b, wantB) {
		t.Errorf("W %v R %v B %v, want %v %v %v", w, r, b, wantW, wantR, wantB)
	}
}

// TestNotExportable checks that a model of a cell or pooling the formats do not know gives
// ErrNotExportable in both formats rather than a wrong file.
func TestNotExportable(t *testing.T) {
	for _, bad := range []func(*lstm.Config){
		func(c *lstm.Config) { c.Cell = lstm.CellGRU + 1 },
		func(c *lstm.Config) { c.Pooling = lstm.PoolAttention + 1 },
	} {
		sm := randomModel(t, 1, lstm.Config{InputDim: 2, NumUnits: 3, NumLayers: 1, Classes: 2}, 0)
		bad(&sm.LSTM.Config)
		if _, err := MarshalONNX(sm); !errors.Is(err, ErrNotExportable) {
			t.Errorf("%+v: ONNX export: err %v, want ErrNotExportable", sm.LSTM.Config, err)
		}
		if _, err := Tensors(sm.LSTM, nil); !errors.Is(err, ErrNotExportable) {
			t.Errorf("%+v: safetensors export: err %v, want ErrNotExportable", sm.LSTM.Config, err)
		}
	}
}

func slicesEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// decodeFields splits a protobuf message into its fields by number: varints as uint64,
// length-delimited fields as []byte, fixed32 as uint32.
func decodeFields(t *testing.T, b []byte) map[protowire.Number][]any {
	t.Helper()
	out := map[protowire.Number][]any{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatal(protowire.ParseError(n))
		}
		b = b[n:]
		var v any
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.Fixed32Type:
			v, n = protowire.ConsumeFixed32(b)
		default:
			t.Fatalf("field %d has wire type %d", num, typ)
		}
		if n < 0 {
			t.Fatal(protowire.ParseError(n))
		}
		out[num] = append(out[num], v)
		b = b[n:]
	}
	return out
}
