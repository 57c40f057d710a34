package export

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"unicode/utf8"
)

// ErrFormat is wrapped by the errors of a file that is not the safetensors this package reads.
var ErrFormat = errors.New("export: not a safetensors file of float32 tensors")

// maxHeader bounds the JSON header a reader accepts, as the reference implementation does.
const maxHeader = 100 << 20

// A Tensor is one named float32 tensor, row-major.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// headerEntry is one tensor's record in the safetensors header.
type headerEntry struct {
	Dtype   string   `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// WriteSafetensors writes tensors and metadata in the safetensors format: an 8-byte
// little-endian header length, the JSON header (padded with spaces to a multiple of 8 bytes, so
// that the data starts aligned), then each tensor's little-endian float32 values, in the order
// given, with no gap. Every tensor's Data must hold the product of its Shape.
func WriteSafetensors(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	head := map[string]any{}
	if len(metadata) > 0 {
		head["__metadata__"] = metadata
	}
	var off int64
	for _, t := range tensors {
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		if n != len(t.Data) {
			return fmt.Errorf("export: tensor %s of shape %v holds %d values", t.Name, t.Shape, len(t.Data))
		}
		if _, dup := head[t.Name]; dup {
			return fmt.Errorf("export: tensor %s written twice", t.Name)
		}
		end := off + 4*int64(n)
		head[t.Name] = headerEntry{Dtype: "F32", Shape: t.Shape, Offsets: [2]int64{off, end}}
		off = end
	}
	hb, err := json.Marshal(head) // map keys sorted: the same tensors give the same bytes
	if err != nil {
		return err
	}
	for len(hb)%8 != 0 {
		hb = append(hb, ' ')
	}
	buf := binary.LittleEndian.AppendUint64(make([]byte, 0, 8+len(hb)+int(off)), uint64(len(hb)))
	buf = append(buf, hb...)
	for _, t := range tensors {
		for _, v := range t.Data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
	}
	_, err = w.Write(buf)
	return err
}

// ReadSafetensors decodes a safetensors file of F32 tensors (another dtype is an error): its
// tensors by name and its metadata. It checks what the format requires: the header's length, its
// first byte '{' (trailing spaces are padding), offsets inside the data, each tensor's size
// matching its shape, and tensors that cover the data without gap or overlap.
func ReadSafetensors(b []byte) (map[string]Tensor, map[string]string, error) {
	if len(b) < 8 {
		return nil, nil, fmt.Errorf("%w: %d bytes", ErrFormat, len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > maxHeader || n > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("%w: header of %d bytes in a file of %d", ErrFormat, n, len(b))
	}
	hb, data := b[8:8+n], b[8+n:]
	if len(hb) == 0 || hb[0] != '{' || !utf8.Valid(hb) { // as the reference implementation checks
		return nil, nil, fmt.Errorf("%w: the header is not UTF-8 JSON starting with {", ErrFormat)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hb, &raw); err != nil {
		return nil, nil, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	var meta map[string]string
	if m, ok := raw["__metadata__"]; ok {
		if err := json.Unmarshal(m, &meta); err != nil {
			return nil, nil, fmt.Errorf("%w: __metadata__ must map strings to strings: %v", ErrFormat, err)
		}
		delete(raw, "__metadata__")
	}
	type span struct {
		name       string
		begin, end int64
	}
	spans := make([]span, 0, len(raw))
	out := make(map[string]Tensor, len(raw))
	for name, r := range raw {
		var e headerEntry
		if err := json.Unmarshal(r, &e); err != nil {
			return nil, nil, fmt.Errorf("%w: tensor %s: %v", ErrFormat, name, err)
		}
		if e.Dtype != "F32" {
			return nil, nil, fmt.Errorf("%w: tensor %s is %s", ErrFormat, name, e.Dtype)
		}
		count := int64(1)
		for _, d := range e.Shape {
			if d < 0 {
				return nil, nil, fmt.Errorf("%w: tensor %s of shape %v", ErrFormat, name, e.Shape)
			}
			count *= int64(d)
		}
		begin, end := e.Offsets[0], e.Offsets[1]
		if begin < 0 || end < begin || end > int64(len(data)) || end-begin != 4*count {
			return nil, nil, fmt.Errorf("%w: tensor %s of shape %v at bytes [%d, %d) of %d", ErrFormat, name, e.Shape, begin, end, len(data))
		}
		vals := make([]float32, count)
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[begin+4*int64(i):]))
		}
		out[name] = Tensor{Name: name, Shape: e.Shape, Data: vals}
		spans = append(spans, span{name, begin, end})
	}
	sort.Slice(spans, func(i, j int) bool {
		return spans[i].begin < spans[j].begin || spans[i].begin == spans[j].begin && spans[i].end < spans[j].end
	})
	var at int64
	for _, s := range spans {
		if s.begin != at {
			return nil, nil, fmt.Errorf("%w: tensor %s starts at byte %d, not %d (gap or overlap)", ErrFormat, s.name, s.begin, at)
		}
		at = s.end
	}
	if at != int64(len(data)) {
		return nil, nil, fmt.Errorf("%w: %d bytes of data after the last tensor", ErrFormat, int64(len(data))-at)
	}
	return out, meta, nil
}
