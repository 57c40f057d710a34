package serve

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestParseData(t *testing.T) {
	for _, c := range []struct {
		data    string
		shape   []int64
		numeric bool
		texts   []string
		values  []float32
		err     string // in the error; "" for none
	}{
		{data: `["a", "b"]`, shape: []int64{2}, texts: []string{"a", "b"}},
		{data: ` [ ["a"] , ["b"] ] `, shape: []int64{2, 1}, texts: []string{"a", "b"}},
		{data: `["a", "b"]`, shape: []int64{2, 1}, texts: []string{"a", "b"}}, // flat for [N, 1]
		{data: `["caf\u00e9 \"q\" \\ \n", "日本", ""]`, shape: []int64{3}, texts: []string{"café \"q\" \\ \n", "日本", ""}},
		{data: `[]`, shape: []int64{0}, texts: []string{}},
		{data: `[[]]`, shape: []int64{1, 0}, texts: []string{}},
		{data: `[0, 1, 0.5, 1e-1, -0, 2.5E+0]`, shape: []int64{6}, numeric: true, values: []float32{0, 1, 0.5, 0.1, 0, 2.5}},
		{data: `[[[0, 1], [2, 3]], [[4, 5], [6, 7]]]`, shape: []int64{2, 2, 2}, numeric: true, values: []float32{0, 1, 2, 3, 4, 5, 6, 7}},
		{data: `[0, 1, 2, 3, 4, 5, 6, 7]`, shape: []int64{2, 2, 2}, numeric: true, values: []float32{0, 1, 2, 3, 4, 5, 6, 7}},
		{data: `[[0, 1, 2, 3], [4, 5, 6, 7]]`, shape: []int64{2, 2, 2}, numeric: true, err: "nested 2 deep"},
		{data: `[[0, 1], [2]]`, shape: []int64{2, 2}, numeric: true, err: "an array of 1 at depth 2"},
		{data: `[[0, 1], 2]`, shape: []int64{2, 2}, numeric: true, err: "want an array at depth 2"},
		{data: `[[0, [1]], [2, 3]]`, shape: []int64{2, 2}, numeric: true, err: "is an array, not a number"},
		{data: `[1e40]`, shape: []int64{1}, numeric: true, err: "not an FP32 number"},
		{data: `[true]`, shape: []int64{1}, numeric: true, err: "a boolean, not a number"},
		{data: `[{"a": 1}]`, shape: []int64{1}, err: "an object, not a string"},
		{data: `["a"]`, shape: []int64{2}, err: "holds 2 values but the data has 1"},
		{data: `["a", "b", "c"]`, shape: []int64{2}, err: "holds 2 values but the data has 3"},
		{data: `"a"`, shape: []int64{1}, err: "must be an array"},
		{data: `["a"]`, shape: []int64{1 << 40}, err: "more values than the data"},
		{data: `["a"]`, shape: []int64{1 << 20, 1 << 20, 1 << 20, 1 << 20}, err: "more values than the data"},
		{data: `[[["a"]]]`, shape: []int64{1, 1}, err: "nested 3 deep"},
	} {
		texts, values, err := parseData([]byte(c.data), c.shape, c.numeric)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s %v: error %v, want one with %q", c.data, c.shape, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%s %v: %v", c.data, c.shape, err)
		case c.err == "" && (!slices.Equal(texts, c.texts) || !slices.Equal(values, c.values)):
			t.Errorf("%s %v: %q %v, want %q %v", c.data, c.shape, texts, values, c.texts, c.values)
		}
	}
}

// TestPixelRounding: a byte sent as byte/255 in FP32 comes back as the same byte.
func TestPixelRounding(t *testing.T) {
	values := make([]float32, 256)
	for b := range values {
		values[b] = float32(b) / 255
	}
	data, _ := json.Marshal(values)
	body := `{"inputs": [{"name": "image", "datatype": "FP32", "shape": [1, 16, 16], "data": ` + string(data) + `}]}`
	req, err := decodeInfer([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	in, err := req.imageInputs(16, 16)
	if err != nil {
		t.Fatal(err)
	}
	for b, p := range in.pixels {
		if int(p) != b {
			t.Fatalf("pixel %d/255 read as %d", b, p)
		}
	}
}

// FuzzDecodeInfer feeds request bodies to the decoder: it must never panic, and what it
// accepts must hold as many inputs as the shape says; texts it reads must be encoding/json's.
func FuzzDecodeInfer(f *testing.F) {
	for _, seed := range []string{
		`{"inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": ["a", "b"]}]}`,
		`{"id": "1", "inputs": [{"name": "text", "shape": [2, 1], "datatype": "BYTES", "data": [["a\u00e9\n"], ["\"b\\"]]}], "outputs": [{"name": "label"}]}`,
		`{"inputs": [{"name": "image", "shape": [1, 2, 2], "datatype": "FP32", "data": [[[0, 0.5], [1, 1e-3]]]}]}`,
		`{"inputs": [{"name": "image", "shape": [2, 2, 1], "datatype": "FP32", "data": [0, 0.25, 0.75, 1]}]}`,
		`{"inputs": [{"name": "text", "shape": [0], "datatype": "BYTES", "data": []}]}`,
		`{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": [null]}]}`,
		`{"inputs": []}`,
		`[]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeInfer(body)
		if err != nil {
			return
		}
		if in, err := req.textInputs(); err == nil {
			if len(in.texts) != in.n || int64(in.n) != req.Inputs[0].Shape[0] {
				t.Fatalf("%d texts, n %d, shape %v", len(in.texts), in.n, req.Inputs[0].Shape)
			}
			var flat []string
			if json.Unmarshal(req.Inputs[0].Data, &flat) == nil && len(flat) == in.n && !slices.Equal(flat, in.texts) {
				t.Fatalf("texts %q, encoding/json reads %q", in.texts, flat)
			}
		}
		for _, shape := range [][2]int{{2, 2}, {2, 1}, {28, 28}} {
			if in, err := req.imageInputs(shape[0], shape[1]); err == nil {
				if len(in.pixels) != in.n*shape[0]*shape[1] || int64(in.n) != req.Inputs[0].Shape[0] {
					t.Fatalf("%d pixels for %d images of %v", len(in.pixels), in.n, shape)
				}
				var flat []float64
				if json.Unmarshal(req.Inputs[0].Data, &flat) == nil && len(flat) == len(in.pixels) {
					for i, v := range flat {
						if want := math.Round(float64(float32(v)) * 255); byte(want) != in.pixels[i] {
							t.Fatalf("value %d: %v read as %d, want %v", i, v, in.pixels[i], want)
						}
					}
				}
			}
		}
	})
}
