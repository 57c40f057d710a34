package main

import (
	"fmt"
	"io"
	"strings"

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
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			if cmd.Name() != "classify" {
				lowGC()
			}
		},
	}
	root.SetIn(s.in)
	root.SetOut(s.out)
	root.SetErr(s.err)
	for _, v := range verbs {
		root.AddCommand(v(s))
	}
	markUsageErrors(root)
	return root
}

// execute runs root and returns its error, if any, with the command's advice (advise).
func execute(root *cobra.Command) error {
	if err := root.Execute(); err != nil {
		return advise(err)
	}
	return nil
}

// usageError is a command line that does not parse: main exits with status 2 for it, 1 for
// every other error.
type usageError struct {
	cmd *cobra.Command
	err error
}

func (e *usageError) Error() string {
	path := e.cmd.CommandPath()
	if !e.cmd.HasParent() {
		return fmt.Sprintf("%v (see %s --help)", e.err, path)
	}
	return fmt.Sprintf("%s: %v (see %s --help)", strings.TrimPrefix(path, e.cmd.Root().Name()+" "), e.err, path)
}

func (e *usageError) Unwrap() error { return e.err }

// markUsageErrors makes the errors of flag parsing and argument checking usageErrors, in c and
// the commands below it. A command that only groups others (seqclf pipeline) is given a RunE
// that refuses an unknown verb, as the root does, rather than printing its help.
func markUsageErrors(c *cobra.Command) {
	c.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{c, err} })
	if c.HasSubCommands() && !c.Runnable() {
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				err := fmt.Errorf("unknown command %q", args[0])
				if c.SuggestionsMinimumDistance <= 0 {
					c.SuggestionsMinimumDistance = 2
				}
				if s := c.SuggestionsFor(args[0]); len(s) > 0 {
					err = fmt.Errorf("unknown command %q; did you mean %s?", args[0], strings.Join(s, " or "))
				}
				return &usageError{c, err}
			}
			return c.Help()
		}
	} else if check := c.Args; check != nil {
		c.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return &usageError{c, err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		markUsageErrors(sub)
	}
}
