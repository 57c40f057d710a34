package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/seqclf/seqclf/pipeline"
	"github.com/seqclf/seqclf/store"
	"github.com/seqclf/seqclf/train"
)

// advise returns err as the one line the command prints: the library's message, which names
// the file, key or field at fault, followed by what to do in this command's words (its verbs
// and flags, which the libraries never name).
func advise(err error) error {
	var (
		ce      *pipeline.ConfigError
		missing *store.MissingError
		stopped *train.Stopped
		resume  *pipeline.ResumeError
	)
	switch {
	case errors.As(err, &ce) && ce.Override != "":
		// An override is a --set flag here.
		msg := strings.Replace(err.Error(), fmt.Sprintf("override %q", ce.Override), "--set "+ce.Override, 1)
		return withAdvice(err, msg, "")
	case errors.As(err, &resume):
		return withAdvice(err, "--resume: "+err.Error(), "resume with the same config, or run without --resume to start again")
	case errors.As(err, &stopped) && errors.Is(err, train.ErrInterrupted):
		return withAdvice(err, err.Error(), "go on with --resume")
	case errors.As(err, &stopped) && errors.Is(err, train.ErrDiverged):
		if stopped.Checkpointed {
			return withAdvice(err, err.Error(), "lower train.learning_rate or set train.clip_norm and go on with --resume")
		}
		return withAdvice(err, err.Error(), "lower train.learning_rate or set train.clip_norm and run again")
	case errors.As(err, &missing):
		switch missing.What {
		case store.MissingFile:
			return withAdvice(err, err.Error(), "make one with seqclf vocab build or seqclf pipeline run")
		case store.MissingContent:
			return withAdvice(err, err.Error(), "run seqclf pipeline run again")
		case store.MissingModel:
			return withAdvice(err, err.Error(), "train one with seqclf pipeline run")
		case store.MissingDictionary:
			return withAdvice(err, err.Error(), "build one with seqclf vocab build")
		}
	}
	return err
}

// advised is an error with the command's message in place of the library's.
type advised struct {
	msg string
	err error
}

func (a *advised) Error() string { return a.msg }
func (a *advised) Unwrap() error { return a.err }

// withAdvice returns err printed as msg, then "; " and advice when there is some.
func withAdvice(err error, msg, advice string) error {
	if advice != "" {
		msg += "; " + advice
	}
	return &advised{msg: msg, err: err}
}
