package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/seqclf/seqclf/classify"
	"github.com/seqclf/seqclf/idx"
	"github.com/seqclf/seqclf/pipeline"
	"github.com/seqclf/seqclf/report"
	"github.com/seqclf/seqclf/source"
	"github.com/seqclf/seqclf/store"
)

func init() { register(newEvaluateCmd) }

// evaluateOptions are the flags of seqclf evaluate. The source flags (evaluateFlagKeys, --header,
// --label) stand for config keys, as those of vocab build do, and override --config.
type evaluateOptions struct {
	model     string
	config    string
	sets      []string
	json      bool
	images    string
	labels    string
	batchSize int
}

// evaluateFlagKeys maps the source flags of evaluate to the config keys they set.
var evaluateFlagKeys = []struct{ flag, key, usage string }{
	{"format", "source.format", "input format: tsv, csv, jsonl or dir"},
	{"label-column", "source.label_column", "tsv, csv: the label's column, a 0-based number or a header name; jsonl: its key"},
	{"text-column", "source.text_column", "tsv, csv: the text's column, a 0-based number or a header name; jsonl: its key"},
	{"extensions", "source.extensions", "dir: read only files ending so, comma-separated (.txt)"},
}

// AddFlags adds the options' flags to fs.
func (o *evaluateOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.model, "model", "", "the trained model: OUTPUT_DIR/model.db of seqclf pipeline run (required)")
	fs.StringVar(&o.config, "config", "", "pipeline config (YAML) to take the source section from; without FILE, its test set")
	fs.StringArrayVar(&o.sets, "set", nil, "override a config key, key=value (repeatable)")
	fs.BoolVar(&o.json, "json", false, "write the scores as JSON, the object metrics.json holds under \"test\"")
	fs.StringVar(&o.images, "images", "", "for a model of images: the IDX image file to evaluate on")
	fs.StringVar(&o.labels, "labels", "", "for a model of images: the IDX label file of --images")
	fs.IntVar(&o.batchSize, "batch-size", 256, "inputs classified together")
	for _, f := range evaluateFlagKeys {
		fs.String(f.flag, "", f.usage+" ("+f.key+")")
	}
	fs.Bool("header", false, "tsv, csv: the first line names the columns (source.header)")
	fs.StringArray("label", nil, "dir: FOLDER=LABEL, the label of a folder (repeatable; source.labels)")
}

func newEvaluateCmd(s streams) *cobra.Command {
	var o evaluateOptions
	cmd := &cobra.Command{
		Use:   "evaluate --model model.db [FILE]",
		Short: "Score a trained model on labelled data: the test report of pipeline run",
		Long: `Classifies the labelled documents of FILE (read as the source flags, or the source section
of --config, say) with the model, and prints the report that seqclf pipeline run prints for its
test set: accuracy, precision, recall and F1 per class, the macro and weighted averages, and the
confusion matrix. --json writes the scores as the JSON object that metrics.json holds under
"test". A label is matched to the model's classes by name.

Without FILE, --config gives the test set: its source.test, or else the documents of source.train
that source.test_split holds out, drawn from the seed as pipeline run draws them, so that a
model is scored on the documents its run tested it on.

For a model of images, --images FILE --labels FILE give an IDX image file and its label file (or
source.test_images and source.test_labels of --config); the classes are the digits' names.`,
		Example: `  seqclf evaluate --model runs/spam/model.db --config configs/spam.yaml
  seqclf evaluate --model runs/default/model.db mails.tsv
  seqclf evaluate --model runs/spam/model.db --format dir --extensions .txt \
    --label easy-ham-2=ham --label spam-2=spam data/spam-assassin/data
  seqclf evaluate --model runs/mnist/model.db --json \
    --images data/mnist/t10k-images-idx3-ubyte.gz --labels data/mnist/t10k-labels-idx1-ubyte.gz`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args, s) },
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func (o *evaluateOptions) run(cmd *cobra.Command, args []string, s streams) error {
	if o.model == "" {
		return errors.New("--model is required: the model.db that seqclf pipeline run wrote")
	}
	if o.batchSize < 1 {
		return fmt.Errorf("--batch-size is %d: it must be at least 1", o.batchSize)
	}
	if (o.images == "") != (o.labels == "") {
		return errors.New("--images and --labels go together: give the IDX image file and its label file")
	}
	cfg, err := o.loadConfig(cmd.Flags())
	if err != nil {
		return err
	}
	st, err := store.Open(o.model)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := classify.Load(st, o.batchSize)
	if err != nil {
		return err
	}
	var scores *report.Scores
	var what string
	if c.Kind() == classify.KindImages {
		if len(args) > 0 {
			return fmt.Errorf("%s is a model of %s images, not of text: give the images with --images and --labels, not %s", o.model, c.Kind(), args[0])
		}
		scores, err = o.evaluateImages(c, cfg)
		what = "images"
	} else {
		if o.images != "" {
			return fmt.Errorf("--images: %s is a text model; give it a file of labelled texts", o.model)
		}
		scores, err = o.evaluateText(c, cfg, args)
		what = "documents"
	}
	if err != nil {
		return err
	}
	if o.json {
		b, err := json.MarshalIndent(scores, "", "  ")
		if err != nil {
			return err
		}
		_, err = s.out.Write(append(b, '\n'))
		return err
	}
	if _, err := fmt.Fprintf(s.out, "test set: %d %s\n", scores.Samples, what); err != nil {
		return err
	}
	return scores.WriteTable(s.out)
}

// loadConfig returns the config of --config (the defaults without one), with --set and the
// source flags applied.
func (o *evaluateOptions) loadConfig(fs *pflag.FlagSet) (*pipeline.Config, error) {
	sets := append([]string(nil), o.sets...)
	for _, f := range evaluateFlagKeys {
		if fs.Changed(f.flag) {
			v, _ := fs.GetString(f.flag)
			sets = append(sets, f.key+"="+v)
		}
	}
	if fs.Changed("header") {
		h, _ := fs.GetBool("header")
		sets = append(sets, "source.header="+strconv.FormatBool(h))
	}
	labels, _ := fs.GetStringArray("label")
	for _, l := range labels {
		folder, label, ok := strings.Cut(l, "=")
		if !ok || folder == "" || label == "" {
			return nil, fmt.Errorf("--label %q: want FOLDER=LABEL, as spam-1=spam", l)
		}
		sets = append(sets, "source.labels."+folder+"="+label)
	}
	return pipeline.LoadConfig(o.config, sets)
}

// evaluateText scores a text model on the documents of FILE, or on the test set of the config.
func (o *evaluateOptions) evaluateText(c *classify.Classifier, cfg *pipeline.Config, args []string) (*report.Scores, error) {
	opts := cfg.Source.Options()
	var docs []source.Document
	var from string // the file or folder the documents come from
	var err error
	switch {
	case len(args) > 0:
		from = args[0]
		docs, err = pipeline.ReadDocuments(from, opts)
	case o.config == "":
		return nil, errors.New("no documents to evaluate on: give a FILE of labelled texts, or a --config whose source section names the test set")
	case cfg.Source.Kind != "text":
		return nil, fmt.Errorf("config %s: source.kind is %s, but %s is a text model: give a FILE of labelled texts", o.config, cfg.Source.Kind, o.model)
	case cfg.Source.Test != "":
		from = cfg.Source.Test
		docs, err = pipeline.ReadDocuments(from, opts)
	case cfg.Source.TestSplit > 0:
		from = cfg.Source.Train
		docs, err = pipeline.HeldOutDocuments(cfg)
		if err == nil && len(docs) == 0 {
			err = fmt.Errorf("config %s: source.test_split %g of %s holds out no document: give a FILE of labelled texts", o.config, cfg.Source.TestSplit, from)
		}
	default:
		return nil, fmt.Errorf("config %s has no test set (neither source.test nor source.test_split): give a FILE of labelled texts", o.config)
	}
	if err != nil {
		return nil, err
	}
	return pipeline.ScoreTexts(c, docs, from, opts)
}

// evaluateImages scores a model of images on --images and --labels, or on the test images of
// the config.
func (o *evaluateOptions) evaluateImages(c *classify.Classifier, cfg *pipeline.Config) (*report.Scores, error) {
	images, labels := o.images, o.labels
	if images == "" {
		if o.config == "" || cfg.Source.Kind != "mnist" || cfg.Source.TestImages == "" || cfg.Source.TestLabels == "" {
			return nil, fmt.Errorf("%s is a model of %s images: give the test images with --images FILE --labels FILE", o.model, c.Kind())
		}
		images, labels = cfg.Source.TestImages, cfg.Source.TestLabels
	}
	im, truthLabels, err := idx.ReadPair(images, labels)
	if err != nil {
		return nil, err
	}
	scores, err := pipeline.ScoreImages(c, im, truthLabels, labels, o.batchSize)
	var shape *classify.ShapeError
	if errors.As(err, &shape) {
		return nil, fmt.Errorf("--images %s does not fit the model: %w", images, shape.Err)
	}
	return scores, err
}
