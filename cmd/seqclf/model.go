package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/seqclf/seqclf/report"
	"github.com/seqclf/seqclf/store"
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
			st, err := store.Open(args[0])
			if err != nil {
				return err
			}
			defer st.Close()
			m, err := st.LoadModel()
			if err != nil {
				return err
			}
			in := m.Input
			fmt.Fprintf(s.out, "%s: %s model, time_step %d", args[0], in.Kind, in.TimeStep)
			if in.Kind == "text" {
				fmt.Fprintf(s.out, ", unit %s", in.Unit)
			}
			fmt.Fprintf(s.out, "\nclasses (%d): %s\n\n", len(m.Labels), strings.Join(m.Labels, ", "))
			return report.WriteSummary(s.out, m.LSTM, m.Table)
		},
	})
	return cmd
}
