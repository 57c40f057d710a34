package export

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seqclf/seqclf"
	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/store"
)

const (
	textModel   = "../store/testdata/model-v3-text.db"
	mnistModel  = "../store/testdata/model-v3-mnist.db"
	mnistImages = "../idx/testdata/mnist-t10k-20-images-idx3-ubyte.gz"
)

func readTexts(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("testdata/texts.txt")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// probs returns the model's probabilities for the texts or images of testdata, one row each, in
// the order of its classes.
func probs(t *testing.T, path string) [][]float32 {
	t.Helper()
	m, err := seqclf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var preds []seqclf.Prediction
	if m.Info().Kind == seqclf.KindText {
		preds, err = m.Classify(context.Background(), readTexts(t)...)
	} else {
		preds, err = m.ClassifyImageFile(context.Background(), mnistImages)
	}
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]float32, len(preds))
	for i, p := range preds {
		for _, c := range m.Classes() {
			out[i] = append(out[i], p.Probabilities[c])
		}
	}
	return out
}

// maxDiff returns the largest absolute difference between got and want, +Inf if their shapes
// differ.
func maxDiff(got [][]float32, want [][]float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var d float64
	for i := range got {
		if len(got[i]) != len(want[i]) {
			return math.Inf(1)
		}
		for j := range got[i] {
			d = math.Max(d, math.Abs(float64(got[i][j])-want[i][j]))
		}
	}
	return d
}

func TestRoundTrip(t *testing.T) {
	for _, path := range []string{textModel, mnistModel} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "export")
			if err := Safetensors(path, dir); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "model.db")
			if err := Import(dir, out); err != nil {
				t.Fatal(err)
			}
			a, b := loadModel(t, path), loadModel(t, out)
			for i, p := range a.LSTM.Params() {
				if q := b.LSTM.Params()[i]; !slices.Equal(p.Value, q.Value) {
					t.Errorf("parameter %s differs after the round trip", p.Name)
				}
			}
			if a.Input != b.Input || !slices.Equal(a.Labels, b.Labels) || a.LSTM.Config.Pooling != b.LSTM.Config.Pooling {
				t.Errorf("input %+v labels %v, want %+v %v", b.Input, b.Labels, a.Input, a.Labels)
			}
			if (a.Table == nil) != (b.Table == nil) || a.Table != nil && !slices.Equal(a.Table.Data, b.Table.Data) {
				t.Errorf("embedding table differs after the round trip")
			}
			want, got := probs(t, path), probs(t, out)
			for i := range want {
				if !slices.Equal(got[i], want[i]) {
					t.Errorf("input %d: probabilities %v, want %v bit for bit", i, got[i], want[i])
				}
			}
		})
	}
}

// TestRoundTripKinds exports and imports a model of every cell, direction and pooling, two layers
// so that the upper one reads both directions, and checks every parameter bit for bit, a GRU's
// zero blocks included, and the tensors' names and shapes in PyTorch's state_dict.
func TestRoundTripKinds(t *testing.T) {
	seed := uint64(30)
	for _, cell := range []lstm.Cell{lstm.CellLSTM, lstm.CellGRU} {
		for _, bi := range []bool{false, true} {
			for _, pool := range []lstm.Pooling{lstm.PoolLast, lstm.PoolMean, lstm.PoolMax, lstm.PoolAttention} {
				seed++
				cfg := lstm.Config{InputDim: 3, NumUnits: 4, NumLayers: 2, Classes: 3, Pooling: pool, Cell: cell, Bidirectional: bi}
				name := fmt.Sprintf("%v-bidirectional=%v-%v", cell, bi, pool)
				t.Run(name, func(t *testing.T) {
					src := randomModel(t, seed, cfg, 0)
					dir := filepath.Join(t.TempDir(), "export")
					if err := writeDir(dir, src, nil); err != nil {
						t.Fatal(err)
					}
					got, _, rc, err := ReadDir(dir)
					if err != nil {
						t.Fatal(err)
					}
					if got.LSTM.Config != cfg || rc.Cell != cell.String() || rc.Bidirectional != bi {
						t.Errorf("config %+v (%s, bidirectional %v), want %+v", got.LSTM.Config, rc.Cell, rc.Bidirectional, cfg)
					}
					want := src.LSTM.Params()
					for i, p := range got.LSTM.Params() {
						if p.Name != want[i].Name || !slices.Equal(bits(p.Value), bits(want[i].Value)) {
							t.Errorf("parameter %s differs after the round trip", want[i].Name)
						}
					}
					h, e, g := 4, cfg.OutputDim(), 4*4
					if cell == lstm.CellGRU {
						g = 3 * 4
					}
					shapes := map[string][]int{
						fmt.Sprintf("%v.weight_ih_l0", cell): {g, 3}, fmt.Sprintf("%v.weight_ih_l1", cell): {g, e},
						fmt.Sprintf("%v.weight_hh_l1", cell): {g, h}, fmt.Sprintf("%v.bias_hh_l1", cell): {g},
						"fc.weight": {3, e},
					}
					if bi {
						shapes[fmt.Sprintf("%v.weight_ih_l1_reverse", cell)] = []int{g, e}
					}
					if pool == lstm.PoolAttention {
						shapes["attention.weight"], shapes["attention.bias"], shapes["attention.v"] = []int{h, e}, []int{h}, []int{h}
					}
					ts := readTensors(t, dir)
					for n, s := range shapes {
						if !slices.Equal(ts[n].Shape, s) {
							t.Errorf("%s has shape %v, want %v", n, ts[n].Shape, s)
						}
					}
					n := 4*cfg.NumLayers*cfg.Directions() + 2 // four a layer and direction, the head's two
					if pool == lstm.PoolAttention {
						n += 3
					}
					if len(ts) != n {
						t.Errorf("%d tensors, want %d", len(ts), n)
					}
				})
			}
		}
	}
}

// TestReadDirLegacy reads a directory written before GRU existed: config.json without cell and
// bidirectional holds a one-direction LSTM.
func TestReadDirLegacy(t *testing.T) {
	cfg := lstm.Config{InputDim: 3, NumUnits: 4, NumLayers: 1, Classes: 2, Pooling: lstm.PoolMax}
	src := randomModel(t, 3, cfg, 0)
	dir := t.TempDir()
	if err := writeDir(dir, src, nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, ConfigFile)
	var c map[string]any
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		t.Fatal(err)
	}
	delete(c, "cell")
	delete(c, "bidirectional")
	if b, err = json.Marshal(c); err == nil {
		err = os.WriteFile(path, b, 0o666)
	}
	if err != nil {
		t.Fatal(err)
	}
	got, _, _, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.LSTM.Config != cfg {
		t.Errorf("config %+v, want %+v", got.LSTM.Config, cfg)
	}
}

// bits returns the bit patterns of v, so that -0 and 0 differ.
func bits(v []float32) []uint32 {
	out := make([]uint32, len(v))
	for i, x := range v {
		out[i] = math.Float32bits(x)
	}
	return out
}

func loadModel(t *testing.T, path string) *store.Model {
	t.Helper()
	s, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m, err := s.LoadModel()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestTorchParity compares seqclf's probabilities with PyTorch's (scripts/seqclf_torch.py, as
// testdata/gen.sh ran it) for saved models exported with other poolings, units and slices.
func TestTorchParity(t *testing.T) {
	b, err := os.ReadFile("testdata/torch-probs.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden map[string][][]float64
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden) == 0 {
		t.Fatal("no golden probabilities")
	}
	for _, name := range slices.Sorted(maps.Keys(golden)) {
		want := golden[name]
		t.Run(name, func(t *testing.T) {
			f := strings.Split(name, "-") // kind, unit or slice, pooling
			src := textModel
			if f[0] == "mnist" {
				src = mnistModel
			}
			dir := filepath.Join(t.TempDir(), name)
			if err := Safetensors(src, dir); err != nil {
				t.Fatal(err)
			}
			var cfg Config
			cb, err := os.ReadFile(filepath.Join(dir, ConfigFile))
			if err == nil {
				err = json.Unmarshal(cb, &cfg)
			}
			if err != nil {
				t.Fatal(err)
			}
			cfg.Pooling = f[2]
			if f[0] == "text" {
				cfg.Unit = f[1]
			} else {
				cfg.Slice = f[1]
			}
			if cb, err = json.Marshal(cfg); err == nil {
				err = os.WriteFile(filepath.Join(dir, ConfigFile), cb, 0o666)
			}
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "model.db")
			if err := Import(dir, out); err != nil {
				t.Fatal(err)
			}
			d := maxDiff(probs(t, out), want)
			t.Logf("%s: largest difference from PyTorch: %.3g", name, d)
			if !(d <= 1e-5) {
				t.Errorf("largest difference from PyTorch %g, want ≤ 1e-5", d)
			}
		})
	}
}

// TestImportTorch imports models trained in PyTorch (two layers, bias_hh not zero; LSTMs and a
// bidirectional GRU with attention) and compares seqclf's probabilities with those PyTorch
// recorded.
func TestImportTorch(t *testing.T) {
	for _, name := range []string{"torch-text", "torch-mnist", "torch-text-bigru-attention"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", name)
			b, err := os.ReadFile(filepath.Join(dir, "probs.json"))
			if err != nil {
				t.Fatal(err)
			}
			var want [][]float64
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "model.db")
			if err := Import(dir, out); err != nil {
				t.Fatal(err)
			}
			d := maxDiff(probs(t, out), want)
			t.Logf("%s: largest difference from PyTorch: %.3g", name, d)
			if !(d <= 1e-5) {
				t.Errorf("largest difference from PyTorch %g, want ≤ 1e-5", d)
			}
			// Exported again, the tensors are PyTorch's, the two biases summed into bias_ih: all
			// of an LSTM's, a GRU's r and z (its n keeps b_in and b_hn apart).
			again := filepath.Join(t.TempDir(), "again")
			if err := Safetensors(out, again); err != nil {
				t.Fatal(err)
			}
			orig, got := readTensors(t, dir), readTensors(t, again)
			if len(orig) != len(got) {
				t.Fatalf("%d tensors exported, want %d", len(got), len(orig))
			}
			for name, o := range orig {
				g, want := got[name], o.Data
				summed := len(want) // the biases summed into bias_ih
				if strings.HasPrefix(name, "gru.") {
					summed = len(want) * 2 / 3
				}
				switch {
				case strings.Contains(name, ".bias_ih"):
					want = slices.Clone(want)
					for i, v := range orig[strings.Replace(name, "_ih", "_hh", 1)].Data[:summed] {
						want[i] += v
					}
				case strings.Contains(name, ".bias_hh"):
					want = slices.Clone(want)
					clear(want[:summed])
				}
				if !slices.Equal(g.Shape, o.Shape) || !slices.Equal(g.Data, want) {
					t.Errorf("%s exported again differs", name)
				}
			}
		})
	}
}

func readTensors(t *testing.T, dir string) map[string]Tensor {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, SafetensorsFile))
	if err != nil {
		t.Fatal(err)
	}
	ts, _, err := ReadSafetensors(b)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}
