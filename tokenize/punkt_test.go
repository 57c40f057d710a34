package tokenize

import (
	"reflect"
	"testing"

	"gopkg.in/neurosnap/sentences.v1"
	"gopkg.in/neurosnap/sentences.v1/data"
)

// TestParseTraining checks the hand-written decoder of the Punkt model against encoding/json's
// (sentences.LoadTraining) on the model shipped, and that what it does not expect still decodes.
func TestParseTraining(t *testing.T) {
	b, err := data.Asset("data/english.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := sentences.LoadTraining(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseTraining(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("parseTraining and sentences.LoadTraining differ on the English model")
	}
	if len(got.OrthoContext) < 20000 || len(got.AbbrevTypes) == 0 {
		t.Fatalf("English model: %d ortho entries, %d abbreviations", len(got.OrthoContext), len(got.AbbrevTypes))
	}
	// An escape, a missing set, spaces: the same as encoding/json.
	for _, in := range []string{
		`{"AbbrevTypes": {"a\u0062c": 1}, "OrthoContext": {"x": 2}}`,
		` { "Collocations" : { } , "SentStarters":{"the":3} } `,
		`{}`,
	} {
		want, err1 := sentences.LoadTraining([]byte(in))
		got, err2 := parseTraining([]byte(in))
		// A set the JSON leaves out is nil from LoadTraining, empty here: the same to read.
		same := func(a, b sentences.SetString) bool { return len(a) == 0 && len(b) == 0 || reflect.DeepEqual(a, b) }
		if (err1 == nil) != (err2 == nil) || err1 == nil && !(same(got.AbbrevTypes, want.AbbrevTypes) &&
			same(got.Collocations, want.Collocations) && same(got.SentStarters, want.SentStarters) && same(got.OrthoContext, want.OrthoContext)) {
			t.Errorf("%s: got %+v (%v), want %+v (%v)", in, got, err2, want, err1)
		}
	}
	if _, err := parseTraining([]byte(`{"AbbrevTypes": [1]}`)); err == nil {
		t.Error("a model that is not JSON objects: no error")
	}
}
