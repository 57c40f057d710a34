package main

import (
	"io"

	"github.com/spf13/cobra"
)

// streams are the command's standard input and outputs, replaced by buffers in tests.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

// verbs holds the constructors of the top-level commands. Each verb's file adds its own in an
// init function, so adding a verb touches no other file.
var verbs []func(streams) *cobra.Command

func register(verb func(streams) *cobra.Command) { verbs = append(verbs, verb) }

// newRoot returns the seqclf command with every registered verb.
func newRoot(s streams) *cobra.Command {
	root := &cobra.Command{
		Use:           "seqclf",
		Short:         "Train and serve LSTM sequence classifiers",
		SilenceUsage:  true, // errors say what to do; the usage would bury them
		SilenceErrors: true, // main prints them once
	}
	root.SetIn(s.in)
	root.SetOut(s.out)
	root.SetErr(s.err)
	for _, v := range verbs {
		root.AddCommand(v(s))
	}
	return root
}
