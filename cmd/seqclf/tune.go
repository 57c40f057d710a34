package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/seqclf/seqclf/pipeline"
	"github.com/seqclf/seqclf/train"
)

// pipelineTuneOptions are the flags of seqclf pipeline tune.
type pipelineTuneOptions struct {
	sets      []string
	budget    time.Duration
	trials    int
	objective string
	verbose   bool
}

// AddFlags adds the options' flags to fs.
func (o *pipelineTuneOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringArrayVar(&o.sets, "set", nil, "override a config key, key=value (repeatable), as --set train.epochs=9")
	fs.DurationVar(&o.budget, "budget", 0, "the search's time, as 20m or 1h30m (required); the time earlier runs of the same search spent counts toward it")
	fs.IntVar(&o.trials, "trials", 27, "the number of configs sampled")
	fs.StringVar(&o.objective, "objective", "accuracy", "rank the trials by validation accuracy (ties: the lower loss) or by validation loss: accuracy or loss")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "show each trial's training log")
}

func newPipelineTuneCmd(s streams) *cobra.Command {
	var o pipelineTuneOptions
	cmd := &cobra.Command{
		Use:   "tune CONFIG.yaml --budget DURATION",
		Short: "Search the learning rate, sizes, dropouts, pooling and cell on the validation split",
		Long: `Searches, on the validation split alone (never the test set), for the best values of
train.learning_rate (log-uniform, 3e-4 to 5e-3), lstm.num_units (64, 128, 256), embed.dim (50,
100, 200; text without pretrained vectors), lstm.input_dropout and lstm.dropout (0 to 0.3; the
latter with lstm.num_layers 2 or more, which is kept as the config has it), lstm.pooling (last,
mean, max, attention), lstm.bidirectional and lstm.cell (lstm, gru), lstm.word_dropout (0 to
0.3; text), and the epochs.

The method is successive halving: --trials configs drawn from the config's seed (the same seed
gives the same trials in the same order) train 1 epoch each; the third with the highest
validation accuracy (--objective accuracy, ties broken by the loss) or the lowest validation
loss (--objective loss) goes on to 3 epochs, the third of those to 9, and so on until one is left or a
rung reaches train.epochs, the most a trial trains. Early stopping
(train.early_stopping_patience) holds within a trial.

Progress goes to standard error: the trial under way, the best so far, the budget left. At the
end the leaderboard is printed and written to OUTPUT_DIR/tune/leaderboard.csv, the best config
to OUTPUT_DIR/tune/best.yaml (the full config, output_dir OUTPUT_DIR/tune/best, for seqclf
pipeline run), and the best config is trained with its test set and reported as pipeline run
does (that training comes after the budget).

The state is kept in OUTPUT_DIR/tune/state.json after every trial step. Ctrl-C (or SIGTERM, or
a kill) stops the search; running the same command again goes on where it stopped: finished
steps are not redone, the step under way goes on from its checkpoint, and the time already
spent counts toward --budget, so a larger --budget lets a finished search go further.`,
		Example: `  seqclf pipeline tune configs/default.yaml --budget 20m
  seqclf pipeline tune configs/default.yaml --budget 5m --trials 9
  seqclf pipeline run runs/default/tune/best.yaml   # the best config, again`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("budget") {
				return &usageError{cmd, errors.New("--budget is required: give the search's time, as --budget 20m or --budget 1h30m")}
			}
			if o.budget <= 0 {
				return &usageError{cmd, fmt.Errorf("--budget %v: want a positive duration, as 20m or 1h30m", o.budget)}
			}
			if o.trials < 1 {
				return &usageError{cmd, fmt.Errorf("--trials %d: want at least 1", o.trials)}
			}
			if o.objective != "accuracy" && o.objective != "loss" {
				return &usageError{cmd, fmt.Errorf("--objective %q: want accuracy or loss", o.objective)}
			}
			cfg, err := pipeline.LoadConfig(args[0], o.sets)
			if err != nil {
				return err
			}
			ctx, done := interruptible(cmd.Context(), s, "stopping the trial after this step, with its checkpoint")
			defer done()
			to := pipeline.TuneOptions{Budget: o.budget, Trials: o.trials, Objective: o.objective, Log: s.err, Out: s.out}
			if o.verbose {
				to.TrialLog = s.err
			}
			_, err = pipeline.Tune(ctx, cfg, to)
			if errors.Is(err, train.ErrInterrupted) {
				return withAdvice(err, err.Error(), "run the same command again to go on")
			}
			return err
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}
