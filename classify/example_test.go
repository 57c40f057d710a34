package classify_test

import (
	"fmt"
	"log"

	"github.com/seqclf/seqclf/classify"
	"github.com/seqclf/seqclf/store"
)

// Classifying texts with a model that seqclf pipeline run wrote.
func ExampleLoad() {
	s, err := store.Open("../store/testdata/model-v3-text.db")
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	c, err := classify.Load(s, 64)
	if err != nil {
		log.Fatal(err)
	}
	texts := []string{"Congratulations, you won a FREE cruise! Click here now to claim your prize."}
	probs, err := c.Classify(texts)
	if err != nil {
		log.Fatal(err)
	}
	k := len(c.Classes())
	for i := range texts {
		best := classify.Argmax(probs[i*k : (i+1)*k])
		fmt.Printf("%s %.2f\n", c.Classes()[best], probs[i*k+best])
	}
	// Output: spam 0.83
}
