package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"unicode"

	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/vocab"
	bolt "go.etcd.io/bbolt"
)

// Format 1 stored its JSON records with the Go field names of the structs that wrote them
// ("NumUnits", "SplitSentences"), had no input record, and kept the model's shape under
// config/lstm. upgrade1 turns the records of a version-1 store into their version-2 form.

// shape1 is the model shape as version 1 stored it: lstm.Config with Go's names.
type shape1 struct {
	InputDim, NumUnits, NumLayers, Classes int
	Pooling                                lstm.Pooling
	Dropout, InputDropout                  float64
}

// run1 is the part of a version-1 run config that the input record is made from.
type run1 struct {
	Source struct {
		Kind, Slice string
	}
	Tokenize struct {
		Lowercase, NFKC, Numbers, SplitSentences bool
		Unit                                     string
	}
	LSTM struct {
		TimeStep int
	}
}

// upgrade1 returns the records that replace a version-1 store's, by bucket and key; a nil value
// deletes the key. get reads the version-1 store.
func upgrade1(get func(bucket, key string) []byte) (map[[2]string][]byte, error) {
	out := map[[2]string][]byte{}
	if b := get(bucketConfig, "lstm"); b != nil {
		var old shape1
		if err := json.Unmarshal(b, &old); err != nil {
			return nil, fmt.Errorf("version 1 model shape: %v", err)
		}
		sh := ShapeOf(lstm.Config{InputDim: old.InputDim, NumUnits: old.NumUnits, NumLayers: old.NumLayers,
			Classes: old.Classes, Pooling: old.Pooling, Dropout: old.Dropout, InputDropout: old.InputDropout})
		out[[2]string{bucketConfig, keyShape}], _ = json.Marshal(sh)
		out[[2]string{bucketConfig, "lstm"}] = nil
	}
	if b := get(bucketConfig, keyRun); b != nil {
		var old run1
		if err := json.Unmarshal(b, &old); err != nil {
			return nil, fmt.Errorf("version 1 run config: %v", err)
		}
		t := old.Tokenize
		in := Input{Kind: old.Source.Kind, TimeStep: old.LSTM.TimeStep}
		if in.Kind == "mnist" {
			in.Slice = old.Source.Slice
		} else {
			in.Unit = t.Unit
			in.Tokenize = Tokenizer{Lowercase: t.Lowercase, NFKC: t.NFKC, Numbers: t.Numbers, SplitSentences: t.SplitSentences}
		}
		out[[2]string{bucketConfig, keyInput}], _ = json.Marshal(in)
		run, err := snakeKeys(b)
		if err != nil {
			return nil, fmt.Errorf("version 1 run config: %v", err)
		}
		out[[2]string{bucketConfig, keyRun}] = run
	}
	if b := get(bucketMeta, metaTokenize); b != nil {
		var old struct{ Lowercase, NFKC, Numbers, SplitSentences bool }
		if err := json.Unmarshal(b, &old); err != nil {
			return nil, fmt.Errorf("version 1 tokenizer options: %v", err)
		}
		out[[2]string{bucketMeta, metaTokenize}], _ = json.Marshal(Tokenizer{Lowercase: old.Lowercase, NFKC: old.NFKC, Numbers: old.Numbers, SplitSentences: old.SplitSentences})
	}
	return out, nil
}

// snakeKeys rewrites the keys of a JSON object written with Go's field names ("OutputDir",
// "LSTM") in the config's words ("output_dir", "lstm"), at every level but inside "Labels",
// whose keys are folder names.
func snakeKeys(b []byte) ([]byte, error) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	var walk func(v any) any
	walk = func(v any) any {
		obj, ok := v.(map[string]any)
		if !ok {
			return v
		}
		out := make(map[string]any, len(obj))
		for k, x := range obj {
			if k != "Labels" {
				x = walk(x)
			}
			out[snake(k)] = x
		}
		return out
	}
	return json.Marshal(walk(v))
}

// snake turns a Go name into the config's: OutputDir → output_dir, NFKC → nfkc.
func snake(name string) string {
	r := []rune(name)
	var b strings.Builder
	for i, c := range r {
		if i > 0 && unicode.IsUpper(c) {
			prevLower := unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1])
			nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
			if prevLower || unicode.IsUpper(r[i-1]) && nextLower {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// Versions 1 and 2 kept the dictionary in three buckets keyed by id and token, and the table in
// one keyed by id, written in chunks; these read them.

// vocabBuckets reads a dictionary of n entries kept in buckets.
func (s *Store) vocabBuckets(tx *bolt.Tx, n int, meta *bolt.Bucket) (*vocab.Vocab, error) {
	var types int
	if t := meta.Get([]byte(metaVocabTypes)); len(t) == 8 {
		types = int(binary.BigEndian.Uint64(t))
	}
	tb, cb := tx.Bucket([]byte(bucketVocabTokens)), tx.Bucket([]byte(bucketVocabCounts))
	if tb == nil || cb == nil {
		return nil, fmt.Errorf("store %s: %w (dictionary buckets missing)", s.path, ErrNotStore)
	}
	tokens, counts := make([]string, 0, n), make([]int64, 0, n)
	// Both buckets are keyed by the same ids in order: walk them side by side (a Get per id
	// searched the counts' tree 20,000 times, a third of classify's dictionary load).
	c, cc := tb.Cursor(), cb.Cursor()
	ck, cnt := cc.First()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) != 4 || int(binary.BigEndian.Uint32(k)) != len(tokens) {
			return nil, fmt.Errorf("store %s: %w (dictionary ids not 0..n-1)", s.path, ErrNotStore)
		}
		tokens = append(tokens, string(v)) // string() copies out of the mmap
		if !bytes.Equal(ck, k) || len(cnt) != 8 {
			return nil, fmt.Errorf("store %s: %w (no count for id %d)", s.path, ErrNotStore, len(tokens)-1)
		}
		counts = append(counts, int64(binary.BigEndian.Uint64(cnt)))
		ck, cnt = cc.Next()
	}
	if len(tokens) != n {
		return nil, fmt.Errorf("store %s: %w (dictionary of %d entries, meta says %d)", s.path, ErrNotStore, len(tokens), n)
	}
	v, err := vocab.New(tokens, counts, types)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.path, err)
	}
	return v, nil
}

// tableBuckets reads a table of n rows of d values kept in a bucket.
func (s *Store) tableBuckets(tx *bolt.Tx, n, d int) ([]float32, error) {
	b := tx.Bucket([]byte(bucketEmbed))
	if b == nil || n < 1 || d < 1 {
		return nil, fmt.Errorf("store %s: %w (embedding bucket missing)", s.path, ErrNotStore)
	}
	data := make([]float32, 0, n*d)
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) != 4 || int(binary.BigEndian.Uint32(k))*d != len(data) || len(v) != 4*d {
			return nil, fmt.Errorf("store %s: %w (embedding row %x malformed)", s.path, ErrNotStore, k)
		}
		for i := 0; i < len(v); i += 4 { // decoding copies out of the mmap
			data = append(data, math.Float32frombits(binary.LittleEndian.Uint32(v[i:])))
		}
	}
	return data, nil
}
