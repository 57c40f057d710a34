package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/seqclf/seqclf/pipeline"
)

func init() { register(newModelCmd) }

func newModelCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Inspect a trained model",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "summary MODEL.db",
		Short: "Print each layer's shapes and parameter count",
		Long: `Prints the model's layers with their shapes and parameter counts (each LSTM layer's spelled
out with the seed's formula 4·num_units·(num_units+input)+4·num_units), its classes, and the
settings it was trained with.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := pipeline.OpenStore(args[0])
			if err != nil {
				return err
			}
			defer store.Close()
			m, err := pipeline.LoadModel(store)
			if err != nil {
				return err
			}
			cfg, err := pipeline.LoadRunConfig(store)
			if err != nil {
				return err
			}
			var table *[2]int
			if m.Table != nil {
				table = &[2]int{m.Table.Rows(), m.Table.Dim()}
			}
			fmt.Fprintf(s.out, "%s: %s model, time_step %d", args[0], cfg.Source.Kind, cfg.LSTM.TimeStep)
			if cfg.Source.Kind == "text" {
				fmt.Fprintf(s.out, ", unit %s", cfg.Tokenize.Unit)
			}
			fmt.Fprintf(s.out, "\nclasses (%d): %s\n\n", len(m.Labels), strings.Join(m.Labels, ", "))
			return pipeline.WriteSummary(s.out, m.LSTM, table)
		},
	})
	return cmd
}
