package tokenize

import (
	"iter"
	"strings"
	"unicode"
	"unicode/utf8"
)

// isCJKLetter reports whether r is a Han, Hiragana or Katakana character (or the Katakana
// prolonged sound mark ー, which Unicode files under the common script).
func isCJKLetter(r rune) bool {
	if r < 0x2E80 {
		return false
	}
	return r == 'ー' || unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana)
}

// isCJKPunct reports whether r is a punctuation mark or symbol from the CJK blocks: CJK Symbols
// and Punctuation, the full-width and half-width forms, and the vertical and small variants.
func isCJKPunct(r rune) bool {
	switch {
	case r < 0x3000:
		return false
	case r <= 0x303F, r >= 0xFE10 && r <= 0xFE1F, r >= 0xFE30 && r <= 0xFE6F, r >= 0xFF00 && r <= 0xFF65:
		return unicode.IsPunct(r) || unicode.IsSymbol(r)
	}
	return false
}

// isCJKEnder reports whether r ends a Chinese or Japanese sentence wherever it stands.
func isCJKEnder(r rune) bool {
	switch r {
	case '。', '｡', '！', '？', '︒', '﹖', '﹗':
		return true
	}
	return false
}

// isCloser reports whether r is a closing quote or bracket that stays with the sentence before it.
func isCloser(r rune) bool {
	return strings.ContainsRune("」』”’）》〉】〕〗〙〛＂＇\"')]", r)
}

// paragraphs yields the pieces of text between blank lines (lines holding only white space).
func paragraphs(text string) iter.Seq[string] {
	return func(yield func(string) bool) {
		start := 0
		for i := 0; i < len(text); i++ {
			if text[i] != '\n' {
				continue
			}
			j := i + 1
			for j < len(text) && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r') {
				j++
			}
			if j < len(text) && text[j] == '\n' {
				if !yield(text[start:i]) {
					return
				}
				for j < len(text) && (text[j] == '\n' || text[j] == ' ' || text[j] == '\t' || text[j] == '\r') {
					j++
				}
				start = j
				i = j - 1
			}
		}
		yield(text[start:])
	}
}

// cjkSentences yields the pieces of text cut after each Chinese or Japanese sentence ender (and
// after ASCII ! or ? that follow a Han or Kana character), keeping repeated enders and closing
// quotes with the sentence they end.
func cjkSentences(text string) iter.Seq[string] {
	return func(yield func(string) bool) {
		start := 0
		var prev rune
		for i := 0; i < len(text); {
			r, size := utf8.DecodeRuneInString(text[i:])
			end := isCJKEnder(r) || (r == '!' || r == '?') && (isCJKLetter(prev) || isCJKPunct(prev))
			i += size
			prev = r
			if !end {
				continue
			}
			for i < len(text) {
				r, size := utf8.DecodeRuneInString(text[i:])
				if !isCJKEnder(r) && r != '!' && r != '?' && !isCloser(r) {
					break
				}
				i += size
			}
			if !yield(text[start:i]) {
				return
			}
			start = i
		}
		if start < len(text) {
			yield(text[start:])
		}
	}
}
