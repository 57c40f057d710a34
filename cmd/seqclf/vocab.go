package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/pipeline"
	"github.com/seqclf/seqclf/source"
	"github.com/seqclf/seqclf/store"
	"github.com/seqclf/seqclf/vocab"
)

func init() { register(newVocabCmd) }

func newVocabCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vocab",
		Short: "Build or inspect the dictionary and embedding table",
	}
	cmd.AddCommand(newVocabBuildCmd(s), newVocabShowCmd(s))
	return cmd
}

// vocabBuildOptions are the flags of seqclf vocab build. Each flag but --config, --set, --out,
// --workers and --top stands for a config key and, when given, overrides it.
type vocabBuildOptions struct {
	config  string
	sets    []string
	out     string
	workers int
	top     int
}

// flagKeys maps the flags of vocab build to the config keys they set.
var flagKeys = []struct{ flag, key, usage string }{
	{"input", "source.train", "training data: a tsv, csv or jsonl file, or a folder of one folder per label"},
	{"format", "source.format", "input format: tsv, csv, jsonl or dir"},
	{"min-count", "vocab.min_count", "keep tokens seen at least this often"},
	{"max-size", "vocab.max_size", "at most this many entries, <pad> and <unk> included (0: no limit)"},
	{"pretrained", "embed.pretrained", "word2vec, GloVe or fastText text file of vectors (may be gzipped)"},
	{"dim", "embed.dim", "embedding dimension"},
	{"extensions", "source.extensions", "dir: read only files ending so, comma-separated (.txt)"},
	{"test-split", "source.test_split", "share of documents held out for testing, not counted (without source.test)"},
}

// AddFlags adds the options' flags to fs.
func (o *vocabBuildOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.config, "config", "", "pipeline config (YAML) to take the source and settings from")
	fs.StringArrayVar(&o.sets, "set", nil, "override a config key, key=value (repeatable)")
	fs.StringVar(&o.out, "out", "", "store to write (default: OUTPUT_DIR/model.db of the config)")
	fs.IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "tokenizing goroutines")
	fs.IntVar(&o.top, "top", 20, "most frequent tokens to print")
	for _, f := range flagKeys {
		fs.String(f.flag, "", f.usage+" ("+f.key+")")
	}
	fs.StringArray("label", nil, "dir: FOLDER=LABEL, the label of a folder (repeatable; source.labels)")
}

func newVocabBuildCmd(s streams) *cobra.Command {
	var o vocabBuildOptions
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the dictionary (and embedding table) from a corpus into a store",
		Long: `Counts the tokens of the training documents, keeps those seen at least min_count times
(at most max_size entries), and writes the dictionary and a seeded embedding table, with the
pretrained vectors if given, to a store. Settings come from --config, then SEQCLF_<KEY>
environment variables, then --set, then the flags.`,
		Example: `  seqclf vocab build --input data/spam-assassin/data --format dir --extensions .txt \
    --label easy-ham-1=ham --label easy-ham-2=ham --label hard-ham-1=ham \
    --label spam-1=spam --label spam-2=spam --min-count 2 --max-size 20000 --out runs/spam/model.db
  seqclf vocab build --config configs/spam.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, s) },
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func (o *vocabBuildOptions) run(cmd *cobra.Command, s streams) error {
	sets := append([]string(nil), o.sets...)
	fs := cmd.Flags()
	for _, f := range flagKeys {
		if fs.Changed(f.flag) {
			v, _ := fs.GetString(f.flag)
			sets = append(sets, f.key+"="+v)
		}
	}
	labels, _ := fs.GetStringArray("label")
	for _, l := range labels {
		folder, label, ok := strings.Cut(l, "=")
		if !ok || folder == "" || label == "" {
			return fmt.Errorf("--label %q: want FOLDER=LABEL, as spam-1=spam", l)
		}
		sets = append(sets, "source.labels."+folder+"="+label)
	}
	cfg, err := pipeline.LoadConfig(o.config, sets)
	if err != nil {
		return err
	}
	if cfg.Source.Kind != "text" {
		return fmt.Errorf("source.kind is %s: only text sources have a dictionary", cfg.Source.Kind)
	}
	if cfg.Source.Train == "" {
		return errors.New("no training data: give --input or source.train in --config")
	}
	out := o.out
	if out == "" {
		if o.config == "" {
			return errors.New("no store to write: give --out (or a --config, whose output_dir holds model.db)")
		}
		out = filepath.Join(cfg.OutputDir, pipeline.ModelFile)
	}
	tok, err := pipeline.NewTokenizer(cfg.Tokenize)
	if err != nil {
		return err
	}

	start := time.Now()
	split, err := pipeline.NewSplit(cfg)
	if err != nil {
		return err
	}
	if cfg.Source.Test != "" {
		for d, err := range source.Read(cfg.Source.Test, cfg.Source.Options()) {
			if err != nil {
				return err
			}
			split.Exclude(d.Text)
		}
	}
	var n [4]int // documents of each source.Part
	var readErr error
	texts := func(yield func(string) bool) {
		i := 0
		for d, err := range source.Read(cfg.Source.Train, cfg.Source.Options()) {
			if err != nil {
				readErr = err
				return
			}
			p := split.Of(i, d)
			i++
			n[p]++
			if p == source.PartTrain && !yield(d.Text) {
				return
			}
		}
	}
	dict, err := pipeline.BuildDictionary(texts, tok, cfg, max(o.workers, 1), nil, pipeline.DictionaryOptions{Log: s.err})
	if err == nil {
		err = readErr
	}
	if err != nil {
		return err
	}
	if dict.Vocab.Coverage().Tokens == 0 {
		return fmt.Errorf("%s: no tokens in %d documents", cfg.Source.Train, dict.Counted)
	}
	counted := time.Since(start)
	v, table := dict.Vocab, dict.Table
	if err := writeVocabStore(out, v, table, cfg.Tokenize.Tokenizer()); err != nil {
		return err
	}
	w := s.out
	fmt.Fprintf(w, "read %d documents (%.1f MB) from %s", dict.Counted, float64(dict.Bytes)/1e6, cfg.Source.Train)
	fmt.Fprintf(w, "; left out: %d for validation, %d for testing, %d repeating an earlier one (seed %d)",
		n[source.PartValidation], n[source.PartTest], n[source.PartDuplicate], cfg.Seed)
	counted -= dict.Pretrain // the vectors' learning, said on its own line
	fmt.Fprintf(w, "\ntokenized and counted in %s (%.1f MB/s, %d workers)\n", counted.Round(time.Millisecond),
		float64(dict.Bytes)/1e6/counted.Seconds(), max(o.workers, 1))
	if dict.Pretrain > 0 {
		fmt.Fprintf(w, "embed.pretrain: %s vectors learnt from the training text in %s\n", cfg.Embed.Pretrain, dict.Pretrain.Round(time.Millisecond))
	}
	if loaded := dict.Pretrained; loaded != nil {
		fmt.Fprintf(w, "pretrained %s: %d vectors read; %d of %d entries found (%d exactly, %d by lowercase), %d random\n",
			cfg.Embed.Pretrained, loaded.Vectors, loaded.Found(), v.Len()-2, loaded.Exact, loaded.Lowercase, loaded.Missing)
	}
	fmt.Fprintf(w, "wrote %s: dictionary of %d entries (min_count %d, max_size %d), embedding table %d×%d\n",
		out, v.Len(), cfg.Vocab.MinCount, cfg.Vocab.MaxSize, table.Rows(), table.Dim())
	return printSummary(w, v, o.top)
}

// writeVocabStore writes the dictionary, the table and the tokenizer options to the store at
// path, creating its folder.
func writeVocabStore(path string, v *vocab.Vocab, t *embed.Table, tc store.Tokenizer) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	st, err := store.Create(path)
	if err != nil {
		return err
	}
	trained, err := st.HasModel()
	if err == nil && trained {
		err = fmt.Errorf("store %s holds a trained model, whose weights fit its own dictionary: write the new dictionary to another file (--out)", path)
	}
	if err == nil {
		err = st.PutVocab(v)
	}
	if err == nil {
		err = st.PutTable(t)
	}
	if err == nil {
		err = st.PutTokenizer(tc)
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	return err
}

// printSummary prints the dictionary's size and coverage and its most frequent tokens.
func printSummary(w io.Writer, v *vocab.Vocab, top int) error {
	c := v.Coverage()
	fmt.Fprintf(w, "dictionary: %d entries (%d tokens + <pad> + <unk>) of %d distinct corpus tokens\n", v.Len(), c.Kept, c.Types)
	fmt.Fprintf(w, "coverage:   %.2f%% of %d corpus tokens; OOV rate %.2f%% (%d tokens become <unk>)\n",
		100*c.Share, c.Tokens, 100*c.OOVRate, c.Tokens-c.Covered)
	n := min(top, v.Len()-2)
	if n <= 0 {
		return nil
	}
	fmt.Fprintf(w, "most frequent:\n")
	for id := 2; id < 2+n; id++ {
		fmt.Fprintf(w, "  %6d  %-20s %d\n", id, strconv.Quote(v.Token(id)), v.Count(id))
	}
	return nil
}

func newVocabShowCmd(s streams) *cobra.Command {
	var top int
	cmd := &cobra.Command{
		Use:   "show STORE [TOKEN...]",
		Short: "Print a store's dictionary summary and look tokens up",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := store.Open(args[0])
			if err != nil {
				return err
			}
			defer st.Close()
			v, err := st.Vocab()
			if err != nil {
				return err
			}
			w := s.out
			fmt.Fprintf(w, "%s\n", args[0])
			tc, found, err := st.Tokenizer()
			if err != nil {
				return err
			}
			if found {
				tokens := tc.Tokens
				if tokens == "" {
					tokens = "words"
				}
				fmt.Fprintf(w, "tokenize:   %s, lowercase %v, nfkc %v, numbers %v, split_sentences %v\n",
					tokens, tc.Lowercase, tc.NFKC, tc.Numbers, tc.SplitSentences)
			}
			if d, err := st.DictionaryDigest(); err == nil {
				fmt.Fprintf(w, "digest:     %s (dictionary and table)\n", d)
			}
			if t, err := st.Table(); err == nil {
				fmt.Fprintf(w, "embedding:  %d×%d, trainable %v\n", t.Rows(), t.Dim(), t.Trainable)
			} else if !errors.Is(err, store.ErrMissing) {
				return err
			}
			if err := printSummary(w, v, top); err != nil {
				return err
			}
			for _, q := range args[1:] {
				id, ok := v.Lookup(q)
				if !ok && tc.Lowercase && strings.ToLower(q) != q {
					if lid, lok := v.Lookup(strings.ToLower(q)); lok {
						fmt.Fprintf(w, "%s: not in the dictionary; the model sees it lowercased, %q: id %d, count %d\n", strconv.Quote(q), strings.ToLower(q), lid, v.Count(lid))
						continue
					}
				}
				if !ok {
					fmt.Fprintf(w, "%s: not in the dictionary (encoded as <unk>, id %d)\n", strconv.Quote(q), vocab.UnkID)
					continue
				}
				fmt.Fprintf(w, "%s: id %d, count %d\n", strconv.Quote(q), id, v.Count(id))
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&top, "top", 20, "most frequent tokens to print")
	return cmd
}
