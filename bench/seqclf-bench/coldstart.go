package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/store"
	"github.com/seqclf/seqclf/vocab"
)

// runExportModel writes a trained text model of one LSTM layer as JSON, for torch_bench.py
// save-model: the same weights, dictionary and settings on PyTorch's side of the cold start.
func runExportModel(args []string) error {
	fs := flag.NewFlagSet("export-model", flag.ExitOnError)
	path := fs.String("model", "", "the model.db of seqclf pipeline run")
	out := fs.String("out", "", "the JSON to write")
	fs.Parse(args)
	st, err := store.Open(*path)
	if err != nil {
		return err
	}
	defer st.Close()
	m, err := st.LoadModel()
	if err != nil {
		return err
	}
	v, err := st.Vocab()
	if err != nil {
		return err
	}
	if m.Table == nil || len(m.LSTM.Layers) != 1 {
		return fmt.Errorf("%s: export-model takes a text model of one LSTM layer", *path)
	}
	if p := m.LSTM.Config.Pooling; p != lstm.PoolMax && p != lstm.PoolLast {
		return fmt.Errorf("%s: pooling %v: export-model takes max or last", *path, p)
	}
	l := m.LSTM.Layers[0]
	j := map[string]any{
		"labels": m.Labels, "tokens": v.Tokens(), "unk": vocab.UnkID, "pooling": m.LSTM.Config.Pooling.String(),
		"time_step": m.Input.TimeStep, "lowercase": m.Input.Tokenize.Lowercase,
		"embed": map[string]any{"rows": len(m.Table.Data) / m.Table.Dim(), "dim": m.Table.Dim(), "data": m.Table.Data},
		"lstm":  map[string]any{"units": l.NumUnits, "w": l.W.Value, "b": l.B.Value},
		"head":  map[string]any{"w": m.LSTM.HeadW.Value, "b": m.LSTM.HeadB.Value},
	}
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return os.WriteFile(*out, b, 0o644)
}

// runColdStart times, from process start to the first label on standard output, seqclf classify
// and torch_bench.py classify on one line of text, alternated, and writes each side's median
// as a Result (task "coldstart").
func runColdStart(args []string) error {
	fs := flag.NewFlagSet("coldstart", flag.ExitOnError)
	seqclfCmd := fs.String("seqclf", "", "the seqclf classify command line, space-separated")
	torchCmd := fs.String("torch", "", "the PyTorch command line, space-separated; empty: seqclf alone")
	line := fs.String("line", "Congratulations, you won a free cruise! Call now to claim your prize.", "the text")
	runs := fs.Int("runs", 7, "runs of each side")
	outDir := fs.String("out", ".", "directory for seqclf-coldstart-0.json and pytorch-coldstart-0.json")
	fs.Parse(args)
	sides := []struct{ name, cmd string }{{"seqclf", *seqclfCmd}, {"pytorch", *torchCmd}}
	times := make([][]float64, len(sides))
	labels := make([]string, len(sides))
	for r := 0; r <= *runs; r++ { // run 0 warms the page cache and is not counted
		for i, s := range sides {
			if s.cmd == "" {
				continue
			}
			ms, label, err := firstLine(strings.Fields(s.cmd), *line+"\n")
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			labels[i] = label
			if r > 0 {
				times[i] = append(times[i], ms)
			}
		}
	}
	for i, s := range sides {
		if s.cmd == "" {
			continue
		}
		per := make([]string, len(times[i]))
		for j, t := range times[i] {
			per[j] = fmt.Sprintf("%.0f", t)
		}
		r := Result{Side: s.name, Task: "coldstart", ColdStartMS: median(times[i]),
			Note: fmt.Sprintf("%s ms by run; answer %q", strings.Join(per, ", "), labels[i])}
		b, _ := json.MarshalIndent(r, "", "  ")
		if err := os.WriteFile(filepath.Join(*outDir, s.name+"-coldstart-0.json"), append(b, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "cold start %s: median %.1f ms (%s), %q\n", s.name, r.ColdStartMS, r.Note, labels[i])
	}
	return nil
}

// firstLine starts argv with input on its standard input and returns the milliseconds until it
// wrote its first line, and that line; it then waits for the process to end.
func firstLine(argv []string, input string) (float64, string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = strings.NewReader(input)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, "", err
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, "", err
	}
	r := bufio.NewReader(stdout)
	line, err := r.ReadString('\n')
	ms := float64(time.Since(t0).Microseconds()) / 1e3
	io.Copy(io.Discard, r)
	if werr := cmd.Wait(); werr != nil {
		return 0, "", werr
	}
	if err != nil {
		return 0, "", fmt.Errorf("no line on standard output: %w", err)
	}
	return ms, strings.TrimRight(line, "\n"), nil
}
