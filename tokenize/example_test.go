package tokenize_test

import (
	"fmt"
	"strings"

	"github.com/seqclf/seqclf/tokenize"
)

func Example() {
	tok, err := tokenize.New(tokenize.Lowercase(true), tokenize.Numbers(true))
	if err != nil {
		panic(err)
	}
	text := "Mr. Smith paid $4.50 on Jan. 3. He didn't mind!\n\n我们用Go写LSTM。你呢？"
	for _, sentence := range tok.Tokenize(text) {
		fmt.Println(strings.Join(sentence, " "))
	}
	// Output:
	// mr. smith paid $ <num> on jan. <num> .
	// he did n't mind !
	// 我 们 用 go 写 lstm 。
	// 你 呢 ？
}

// With Characters each character is a token, a space too: the input of a character-level model
// such as PyTorch's tutorial that classifies names by their letters.
func ExampleCharacters() {
	tok, err := tokenize.New(tokenize.Characters(true), tokenize.Lowercase(true), tokenize.NFKC(true),
		tokenize.SplitSentences(false))
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", tok.Tokenize("Ａnne  Marie"))
	// Output:
	// [["a" "n" "n" "e" " " "m" "a" "r" "i" "e"]]
}
