package train

import (
	"math"
	"testing"

	"github.com/seqclf/seqclf/feed"
)

// TestByDocument scores two documents of two and one samples: a document's answer is the
// softmax of its samples' mean log-probabilities, as the test report has it.
func TestByDocument(t *testing.T) {
	probs := []float32{0.9, 0.1, 0.2, 0.8, 0.3, 0.7}
	samples := []feed.Sample{{Doc: 0, Label: 0}, {Doc: 0, Label: 0}, {Doc: 1, Label: 0}}
	loss, correct := byDocument(probs, 2, samples, 2)
	// Doc 0: (log .9 + log .2)/2 and (log .1 + log .8)/2, softmax √.18/(√.18+√.08) = 0.6;
	// doc 1: 0.3. Right: doc 0 only; loss −(log 0.6 + log 0.3)/2.
	want := -(math.Log(0.6) + math.Log(0.3)) / 2
	if correct != 1 || math.Abs(loss-want) > 1e-6 {
		t.Errorf("byDocument: loss %g, %d right; want %g, 1", loss, correct, want)
	}
}
