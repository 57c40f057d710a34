package main

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/seqclf/seqclf/pipeline"
	"github.com/seqclf/seqclf/tokenize"
)

func init() { register(newTokenizeCmd) }

// tokenizeOptions are the flags of seqclf tokenize.
type tokenizeOptions struct {
	config string
	tok    pipeline.TokenizeConfig
}

// AddFlags adds the options' flags to fs, with the defaults of a pipeline config.
func (o *tokenizeOptions) AddFlags(fs *pflag.FlagSet) {
	def := pipeline.DefaultConfig().Tokenize
	fs.StringVar(&o.config, "config", "", "take the options from this pipeline config's tokenize section (flags given still win)")
	fs.BoolVar(&o.tok.Lowercase, "lowercase", def.Lowercase, "lowercase every token")
	fs.BoolVar(&o.tok.NFKC, "nfkc", def.NFKC, "apply Unicode NFKC normalisation")
	fs.BoolVar(&o.tok.Numbers, "numbers", def.Numbers, "replace numbers by "+tokenize.NumberToken)
	fs.BoolVar(&o.tok.SplitSentences, "split-sentences", def.SplitSentences, "split documents into sentences")
}

func newTokenizeCmd(s streams) *cobra.Command {
	var o tokenizeOptions
	cmd := &cobra.Command{
		Use:   "tokenize",
		Short: "Show what the model sees of the text on standard input",
		Long: `Reads text on standard input and prints it as the model sees it: one sentence per line,
tokens separated by single spaces. Blank lines separate documents (and always end a sentence).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := o.tok
			if o.config != "" {
				cfg, err := pipeline.LoadConfig(o.config, nil)
				if err != nil {
					return err
				}
				opts = cfg.Tokenize
				fs := cmd.Flags()
				for name, dst := range map[string]*bool{"lowercase": &opts.Lowercase, "nfkc": &opts.NFKC,
					"numbers": &opts.Numbers, "split-sentences": &opts.SplitSentences} {
					if fs.Changed(name) {
						*dst, _ = fs.GetBool(name)
					}
				}
			}
			tok, err := pipeline.NewTokenizer(opts)
			if err != nil {
				return err
			}
			return tokenizeStream(s, tok)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// tokenizeStream tokenizes standard input a paragraph at a time (a blank line ends a sentence
// anyway, so the cut changes nothing) and writes one sentence per line.
func tokenizeStream(s streams, tok *tokenize.Tokenizer) error {
	in := bufio.NewScanner(s.in)
	in.Buffer(make([]byte, 1<<16), 1<<26)
	out := bufio.NewWriter(s.out)
	var para strings.Builder
	flush := func() {
		for _, sent := range tok.Tokenize(para.String()) {
			out.WriteString(strings.Join(sent, " "))
			out.WriteByte('\n')
		}
		para.Reset()
	}
	for in.Scan() {
		line := in.Text()
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		para.WriteString(line)
		para.WriteByte('\n')
	}
	if err := in.Err(); err != nil {
		return fmt.Errorf("reading standard input: %w", err)
	}
	flush()
	return out.Flush()
}
