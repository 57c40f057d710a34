package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/seqclf/seqclf/lstm"
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func init() { register(newVersionCmd) }

func newVersionCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of seqclf and the kernels it runs on",
		Long: `Print the version of seqclf, the Go release that built it, and the instruction set its
kernels run on: avx512, avx2 or go (no assembly), the best the CPU has unless the environment
variable SEQCLF_CPU caps it (SEQCLF_CPU=avx2 or SEQCLF_CPU=go).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := version
			if info, ok := debug.ReadBuildInfo(); ok && v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
				v = info.Main.Version
			}
			isa, note := lstm.Kernels()
			if note != "" {
				isa += "; " + note
			}
			_, err := fmt.Fprintf(s.out, "seqclf %s (%s %s/%s, kernels %s)\n", v, runtime.Version(), runtime.GOOS, runtime.GOARCH, isa)
			return err
		},
	}
}
