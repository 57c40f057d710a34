package tokenize

import (
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzTokenize checks that no text makes the tokenizer panic, and that what it returns is
// tokens: non-empty, without spaces, valid UTF-8 for a valid input, the same on a second call.
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{
		"Mr. Smith didn't pay $4.50. He left!",
		"我们用Go写LSTM。好的！",
		"don't. can't! \"Quoted.\" (Paren.)",
		"caf\xe9 \x00\x01 \xff\xfe",
		"", " \n\n\t ", "A.B.C. e.g. i.e. 3.14 2002-08-22 <num>",
		"ＡＢＣ　１２３ ﬁ ß İ", "http://example.com/a?b=c&d=e foo@bar.com",
	} {
		f.Add(s, true)
	}
	tok, err := New(Lowercase(true), NFKC(true), Numbers(true))
	if err != nil {
		f.Fatal(err)
	}
	plain, err := New(Lowercase(false), SplitSentences(false))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string, folded bool) {
		tk := plain
		if folded {
			tk = tok
		}
		got := tk.Tokenize(text)
		for _, sent := range got {
			for _, w := range sent {
				if w == "" || strings.IndexFunc(w, unicode.IsSpace) >= 0 {
					t.Errorf("token %q of %q is empty or holds a space", w, text)
				}
				if utf8.ValidString(text) && !utf8.ValidString(w) {
					t.Errorf("token %q of valid %q is not UTF-8", w, text)
				}
			}
		}
		if again := tk.Tokenize(text); !reflect.DeepEqual(got, again) {
			t.Errorf("two calls on %q differ: %q and %q", text, got, again)
		}
	})
}
