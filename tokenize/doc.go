// Package tokenize turns raw text into what the model sees: sentences, and in each sentence a
// list of word tokens (or of characters).
//
// # Basics
//
// Build one Tokenizer with the normalisation options the model was trained with, then call
// Tokenize on each document:
//
//	tok, err := tokenize.New(tokenize.Lowercase(true), tokenize.NFKC(true))
//	for _, sentence := range tok.Tokenize(text) { ... }
//
// English sentences are cut by the Punkt model that github.com/jdkato/prose/v2 uses
// (gopkg.in/neurosnap/sentences with prose's English customisation), and words by prose's
// tokenizer with tagging and entity extraction off. The Punkt model is decoded once per process
// and shared: prose itself decodes it at every NewDocument call, about 16 ms, which would cap a
// corpus at some sixty documents a second.
//
// Sentences are cut in three passes: a blank line always ends a sentence (paragraphs, mail
// headers); the Chinese and Japanese enders 。！？ (and ASCII ! ? straight after a Han or Kana
// character), with any closing quotes after them, end a sentence; then Punkt cuts what is left.
//
// Chinese and Japanese are not written with spaces, so each Han, Hiragana or Katakana character
// and each CJK punctuation mark is one token, as BERT-style tokenizers do; runs of other scripts
// between them go to prose. Mixed text ("用Go写LSTM") works: 用 Go 写 LSTM.
//
// Normalisation is applied after the sentence split (Punkt needs the capitals): NFKC, then
// tokenization, then lowercasing and number folding token by token.
//
// With the Characters option each Unicode character (rune) of a sentence is a token instead
// (Runes): NFKC and lowercasing first, then one token a rune, a run of white space one " "
// token. A model of names or of short strings reads letters; no grapheme clusters are formed,
// and numbers are not folded.
//
// # Caveats
//
// prose's word tokenizer rewrites curly quotes to straight ones and keeps e-mail addresses and
// URLs whole; the sentence strings returned by Sentences are the input's own text, trimmed.
// Korean (Hangul) is written with spaces and goes through prose like English.
package tokenize
