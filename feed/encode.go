package feed

import (
	"fmt"

	"github.com/seqclf/seqclf/tokenize"
	"github.com/seqclf/seqclf/vocab"
)

// Unit says what one LSTM run sees: a sentence (the seed's choice; a document's label goes to each
// of its sentences) or a whole document.
type Unit int

const (
	// UnitSentence runs the LSTM once per sentence.
	UnitSentence Unit = iota
	// UnitDocument runs it once per document, its tokens cut to time_step.
	UnitDocument
)

// ParseUnit returns the unit named s: sentence or document.
func ParseUnit(s string) (Unit, error) {
	switch s {
	case "sentence":
		return UnitSentence, nil
	case "document":
		return UnitDocument, nil
	}
	return 0, fmt.Errorf("unknown unit %q: use sentence or document", s)
}

// String returns the unit's name.
func (u Unit) String() string {
	if u == UnitDocument {
		return "document"
	}
	return "sentence"
}

// A Dictionary gives a token's id and whether it holds the token: a *vocab.Vocab, or the
// dictionary a model file holds (store.Dictionary), looked up where it lies.
type Dictionary interface {
	Lookup(token string) (int, bool)
}

// EncodeText returns the id sequences that the LSTM sees for one document: one per sentence with
// UnitSentence, one for the whole text with UnitDocument, each cut to timeStep ids. A text without
// any token gives one empty sequence, so that every document gets a prediction.
func EncodeText(tok *tokenize.Tokenizer, v Dictionary, text string, unit Unit, timeStep int) [][]int32 {
	return EncodeTokens(tok.Tokenize(text), v, unit, timeStep)
}

// EncodeTokens is EncodeText on a text already split into sentences of tokens.
func EncodeTokens(sents [][]string, v Dictionary, unit Unit, timeStep int) [][]int32 {
	var out [][]int32
	if unit == UnitDocument {
		var ids []int32
		for _, s := range sents {
			if len(ids) >= timeStep {
				break
			}
			ids = appendIDs(ids, v, s)
		}
		out = append(out, ids[:min(len(ids), timeStep)])
	} else {
		for _, s := range sents {
			ids := appendIDs(make([]int32, 0, len(s)), v, s)
			out = append(out, ids[:min(len(ids), timeStep)])
		}
	}
	if len(out) == 0 {
		out = append(out, nil)
	}
	return out
}

// appendIDs appends the ids of tokens to dst, vocab.UnkID for a token v does not hold.
func appendIDs(dst []int32, v Dictionary, tokens []string) []int32 {
	for _, t := range tokens {
		id, ok := v.Lookup(t)
		if !ok {
			id = vocab.UnkID
		}
		dst = append(dst, int32(id))
	}
	return dst
}
