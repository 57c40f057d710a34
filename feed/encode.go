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

// EncodeText returns the id sequences that the LSTM sees for one document: one per sentence with
// UnitSentence, one for the whole text with UnitDocument, each cut to timeStep ids. A text without
// any token gives one empty sequence, so that every document gets a prediction.
func EncodeText(tok *tokenize.Tokenizer, v *vocab.Vocab, text string, unit Unit, timeStep int) [][]int32 {
	return EncodeTokens(tok.Tokenize(text), v, unit, timeStep)
}

// EncodeTokens is EncodeText on a text already split into sentences of tokens.
func EncodeTokens(sents [][]string, v *vocab.Vocab, unit Unit, timeStep int) [][]int32 {
	var out [][]int32
	if unit == UnitDocument {
		var ids []int32
		for _, s := range sents {
			if len(ids) >= timeStep {
				break
			}
			ids = v.AppendEncode(ids, s)
		}
		out = append(out, ids[:min(len(ids), timeStep)])
	} else {
		for _, s := range sents {
			ids := v.Encode(s)
			out = append(out, ids[:min(len(ids), timeStep)])
		}
	}
	if len(out) == 0 {
		out = append(out, nil)
	}
	return out
}
