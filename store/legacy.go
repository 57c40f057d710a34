package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"github.com/seqclf/seqclf/lstm"
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
		sh := shapeOf(lstm.Config{InputDim: old.InputDim, NumUnits: old.NumUnits, NumLayers: old.NumLayers,
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
		out[[2]string{bucketMeta, metaTokenize}], _ = json.Marshal(Tokenizer(old))
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
