package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/seqclf/seqclf"
)

// The Open Inference Protocol's JSON objects, as much of them as seqclf reads and writes.

// inferRequest is the body of POST /v2/models/{name}/infer.
type inferRequest struct {
	ID         string          `json:"id,omitempty"`
	Parameters map[string]any  `json:"parameters,omitempty"`
	Inputs     []requestInput  `json:"inputs"`
	Outputs    []requestOutput `json:"outputs,omitempty"`
}

type requestInput struct {
	Name       string          `json:"name"`
	Shape      []int64         `json:"shape"`
	Datatype   string          `json:"datatype"`
	Parameters map[string]any  `json:"parameters,omitempty"`
	Data       json.RawMessage `json:"data"`
}

type requestOutput struct {
	Name       string         `json:"name"`
	Parameters map[string]any `json:"parameters,omitempty"`
}

// inferResponse is the answer of POST /v2/models/{name}/infer.
type inferResponse struct {
	ModelName string           `json:"model_name"`
	ID        string           `json:"id,omitempty"`
	Outputs   []responseOutput `json:"outputs"`
}

type responseOutput struct {
	Name     string `json:"name"`
	Datatype string `json:"datatype"`
	Shape    []int  `json:"shape"`
	Data     any    `json:"data"` // []string or []float32, flat, row-major
}

// tensorMeta describes an input or output in a model's metadata; -1 is a dimension of any size.
type tensorMeta struct {
	Name     string `json:"name"`
	Datatype string `json:"datatype"`
	Shape    []int  `json:"shape"`
}

// modelMetadata is the answer of GET /v2/models/{name}. Parameters is seqclf's addition: the
// model's kind and classes, and for images the range of the pixel values.
type modelMetadata struct {
	Name       string         `json:"name"`
	Platform   string         `json:"platform"`
	Inputs     []tensorMeta   `json:"inputs"`
	Outputs    []tensorMeta   `json:"outputs"`
	Parameters map[string]any `json:"parameters"`
}

type serverMetadata struct {
	Name       string   `json:"name"`
	Version    string   `json:"version"`
	Extensions []string `json:"extensions"`
}

// Names and datatypes of the tensors, as the metadata lists them.
const (
	inputText      = "text"
	inputImage     = "image"
	outputLabel    = "label"
	outputProbs    = "probabilities"
	datatypeBytes  = "BYTES"
	datatypeFloat  = "FP32"
	platformSeqclf = "seqclf"
)

// A requestError is a request the protocol rejects with status 400; its message goes back in
// {"error": ...}.
type requestError struct{ msg string }

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &requestError{fmt.Sprintf(format, args...)}
}

// inputs is a decoded request's batch: the texts of a text model, or the pixels of n images of
// rows × cols bytes each for a model of images.
type inputs struct {
	texts  []string
	pixels []byte
	n      int
}

// decodeInfer reads an inference request: its JSON and its outputs, not yet its tensor data,
// which depends on the model (the model's inputs).
func decodeInfer(body []byte) (*inferRequest, error) {
	var req inferRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, badRequest("the body is not an inference request: %v", jsonError(err))
	}
	if len(req.Inputs) == 0 {
		return nil, badRequest(`the request has no "inputs"`)
	}
	for _, o := range req.Outputs {
		if o.Name != outputLabel && o.Name != outputProbs {
			return nil, badRequest("unknown output %q: the model answers %q and %q", o.Name, outputLabel, outputProbs)
		}
	}
	return &req, nil
}

// jsonError makes encoding/json's messages say where the body went wrong without its Go types.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("invalid JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ) && typ.Field != "":
		return fmt.Errorf("field %q: a JSON %s where the protocol wants another type", typ.Field, typ.Value)
	case errors.As(err, &typ):
		return fmt.Errorf("a JSON %s where the protocol wants an object", typ.Value)
	}
	return err
}

// wants reports whether the request asks for output name: all outputs when it names none.
func (r *inferRequest) wants(name string) bool {
	if len(r.Outputs) == 0 {
		return true
	}
	for _, o := range r.Outputs {
		if o.Name == name {
			return true
		}
	}
	return false
}

// textInputs returns the texts of a request to a text model: one BYTES input of shape [N] or
// [N, 1].
func (r *inferRequest) textInputs() (inputs, error) {
	in, err := r.single(inputText, datatypeBytes)
	if err != nil {
		return inputs{}, err
	}
	if len(in.Shape) == 0 || len(in.Shape) > 2 || (len(in.Shape) == 2 && in.Shape[1] != 1) {
		return inputs{}, badRequest("input %q has shape %v: a text model takes [N] or [N, 1]", in.Name, in.Shape)
	}
	texts, _, err := parseData(in.Data, in.Shape, false)
	if err != nil {
		return inputs{}, badRequest("input %q: %v", in.Name, err)
	}
	return inputs{texts: texts, n: len(texts)}, nil
}

// imageInputs returns the pixels of a request to a model of rows × cols images: one FP32 input
// of shape [N, rows, cols], each value in [0, 1] (a byte's pixel / 255, as the model reads it),
// stored as round(value × 255).
func (r *inferRequest) imageInputs(rows, cols int) (inputs, error) {
	in, err := r.single(inputImage, datatypeFloat)
	if err != nil {
		return inputs{}, err
	}
	if len(in.Shape) != 3 || in.Shape[1] != int64(rows) || in.Shape[2] != int64(cols) {
		return inputs{}, badRequest("input %q has shape %v: this model takes [N, %d, %d]", in.Name, in.Shape, rows, cols)
	}
	_, values, err := parseData(in.Data, in.Shape, true)
	if err != nil {
		return inputs{}, badRequest("input %q: %v", in.Name, err)
	}
	pixels := make([]byte, len(values))
	for i, v := range values {
		if !(v >= 0 && v <= 1) {
			return inputs{}, badRequest("input %q: value %d is %g: pixels are in [0, 1]", in.Name, i, v)
		}
		pixels[i] = byte(math.Round(float64(v) * 255))
	}
	return inputs{pixels: pixels, n: int(in.Shape[0])}, nil
}

// single returns the request's one input, checked for its name and datatype.
func (r *inferRequest) single(name, datatype string) (*requestInput, error) {
	if len(r.Inputs) != 1 {
		return nil, badRequest("the request has %d inputs: the model takes one, %q", len(r.Inputs), name)
	}
	in := &r.Inputs[0]
	if in.Name != name {
		return nil, badRequest("unknown input %q: the model takes one input, %q (%s)", in.Name, name, datatype)
	}
	if in.Datatype != datatype {
		return nil, badRequest("input %q has datatype %q: it must be %s", in.Name, in.Datatype, datatype)
	}
	if _, ok := in.Parameters["binary_data_size"]; ok {
		return nil, badRequest("input %q: binary tensor data is not supported; send the data as JSON", in.Name)
	}
	for _, d := range in.Shape {
		if d < 0 {
			return nil, badRequest("input %q has shape %v: dimensions cannot be negative", in.Name, in.Shape)
		}
	}
	if in.Data == nil {
		return nil, badRequest("input %q has no \"data\"", in.Name)
	}
	return in, nil
}

// encodeInfer returns the response to r: the label and probabilities of each prediction, with
// the probabilities in the order of classes.
func encodeInfer(name string, r *inferRequest, classes []string, preds []seqclf.Prediction) *inferResponse {
	resp := &inferResponse{ModelName: name, ID: r.ID, Outputs: []responseOutput{}}
	if r.wants(outputLabel) {
		labels := make([]string, len(preds))
		for i, p := range preds {
			labels[i] = p.Label
		}
		resp.Outputs = append(resp.Outputs, responseOutput{Name: outputLabel, Datatype: datatypeBytes, Shape: []int{len(preds)}, Data: labels})
	}
	if r.wants(outputProbs) {
		probs := make([]float32, 0, len(preds)*len(classes))
		for _, p := range preds {
			for _, c := range classes {
				probs = append(probs, p.Probabilities[c])
			}
		}
		resp.Outputs = append(resp.Outputs, responseOutput{Name: outputProbs, Datatype: datatypeFloat, Shape: []int{len(preds), len(classes)}, Data: probs})
	}
	return resp
}

// parseData reads a tensor's "data": strings, or numbers when numeric is set, flat or nested as
// the shape (row-major either way). The JSON is valid: the request's decoder has checked it.
// A flat array must hold as many values as the shape; a nested one must have the shape's
// sizes at every level. Any other nesting, a value of another type or null is an error.
func parseData(data []byte, shape []int64, numeric bool) (texts []string, values []float32, err error) {
	count := int64(1)
	for _, d := range shape {
		// Every value takes at least two bytes of JSON (one and a comma): a larger shape cannot
		// match the data, and its product could overflow.
		if d > int64(len(data)) || count*max(d, 1) > int64(len(data)) {
			return nil, nil, fmt.Errorf("shape %v holds more values than the data", shape)
		}
		count *= d
	}
	p := dataParser{b: data, shape: shape, numeric: numeric}
	p.skipSpace()
	// The leaves are as deep as the leading brackets go: 1 for flat data.
	for i := p.i; i < len(p.b) && (p.b[i] == '[' || isSpace(p.b[i])); i++ {
		if p.b[i] == '[' {
			p.depth++
		}
	}
	switch {
	case p.depth == 0:
		return nil, nil, errors.New(`"data" must be an array`)
	case p.depth != 1 && p.depth != len(shape):
		return nil, nil, fmt.Errorf("data nested %d deep for shape %v: give it flat or nested as the shape", p.depth, shape)
	}
	if numeric {
		p.values = make([]float32, 0, count)
	} else {
		p.texts = make([]string, 0, count)
	}
	if err := p.array(1); err != nil {
		return nil, nil, err
	}
	if n := int64(len(p.texts) + len(p.values)); n != count {
		return nil, nil, fmt.Errorf("shape %v holds %d values but the data has %d", shape, count, n)
	}
	return p.texts, p.values, nil
}

// dataParser walks a tensor's JSON data, collecting its values.
type dataParser struct {
	b       []byte
	i       int
	shape   []int64
	depth   int // the depth of the leaves
	numeric bool
	texts   []string
	values  []float32
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *dataParser) skipSpace() {
	for p.i < len(p.b) && isSpace(p.b[p.i]) {
		p.i++
	}
}

// array reads the array at p.i, at depth d (1 is the outermost).
func (p *dataParser) array(d int) error {
	if p.i >= len(p.b) || p.b[p.i] != '[' {
		return fmt.Errorf("data: want an array at depth %d", d)
	}
	p.i++
	n := int64(0)
	for {
		p.skipSpace()
		if p.i >= len(p.b) {
			return errors.New("data: unexpected end")
		}
		if p.b[p.i] == ']' {
			p.i++
			break
		}
		if n > 0 {
			if p.b[p.i] != ',' {
				return errors.New("data: want a comma")
			}
			p.i++
			p.skipSpace()
		}
		var err error
		if d < p.depth {
			err = p.array(d + 1)
		} else {
			err = p.value()
		}
		if err != nil {
			return err
		}
		n++
	}
	if p.depth > 1 && n != p.shape[d-1] {
		return fmt.Errorf("data: an array of %d at depth %d, where shape %v wants %d", n, d, p.shape, p.shape[d-1])
	}
	return nil
}

// value reads one leaf: a string, or a number when the tensor is numeric.
func (p *dataParser) value() error {
	if p.i >= len(p.b) {
		return errors.New("data: unexpected end")
	}
	c := p.b[p.i]
	switch {
	case !p.numeric && c == '"':
		return p.str()
	case p.numeric && (c == '-' || c >= '0' && c <= '9'):
		start := p.i
		for p.i < len(p.b) && (p.b[p.i] >= '0' && p.b[p.i] <= '9' || p.b[p.i] == '-' || p.b[p.i] == '+' ||
			p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E') {
			p.i++
		}
		v, err := strconv.ParseFloat(string(p.b[start:p.i]), 32)
		if err != nil {
			return fmt.Errorf("data: value %d: %s is not an FP32 number", len(p.values), p.b[start:p.i])
		}
		p.values = append(p.values, float32(v))
		return nil
	case p.numeric:
		return fmt.Errorf("data: value %d is %s, not a number", len(p.values), describe(c))
	default:
		return fmt.Errorf("data: value %d is %s, not a string", len(p.texts), describe(c))
	}
}

// str reads a JSON string at p.i.
func (p *dataParser) str() error {
	start := p.i
	plain := true // printable ASCII without escapes: the bytes are the string
	p.i++
	for ; p.i < len(p.b) && p.b[p.i] != '"'; p.i++ {
		switch c := p.b[p.i]; {
		case c == '\\':
			plain = false
			p.i++ // the escaped character, which may be a quote
		case c < 0x20 || c >= utf8.RuneSelf:
			plain = false
		}
	}
	if p.i >= len(p.b) {
		return errors.New("data: unexpected end in a string")
	}
	p.i++
	raw := p.b[start:p.i]
	if plain {
		p.texts = append(p.texts, string(raw[1:len(raw)-1]))
		return nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("data: value %d: %v", len(p.texts), err)
	}
	p.texts = append(p.texts, s)
	return nil
}

// describe names the JSON value that starts with c.
func describe(c byte) string {
	switch c {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
