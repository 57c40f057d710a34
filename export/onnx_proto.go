package export

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The few ONNX messages the exporter writes, encoded by hand with protowire: the field numbers
// are those of onnx.proto (github.com/onnx/onnx, onnx/onnx.proto, IR version 7 and later), which
// keeps generated code and protoc out of the build.

// ONNX's TensorProto.DataType values.
const (
	onnxFloat = 1
	onnxInt32 = 6
	onnxInt64 = 7
)

// ONNX's AttributeProto.AttributeType values.
const (
	attrFloat  = 1
	attrInt    = 2
	attrString = 3
	attrInts   = 7
)

// pbTensor is a TensorProto: a constant (an initializer) stored as raw little-endian bytes.
type pbTensor struct {
	name     string
	dataType int
	dims     []int64
	raw      []byte
}

func (t *pbTensor) marshal(b []byte) []byte {
	for _, d := range t.dims { // dims = 1
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = appendVarintField(b, 2, uint64(t.dataType)) // data_type = 2
	b = appendString(b, 8, t.name)                  // name = 8
	b = protowire.AppendTag(b, 9, protowire.BytesType)
	return protowire.AppendBytes(b, t.raw) // raw_data = 9
}

// floatTensor returns a FLOAT tensor of the given shape holding v.
func floatTensor(name string, v []float32, dims ...int64) *pbTensor {
	raw := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
	}
	return &pbTensor{name: name, dataType: onnxFloat, dims: dims, raw: raw}
}

// int64Tensor returns an INT64 tensor of the given shape holding v.
func int64Tensor(name string, v []int64, dims ...int64) *pbTensor {
	raw := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(x))
	}
	return &pbTensor{name: name, dataType: onnxInt64, dims: dims, raw: raw}
}

// pbAttr is an AttributeProto of type FLOAT, INT, STRING or INTS.
type pbAttr struct {
	name string
	typ  int
	f    float32
	i    int64
	s    string
	ints []int64
}

func (a *pbAttr) marshal(b []byte) []byte {
	b = appendString(b, 1, a.name) // name = 1
	switch a.typ {
	case attrFloat:
		b = protowire.AppendTag(b, 2, protowire.Fixed32Type) // f = 2
		b = protowire.AppendFixed32(b, math.Float32bits(a.f))
	case attrInt:
		b = appendVarintField(b, 3, uint64(a.i)) // i = 3
	case attrString:
		b = appendString(b, 4, a.s) // s = 4
	case attrInts:
		for _, x := range a.ints { // ints = 8
			b = appendVarintField(b, 8, uint64(x))
		}
	}
	return appendVarintField(b, 20, uint64(a.typ)) // type = 20
}

func intAttr(name string, i int64) pbAttr     { return pbAttr{name: name, typ: attrInt, i: i} }
func intsAttr(name string, v ...int64) pbAttr { return pbAttr{name: name, typ: attrInts, ints: v} }
func stringAttr(name, s string) pbAttr        { return pbAttr{name: name, typ: attrString, s: s} }

// pbNode is a NodeProto of the default domain.
type pbNode struct {
	name, opType    string
	inputs, outputs []string
	attrs           []pbAttr
}

func (n *pbNode) marshal(b []byte) []byte {
	for _, s := range n.inputs {
		b = appendString(b, 1, s) // input = 1 (an empty name is an omitted optional input)
	}
	for _, s := range n.outputs {
		b = appendString(b, 2, s) // output = 2
	}
	b = appendString(b, 3, n.name)   // name = 3
	b = appendString(b, 4, n.opType) // op_type = 4
	for i := range n.attrs {
		b = appendMessage(b, 5, n.attrs[i].marshal) // attribute = 5
	}
	return b
}

// pbValueInfo is a ValueInfoProto of a tensor: its element type and its dimensions, each a
// number or, when dims[i] < 0, the symbol params[i].
type pbValueInfo struct {
	name     string
	elemType int
	dims     []int64
	params   []string
}

func (v *pbValueInfo) marshal(b []byte) []byte {
	b = appendString(b, 1, v.name) // name = 1
	shape := func(b []byte) []byte {
		for i, d := range v.dims { // TensorShapeProto.dim = 1
			b = appendMessage(b, 1, func(b []byte) []byte {
				if d < 0 {
					return appendString(b, 2, v.params[i]) // dim_param = 2
				}
				return appendVarintField(b, 1, uint64(d)) // dim_value = 1
			})
		}
		return b
	}
	tensor := func(b []byte) []byte {
		b = appendVarintField(b, 1, uint64(v.elemType)) // TypeProto.Tensor.elem_type = 1
		return appendMessage(b, 2, shape)               // shape = 2
	}
	return appendMessage(b, 2, func(b []byte) []byte { // type = 2
		return appendMessage(b, 1, tensor) // TypeProto.tensor_type = 1
	})
}

// pbGraph is a GraphProto.
type pbGraph struct {
	name           string
	nodes          []pbNode
	initializers   []*pbTensor
	inputs, output []pbValueInfo
}

func (g *pbGraph) marshal(b []byte) []byte {
	for i := range g.nodes {
		b = appendMessage(b, 1, g.nodes[i].marshal) // node = 1
	}
	b = appendString(b, 2, g.name) // name = 2
	for _, t := range g.initializers {
		b = appendMessage(b, 5, t.marshal) // initializer = 5
	}
	for i := range g.inputs {
		b = appendMessage(b, 11, g.inputs[i].marshal) // input = 11
	}
	for i := range g.output {
		b = appendMessage(b, 12, g.output[i].marshal) // output = 12
	}
	return b
}

// pbModel is a ModelProto with one opset of the default domain.
type pbModel struct {
	irVersion       int64
	opset           int64
	producerName    string
	producerVersion string
	docString       string
	graph           *pbGraph
	metadata        [][2]string
}

func (m *pbModel) marshal(b []byte) []byte {
	b = appendVarintField(b, 1, uint64(m.irVersion)) // ir_version = 1
	b = appendString(b, 2, m.producerName)           // producer_name = 2
	b = appendString(b, 3, m.producerVersion)        // producer_version = 3
	b = appendString(b, 6, m.docString)              // doc_string = 6
	b = appendMessage(b, 7, m.graph.marshal)         // graph = 7
	b = appendMessage(b, 8, func(b []byte) []byte {  // opset_import = 8
		b = appendString(b, 1, "")                      // OperatorSetIdProto.domain = 1: the default
		return appendVarintField(b, 2, uint64(m.opset)) // version = 2
	})
	for _, kv := range m.metadata { // metadata_props = 14
		b = appendMessage(b, 14, func(b []byte) []byte {
			return appendString(appendString(b, 1, kv[0]), 2, kv[1]) // key = 1, value = 2
		})
	}
	return b
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// appendString appends a string field; an empty one is written too (an omitted optional
// input of a node is an empty name in its place).
func appendString(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// appendMessage appends the message that marshal writes as field num.
func appendMessage(b []byte, num protowire.Number, marshal func([]byte) []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, marshal(nil))
}
