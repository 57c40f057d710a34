package tokenize

import (
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestRunes checks character tokens against runes written out by hand: NFKC composes and
// folds before the cut, lowercasing follows it, white space becomes one space token.
func TestRunes(t *testing.T) {
	cases := []struct {
		name string
		opts []Option
		in   string
		want [][]string
	}{
		// Latin A, n + combining tilde, Cyrillic а (U+0430), an ideographic space, full-width 1 2.
		{"mixed scripts nfkc", []Option{NFKC(true), Lowercase(true)}, "Ａn\u0303\u0430\u3000１２",
			[][]string{{"a", "ñ", "\u0430", " ", "1", "2"}}},
		{"Añа 12 as typed", []Option{NFKC(true), Lowercase(true)}, "A\u00f1\u0430 12",
			[][]string{{"a", "ñ", "\u0430", " ", "1", "2"}}},
		{"no nfkc keeps the combining mark apart", nil, "An\u0303\u0430 １",
			[][]string{{"A", "n", "\u0303", "\u0430", " ", "１"}}},
		{"a name", []Option{Lowercase(true)}, "Mary-Jo", [][]string{{"m", "a", "r", "y", "-", "j", "o"}}},
		{"white-space runs are one space", []Option{SplitSentences(false)}, "  a \t\n b\r\n",
			[][]string{{"a", " ", "b"}}},
		{"numbers are not folded", []Option{Numbers(true)}, "x 42", [][]string{{"x", " ", "4", "2"}}},
		{"controls left out", nil, "a\x00b\x07", [][]string{{"a", "b"}}},
		{"bad UTF-8", nil, "a\xffb", [][]string{{"a", "\uFFFD", "b"}}},
		{"sentences first", nil, "Hi there. Go on!", [][]string{
			{"H", "i", " ", "t", "h", "e", "r", "e", "."}, {"G", "o", " ", "o", "n", "!"}}},
		{"han", nil, "用Go。", [][]string{{"用", "G", "o", "。"}}},
		{"simple case mapping", []Option{Lowercase(true)}, "İSTANBUL", [][]string{{"i", "s", "t", "a", "n", "b", "u", "l"}}},
		{"empty", nil, " \n\t ", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, err := New(append(c.opts, Characters(true))...)
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.Tokenize(c.in); !reflect.DeepEqual(got, c.want) {
				t.Errorf("Tokenize(%q)\ngot  %q\nwant %q", c.in, got, c.want)
			}
		})
	}
}

// TestRunesKeepText checks on real mail that character tokens are the sentence's runes: joined,
// they give the normalised sentence with white space squeezed to one space.
func TestRunesKeepText(t *testing.T) {
	tok, err := New(Characters(true), NFKC(true))
	if err != nil {
		t.Fatal(err)
	}
	text := readBenchText(t)[:50000]
	n := 0
	for _, s := range tok.Sentences(text) {
		got := tok.Runes(s)
		for _, r := range got {
			if utf8.RuneCountInString(r) != 1 {
				t.Fatalf("token %q of %q is not one rune", r, s)
			}
		}
		want := strings.Join(strings.Fields(tok.normal(strings.ToValidUTF8(s, "\uFFFD"))), " ")
		want = strings.Map(func(r rune) rune {
			if r < ' ' || r == 0x7f || r >= 0x80 && r < 0xa0 {
				return -1
			}
			return r
		}, want)
		if j := strings.Join(got, ""); j != want {
			t.Fatalf("sentence %q:\ngot  %q\nwant %q", s, j, want)
		}
		n += len(got)
	}
	if n < 10000 {
		t.Fatalf("only %d character tokens", n)
	}
}

func BenchmarkRunes(b *testing.B) {
	tok, err := New(Characters(true), Lowercase(true), NFKC(true))
	if err != nil {
		b.Fatal(err)
	}
	text := readBenchText(b)
	sents := tok.Sentences(text)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range sents {
			tok.Runes(s)
		}
	}
}

// FuzzRunes checks that character tokens are single runes, that the only white-space token is
// " " and never first, last or doubled, and that no control character gets through.
func FuzzRunes(f *testing.F) {
	for _, s := range []string{"Añа 12", "ＡＢＣ　１２３ ﬁ ß İ", "a\x00\t\n b\xff", "我们用Go写LSTM。好的！", " "} {
		f.Add(s)
	}
	tok, err := New(Characters(true), Lowercase(true), NFKC(true))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, sent := range tok.Tokenize(text) {
			for i, r := range sent {
				c, size := utf8.DecodeRuneInString(r)
				switch {
				case size != len(r) || c == utf8.RuneError && size != 3:
					t.Fatalf("token %q of %q is not one rune", r, text)
				case unicode.IsSpace(c) && (r != " " || i == 0 || i == len(sent)-1 || sent[i-1] == " "):
					t.Fatalf("white space %q at %d of %q", r, i, sent)
				case unicode.IsControl(c) && r != " ":
					t.Fatalf("control %q in %q", r, sent)
				}
			}
		}
	})
}
