// The English Punkt customisation below is taken from github.com/jdkato/prose/v2 (segment.go),
// so that sentences come out as prose.NewDocument would cut them, but with the model loaded once
// per process instead of at every call.
//
// Copyright (c) 2015 Eric Bower; Copyright (c) 2017-2018 Joseph Kato. MIT License:
//
// Permission is hereby granted, free of charge, to any person obtaining a copy of this software
// and associated documentation files (the "Software"), to deal in the Software without
// restriction, including without limitation the rights to use, copy, modify, merge, publish,
// distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
// Software is furnished to do so, subject to the following conditions:
//
// The above copyright notice and this permission notice shall be included in all copies or
// substantial portions of the Software.
//
// THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
// BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
// NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
// DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
// OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.

package tokenize

import (
	"bytes"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"gopkg.in/neurosnap/sentences.v1"
	"gopkg.in/neurosnap/sentences.v1/data"
)

// punkt is the English sentence model, built on first use and shared by every Tokenizer of the
// process. Building it unzips and decodes a 400 kB JSON model (parseTraining: 3 ms where
// encoding/json took 20, the largest part of classify's start); using it only reads it, so one
// model serves concurrent callers.
var punkt = sync.OnceValues(newPunkt)

func newPunkt() (*sentences.DefaultSentenceTokenizer, error) {
	b, err := data.Asset("data/english.json")
	if err != nil {
		return nil, err
	}
	training, err := parseTraining(b)
	if err != nil {
		return nil, err
	}
	for _, abbr := range []string{"sgt", "gov", "no", "mt"} {
		training.AbbrevTypes.Add(abbr)
	}

	lang := sentences.NewPunctStrings()
	word := &punktWords{}
	word.PunctStrings = lang
	annotations := sentences.NewAnnotations(training, lang, word)
	ortho := &sentences.OrthoContext{
		Storage:      training,
		PunctStrings: lang,
		TokenType:    word,
		TokenFirst:   word,
	}
	annotations = append(annotations, &multiPunct{
		Storage:      training,
		TokenParser:  word,
		TokenGrouper: &sentences.DefaultTokenGrouper{},
		Ortho:        ortho,
	})
	return &sentences.DefaultSentenceTokenizer{
		Storage:       training,
		PunctStrings:  lang,
		WordTokenizer: word,
		Annotations:   annotations,
	}, nil
}

type punktWords struct {
	sentences.DefaultWordTokenizer
}

var (
	reAbbr              = regexp.MustCompile(`((?:[\w]\.)+[\w]*\.)`)
	reLooksLikeEllipsis = regexp.MustCompile(`(?:\.\s?){2,}\.`)
	reEntities          = regexp.MustCompile(`Yahoo!`)
	sentEnders          = []string{
		`."`, `.)`, `.’`, `.”`,
		`?`, `?"`, `?'`, `?)`, `?’`, `?”`,
		`!`, `!"`, `!'`, `!)`, `!’`, `!”`,
	}
	sentParens = []string{`.[`, `.(`, `."`, `?[`, `?(`, `![`, `!(`}
)

// Type is the sentences library's case-folded token type without its regular expression when
// it cannot match: it rewrites numbers to "##number##", and a number holds an ASCII digit.
func (e *punktWords) Type(t *sentences.Token) string {
	if !strings.ContainsAny(t.Tok, "0123456789") {
		typ := strings.ToLower(t.Tok)
		if len(typ) == 1 {
			return typ
		}
		return strings.ReplaceAll(typ, ",", "")
	}
	return e.DefaultWordTokenizer.Type(t)
}

// TypeNoPeriod is Type without a final period (redefined so that it calls the Type above).
func (e *punktWords) TypeNoPeriod(t *sentences.Token) string {
	typ := e.Type(t)
	if len(typ) > 1 && typ[len(typ)-1] == '.' {
		return typ[:len(typ)-1]
	}
	return typ
}

// TypeNoSentPeriod is Type without a final period if the token ends a sentence.
func (e *punktWords) TypeNoSentPeriod(t *sentences.Token) string {
	if t.SentBreak {
		return e.TypeNoPeriod(t)
	}
	return e.Type(t)
}

// FirstUpper reports whether the token starts with a capital, without converting it to runes.
func (e *punktWords) FirstUpper(t *sentences.Token) bool {
	r, _ := utf8.DecodeRuneInString(t.Tok)
	return t.Tok != "" && unicode.IsUpper(r)
}

// FirstLower reports whether the token starts with a small letter.
func (e *punktWords) FirstLower(t *sentences.Token) bool {
	r, _ := utf8.DecodeRuneInString(t.Tok)
	return t.Tok != "" && unicode.IsLower(r)
}

// HasSentEndChars reports whether t ends in sentence-final punctuation other than a bare period.
func (e *punktWords) HasSentEndChars(t *sentences.Token) bool {
	for _, ender := range sentEnders {
		if strings.HasSuffix(t.Tok, ender) && !reEntities.MatchString(t.Tok) {
			return true
		}
	}
	for _, paren := range sentParens {
		if strings.Contains(t.Tok, paren) {
			return true
		}
	}
	return false
}

// multiPunct teases out abbreviations such as "F.B.I.".
type multiPunct struct {
	*sentences.Storage
	sentences.TokenParser
	sentences.TokenGrouper
	sentences.Ortho
}

func (a *multiPunct) Annotate(tokens []*sentences.Token) []*sentences.Token {
	for _, pair := range a.TokenGrouper.Group(tokens) {
		if len(pair) < 2 || pair[1] == nil {
			tok := pair[0].Tok
			if strings.Contains(tok, "\n") && strings.Contains(tok, " ") {
				pair[0].SentBreak = false // an errant newline
			}
			continue
		}
		a.tokenAnnotation(pair[0], pair[1])
	}
	return tokens
}

func looksInternal(tok string) bool {
	for _, p := range []string{")", `’`, `”`, `"`, `'`} {
		if strings.HasSuffix(tok, p) {
			return true
		}
	}
	return false
}

func (a *multiPunct) tokenAnnotation(one, two *sentences.Token) {
	var nextTyp string
	if strings.HasSuffix(one.Tok, ".") && two.Tok == "." {
		one.SentBreak = false
		two.SentBreak = false
		return
	}

	isNonBreak := strings.HasSuffix(one.Tok, ".") && !one.SentBreak
	// The counts skip regular expressions that cannot match: an ellipsis has three periods, an
	// abbreviation like "F.B.I." at least two.
	isEllipsis := strings.Count(one.Tok, ".") >= 3 && reLooksLikeEllipsis.MatchString(one.Tok)
	isInternal := one.SentBreak && looksInternal(one.Tok)

	if isNonBreak || isEllipsis || isInternal {
		nextTyp = a.TokenParser.TypeNoSentPeriod(two)
		isStarter := a.SentStarters[nextTyp]
		if isEllipsis {
			if a.TokenParser.FirstUpper(two) || isStarter != 0 {
				one.SentBreak = true
				return
			}
		}
		if isInternal {
			if a.TokenParser.FirstLower(two) && isStarter == 0 {
				one.SentBreak = false
				return
			}
		}
		if isNonBreak && a.TokenParser.FirstUpper(two) {
			if a.Storage.OrthoContext[nextTyp]&112 != 0 {
				one.SentBreak = true
			}
		}
	}

	if strings.Count(one.Tok, ".") < 2 || !reAbbr.MatchString(one.Tok) {
		return
	}
	if a.IsInitial(one) {
		return
	}
	one.Abbr = true
	one.SentBreak = false
	if a.Ortho.Heuristic(two) == 1 {
		one.SentBreak = true
		return
	}
	if nextTyp == "" {
		nextTyp = a.TokenParser.TypeNoSentPeriod(two)
	}
	if a.TokenParser.FirstUpper(two) && a.SentStarters[nextTyp] != 0 {
		one.SentBreak = true
	}
}

// parseTraining decodes a Punkt model, a JSON object of four objects from token to count
// (sentences.Storage), as sentences.LoadTraining does but without reflection. Anything it does
// not expect (an escape in a string, a value that is not a small integer) goes to LoadTraining.
func parseTraining(b []byte) (*sentences.Storage, error) {
	st := &sentences.Storage{}
	sets := map[string]*sentences.SetString{
		"AbbrevTypes": &st.AbbrevTypes, "Collocations": &st.Collocations,
		"SentStarters": &st.SentStarters, "OrthoContext": &st.OrthoContext,
	}
	p := punktParser{b: b}
	ok := p.expect('{')
	for ok && !p.peek('}') {
		name, ok1 := p.str()
		set := sets[name]
		if ok = ok1 && set != nil && p.expect(':') && p.expect('{'); !ok {
			break
		}
		// The set ends at the next '}' (its values are numbers): size the map once.
		m := sentences.SetString{}
		if end := bytes.IndexByte(p.b[p.i:], '}'); end > 0 {
			m = make(sentences.SetString, bytes.Count(p.b[p.i:p.i+end], []byte{':'}))
		}
		for ok && !p.peek('}') {
			key, ok1 := p.str()
			ok = ok1 && p.expect(':')
			v, ok2 := p.int()
			if ok = ok && ok2; ok {
				m[string(key)] = v
				ok = p.peek('}') || p.expect(',')
			}
		}
		ok = ok && p.expect('}')
		*set = m
		ok = ok && (p.peek('}') || p.expect(','))
	}
	if !ok || !p.expect('}') || p.skipSpace() != len(b) {
		return sentences.LoadTraining(b)
	}
	for _, set := range sets {
		if *set == nil {
			*set = sentences.SetString{}
		}
	}
	return st, nil
}

// punktParser reads the JSON of a Punkt model: objects, plain strings and integers.
type punktParser struct {
	b []byte
	i int
}

func (p *punktParser) skipSpace() int {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\n' || p.b[p.i] == '\t' || p.b[p.i] == '\r') {
		p.i++
	}
	return p.i
}

// peek reports whether the next byte after spaces is c, without taking it.
func (p *punktParser) peek(c byte) bool {
	return p.skipSpace() < len(p.b) && p.b[p.i] == c
}

// expect takes the byte c after spaces, or reports false.
func (p *punktParser) expect(c byte) bool {
	if !p.peek(c) {
		return false
	}
	p.i++
	return true
}

// str takes a string without escapes.
func (p *punktParser) str() (string, bool) {
	if !p.expect('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.b) && p.b[p.i] != '"' {
		if p.b[p.i] == '\\' || p.b[p.i] < 0x20 {
			return "", false
		}
		p.i++
	}
	if p.i == len(p.b) {
		return "", false
	}
	s := string(p.b[start:p.i])
	p.i++
	return s, true
}

// int takes a non-negative integer of at most 9 digits.
func (p *punktParser) int() (int, bool) {
	p.skipSpace()
	v, n := 0, 0
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' && n < 9 {
		v = v*10 + int(p.b[p.i]-'0')
		p.i++
		n++
	}
	return v, n > 0 && (p.i == len(p.b) || p.b[p.i] < '0' || p.b[p.i] > '9')
}
