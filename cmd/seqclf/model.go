package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/seqclf/seqclf/export"
	"github.com/seqclf/seqclf/internal/atomicfile"
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
		Long: `Prints the model's layers with their shapes and parameter counts (an LSTM layer's spelled out
with the seed's formula 4·num_units·(num_units+input)+4·num_units, a GRU layer's with
3·num_units·(num_units+input)+4·num_units), its classes, and the settings it was trained with.`,
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
			if m.Quant != nil {
				fmt.Fprintf(s.out, "quantized: int8 weights with a scale per output (model quantize)\n\n")
			}
			return report.WriteSummary(s.out, m.LSTM, m.Table)
		},
	})
	cmd.AddCommand(newModelExportCmd(s), newModelImportCmd(s), newModelQuantizeCmd(s), newModelUpgradeCmd(s))
	return cmd
}

// modelExportOptions are the flags of seqclf model export.
type modelExportOptions struct {
	format string
	out    string
}

// AddFlags adds the options' flags to fs.
func (o *modelExportOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.format, "format", "safetensors", "the format to write: safetensors or onnx")
	fs.StringVar(&o.out, "out", "", "safetensors: the directory to write (made if needed); onnx: the file")
}

func newModelExportCmd(s streams) *cobra.Command {
	var o modelExportOptions
	cmd := &cobra.Command{
		Use:   "export --format safetensors|onnx --out PATH MODEL.db",
		Short: "Write a model for PyTorch (safetensors) or ONNX Runtime and Triton (onnx)",
		Long: `Writes the model to DIR. With --format safetensors: DIR/model.safetensors holds the tensors
under PyTorch's state_dict names and layouts (embedding.weight, lstm.weight_ih_l0, lstm.weight_hh_l0,
lstm.bias_ih_l0, lstm.bias_hh_l0 (zeros: seqclf's one bias is bias_ih), ..., fc.weight, fc.bias;
gru.* for a GRU, *_reverse for a bidirectional model's backward direction, attention.weight,
attention.bias and attention.v for attention pooling), DIR/config.json the shape and input
settings, and for a text model DIR/vocab.txt the dictionary, one token a line.
scripts/seqclf_torch.py loads such a directory in PyTorch.

Every cell (lstm, gru), direction and pooling (last, mean, max, attention) can be written in both
formats. With --format onnx: the file --out holds an opset-14 graph: a text model takes ids int64
[batch, time] and lengths int64 [batch] (seqclf tokenize --ids --model MODEL.db prints the ids; one
row per LSTM run, so a sentence-unit model's document is the mean of its rows' log-probabilities,
outside the graph), a model of images takes images float32 [batch, steps, inputs]; both answer
probabilities float32 [batch, classes].`,
		Example: `  seqclf model export --format safetensors --out runs/spam/export runs/spam/model.db
  seqclf model export --format onnx --out runs/spam/model.onnx runs/spam/model.db`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.out == "" {
				return fmt.Errorf("model export: --out DIR is required")
			}
			switch o.format {
			case "safetensors":
				if err := export.Safetensors(args[0], o.out); err != nil {
					return err
				}
			case "onnx":
				if err := writeONNX(args[0], o.out); err != nil {
					return err
				}
			default:
				return fmt.Errorf("model export: unknown --format %q: use safetensors or onnx", o.format)
			}
			fmt.Fprintf(s.err, "wrote %s\n", o.out)
			return nil
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// modelImportOptions are the flags of seqclf model import.
type modelImportOptions struct {
	from string
	out  string
}

// AddFlags adds the options' flags to fs.
func (o *modelImportOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.from, "from", "", "the directory to read, as model export --format safetensors writes it")
	fs.StringVar(&o.out, "out", "", "the model file to write")
}

func newModelImportCmd(s streams) *cobra.Command {
	var o modelImportOptions
	cmd := &cobra.Command{
		Use:   "import --from DIR --out MODEL.db",
		Short: "Write a model file from a safetensors directory (a model trained in PyTorch, say)",
		Long: `Reads DIR in the layout model export --format safetensors writes (model.safetensors,
config.json, and vocab.txt for text) and writes a model file that classify, evaluate and serve
run. Each LSTM layer's bias is PyTorch's bias_ih + bias_hh, summed in float32 (a GRU's r and z
biases too; its n gate keeps bias_ih's b_in and bias_hh's b_hn apart, as PyTorch does).`,
		Example: `  seqclf model import --from torch-model --out runs/torch/model.db`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.from == "" || o.out == "" {
				return fmt.Errorf("model import: --from DIR and --out MODEL.db are required")
			}
			if err := export.Import(o.from, o.out); err != nil {
				return err
			}
			fmt.Fprintf(s.err, "wrote %s\n", o.out)
			return nil
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// writeONNX writes the ONNX graph of the model at path to out, through a temporary file beside
// it, so that out holds the old file or the whole new one.
func writeONNX(path, out string) error {
	st, err := store.Open(path)
	if err != nil {
		return err
	}
	m, err := st.LoadModel()
	st.Close()
	if err != nil {
		return err
	}
	b, err := export.MarshalONNX(m)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(out, b); err != nil {
		return fmt.Errorf("model export: %w", err)
	}
	return nil
}
