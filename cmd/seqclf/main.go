// Command seqclf trains and serves LSTM sequence classifiers; see the README for its verbs.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
)

// Exit statuses: a failure (bad data, a missing file, a diverging run) and a command line that
// does not parse (an unknown flag or verb, a wrong number of arguments).
const (
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	if err := execute(newRoot(streams{in: os.Stdin, out: os.Stdout, err: os.Stderr})); err != nil {
		fmt.Fprintln(os.Stderr, "seqclf:", err)
		os.Exit(exitStatus(err))
	}
}

// exitStatus returns the exit status for an error of Execute.
func exitStatus(err error) int {
	var u *usageError
	if errors.As(err, &u) {
		return exitUsage
	}
	return exitFailure
}

// lowGC collects garbage when the heap has grown by a quarter rather than Go's default doubling,
// unless GOGC says otherwise. Training and classifying allocate next to nothing per batch, so the
// extra collections cost no measurable time, while the heap stays near what is live: the data and
// the model's buffers. Every verb calls it before its work (the root's PersistentPreRun) but
// classify, which calls it once its model is open: the start-up's allocations (package
// initialization, the sentence model) then run without three collections of a small heap, a
// fifth of a one-line classify.
func lowGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(25)
	}
}
