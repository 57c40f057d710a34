package main

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/seqclf/seqclf/classify"
	"github.com/seqclf/seqclf/pipeline"
	"github.com/seqclf/seqclf/store"
	"github.com/seqclf/seqclf/tokenize"
)

func init() { register(newTokenizeCmd) }

// tokenizeOptions are the flags of seqclf tokenize.
type tokenizeOptions struct {
	config string
	tok    pipeline.TokenizeConfig
	ids    bool
	model  string
}

// AddFlags adds the options' flags to fs, with the defaults of a pipeline config.
func (o *tokenizeOptions) AddFlags(fs *pflag.FlagSet) {
	def := pipeline.DefaultConfig().Tokenize
	fs.StringVar(&o.config, "config", "", "take the options from this pipeline config's tokenize section (flags given still win)")
	fs.BoolVar(&o.tok.Lowercase, "lowercase", def.Lowercase, "lowercase every token")
	fs.BoolVar(&o.tok.NFKC, "nfkc", def.NFKC, "apply Unicode NFKC normalisation")
	fs.BoolVar(&o.tok.Numbers, "numbers", def.Numbers, "replace numbers by "+tokenize.NumberToken)
	fs.BoolVar(&o.tok.SplitSentences, "split-sentences", def.SplitSentences, "split documents into sentences")
	fs.BoolVar(&o.ids, "ids", false, "print the ids the model's LSTM reads (needs --model): one line per input line, the runs separated by tabs, the ids by spaces")
	fs.StringVar(&o.model, "model", "", "with --ids, the model file whose dictionary, tokenizer and unit to use")
}

func newTokenizeCmd(s streams) *cobra.Command {
	var o tokenizeOptions
	cmd := &cobra.Command{
		Use:   "tokenize",
		Short: "Show what the model sees of the text on standard input",
		Long: `Reads text on standard input and prints it as the model sees it: one sentence per line,
tokens separated by single spaces. Blank lines separate documents (and always end a sentence).

With --ids --model MODEL.db, each input line is one text, as classify reads it, and the output
line holds the ids of the model's LSTM runs for it (one run per sentence with unit sentence):
runs separated by tabs, ids by spaces. An empty run is an empty field. It is what a program
outside seqclf (scripts/seqclf_torch.py) feeds an exported model.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.ids != (o.model != "") {
				return fmt.Errorf("tokenize: --ids and --model go together")
			}
			if o.ids {
				return tokenizeIDs(s, o.model)
			}
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

// tokenizeIDs prints, for each line of standard input, the id sequences the model at path runs
// its LSTM on: runs separated by tabs, ids by spaces.
func tokenizeIDs(s streams, path string) error {
	st, err := store.Open(path)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := classify.Load(st, 1)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(s.in)
	sc.Buffer(make([]byte, 1<<16), 1<<26)
	out := bufio.NewWriter(s.out)
	for sc.Scan() {
		runs, err := c.Encode(sc.Text())
		if err != nil {
			return fmt.Errorf("tokenize: %s: %w", path, err)
		}
		for i, run := range runs {
			if i > 0 {
				out.WriteByte('\t')
			}
			for j, id := range run {
				if j > 0 {
					out.WriteByte(' ')
				}
				out.WriteString(strconv.Itoa(int(id)))
			}
		}
		out.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading standard input: %w", err)
	}
	return out.Flush()
}
