package tokenize

import (
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/jdkato/prose/v2"
	"golang.org/x/text/unicode/norm"
	"gopkg.in/neurosnap/sentences.v1"
)

// NumberToken stands for every number when number folding is on (see Numbers).
const NumberToken = "<num>"

// An Option changes how a Tokenizer normalises text; see New.
type Option func(*Tokenizer)

// Lowercase lowercases every token (default off).
func Lowercase(on bool) Option { return func(t *Tokenizer) { t.lowercase = on } }

// NFKC applies Unicode NFKC normalisation before tokenizing, so that full-width Latin letters,
// digits and punctuation, ligatures and the like become their plain forms (default off).
func NFKC(on bool) Option { return func(t *Tokenizer) { t.nfkc = on } }

// Numbers replaces every token that is a number ("42", "3.14", "2002-08-22", "10%") by
// NumberToken (default off).
func Numbers(on bool) Option { return func(t *Tokenizer) { t.numbers = on } }

// SplitSentences cuts documents into sentences (default on). Off, a whole document is one
// sentence.
func SplitSentences(on bool) Option { return func(t *Tokenizer) { t.split = on } }

// Characters makes each Unicode character (rune) of a sentence one token, as Runes cuts it,
// instead of the words of Words (default off): each letter of a name is a token, as in
// character-level models. Sentence splitting, NFKC and lowercasing apply as with words; number
// folding does not (each digit is a token).
func Characters(on bool) Option { return func(t *Tokenizer) { t.chars = on } }

// A Tokenizer splits text into sentences and tokens. It holds no per-call state: one Tokenizer
// may be used by many goroutines at once.
type Tokenizer struct {
	lowercase, nfkc, numbers, split, chars bool
	punkt                                  *sentences.DefaultSentenceTokenizer
}

// New returns a Tokenizer with the given options. The English sentence model is loaded on the
// first call in the process that splits sentences, and shared afterwards (a Tokenizer that does
// not split sentences never loads it); the error reports a damaged embedded model.
func New(opts ...Option) (*Tokenizer, error) {
	t := &Tokenizer{split: true}
	for _, o := range opts {
		o(t)
	}
	if !t.split {
		return t, nil
	}
	p, err := punkt()
	if err != nil {
		return nil, fmt.Errorf("tokenize: loading the English sentence model: %w", err)
	}
	t.punkt = p
	return t, nil
}

// Tokenize splits text into sentences and each sentence into normalised tokens: its Words, or
// with Characters its Runes. Sentences without any token are left out, so the result holds no
// empty slice.
func (t *Tokenizer) Tokenize(text string) [][]string {
	tokens := t.Words
	if t.chars {
		tokens = t.Runes
	}
	var out [][]string
	for _, s := range t.Sentences(text) {
		if w := tokens(s); len(w) > 0 {
			out = append(out, w)
		}
	}
	return out
}

// Runes splits one sentence into one token per Unicode character (rune) of its normalised
// text: NFKC if on, then lowercasing if on. A run of white space (spaces, tabs, newlines, NFKC's
// results of the ideographic and no-break spaces) is one " " token, and none opens or ends the
// sentence; other control characters are left out. Bytes that are not UTF-8 become U+FFFD.
// Grapheme clusters are not kept together: "e" and a combining accent that NFKC cannot compose
// are two tokens, and so are the runes of an emoji sequence. Numbers are not folded.
func (t *Tokenizer) Runes(sentence string) []string {
	s := t.normal(strings.ToValidUTF8(sentence, "\uFFFD"))
	if t.lowercase {
		s = strings.ToLower(s)
	}
	toks := make([]string, 0, len(s))
	space := false // a white-space run waits for the next character
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = len(toks) > 0
			continue
		case unicode.IsControl(r):
			continue
		}
		if space {
			toks = append(toks, " ")
			space = false
		}
		if r < utf8.RuneSelf {
			toks = append(toks, asciiTokens[r:r+1]) // no allocation for ASCII
		} else {
			toks = append(toks, string(r))
		}
	}
	return toks
}

// asciiTokens holds every ASCII character once, so that Runes' ASCII tokens share it instead of
// pinning the sentence they were cut from (a dictionary keeps its tokens).
var asciiTokens = func() string {
	var b [utf8.RuneSelf]byte
	for i := range b {
		b[i] = byte(i)
	}
	return string(b[:])
}()

// Sentences splits text into sentences, each trimmed of surrounding white space and otherwise
// as it appears in text. With sentence splitting off it returns the trimmed text alone.
func (t *Tokenizer) Sentences(text string) []string {
	var out []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	if !t.split {
		add(text)
		return out
	}
	for para := range paragraphs(text) {
		for chunk := range cjkSentences(para) {
			if !strings.ContainsAny(chunk, ".?!") {
				add(chunk) // nothing for Punkt to decide
				continue
			}
			for _, s := range t.punkt.Tokenize(chunk) {
				add(s.Text)
			}
		}
	}
	return out
}

// Words splits one sentence into normalised tokens. Bytes that are not UTF-8 become U+FFFD
// (prose's tokenizer cuts a word in the middle of them).
func (t *Tokenizer) Words(sentence string) []string {
	s := strings.ToValidUTF8(sentence, "\uFFFD")
	toks := make([]string, 0, len(s)/5+1)
	run := -1         // start of the current run of non-CJK text
	afterCJK := false // whether that run follows a CJK character
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if isCJKLetter(r) || isCJKPunct(r) {
			if run >= 0 {
				toks = t.appendRun(toks, s[run:i], afterCJK)
				run = -1
			}
			toks = append(toks, t.normal(s[i:i+size]))
			afterCJK = true
		} else if run < 0 {
			run = i
		}
		i += size
	}
	if run >= 0 {
		toks = t.appendRun(toks, s[run:], afterCJK)
	}
	// prose keeps "Tom." whole, taking it for a title like "Mr."; at the end of a sentence the
	// period is the sentence's own.
	if n := len(toks) - 1; n >= 0 && len(toks[n]) > 1 && toks[n][len(toks[n])-1] == '.' && looksLikeTitle(toks[n][:len(toks[n])-1]) {
		last := toks[n]
		toks = append(toks[:n], last[:len(last)-1], ".")
	}
	for i, tok := range toks {
		if t.numbers && isNumber(tok) {
			toks[i] = NumberToken
		} else if t.lowercase {
			toks[i] = strings.ToLower(tok)
		}
	}
	return toks
}

// normal applies NFKC if it is on. It runs after the CJK split, so a full-width comma still cuts
// the text around it before it becomes an ASCII one.
func (t *Tokenizer) normal(s string) string {
	if t.nfkc && !norm.NFKC.IsNormalString(s) {
		return norm.NFKC.String(s)
	}
	return s
}

// appendRun appends the tokens of a run of text without CJK characters. Punctuation that opens a
// run straight after a CJK character ("单元,num_units") is split off first: prose only splits
// punctuation it expects before a word.
func (t *Tokenizer) appendRun(toks []string, run string, afterCJK bool) []string {
	run = t.normal(run)
	for afterCJK && run != "" && strings.IndexByte(",.;:!?)", run[0]) >= 0 {
		toks = append(toks, run[:1])
		run = run[1:]
	}
	return appendProse(toks, run)
}

// appendProse appends prose's word tokens of s. prose leaves a white-space-delimited word
// whole unless it holds one of the characters its rules split on or rewrite (proseSpecial);
// such plain words, most of any text, skip prose and its regular expressions, and the rest go
// to prose one word at a time. TestWordsMatchProse checks the result against prose on real text.
func appendProse(toks []string, s string) []string {
	for field := range strings.FieldsSeq(s) {
		if !strings.ContainsAny(field, proseSpecial) {
			toks = append(toks, field)
			continue
		}
		if n := len(field) - 1; n > 0 && strings.IndexByte(",;:!?.", field[n]) >= 0 &&
			isASCIIAlnum(field[:n]) && !(field[n] == '.' && looksLikeTitle(field[:n])) {
			toks = append(toks, field[:n], field[n:]) // "word," as prose would cut it, without prose
			continue
		}
		toks = append(toks, proseWords(field)...)
	}
	return toks
}

// isASCIIAlnum reports whether s is made of ASCII letters and digits only.
func isASCIIAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// looksLikeTitle reports whether s+"." is what prose keeps whole as an abbreviation ("Mr.",
// "Dr.", "Jan."): a capital and one or two small letters.
func looksLikeTitle(s string) bool {
	if len(s) < 2 || len(s) > 3 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// proseSpecial holds the characters prose's tokenizer acts on: its prefixes $ ( " [, its
// suffixes , ) " ] ! ; . ? : ', the apostrophe of contractions, and the curly quotes (and
// &rsquo;) its sanitizer rewrites.
const proseSpecial = "$(\"[,)]!;.?:'\u201c\u201d\u2018\u2019"

// proseSanitizer is prose's own rewriting of quotes before it tokenizes.
var proseSanitizer = strings.NewReplacer("\u201c", `"`, "\u201d", `"`, "\u2018", "'", "\u2019", "'", "&rsquo;", "'")

// contractions are the endings prose splits off ("do|n't", "it|'s").
var contractions = []string{"n't", "'ll", "'s", "'re", "'m"}

// mend returns prose's tokens of field with the text prose dropped put back. prose v2 loses
// the rest of a word whose contraction is followed by punctuation: "don't." gives only "do",
// "it's," only "it". The dropped middle is the contraction and what followed it; the
// contraction becomes a token and the rest goes through prose again.
func mend(field string, toks []string) []string {
	s := proseSanitizer.Replace(field)
	if strings.Join(toks, "") == s {
		return toks
	}
	i, pos := 0, 0
	for i < len(toks) && strings.HasPrefix(s[pos:], toks[i]) {
		pos += len(toks[i])
		i++
	}
	j, end := len(toks), len(s)
	for j > i && strings.HasSuffix(s[pos:end], toks[j-1]) {
		end -= len(toks[j-1])
		j--
	}
	middle := s[pos:end]
	out := append([]string(nil), toks[:i]...)
	lower := strings.ToLower(middle)
	for _, c := range contractions {
		if strings.HasPrefix(lower, c) && len(middle) > len(c) {
			out = append(out, middle[:len(c)])
			middle = middle[len(c):]
			break
		}
	}
	if middle == s { // nothing to recurse on: keep the text whole rather than lose it
		out = append(out, middle)
	} else if middle != "" {
		out = append(out, proseWords(middle)...)
	}
	return append(out, toks[j:]...)
}

// proseMemo remembers prose's tokens of the words that needed it ("it's", "end.", "(see"): they
// repeat throughout a corpus. It stops growing at proseMemoMax words.
var proseMemo struct {
	sync.RWMutex
	m map[string][]string
}

const proseMemoMax = 1 << 17

// proseWords returns prose's tokens of one white-space-free word. The slice is shared: callers
// copy it out and never change it.
func proseWords(field string) []string {
	proseMemo.RLock()
	toks, ok := proseMemo.m[field]
	proseMemo.RUnlock()
	if ok {
		return toks
	}
	doc, err := prose.NewDocument(field,
		prose.WithSegmentation(false), prose.WithTagging(false), prose.WithExtraction(false))
	if err != nil { // prose never sets it; keep the word rather than lose it
		return []string{field}
	}
	for _, tok := range doc.Tokens() {
		toks = append(toks, strings.Clone(tok.Text)) // not pinning the caller's document
	}
	toks = mend(field, toks)
	proseMemo.Lock()
	if proseMemo.m == nil {
		proseMemo.m = make(map[string][]string)
	}
	if len(proseMemo.m) < proseMemoMax {
		proseMemo.m[strings.Clone(field)] = toks
	}
	proseMemo.Unlock()
	return toks
}

// isNumber reports whether tok holds a digit and nothing but digits and the separators of
// numbers, dates, times and percentages.
func isNumber(tok string) bool {
	digit := false
	for _, r := range tok {
		switch {
		case unicode.IsDigit(r):
			digit = true
		case strings.ContainsRune(".,:/-+%", r):
		default:
			return false
		}
	}
	return digit
}
