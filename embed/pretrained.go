package embed

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// A Dictionary maps tokens to table rows; *vocab.Vocab is one.
type Dictionary interface {
	Len() int
	Token(id int) string
	Lookup(token string) (int, bool)
}

// LoadStats says what Load found.
type LoadStats struct {
	Vectors   int // vectors read from the file
	Exact     int // dictionary entries given the vector of the same token
	Lowercase int // entries given the vector of their lowercase form (no exact match)
	Missing   int // entries, the two special tokens aside, left with their random start
}

// Found returns the entries that got a pretrained vector.
func (s LoadStats) Found() int { return s.Exact + s.Lowercase }

// ErrFormat is wrapped by the errors about a vector file's content.
var ErrFormat = errors.New("embed: bad vector file")

// Load reads pretrained vectors in the text format shared by word2vec, GloVe and fastText — a
// token and Dim() numbers per line, separated by spaces, with or without a first line
// "count dim" — and copies into t the vector of each dictionary token. A token with no vector
// of its own takes that of its lowercase form, where the file has one (the first such line
// wins; an exact match always wins). name labels errors (the file's path).
//
// Rows left without a vector are rescaled to the standard deviation of the loaded ones, so that
// both start on the same scale; PadID stays zero. A file whose vectors are not Dim() long is an
// error naming the line, and so is a file with no vector at all.
func Load(r io.Reader, name string, dict Dictionary, t *Table) (LoadStats, error) {
	var st LoadStats
	if dict.Len() != t.Rows() {
		return st, fmt.Errorf("%w: dictionary of %d tokens, table of %d rows", ErrShape, dict.Len(), t.Rows())
	}
	// byLower maps a lowercase form to the entries that could fall back to it.
	byLower := make(map[string][]int)
	for id := 2; id < dict.Len(); id++ {
		l := strings.ToLower(dict.Token(id))
		byLower[l] = append(byLower[l], id)
	}
	const (
		none = iota
		lower
		exact
	)
	got := make([]uint8, dict.Len())
	br := bufio.NewReaderSize(r, 1<<20)
	vec := make([]float32, t.dim)
	for line := 1; ; line++ {
		b, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull { // a long line: gather it
			rest := append([]byte(nil), b...)
			for err == bufio.ErrBufferFull {
				b, err = br.ReadSlice('\n')
				rest = append(rest, b...)
			}
			b = rest
		}
		if err != nil && err != io.EOF {
			return st, fmt.Errorf("embed: reading %s: %w", name, err)
		}
		b = bytes.TrimRight(b, " \r\n")
		if len(b) > 0 {
			if line == 1 {
				if n, ok := header(b); ok {
					if n != t.dim {
						return st, fmt.Errorf("%w: %s:1: header says %d dimensions, the table has %d (embed.dim)", ErrFormat, name, n, t.dim)
					}
					continue
				}
			}
			if st.Vectors == 0 { // the first vector sets the file's dimension
				if n := len(bytes.Fields(b)) - 1; n != t.dim {
					return st, fmt.Errorf("%w: %s:%d: the file's vectors have %d values, the table has %d dimensions (embed.dim)", ErrFormat, name, line, n, t.dim)
				}
			}
			word, nums, err := split(b, t.dim)
			if err != nil {
				return st, fmt.Errorf("%w: %s:%d: %v", ErrFormat, name, line, err)
			}
			st.Vectors++
			id, ok := dict.Lookup(word)
			targets := byLower[strings.ToLower(word)]
			if (!ok || got[id] == exact) && !anyBelow(got, targets, lower) {
				continue // nothing would take it: skip parsing the numbers
			}
			if err := parse(vec, nums); err != nil {
				return st, fmt.Errorf("%w: %s:%d: %v", ErrFormat, name, line, err)
			}
			if ok && id >= 2 && got[id] != exact {
				copy(t.Row(id), vec)
				got[id] = exact
			}
			for _, id := range targets {
				if got[id] == none {
					copy(t.Row(id), vec)
					got[id] = lower
				}
			}
		}
		if err == io.EOF {
			break
		}
	}
	if st.Vectors == 0 {
		return st, fmt.Errorf("%w: %s holds no vectors", ErrFormat, name)
	}
	for id := 2; id < dict.Len(); id++ {
		switch got[id] {
		case exact:
			st.Exact++
		case lower:
			st.Lowercase++
		default:
			st.Missing++
		}
	}
	if st.Found() > 0 && st.Missing > 0 {
		loaded := t.Std(func(id int) bool { return got[id] != none })
		random := t.Std(func(id int) bool { return id != PadID && got[id] == none })
		if random > 0 {
			f := float32(loaded / random)
			for id := 1; id < dict.Len(); id++ {
				if got[id] == none {
					for k := range t.Row(id) {
						t.Row(id)[k] *= f
					}
				}
			}
		}
	}
	return st, nil
}

// LoadFile is Load on a file, gunzipped on the fly if it is gzip-compressed.
func LoadFile(path string, dict Dictionary, t *Table) (LoadStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return LoadStats{}, fmt.Errorf("embed: pretrained vectors: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return LoadStats{}, fmt.Errorf("embed: %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	return Load(r, path, dict, t)
}

func anyBelow(got []uint8, ids []int, level uint8) bool {
	for _, id := range ids {
		if got[id] < level {
			return true
		}
	}
	return false
}

// header reports whether b is a word2vec/fastText first line, "count dim", and returns dim.
func header(b []byte) (int, bool) {
	f := bytes.Fields(b)
	if len(f) != 2 {
		return 0, false
	}
	if _, err := strconv.Atoi(string(f[0])); err != nil {
		return 0, false
	}
	dim, err := strconv.Atoi(string(f[1]))
	return dim, err == nil
}

// split cuts a line into its token and its dim numbers. A token may hold spaces (GloVe 840B
// has a few): the last dim fields are the numbers.
func split(b []byte, dim int) (string, [][]byte, error) {
	f := bytes.Fields(b)
	if len(f) < dim+1 {
		return "", nil, fmt.Errorf("%d values after the token, the table has %d dimensions (embed.dim)", len(f)-1, dim)
	}
	word := string(bytes.Join(f[:len(f)-dim], []byte(" ")))
	return word, f[len(f)-dim:], nil
}

func parse(dst []float32, nums [][]byte) error {
	for i, n := range nums {
		x, err := strconv.ParseFloat(string(n), 32)
		if err != nil {
			return fmt.Errorf("value %d: %q is not a number", i+1, n)
		}
		dst[i] = float32(x)
	}
	return nil
}
