// Command seqclf trains and serves LSTM sequence classifiers; see the README for its verbs.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRoot(streams{in: os.Stdin, out: os.Stdout, err: os.Stderr}).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "seqclf:", err)
		os.Exit(1)
	}
}
