package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"unsafe"

	"github.com/seqclf/seqclf/internal/atomicfile"
	"github.com/seqclf/seqclf/internal/half"
	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/lstm/quant"
)

// The buckets and keys of a quantized model (see doc.go's Quantized models).
const (
	bucketWeightsInt8 = "weights_int8" // parameter name → int8 values, or float32 scales and biases
	bucketTableInt8   = "table_int8"   // the int8 embedding table and its row scales
	keyQuant          = "quant"        // config bucket: JSON of Quantization
	keyTableScale     = "scale"        // table_int8: float32 scale of each row
	suffixScale       = ".scale"       // weights_int8: float32 scale of each column of NAME
)

// Quantization is the record of a quantized model: what is int8, and how it is scaled.
type Quantization struct {
	Version int `json:"version"` // 1
	// Weights is "int8, a scale per column" for the layers' input and recurrent weights, with the
	// biases, the attention and the head in float32.
	Weights string `json:"weights"`
	// Table is "int8, a scale per row" for a text model's embedding table.
	Table string `json:"table,omitempty"`
}

// quantization is the record this seqclf writes.
var quantization = Quantization{Version: 1, Weights: "int8, a scale per column", Table: "int8, a scale per row"}

// Quantized reports whether the store's model is quantized (PutQuantModel).
func (s *Store) Quantized() (bool, error) {
	var found bool
	err := s.viewTx(func(tx *txn) error { found = tx.get(bucketConfig, keyQuant) != nil; return nil })
	return found, err
}

// PutQuantModel replaces the store's float32 weights, and its embedding table if q has one, with
// q's int8 ones, in one transaction: the float32 weights and table buckets go, the shape is
// rewritten from q.Config, the dictionary is rewritten packed (see doc.go), and the rest of the
// file (input, labels, run config, history) stays as it is.
func (s *Store) PutQuantModel(q *quant.Model) error {
	shape, err := json.Marshal(ShapeOf(q.Config))
	if err != nil {
		return err
	}
	rec, err := json.Marshal(quantization)
	if err != nil {
		return err
	}
	err = s.updateTx(func(tx *txn) error {
		for _, b := range []string{bucketWeights, bucketWeightsInt8} {
			if err := tx.deleteBucket(b); err != nil {
				return err
			}
		}
		for name, v := range quantParams(q) {
			if err := tx.put(bucketWeightsInt8, name, v); err != nil {
				return err
			}
		}
		if q.Embed != nil {
			for _, b := range []string{bucketTable, bucketEmbed, bucketTableInt8} {
				if err := tx.deleteBucket(b); err != nil {
					return err
				}
			}
			if err := tx.put(bucketTableInt8, keyValues, int8Bytes(q.Embed.Values)); err != nil {
				return err
			}
			if err := tx.put(bucketTableInt8, keyTableScale, putF16(q.Embed.Scale)); err != nil {
				return err
			}
			if err := tx.put(bucketMeta, metaEmbedDim, be32(uint32(q.Embed.Dim))); err != nil {
				return err
			}
			if err := tx.put(bucketMeta, metaEmbedRows, be32(uint32(q.Embed.Rows))); err != nil {
				return err
			}
		}
		if err := s.packVocab(tx); err != nil {
			return err
		}
		if err := tx.put(bucketConfig, keyShape, shape); err != nil {
			return err
		}
		return tx.put(bucketConfig, keyQuant, rec)
	})
	if err != nil {
		return fmt.Errorf("writing the quantized model to %s: %w", s.path, err)
	}
	return nil
}

// packVocab rewrites, in t, the store's dictionary (if it has one, in whichever layout) in the
// packed layout of version 3, vocab/packed as vocab.Vocab.MarshalBinary writes it: a third of
// the hashed layout's bytes for the SpamAssassin dictionary. The hashed layout is there to be
// looked up in place, for a fast start; a quantized model's file is made to be small (the
// default model's: 27% of its float32 file, 32% with the hashed layout), so its dictionary is
// decoded when it opens, though its int8 table is mapped: one line through seqclf classify took
// 24 ms against 20 for the default model's float32 file, and a model of 200,000 entries opens
// in 65 ms against 0.23 (BenchmarkOpenModel). Store.Dictionary reads both.
func (s *Store) packVocab(t *txn) error {
	if _, err := s.vocabSize(t.tx); err != nil {
		return nil // no dictionary: a model of images
	}
	v, err := s.readVocab(t.tx)
	if err != nil {
		return err
	}
	b, err := v.MarshalBinary()
	if err != nil {
		return err
	}
	for _, name := range []string{bucketVocab, bucketVocabIDs, bucketVocabTokens, bucketVocabCounts} {
		if err := t.deleteBucket(name); err != nil {
			return err
		}
	}
	return t.put(bucketVocab, keyPacked, b)
}

// quantLayerNames returns the stored names of each layer's weights, as lstm.Model.Params names
// its W: lstm.0, lstm.0.reverse, …
func quantLayerNames(cfg lstm.Config) (fw, bw []string) {
	for l := range cfg.NumLayers {
		fw = append(fw, fmt.Sprintf("%v.%d", cfg.Cell, l))
		bw = append(bw, fmt.Sprintf("%v.%d.reverse", cfg.Cell, l))
	}
	return fw, bw
}

// quantParams returns q's values by stored name: for each layer NAME.w, the int8 W (its input
// rows, then its recurrent rows), NAME.w.scale, the scales of the input rows' columns then of the
// recurrent rows', and NAME.b; the float32 attention; head.w (int8) with head.w.scale, head.b.
func quantParams(q *quant.Model) map[string][]byte {
	head := quant.QuantizeWeights(q.HeadW, q.Config.OutputDim(), q.Config.Classes)
	out := map[string][]byte{"head.w": int8Bytes(head.Values), "head.w" + suffixScale: putF16(head.Scale), "head.b": putF32(q.HeadB)}
	if q.AttnW != nil {
		out["attention.w"], out["attention.b"], out["attention.v"] = putF32(q.AttnW), putF32(q.AttnB), putF32(q.AttnV)
	}
	fw, bw := quantLayerNames(q.Config)
	put := func(name string, l *quant.Layer) {
		out[name+".w"] = append(int8Bytes(l.Wx.Values), int8Bytes(l.Wh.Values)...)
		out[name+".w"+suffixScale] = putF16(append(append([]float32(nil), l.Wx.Scale...), l.Wh.Scale...))
		out[name+".b"] = putF32(l.B)
	}
	for i, l := range q.Layers {
		put(fw[i], l)
		if q.Reverse != nil {
			put(bw[i], q.Reverse[i])
		}
	}
	return out
}

// readQuant reads a quantized model of shape cfg into out: out.Quant, and out.LSTM and out.Table
// as the float32 values they stand for, so that what reads a float32 model (its shape, a
// summary, an export) reads this one. With inPlace (MapModel), the int8 embedding table is
// mapped from the file, not read, where it can be (Store.mapValue), and out.Table is left nil:
// classifying reads the int8 rows of its tokens alone.
func (s *Store) readQuant(tx *txn, cfg lstm.Config, out *Model, inPlace bool) error {
	q := &quant.Model{Config: cfg}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%s: %w: quantized model: %s", s.path, ErrNotStore, fmt.Sprintf(format, a...))
	}
	f16 := func(name string, n int) ([]float32, error) {
		v := make([]float32, n)
		if err := getF16(v, tx.value(bucketWeightsInt8, name), "int8 weights "+name); err != nil {
			return nil, fmt.Errorf("%s: %w", s.path, err)
		}
		return v, nil
	}
	f32 := func(name string, n int) ([]float32, error) {
		v := make([]float32, n)
		if err := getF32(v, tx.value(bucketWeightsInt8, name), "int8 weights "+name); err != nil {
			return nil, fmt.Errorf("%s: %w", s.path, err)
		}
		return v, nil
	}
	// weights reads int8 values, rows×cols, and for a head (scaled) their scales.
	weights := func(name string, rows, cols int, scaled bool) (quant.Weights, error) {
		w := quant.Weights{Rows: rows, Cols: cols}
		b := tx.value(bucketWeightsInt8, name)
		if len(b) != rows*cols {
			return w, bad("%s has %d bytes, want %d×%d", name, len(b), rows, cols)
		}
		w.Values = append([]int8(nil), bytesInt8(b)...)
		var err error
		if scaled {
			w.Scale, err = f16(name+suffixScale, cols)
		}
		return w, err
	}
	h, e := cfg.NumUnits, cfg.OutputDim()
	layer := func(name string, in int) (*quant.Layer, error) {
		w, err := weights(name+".w", in+h, 4*h, false)
		if err != nil {
			return nil, err
		}
		scale, err := f16(name+".w"+suffixScale, 2*4*h)
		if err != nil {
			return nil, err
		}
		l := &quant.Layer{InputDim: in, NumUnits: h, Cell: cfg.Cell,
			Wx: quant.Weights{Rows: in, Cols: 4 * h, Values: w.Values[:in*4*h], Scale: scale[:4*h]},
			Wh: quant.Weights{Rows: h, Cols: 4 * h, Values: w.Values[in*4*h:], Scale: scale[4*h:]}}
		l.B, err = f32(name+".b", 4*h)
		return l, err
	}
	fw, bw := quantLayerNames(cfg)
	in := cfg.InputDim
	for i := range cfg.NumLayers {
		l, err := layer(fw[i], in)
		if err != nil {
			return err
		}
		q.Layers = append(q.Layers, l)
		if cfg.Bidirectional {
			if l, err = layer(bw[i], in); err != nil {
				return err
			}
			q.Reverse = append(q.Reverse, l)
		}
		in = e
	}
	head, err := weights("head.w", e, cfg.Classes, true)
	if err != nil {
		return err
	}
	if cfg.Pooling == lstm.PoolAttention {
		if q.AttnW, err = f32("attention.w", e*h); err != nil {
			return err
		}
		if q.AttnB, err = f32("attention.b", h); err != nil {
			return err
		}
		if q.AttnV, err = f32("attention.v", h); err != nil {
			return err
		}
	}
	q.HeadW = head.Dequantize()
	if q.HeadB, err = f32("head.b", cfg.Classes); err != nil {
		return err
	}
	if v := tx.value(bucketTableInt8, keyValues); v != nil {
		rows, dim := be32Of(tx.value(bucketMeta, metaEmbedRows)), be32Of(tx.value(bucketMeta, metaEmbedDim))
		if rows < 1 || dim != cfg.InputDim || len(v) != rows*dim {
			return bad("embedding table of %d bytes for %d×%d, model input %d", len(v), rows, dim, cfg.InputDim)
		}
		scale := make([]float32, rows)
		if err := getF16(scale, tx.value(bucketTableInt8, keyTableScale), "int8 table scales"); err != nil {
			return fmt.Errorf("%s: %w", s.path, err)
		}
		var values []int8
		var mapping []byte
		if inPlace {
			var b []byte
			if b, mapping = s.mapValue(v, 1); mapping != nil {
				values = bytesInt8(b)
			}
		}
		if values == nil {
			values = append([]int8(nil), bytesInt8(v)...)
		}
		if q.Embed, err = quant.NewTable(rows, dim, values, scale); err != nil {
			unmap(mapping)
			return bad("%v", err)
		}
		if mapping != nil {
			runtime.AddCleanup(q.Embed, unmap, mapping)
		}
		if !inPlace {
			out.Table = q.Embed.Dequantize()
		}
	}
	if err := q.Prepare(); err != nil {
		return bad("%v", err)
	}
	out.Quant = q
	out.LSTM = q.Dequantize()
	return nil
}

// putF16 encodes v, half-precision values (quant's scales), as little-endian binary16.
func putF16(v []float32) []byte {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], half.Bits(x))
	}
	return b
}

// getF16 decodes little-endian binary16 values b into dst, which must have room for exactly
// len(b)/2 values.
func getF16(dst []float32, b []byte, what string) error {
	if len(b) != 2*len(dst) {
		return fmt.Errorf("%w: %s has %d bytes, want %d", ErrNotStore, what, len(b), 2*len(dst))
	}
	for i := range dst {
		dst[i] = half.Float32(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return nil
}

// be32Of returns the big-endian uint32 of b, or -1 if b is not 4 bytes.
func be32Of(b []byte) int {
	if len(b) != 4 {
		return -1
	}
	return int(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
}

// int8Bytes returns v's bytes, a copy.
func int8Bytes(v []int8) []byte {
	return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v))...)
}

// bytesInt8 returns b as int8 values, without a copy.
func bytesInt8(b []byte) []int8 {
	return unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(b))), len(b))
}

// WriteQuantModelFile writes the model file out: a copy of the model file in with its float32
// weights and table replaced by q's int8 ones (PutQuantModel), compacted (Compact), through a
// temporary file beside out, so that a reader of out sees the old file or the whole new one.
// in is only read.
func WriteQuantModelFile(in, out string, q *quant.Model) error {
	return rewriteCopy(in, out, false, func(s *Store) error { return s.PutQuantModel(q) })
}

// QuantizeModelFile writes out as the int8 copy of the float32 model file in (quant.New of its
// network and embedding table, then WriteQuantModelFile), as `seqclf model quantize` does, and
// returns the float32 model read from in and its int8 network. A model that is quantized
// already is an error.
func QuantizeModelFile(in, out string) (*Model, *quant.Model, error) {
	s, err := Open(in)
	if err != nil {
		return nil, nil, err
	}
	m, err := s.LoadModel()
	s.Close()
	if err != nil {
		return nil, nil, err
	}
	if m.Quant != nil {
		return nil, nil, fmt.Errorf("%s is quantized already", in)
	}
	q, err := quant.New(m.LSTM, m.Table)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", in, err)
	}
	if err := WriteQuantModelFile(in, out, q); err != nil {
		return nil, nil, err
	}
	return m, q, nil
}

// rewriteCopy writes out as a copy of the model file in, opened for writing (which brings it to
// this layout), changed by edit (if not nil), closed and compacted (Compact), through a temporary
// file beside out renamed over it: a reader of out sees the old file or the whole new one, and
// an error leaves out as it was. With keepMode the new out has in's permissions, else those a
// new file gets. in is only read.
func rewriteCopy(in, out string, keepMode bool, edit func(*Store) error) (err error) {
	tmp, err := atomicfile.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-")
	if err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err := copyOver(tmp, in); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	s, err := Create(tmp)
	if err != nil {
		return err
	}
	if edit != nil {
		err = edit(s)
	}
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = Compact(tmp)
	}
	if err == nil && keepMode {
		var fi os.FileInfo
		if fi, err = os.Stat(in); err == nil {
			err = os.Chmod(tmp, fi.Mode().Perm())
		}
	}
	if err == nil {
		err = os.Rename(tmp, out)
	}
	return err
}

// copyOver copies the file src over dst, which exists.
func copyOver(dst, src string) error {
	r, err := os.Open(src)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := os.OpenFile(dst, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
