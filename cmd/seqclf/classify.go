package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/seqclf/seqclf"
)

func init() { register(newClassifyCmd) }

// classifyOptions are the flags of seqclf classify.
type classifyOptions struct {
	model     string
	json      bool
	topK      int
	images    string
	batchSize int
}

// AddFlags adds the options' flags to fs.
func (o *classifyOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.model, "model", "", "the trained model: OUTPUT_DIR/model.db of seqclf pipeline run (required)")
	fs.BoolVar(&o.json, "json", false, "write one JSON object per line, with every class's probability")
	fs.IntVar(&o.topK, "top-k", 1, "write the k most probable labels of each input")
	fs.StringVar(&o.images, "images", "", "for a model of images: classify the images of this IDX file instead of reading standard input")
	fs.IntVar(&o.batchSize, "batch-size", 64, "inputs classified together")
}

func newClassifyCmd(s streams) *cobra.Command {
	var o classifyOptions
	cmd := &cobra.Command{
		Use:   "classify --model model.db",
		Short: "Classify text from standard input (one text per line) with a trained model",
		Long: `Reads standard input, one text per line, and writes one line per input line, in order:
the most probable label, a tab, and its probability. --top-k N writes the N most probable labels
and their probabilities, tab-separated; --json writes one JSON object per line instead, with the
probability of every class. The model is loaded once and the input streamed, in batches.

For a model trained on MNIST-format images, --images FILE classifies the images of an IDX file.`,
		Example: `  echo "Congratulations, you won a free cruise" | seqclf classify --model runs/spam/model.db
  seqclf classify --model runs/spam/model.db --json < mails.txt
  seqclf classify --model runs/mnist/model.db --images data/mnist/t10k-images-idx3-ubyte.gz`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), s)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func (o *classifyOptions) run(ctx context.Context, s streams) error {
	if o.model == "" {
		return fmt.Errorf("--model is required: the model.db that seqclf pipeline run wrote")
	}
	if o.topK < 1 {
		return fmt.Errorf("--top-k is %d: it must be at least 1", o.topK)
	}
	if o.batchSize < 1 {
		return fmt.Errorf("--batch-size is %d: it must be at least 1", o.batchSize)
	}
	m, err := seqclf.Open(o.model, seqclf.WithBatchSize(o.batchSize))
	if err != nil {
		return err
	}
	defer m.Close()
	lowGC()
	w := bufio.NewWriterSize(s.out, 1<<16)
	switch kind := m.Info().Kind; {
	case o.images != "" && kind != seqclf.KindImages:
		return fmt.Errorf("--images: %s is a text model; give it text on standard input", o.model)
	case o.images == "" && kind == seqclf.KindImages:
		return fmt.Errorf("%s is a model of %s images, not of text: give the images with --images", o.model, kind)
	case o.images != "":
		err = o.classifyImages(ctx, m, w)
	default:
		err = o.classifyText(ctx, m, s.in, w)
	}
	if err != nil {
		return err
	}
	return w.Flush()
}

func (o *classifyOptions) classifyText(ctx context.Context, m *seqclf.Model, in io.Reader, w *bufio.Writer) error {
	r := bufio.NewReaderSize(in, 1<<16)
	batch := make([]string, 0, o.batchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		preds, err := m.Classify(ctx, batch...)
		if err != nil {
			return err
		}
		if err := o.write(w, m.Classes(), preds); err != nil {
			return err
		}
		batch = batch[:0]
		// Each batch's answers go out at once, so that a reader of a pipe sees them as they come.
		return w.Flush()
	}
	for {
		line, err := r.ReadString('\n')
		if len(line) > 0 || err == nil {
			batch = append(batch, strings.TrimRight(line, "\r\n"))
			if len(batch) == o.batchSize {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err == io.EOF {
			return flush()
		}
		if err != nil {
			return fmt.Errorf("reading standard input: %w", err)
		}
	}
}

func (o *classifyOptions) classifyImages(ctx context.Context, m *seqclf.Model, w *bufio.Writer) error {
	preds, err := m.ClassifyImageFile(ctx, o.images)
	var shape *seqclf.ShapeError
	if errors.As(err, &shape) {
		return fmt.Errorf("--images %s does not fit the model: %w", o.images, shape.Err)
	}
	if err != nil {
		return err
	}
	return o.write(w, m.Classes(), preds)
}

// write writes one line per prediction: the top-k labels with their probabilities,
// tab-separated, or a JSON object.
func (o *classifyOptions) write(w *bufio.Writer, classes []string, preds []seqclf.Prediction) error {
	k := len(classes)
	order := make([]int, k)
	p := make([]float32, k) // a prediction's probabilities, by class index
	for _, pred := range preds {
		for j, class := range classes {
			p[j] = pred.Probabilities[class]
		}
		for j := range order {
			order[j] = j
		}
		slices.SortStableFunc(order, func(a, b int) int {
			switch {
			case p[a] > p[b]:
				return -1
			case p[a] < p[b]:
				return 1
			}
			return 0
		})
		top := order[:min(o.topK, k)]
		if o.json {
			if err := writeJSON(w, classes, p, top); err != nil {
				return err
			}
			continue
		}
		for i, j := range top {
			if i > 0 {
				w.WriteByte('\t')
			}
			w.WriteString(classes[j])
			w.WriteByte('\t')
			w.WriteString(strconv.FormatFloat(float64(p[j]), 'f', 4, 32))
		}
		if err := w.WriteByte('\n'); err != nil {
			return err
		}
	}
	return nil
}

type labelProb struct {
	Label       string  `json:"label"`
	Probability float32 `json:"probability"`
}

func writeJSON(w *bufio.Writer, classes []string, p []float32, top []int) error {
	obj := struct {
		Label         string             `json:"label"`
		Probability   float32            `json:"probability"`
		Top           []labelProb        `json:"top,omitempty"`
		Probabilities map[string]float32 `json:"probabilities"`
	}{Label: classes[top[0]], Probability: p[top[0]], Probabilities: make(map[string]float32, len(classes))}
	for j, c := range classes {
		obj.Probabilities[c] = p[j]
	}
	if len(top) > 1 {
		for _, j := range top {
			obj.Top = append(obj.Top, labelProb{classes[j], p[j]})
		}
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	w.Write(b)
	return w.WriteByte('\n')
}
