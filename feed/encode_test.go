package feed

import (
	"testing"

	"github.com/seqclf/seqclf/tokenize"
	"github.com/seqclf/seqclf/vocab"
)

func TestEncodeText(t *testing.T) {
	tok, err := tokenize.New(tokenize.Lowercase(true))
	if err != nil {
		t.Fatal(err)
	}
	c := vocab.NewCounter()
	for _, s := range tok.Tokenize("The cat sat on the mat. The dog ate the bone! A bird sang.") {
		c.Add(s)
	}
	v := c.Build(vocab.Limits{MinCount: 1, MaxSize: 100})
	sents := EncodeText(tok, v, "The cat sat on the mat. The dog ate the bone!", UnitSentence, 4)
	if len(sents) != 2 || len(sents[0]) != 4 || len(sents[1]) != 4 {
		t.Errorf("sentences cut to 4: %v", sents)
	}
	doc := EncodeText(tok, v, "The cat sat on the mat. The dog ate the bone!", UnitDocument, 9)
	if len(doc) != 1 || len(doc[0]) != 9 {
		t.Errorf("document cut to 9: %v", doc)
	}
	if got := EncodeText(tok, v, "  ", UnitSentence, 4); len(got) != 1 || len(got[0]) != 0 {
		t.Errorf("empty text: %v, want one empty sequence", got)
	}
	if id := sents[0][1]; v.Token(int(id)) != "cat" {
		t.Errorf("second id of the first sentence is %q, want cat", v.Token(int(id)))
	}
}
