package tokenize

import (
	"compress/gzip"
	"io"
	"os"
	"strings"
	"testing"
)

// readBenchText returns the committed SpamAssassin mail bodies (see testdata/README.md).
func readBenchText(tb testing.TB) string {
	tb.Helper()
	f, err := os.Open("testdata/spamassassin-bodies.txt.gz")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// BenchmarkTokenize measures split + tokenize of real English mail, one document per mail as a
// corpus reader would hand them over; SetBytes makes -bench report MB/s.
func BenchmarkTokenize(b *testing.B) {
	text := readBenchText(b)
	docs := strings.Split(text, "\n\n\n")
	tok, err := New(Lowercase(true), NFKC(true))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		for _, d := range docs {
			tok.Tokenize(d)
		}
	}
}

// BenchmarkSentences measures the sentence split alone.
func BenchmarkSentences(b *testing.B) {
	text := readBenchText(b)
	tok, err := New()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tok.Sentences(text)
	}
}

// BenchmarkWords measures prose's word tokenizer on ready-cut sentences.
func BenchmarkWords(b *testing.B) {
	text := readBenchText(b)
	tok, err := New()
	if err != nil {
		b.Fatal(err)
	}
	sents := tok.Sentences(text)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		for _, s := range sents {
			tok.Words(s)
		}
	}
}
