package lstm

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// The fixtures in testdata/torch_*.json were written by scripts/torch_golden.py with PyTorch 1.13
// (nn.LSTM or nn.GRU, one or two directions, on packed sequences; last, mean, max or additive
// attention pooling written with torch's operations; nn.Linear; cross-entropy; float32): see
// that script for the layout conversions. Outputs, logits and loss agree to 1e-5, every gradient
// to 1e-6 (relative above 1).

type torchCase struct {
	Name          string               `json:"name"`
	Cell          string               `json:"cell"` // "" in the fixtures written before GRU: lstm
	Bidirectional bool                 `json:"bidirectional"`
	InputDim      int                  `json:"input_dim"`
	NumUnits      int                  `json:"num_units"`
	NumLayers     int                  `json:"num_layers"`
	Classes       int                  `json:"classes"`
	Steps         int                  `json:"steps"`
	Lengths       []int                `json:"lengths"`
	Pooling       string               `json:"pooling"`
	Labels        []int                `json:"labels"`
	ClassWeights  []float32            `json:"class_weights"`
	X             []float32            `json:"x"`
	Params        map[string][]float32 `json:"params"`
	Outputs       []float32            `json:"outputs"`
	Pooled        []float32            `json:"pooled"`
	Logits        []float32            `json:"logits"`
	Loss          float64              `json:"loss"`
	Grads         map[string][]float32 `json:"grads"`
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// setParams copies values by name into the model's parameters.
func setParams(t *testing.T, m *Model[float32], values map[string][]float32) {
	t.Helper()
	for _, p := range m.Params() {
		v, ok := values[p.Name]
		if !ok || len(v) != len(p.Value) {
			t.Fatalf("fixture has %d values for %s, model %d", len(v), p.Name, len(p.Value))
		}
		copy(p.Value, v)
	}
}

// near reports whether got and want agree within tol, relative to want for |want| > 1.
func near(got, want float64, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func compare(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	worst := 0.0
	for i := range want {
		worst = math.Max(worst, math.Abs(float64(got[i])-float64(want[i])))
		if !near(float64(got[i]), float64(want[i]), tol) {
			t.Errorf("%s[%d] = %.7g, PyTorch %.7g", what, i, got[i], want[i])
			return
		}
	}
	t.Logf("%s: largest difference %.2g", what, worst)
}

func TestTorchParity(t *testing.T) {
	for _, name := range []string{"lstm2_last", "lstm2_mean_weighted", "lstm1_max",
		"bilstm2_last", "bilstm1_max", "bilstm1_mean_weighted", "gru1_last", "gru2_mean", "bigru2_max",
		"lstm1_attention", "bilstm1_attention", "gru1_attention"} {
		t.Run(name, func(t *testing.T) {
			var fx torchCase
			readJSON(t, "torch_"+name+".json", &fx)
			pool, err := ParsePooling(fx.Pooling)
			if err != nil {
				t.Fatal(err)
			}
			cell, err := ParseCell(fx.Cell)
			if err != nil {
				t.Fatal(err)
			}
			cfg := Config{InputDim: fx.InputDim, NumUnits: fx.NumUnits, NumLayers: fx.NumLayers, Classes: fx.Classes, Pooling: pool,
				Cell: cell, Bidirectional: fx.Bidirectional}
			m, err := New[float32](cfg, testRNG())
			if err != nil {
				t.Fatal(err)
			}
			setParams(t, m, fx.Params)
			ws := m.NewWorkspace()
			logits := m.Forward(ws, Batch[float32]{X: fx.X, Lengths: fx.Lengths, Steps: fx.Steps})

			// PyTorch's padded outputs are zero at padding steps; ours repeat the last real one.
			out := ws.Outputs(fx.NumLayers - 1)
			batch, h := len(fx.Lengths), cfg.OutputDim()
			var gotReal, wantReal []float32
			for s := range fx.Steps {
				for b, n := range fx.Lengths {
					if s < n {
						i := (s*batch + b) * h
						gotReal = append(gotReal, out[i:i+h]...)
						wantReal = append(wantReal, fx.Outputs[i:i+h]...)
					}
				}
			}
			compare(t, "outputs", gotReal, wantReal, 1e-5)
			compare(t, "pooled", ws.pooled, fx.Pooled, 1e-5)
			compare(t, "logits", logits, fx.Logits, 1e-5)
			var cw []float32
			if fx.ClassWeights != nil {
				cw = fx.ClassWeights
			}
			loss, err := m.Loss(ws, fx.Labels, cw)
			if err != nil {
				t.Fatal(err)
			}
			if !near(loss, fx.Loss, 1e-5) {
				t.Errorf("loss = %.7g, PyTorch %.7g", loss, fx.Loss)
			}
			ZeroGrad(m.Params())
			m.Backward(ws)
			for _, p := range m.Params() {
				compare(t, "grad "+p.Name, p.Grad, fx.Grads[p.Name], 1e-6)
			}
			compare(t, "grad x", ws.InputGrad(), fx.Grads["x"], 1e-6)
		})
	}
}

type torchOptim struct {
	Initial map[string][]float32 `json:"initial"`
	Runs    []struct {
		Kind        string  `json:"kind"`
		LR          float64 `json:"lr"`
		Momentum    float64 `json:"momentum"`
		WeightDecay float64 `json:"weight_decay"`
		Clip        float64 `json:"clip"`
		Steps       []struct {
			Grads  map[string][]float32 `json:"grads"`
			Norm   *float64             `json:"norm"`
			Params map[string][]float32 `json:"params"`
		} `json:"steps"`
	} `json:"runs"`
}

// TestTorchOptimizers feeds PyTorch's gradients to our optimizers and compares the parameters
// after each of two steps with torch.optim's.
func TestTorchOptimizers(t *testing.T) {
	var fx torchOptim
	readJSON(t, "torch_optim.json", &fx)
	var fc torchCase
	readJSON(t, "torch_lstm2_last.json", &fc)
	cfg := Config{InputDim: fc.InputDim, NumUnits: fc.NumUnits, NumLayers: fc.NumLayers, Classes: fc.Classes}
	for _, run := range fx.Runs {
		name := run.Kind
		if run.Clip > 0 {
			name += "+clip"
		}
		t.Run(name, func(t *testing.T) {
			m, err := New[float32](cfg, testRNG())
			if err != nil {
				t.Fatal(err)
			}
			setParams(t, m, fx.Initial)
			var opt Optimizer[float32]
			switch run.Kind {
			case "sgd":
				opt = &SGD[float32]{LR: run.LR, Momentum: run.Momentum, WeightDecay: run.WeightDecay}
			case "adam":
				a := NewAdam[float32](run.LR)
				a.WeightDecay = run.WeightDecay
				opt = a
			case "adamw":
				a := NewAdamW[float32](run.LR)
				a.WeightDecay = run.WeightDecay
				opt = a
			default:
				t.Fatalf("unknown optimizer %q in fixture", run.Kind)
			}
			params := m.Params()
			for i, step := range run.Steps {
				for _, p := range params {
					copy(p.Grad, step.Grads[p.Name])
				}
				if run.Clip > 0 {
					norm := ClipGradNorm(params, run.Clip)
					if step.Norm == nil || !near(norm, *step.Norm, 1e-5) {
						t.Errorf("step %d: gradient norm %g, PyTorch %v", i, norm, step.Norm)
					}
				}
				opt.Step(params)
				for _, p := range params {
					compare(t, p.Name, p.Value, step.Params[p.Name], 1e-6)
				}
			}
		})
	}
}
