package tokenize

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/jdkato/prose/v2"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// golden is the expected output for one input file of testdata/golden.
type golden struct {
	Options   map[string]bool `json:"options"`
	Sentences []string        `json:"sentences"`
	Tokens    [][]string      `json:"tokens"`
}

func TestGolden(t *testing.T) {
	opts := map[string]bool{"lowercase": true, "nfkc": true, "numbers": false, "split_sentences": true}
	inputs, err := filepath.Glob("testdata/golden/*.txt")
	if err != nil || len(inputs) < 4 {
		t.Fatalf("golden inputs: %v %v", inputs, err)
	}
	tok, err := New(Lowercase(opts["lowercase"]), NFKC(opts["nfkc"]), Numbers(opts["numbers"]),
		SplitSentences(opts["split_sentences"]))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			text, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := golden{Options: opts, Sentences: tok.Sentences(string(text)), Tokens: tok.Tokenize(string(text))}
			path := strings.TrimSuffix(in, ".txt") + ".json"
			if *update {
				b, _ := json.MarshalIndent(got, "", "  ")
				if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var want golden
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Sentences, want.Sentences) {
				t.Errorf("sentences:\ngot  %q\nwant %q", got.Sentences, want.Sentences)
			}
			if !reflect.DeepEqual(got.Tokens, want.Tokens) {
				t.Errorf("tokens:\ngot  %q\nwant %q", got.Tokens, want.Tokens)
			}
		})
	}
}

// TestSentencesMatchProse checks that the shared Punkt model cuts English as prose's own
// NewDocument does (on text without blank lines or CJK, where the extra passes do nothing).
func TestSentencesMatchProse(t *testing.T) {
	tok, err := New()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for para := range paragraphs(readBenchText(t)) {
		if !strings.ContainsAny(para, ".?!") || strings.ContainsFunc(para, func(r rune) bool { return isCJKLetter(r) || isCJKPunct(r) }) {
			continue
		}
		doc, err := prose.NewDocument(para, prose.WithTokenization(false), prose.WithTagging(false), prose.WithExtraction(false))
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, s := range doc.Sentences() {
			if s.Text != "" {
				want = append(want, s.Text)
			}
		}
		if got := tok.Sentences(para); !reflect.DeepEqual(got, want) {
			t.Fatalf("paragraph %q:\ngot  %q\nwant %q", para, got, want)
		}
		if checked++; checked == 40 { // each prose call reloads its model: keep the test fast
			break
		}
	}
	if checked < 40 {
		t.Fatalf("only %d paragraphs checked", checked)
	}
}

// TestWordsMatchProse checks the plain-word shortcut and the mending of prose's dropped text: on
// real text, Words without normalisation gives exactly prose's tokens wherever prose keeps every
// character, and never loses a character anywhere.
func TestWordsMatchProse(t *testing.T) {
	tok, err := New()
	if err != nil {
		t.Fatal(err)
	}
	sents := tok.Sentences(readBenchText(t))
	if len(sents) < 1000 {
		t.Fatalf("only %d sentences", len(sents))
	}
	noSpace := func(s string) string { return strings.Join(strings.Fields(s), "") }
	same, mended, titles := 0, 0, 0
	for _, s := range sents {
		if strings.ContainsFunc(s, func(r rune) bool { return isCJKLetter(r) || isCJKPunct(r) }) {
			continue
		}
		got := tok.Words(s)
		if strings.Join(got, "") != noSpace(proseSanitizer.Replace(s)) {
			t.Fatalf("sentence %q lost text: %q", s, got)
		}
		doc, err := prose.NewDocument(s, prose.WithSegmentation(false), prose.WithTagging(false), prose.WithExtraction(false))
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, w := range doc.Tokens() {
			want = append(want, w.Text)
		}
		if strings.Join(want, "") != noSpace(proseSanitizer.Replace(s)) {
			mended++ // prose dropped text here; mend put it back
			continue
		}
		if n := len(want) - 1; n >= 0 && strings.HasSuffix(want[n], ".") && looksLikeTitle(strings.TrimSuffix(want[n], ".")) {
			want = append(want[:n], strings.TrimSuffix(want[n], "."), ".") // "Tom." at the end: see Words
			titles++
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("sentence %q:\ngot  %q\nwant %q", s, got, want)
		}
		same++
	}
	t.Logf("%d sentences as prose cuts them, %d mended, %d with a final title-like word", same, mended, titles)
	if same < 1000 || mended == 0 {
		t.Fatalf("%d sentences compared, %d mended: the text no longer exercises both paths", same, mended)
	}
}

func TestMend(t *testing.T) {
	tok, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string][]string{
		"I don't.":        {"I", "do", "n't", "."},
		"It wasn't...":    {"It", "was", "n't", ".", ".", "."},
		"0's and 1's, ok": {"0", "'s", "and", "1", "'s", ",", "ok"},
		"(they'll),":      {"(", "they", "'ll", ")", ","},
		"I met Tom.":      {"I", "met", "Tom", "."},
		"Mr. Li left":     {"Mr.", "Li", "left"},
	} {
		if got := tok.Words(in); !reflect.DeepEqual(got, want) {
			t.Errorf("Words(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOptions(t *testing.T) {
	cases := []struct {
		name string
		opts []Option
		in   string
		want [][]string
	}{
		{"defaults keep case", nil, "The Cat sat. It left.", [][]string{{"The", "Cat", "sat", "."}, {"It", "left", "."}}},
		{"lowercase", []Option{Lowercase(true)}, "The CAT.", [][]string{{"the", "cat", "."}}},
		{"numbers", []Option{Numbers(true)}, "Paid 3.50 on 2002-08-22 at 10:54, up 10%.",
			[][]string{{"Paid", NumberToken, "on", NumberToken, "at", NumberToken, ",", "up", NumberToken, "."}}},
		{"numbers keep words with digits", []Option{Numbers(true)}, "the 1990s and mp3",
			[][]string{{"the", "1990s", "and", "mp3"}}},
		{"nfkc full-width", []Option{NFKC(true)}, "ＡＢＣ１２３", [][]string{{"ABC123"}}},
		{"no nfkc keeps full-width", nil, "ＡＢＣ", [][]string{{"ＡＢＣ"}}},
		{"no split", []Option{SplitSentences(false)}, "First. Second.\n\nThird.", [][]string{{"First", ".", "Second", ".", "Third", "."}}},
		{"blank line ends a sentence", nil, "Subject: hello\n \nbody text", [][]string{{"Subject", ":", "hello"}, {"body", "text"}}},
		{"empty", nil, " \n\t ", nil},
		{"han per character", nil, "你好，世界。再见", [][]string{{"你", "好", "，", "世", "界", "。"}, {"再", "见"}}},
		{"ascii ender after han", nil, "好!!再见?", [][]string{{"好", "!", "!"}, {"再", "见", "?"}}},
		{"closing quote stays", nil, "「行こう。」と言った。", [][]string{{"「", "行", "こ", "う", "。", "」"}, {"と", "言", "っ", "た", "。"}}},
		{"mixed scripts", nil, "用Go写LSTM", [][]string{{"用", "Go", "写", "LSTM"}}},
		{"katakana long vowel", nil, "コーヒー", [][]string{{"コ", "ー", "ヒ", "ー"}}},
		{"hangul goes to prose", nil, "안녕하세요 세계", [][]string{{"안녕하세요", "세계"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, err := New(c.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.Tokenize(c.in); !reflect.DeepEqual(got, c.want) {
				t.Errorf("Tokenize(%q)\ngot  %q\nwant %q", c.in, got, c.want)
			}
			if (tok.punkt != nil) != tok.split {
				t.Errorf("sentence model loaded: %v, with sentence splitting %v", tok.punkt != nil, tok.split)
			}
		})
	}
}

// TestConcurrent runs one Tokenizer from several goroutines (meaningful under -race) and checks
// they all agree.
func TestConcurrent(t *testing.T) {
	tok, err := New(Lowercase(true))
	if err != nil {
		t.Fatal(err)
	}
	text := readBenchText(t)[:20000]
	want := tok.Tokenize(text)
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for range 4 {
		wg.Go(func() {
			if got := tok.Tokenize(text); !reflect.DeepEqual(got, want) {
				errs <- "concurrent Tokenize differs"
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
