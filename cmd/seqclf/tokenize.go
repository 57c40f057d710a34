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
	fs.StringVar(&o.tok.Tokens, "tokens", def.Tokens, "words, or characters: each Unicode character a token (a space shows as "+visibleSpace+")")
	fs.BoolVar(&o.ids, "ids", false, "print the ids the model's LSTM reads (needs --model): one line per input line, the runs separated by tabs, the ids by spaces")
	fs.StringVar(&o.model, "model", "", "take the tokenizer from this model (or dictionary) file; with --ids, its dictionary and unit too")
}

func newTokenizeCmd(s streams) *cobra.Command {
	var o tokenizeOptions
	cmd := &cobra.Command{
		Use:   "tokenize",
		Short: "Show what the model sees of the text on standard input",
		Long: `Reads text on standard input and prints it as the model sees it: one sentence per line,
tokens separated by single spaces. Blank lines separate documents (and always end a sentence).
The options come from the flags, from a pipeline config (--config) or from a model (--model).
With character tokens (--tokens characters, or tokenize.tokens: characters), the space token
is shown as ␣.

With --ids --model MODEL.db, each input line is one text, as classify reads it, and the output
line holds the ids of the model's LSTM runs for it (one run per sentence with unit sentence):
runs separated by tabs, ids by spaces. An empty run is an empty field. It is what a program
outside seqclf (scripts/seqclf_torch.py) feeds an exported model.`,
		Example: `  echo "Mr. Smith didn't pay. 我们用Go写LSTM。" | seqclf tokenize
  echo "Anne-Marie" | seqclf tokenize --tokens characters
  seqclf tokenize --model runs/names/model.db < names.txt
  seqclf tokenize --ids --model runs/spam/model.db < mails.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.ids && o.model == "" {
				return fmt.Errorf("tokenize: --ids needs --model, the model whose ids to print")
			}
			fs := cmd.Flags()
			if o.model != "" {
				for _, name := range []string{"config", "lowercase", "nfkc", "numbers", "split-sentences", "tokens"} {
					if fs.Changed(name) {
						return fmt.Errorf("tokenize: --%s and --model do not go together: the model fixes how it reads text", name)
					}
				}
				if o.ids {
					return tokenizeIDs(s, o.model)
				}
				return tokenizeModel(s, o.model)
			}
			opts := o.tok
			if o.config != "" {
				cfg, err := pipeline.LoadConfig(o.config, nil)
				if err != nil {
					return err
				}
				opts = cfg.Tokenize
				for name, dst := range map[string]*bool{"lowercase": &opts.Lowercase, "nfkc": &opts.NFKC,
					"numbers": &opts.Numbers, "split-sentences": &opts.SplitSentences} {
					if fs.Changed(name) {
						*dst, _ = fs.GetBool(name)
					}
				}
				if fs.Changed("tokens") {
					opts.Tokens = o.tok.Tokens
				}
			}
			if opts.Tokens != "words" && opts.Tokens != "characters" {
				return fmt.Errorf("tokenize: --tokens %q: want words or characters", opts.Tokens)
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

// visibleSpace shows the space token of character tokens, which a space between tokens would hide.
const visibleSpace = "␣"

// tokenizeModel tokenizes standard input as the model (or dictionary store) at path reads text.
func tokenizeModel(s streams, path string) error {
	st, err := store.Open(path)
	if err != nil {
		return err
	}
	tc, found, err := st.Tokenizer()
	st.Close()
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("tokenize: %s records no tokenizer: a model of images reads no text", path)
	}
	tok, err := classify.NewTokenizer(tc)
	if err != nil {
		return fmt.Errorf("tokenize: %s: %w", path, err)
	}
	return tokenizeStream(s, tok)
}

// tokenizeStream tokenizes standard input a paragraph at a time (a blank line ends a sentence
// anyway, so the cut changes nothing) and writes one sentence per line, a space token (of
// character tokens: word tokens hold none) as visibleSpace.
func tokenizeStream(s streams, tok *tokenize.Tokenizer) error {
	in := bufio.NewScanner(s.in)
	in.Buffer(make([]byte, 1<<16), 1<<26)
	out := bufio.NewWriter(s.out)
	var para strings.Builder
	flush := func() {
		for _, sent := range tok.Tokenize(para.String()) {
			for i, t := range sent {
				if i > 0 {
					out.WriteByte(' ')
				}
				if t == " " {
					t = visibleSpace
				}
				out.WriteString(t)
			}
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
