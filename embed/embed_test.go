package embed

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/seqclf/seqclf/vocab"
)

func rng() *rand.Rand { return rand.New(rand.NewPCG(42, 1)) }

func TestNew(t *testing.T) {
	a, err := New(1000, 16, 0.5, rng())
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range a.Row(PadID) {
		if x != 0 {
			t.Fatalf("pad row not zero: %v", a.Row(PadID))
		}
	}
	if std := a.Std(func(id int) bool { return id != PadID }); math.Abs(std-0.5) > 0.02 {
		t.Errorf("std %.3f, want 0.5", std)
	}
	b, _ := New(1000, 16, 0.5, rng())
	if !reflect.DeepEqual(a.Data, b.Data) {
		t.Error("same seed, different tables")
	}
	if _, err := New(0, 16, 1, rng()); !errors.Is(err, ErrShape) {
		t.Errorf("0 rows: %v", err)
	}
	if _, err := FromData(2, 3, make([]float32, 5)); !errors.Is(err, ErrShape) {
		t.Errorf("FromData 5 values for 2×3: %v", err)
	}
}

func seqTable(t *testing.T) *Table {
	t.Helper()
	// Row id holds id*10 + k.
	data := make([]float32, 5*3)
	for id := range 5 {
		for k := range 3 {
			data[id*3+k] = float32(id*10 + k)
		}
	}
	tab, err := FromData(5, 3, data)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func TestLookupAndFill(t *testing.T) {
	tab := seqTable(t)
	if got := tab.Lookup(make([]float32, 6), []int32{4, 2}); !reflect.DeepEqual(got, []float32{40, 41, 42, 20, 21, 22}) {
		t.Errorf("Lookup = %v", got)
	}
	// Two sequences, three steps: [3 1] and [2]; x is [step][batch][dim].
	x := make([]float32, 3*2*3)
	for i := range x {
		x[i] = -1 // Fill must overwrite padding with zeros
	}
	tab.FillTimeMajor(x, [][]int32{{3, 1, 4, 4}, {2}}, 3)
	want := []float32{
		30, 31, 32, 20, 21, 22, // step 0
		10, 11, 12, 0, 0, 0, // step 1
		40, 41, 42, 0, 0, 0, // step 2 (the first sequence is cut at 3)
	}
	if !reflect.DeepEqual(x, want) {
		t.Errorf("FillTimeMajor:\ngot  %v\nwant %v", x, want)
	}
}

func TestSparseUpdates(t *testing.T) {
	tab := seqTable(t)
	before := append([]float32(nil), tab.Data...)
	g := tab.NewGrad()
	seqs := [][]int32{{3, 0}, {3, 2}} // id 3 twice, padding id 0 once
	dx := make([]float32, 2*2*3)
	for i := range dx {
		dx[i] = 1
	}
	g.AddTimeMajor(dx, seqs, 2)
	if !reflect.DeepEqual(g.Rows, []int32{3, 2}) {
		t.Fatalf("rows %v, want [3 2] (pad dropped)", g.Rows)
	}
	if !reflect.DeepEqual(g.Data, []float32{2, 2, 2, 1, 1, 1}) {
		t.Fatalf("grad %v", g.Data)
	}
	tab.SGD(g, 0.5)
	for id := range 5 {
		for k := range 3 {
			d := before[id*3+k] - tab.Row(id)[k]
			want := map[int]float32{3: 1, 2: 0.5}[id]
			if d != want {
				t.Errorf("row %d moved by %v, want %v", id, d, want)
			}
		}
	}

	frozen := seqTable(t)
	frozen.Trainable = false
	frozen.SGD(g, 0.5)
	NewAdam(0.1).Step(frozen, g)
	if !reflect.DeepEqual(frozen.Data, before) {
		t.Error("a frozen table changed")
	}

	adam := seqTable(t)
	opt := NewAdam(0.1)
	opt.Step(adam, g)
	// At the first step Adam moves each coordinate by lr·g/(|g|+ε) ≈ lr.
	for id := range 5 {
		want := map[int]float64{3: 0.1, 2: 0.1}[id]
		for k := range 3 {
			if d := float64(before[id*3+k] - adam.Row(id)[k]); math.Abs(d-want) > 1e-5 {
				t.Errorf("Adam: row %d moved by %v, want %v", id, d, want)
			}
		}
	}
	g.Reset()
	if len(g.Rows) != 0 || len(g.Data) != 0 {
		t.Error("Reset left rows")
	}
}

func testDict(t *testing.T) *vocab.Vocab {
	t.Helper()
	toks := []string{vocab.Pad, vocab.Unk, "the", "Cat", "dog", "DOG", "sat", "new york", "missing"}
	v, err := vocab.New(toks, make([]int64, len(toks)), 0)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestLoad(t *testing.T) {
	for _, file := range []string{"testdata/glove-4d.txt", "testdata/word2vec-4d.vec"} {
		t.Run(file, func(t *testing.T) {
			dict := testDict(t)
			tab, _ := New(dict.Len(), 4, 1, rng())
			st, err := LoadFile(file, dict, tab)
			if err != nil {
				t.Fatal(err)
			}
			row := func(tok string) []float32 { id, _ := dict.Lookup(tok); return tab.Row(id) }
			checks := map[string][]float32{
				"the": {0.1, 0.2, 0.3, 0.4},
				"Cat": {-0.5, 0.25, 0.1, 0}, // lowercase fallback
				"DOG": {1, 2, 3, 4},         // fallback: the first line whose lowercase is "dog"
			}
			checks["dog"] = []float32{9, 9, 9, 9} // exact beats the earlier "Dog"
			if strings.HasSuffix(file, ".txt") {
				checks["new york"] = []float32{3, 3, 3, 3} // a token with a space
			}
			for tok, want := range checks {
				if got := row(tok); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: %v, want %v", tok, got, want)
				}
			}
			want := LoadStats{Vectors: 7, Exact: 4, Lowercase: 2, Missing: 1}
			if strings.HasSuffix(file, ".vec") { // the first five lines only
				want = LoadStats{Vectors: 5, Exact: 3, Lowercase: 2, Missing: 2}
			}
			if st != want {
				t.Errorf("stats %+v, want %+v", st, want)
			}
			for _, x := range tab.Row(vocab.PadID) {
				if x != 0 {
					t.Fatal("pad row changed")
				}
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dict := testDict(t)
	for file, want := range map[string]string{
		"testdata/glove-3d.txt":     "glove-3d.txt:1: the file's vectors have 3 values, the table has 4 dimensions",
		"testdata/bad-number.txt":   `bad-number.txt:2: value 3: "x" is not a number`,
		"testdata/short-line.txt":   "short-line.txt:2: 3 values after the token, the table has 4 dimensions",
		"testdata/no-such-file.txt": "no such file",
	} {
		tab, _ := New(dict.Len(), 4, 1, rng())
		_, err := LoadFile(file, dict, tab)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want it to say %q", file, err, want)
		}
	}
	tab, _ := New(dict.Len(), 4, 1, rng())
	if _, err := Load(strings.NewReader("3 5\n"), "hdr", dict, tab); err == nil || !strings.Contains(err.Error(), "header says 5 dimensions") {
		t.Errorf("header mismatch: %v", err)
	}
	if _, err := Load(strings.NewReader("\n\n"), "empty", dict, tab); !errors.Is(err, ErrFormat) {
		t.Errorf("empty file: %v", err)
	}
	small, _ := New(3, 4, 1, rng())
	if _, err := Load(strings.NewReader("the 1 2 3 4\n"), "x", dict, small); !errors.Is(err, ErrShape) {
		t.Errorf("table/dictionary size mismatch: %v", err)
	}
}

func TestLoadGzip(t *testing.T) {
	dict := testDict(t)
	path := t.TempDir() + "/v.txt.gz"
	raw, err := os.ReadFile("testdata/glove-4d.txt")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, gz(t, raw), 0o644); err != nil {
		t.Fatal(err)
	}
	tab, _ := New(dict.Len(), 4, 1, rng())
	st, err := LoadFile(path, dict, tab)
	if err != nil || st.Exact != 4 {
		t.Fatalf("gzip: %+v %v", st, err)
	}
}

func TestLoadRescalesRandomRows(t *testing.T) {
	toks := []string{vocab.Pad, vocab.Unk, "the", "cat", "missing", "absent"}
	dict, err := vocab.New(toks, make([]int64, len(toks)), 0)
	if err != nil {
		t.Fatal(err)
	}
	tab, _ := New(dict.Len(), 4, 10, rng()) // far from the file's scale
	if _, err := LoadFile("testdata/glove-4d.txt", dict, tab); err != nil {
		t.Fatal(err)
	}
	loaded := tab.Std(func(id int) bool { return id == 2 || id == 3 })
	random := tab.Std(func(id int) bool { return id == 1 || id == 4 || id == 5 })
	if math.Abs(loaded-random) > 1e-5*loaded {
		t.Errorf("random rows' std %v, loaded rows' %v", random, loaded)
	}
}

// TestParallelSameBits checks that Adam.Step on a gradient big enough for several goroutines
// (parallelFrom) makes what its update row by row makes, on a text-like batch whose
// FillTimeMajor and AddTimeMajor are checked against Row and Add token by token.
func TestParallelSameBits(t *testing.T) {
	const rows, dim, batch, steps = 3000, 40, 32, 250
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3)) // three workers, whatever the machine
	r := rng()
	tab, err := New(rows, dim, 0.1, r)
	if err != nil {
		t.Fatal(err)
	}
	seqs := make([][]int32, batch)
	for b := range seqs {
		seqs[b] = make([]int32, steps-3*b)
		for s := range seqs[b] {
			seqs[b][s] = int32(r.IntN(rows)) // PadID among them
		}
	}
	x := make([]float32, steps*batch*dim)
	tab.FillTimeMajor(x, seqs, steps)
	dx := make([]float32, len(x))
	for i := range dx {
		dx[i] = float32(r.NormFloat64())
	}
	want := tab.NewGrad()
	for s := range steps {
		for b, seq := range seqs {
			if s < len(seq) {
				id := seq[s]
				if !reflect.DeepEqual(x[(s*batch+b)*dim:(s*batch+b+1)*dim], tab.Row(int(id))) {
					t.Fatalf("FillTimeMajor: step %d, sample %d is not row %d", s, b, id)
				}
				want.Add(id, dx[(s*batch+b)*dim:(s*batch+b+1)*dim])
			}
		}
	}
	got := tab.NewGrad()
	for range 2 { // the second time over a used gradient
		got.Reset()
		got.AddTimeMajor(dx, seqs, steps)
		if !reflect.DeepEqual(got.Rows, want.Rows) || !reflect.DeepEqual(got.Data, want.Data) {
			t.Fatal("AddTimeMajor differs from Add token by token")
		}
	}
	if len(got.Rows)*dim < parallelFrom {
		t.Fatalf("%d rows: Adam.Step would run one goroutine", len(got.Rows))
	}
	// Adam's update of each row, one at a time, against Step.
	serial := append([]float32(nil), tab.Data...)
	opt := NewAdam(0.01)
	for range 2 {
		opt.Step(tab, got)
	}
	m, v := make([]float32, len(serial)), make([]float32, len(serial))
	for step := 1; step <= 2; step++ {
		one := &Adam{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Steps: step - 1}
		for i, id := range got.Rows {
			t1, _ := FromData(1, dim, serial[int(id)*dim:(int(id)+1)*dim])
			g1 := t1.NewGrad()
			g1.Rows, g1.Data = []int32{0}, got.Data[i*dim:(i+1)*dim]
			one.M, one.V, one.Steps = m[int(id)*dim:(int(id)+1)*dim], v[int(id)*dim:(int(id)+1)*dim], step-1
			one.Step(t1, g1)
		}
	}
	if !reflect.DeepEqual(tab.Data, serial) {
		t.Error("Adam.Step differs from its update row by row")
	}
}
