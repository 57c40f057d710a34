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
	cpu0 := cpuTime()
	for b.Loop() {
		for _, d := range docs {
			tok.Tokenize(d)
		}
	}
	// MB per second of CPU time: on a machine shared with other jobs, MB/s (wall time) varies
	// with their load; with -cpu 1 this one does not, GC aside.
	if cpu := (cpuTime() - cpu0).Seconds(); cpu > 0 {
		b.ReportMetric(float64(len(text))*float64(b.N)/1e6/cpu, "MB/cpu-s")
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
