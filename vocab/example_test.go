package vocab_test

import (
	"fmt"

	"github.com/seqclf/seqclf/vocab"
)

func Example() {
	c := vocab.NewCounter()
	c.Add([]string{"the", "cat", "sat", "on", "the", "mat"})
	c.Add([]string{"the", "dog", "sat"})
	v := c.Build(vocab.Limits{MinCount: 2, MaxSize: 20000})
	fmt.Println(v.Tokens())
	fmt.Println(v.Encode([]string{"the", "dog", "sat"}))
	cov := v.Coverage()
	fmt.Printf("%d of %d tokens covered, OOV %.1f%%\n", cov.Covered, cov.Tokens, 100*cov.OOVRate)
	// Output:
	// [<pad> <unk> the sat]
	// [2 1 3]
	// 5 of 9 tokens covered, OOV 44.4%
}
