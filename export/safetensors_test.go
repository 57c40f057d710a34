package export

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"testing"
)

func TestSafetensors(t *testing.T) {
	in := []Tensor{
		{Name: "b", Shape: []int{3}, Data: []float32{1, -2, 3.5}},
		{Name: "a", Shape: []int{2, 2}, Data: []float32{0.25, 0, -0, 7}},
		{Name: "s", Shape: []int{}, Data: []float32{42}},
	}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, in, map[string]string{"classes": `["x","y"]`}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	n := binary.LittleEndian.Uint64(b)
	if n%8 != 0 || b[8] != '{' {
		t.Errorf("header of %d bytes starting %q: want a multiple of 8 starting with {", n, b[8])
	}
	if len(b) != 8+int(n)+4*(3+4+1) {
		t.Errorf("%d bytes, want %d", len(b), 8+int(n)+4*8)
	}
	got, meta, err := ReadSafetensors(b)
	if err != nil {
		t.Fatal(err)
	}
	if meta["classes"] != `["x","y"]` {
		t.Errorf("metadata %v", meta)
	}
	for _, w := range in {
		g := got[w.Name]
		if !slices.Equal(g.Shape, w.Shape) || !slices.Equal(g.Data, w.Data) {
			t.Errorf("%s: got %v %v, want %v %v", w.Name, g.Shape, g.Data, w.Shape, w.Data)
		}
	}
	if len(got) != len(in) {
		t.Errorf("%d tensors, want %d", len(got), len(in))
	}
}

func TestReadSafetensorsErrors(t *testing.T) {
	file := func(head string, data int) []byte {
		b := binary.LittleEndian.AppendUint64(nil, uint64(len(head)))
		return append(append(b, head...), make([]byte, data)...)
	}
	for name, b := range map[string][]byte{
		"short":     {1, 2},
		"long head": file(`{}`, 0)[:9],
		"not json":  file(`[1]`, 0),
		"space":     file(` {}`, 0),
		"dtype":     file(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`, 4),
		"size":      file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, 4),
		"gap":       file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8),
		"overlap": file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},`+
			`"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8),
		"trailing": file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 8),
		"outside":  file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 0),
		"metadata": file(`{"__metadata__":{"n":1}}`, 0),
	} {
		if _, _, err := ReadSafetensors(b); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err %v, want ErrFormat", name, err)
		}
	}
	// Padding with spaces is allowed, as is a file of metadata only.
	if _, meta, err := ReadSafetensors(file(`{"__metadata__":{"n":"1"}}   `, 0)); err != nil || meta["n"] != "1" {
		t.Errorf("padded header: %v %v", meta, err)
	}
}
