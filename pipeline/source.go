package pipeline

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"unicode/utf8"
)

// A Document is one text of a source with its label.
type Document struct {
	Name  string // where it comes from: "file:line", or the file's path below the source folder
	Label string
	Text  string
	Group string // with source.group_column: documents of one group go to the same split
}

// openText opens path for reading, through gzip if the file starts with gzip's magic bytes
// (whatever its name).
func openText(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(f, 1<<16)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return readCloser{zr, func() error { zr.Close(); return f.Close() }}, nil
	}
	return readCloser{br, f.Close}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// decodeText returns b as a string, read as Latin-1 if it is not valid UTF-8: old mail (the
// SpamAssassin corpus) is often Latin-1, and every byte string is valid Latin-1.
func decodeText(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// decodeString is decodeText for a string: s itself when it is valid UTF-8.
func decodeString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return decodeText([]byte(s))
}

// Holdout picks round(share·n) of n documents at random from rng: held[i] says whether
// document i is held out. Used with the documents in the order a source yields them, the same
// seed always holds out the same documents.
func Holdout(n int, share float64, rng *rand.Rand) []bool {
	held := make([]bool, n)
	k := int(math.Round(share * float64(n)))
	for _, i := range rng.Perm(n)[:k] {
		held[i] = true
	}
	return held
}

// TestSplitRNG returns the random source that chooses the test documents of a source without a
// test file (source.test_split): seeded from the config's seed, so `vocab build` and
// `pipeline run` hold out the same documents.
func (c *Config) TestSplitRNG() *rand.Rand { return rand.New(rand.NewPCG(c.Seed, 0x7e57)) }
