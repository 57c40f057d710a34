package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/seqclf/seqclf/store"
)

func newModelUpgradeCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "upgrade MODEL.db...",
		Short: "Rewrite model files of an older seqclf in this version's layout",
		Long: fmt.Sprintf(`Rewrites each MODEL.db written by an earlier seqclf in this version's layout (%d), in place.
An older file opens and classifies as it is, with the same answers, but slower: its dictionary
and embedding table are read entry by entry rather than looked up and mapped where they lie in
the file, so its start grows with the dictionary. The new file is written beside the old one and renamed over it, with its
permissions, so a reader sees one or the other; a file already in this layout is left as it
is. Prints each file's layout before and after.`, store.Format),
		Example: `  seqclf model upgrade runs/spam/model.db`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, path := range args {
				from, err := store.Upgrade(path)
				if err != nil {
					return err
				}
				if from == store.Format {
					fmt.Fprintf(s.out, "%s: layout %d already\n", path, from)
					continue
				}
				fmt.Fprintf(s.out, "%s: layout %d → %d\n", path, from, store.Format)
			}
			return nil
		},
	}
}
