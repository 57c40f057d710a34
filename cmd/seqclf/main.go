// Command seqclf trains and serves LSTM sequence classifiers; see the README for its verbs.
package main

import (
	"fmt"
	"os"
	"runtime/debug"
)

func main() {
	lowGC()
	if err := newRoot(streams{in: os.Stdin, out: os.Stdout, err: os.Stderr}).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "seqclf:", err)
		os.Exit(1)
	}
}

// lowGC collects garbage when the heap has grown by a quarter rather than Go's default doubling,
// unless GOGC says otherwise. Training and classifying allocate next to nothing per batch, so the
// extra collections cost no measurable time, while the heap stays near what is live: the data and
// the model's buffers.
func lowGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(25)
	}
}
