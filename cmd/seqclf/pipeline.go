package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/seqclf/seqclf/pipeline"
)

func init() { register(newPipelineCmd) }

func newPipelineCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pipeline",
		Short: "Train and evaluate a model from a config",
	}
	cmd.AddCommand(newPipelineRunCmd(s))
	cmd.AddCommand(newPipelineTuneCmd(s))
	return cmd
}

// pipelineRunOptions are the flags of seqclf pipeline run.
type pipelineRunOptions struct {
	sets   []string
	resume bool
}

// AddFlags adds the options' flags to fs.
func (o *pipelineRunOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringArrayVar(&o.sets, "set", nil, "override a config key, key=value (repeatable), as --set lstm.num_units=64")
	fs.BoolVar(&o.resume, "resume", false, "go on from the last checkpoint in OUTPUT_DIR/checkpoint.db (safe to repeat)")
}

func newPipelineRunCmd(s streams) *cobra.Command {
	var o pipelineRunOptions
	cmd := &cobra.Command{
		Use:   "run CONFIG.yaml",
		Short: "Train, evaluate and store a model as the config says",
		Long: `Reads the data the config names, builds the dictionary and embedding table (text) or
reads the images row by row (mnist), trains the LSTM with a checkpoint after every epoch in
OUTPUT_DIR/checkpoint.db, and evaluates it on the test set. At the end it writes
OUTPUT_DIR/model.db (the model, for seqclf classify: compact, no training state),
OUTPUT_DIR/metrics.json and OUTPUT_DIR/curves.png. An earlier model.db keeps answering until the
new one is complete; a run that fails leaves it as it was.

Settings come from the YAML file, then SEQCLF_<KEY> environment variables
(SEQCLF_LSTM_NUM_UNITS=64), then --set key=value. Ctrl-C finishes the step under way, saves a
checkpoint and stops; --resume goes on from it, and ends with the weights an uninterrupted run
would have. --resume is safe to repeat, as a retried job does: without a checkpoint it starts
from the beginning, and on a finished run it does nothing and exits 0.`,
		Example: `  seqclf pipeline run configs/default.yaml
  seqclf pipeline run configs/mnist.yaml --set train.epochs=10 --set output_dir=runs/mnist10
  seqclf pipeline run configs/mnist.yaml --resume`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := pipeline.LoadConfig(args[0], o.sets)
			if err != nil {
				return err
			}
			ctx, done := interruptible(cmd.Context(), s, "stopping after this step")
			defer done()
			_, err = pipeline.Run(ctx, cfg, pipeline.RunOptions{Resume: o.resume, Log: s.err, Out: s.out})
			return err
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// interruptible returns a context that SIGINT or SIGTERM cancels, saying on standard error that
// the work is stopping (what, then "(Ctrl-C again to quit at once)"); after the first signal, a
// second one ends the process at once. Call done when the work has ended.
func interruptible(parent context.Context, s streams, what string) (ctx context.Context, done func()) {
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	finished := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			select {
			case <-finished:
				return // the work ended, and done's stop cancelled ctx: no signal came
			default:
			}
			stop()
			fmt.Fprintf(s.err, "\n%s (Ctrl-C again to quit at once)\n", what)
		case <-finished:
		}
	}()
	return ctx, func() {
		close(finished)
		stop()
	}
}
