package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{"OutputDir": "output_dir", "NFKC": "nfkc", "LSTM": "lstm",
		"SplitSentences": "split_sentences", "EarlyStoppingPatience": "early_stopping_patience", "Seed": "seed",
		"TrainImages": "train_images", "InputDropout": "input_dropout"} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}

func copyFile(t *testing.T, from string) string {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	to := filepath.Join(t.TempDir(), filepath.Base(from))
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return to
}

// TestUpgrade reads the version-1 models of testdata as version 2 describes them, read-only (in
// memory) and after opening them for writing (in place), and checks the two agree with each
// other and with what version 1 stored.
func TestUpgrade(t *testing.T) {
	for _, c := range []struct {
		file string
		in   Input
	}{
		{"model-v1-text.db", Input{Kind: "text", Unit: "sentence", TimeStep: 32,
			Tokenize: Tokenizer{Lowercase: true, NFKC: true, Numbers: true, SplitSentences: true}}},
		{"model-v1-mnist.db", Input{Kind: "mnist", TimeStep: 28, Slice: "rows"}},
	} {
		path := copyFile(t, filepath.Join("testdata", c.file))
		read := func() (*Model, map[string]any) {
			s, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			m, err := s.LoadModel()
			if err != nil {
				t.Fatalf("%s: %v", c.file, err)
			}
			b, err := s.RunConfig()
			if err != nil {
				t.Fatal(err)
			}
			var run map[string]any
			if err := json.Unmarshal(b, &run); err != nil {
				t.Fatal(err)
			}
			return m, run
		}
		m, run := read()
		if m.Input != c.in {
			t.Errorf("%s: input %+v, want %+v", c.file, m.Input, c.in)
		}
		if m.LSTM.Config.NumUnits != 8 || m.LSTM.Config.NumLayers != 1 {
			t.Errorf("%s: shape %+v", c.file, m.LSTM.Config)
		}
		lstmSection, _ := run["lstm"].(map[string]any)
		if run["output_dir"] == nil || lstmSection["num_units"] != 8.0 || run["OutputDir"] != nil {
			t.Errorf("%s: run config not in the config's words: %v", c.file, run)
		}

		// Opened for writing, the file is upgraded in place.
		w, err := Create(path)
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := s.meta(metaFormat); binary.BigEndian.Uint32(v) != Format || s.upgraded != nil {
			t.Errorf("%s: format %v after opening for writing, want %d on disk", c.file, v, Format)
		}
		s.Close()
		m2, run2 := read()
		if !reflect.DeepEqual(run, run2) || m.Input != m2.Input || m.LSTM.Config != m2.LSTM.Config || !slices.Equal(m.Labels, m2.Labels) {
			t.Errorf("%s: upgraded in place reads %+v %v, in memory %+v %v", c.file, m2.Input, run2, m.Input, run)
		}
		for i, p := range m.LSTM.Params() {
			if !slices.Equal(p.Value, m2.LSTM.Params()[i].Value) {
				t.Errorf("%s: %s differs after the upgrade", c.file, p.Name)
			}
		}
	}
}

// TestUpgradeV2 opens a version-2 model, whose dictionary and table are a key per entry, for
// writing: it becomes version 3 on disk and reads the same; writing the dictionary and table
// again packs them, and they still read the same.
func TestUpgradeV2(t *testing.T) {
	path := copyFile(t, filepath.Join("testdata", "model-v2-text.db"))
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := r.Vocab()
	if err != nil {
		t.Fatal(err)
	}
	tab, err := r.Table()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if f, _ := w.meta(metaFormat); binary.BigEndian.Uint32(f) != Format {
		t.Errorf("format %v after opening for writing, want %d", f, Format)
	}
	for round := range 2 {
		v2, err := w.Vocab()
		if err != nil || !reflect.DeepEqual(v, v2) {
			t.Errorf("round %d: dictionary differs (%v)", round, err)
		}
		tab2, err := w.Table()
		if err != nil || !reflect.DeepEqual(tab, tab2) {
			t.Errorf("round %d: table differs (%v)", round, err)
		}
		if err := w.PutVocab(v); err != nil {
			t.Fatal(err)
		}
		if err := w.PutTable(tab); err != nil {
			t.Fatal(err)
		}
	}
	var legacy bool
	w.viewTx(func(tx *txn) error {
		legacy = tx.keys(bucketVocabIDs) != nil || tx.keys(bucketEmbed) != nil
		return nil
	})
	if legacy {
		t.Error("the version-2 buckets are still there after the dictionary and table were written again")
	}
}

// TestUpgradeFile upgrades a copy of each earlier saved model with Upgrade: the file is then in
// this layout, compacted, and holds the model, dictionary and table that reading the original
// gives; a second Upgrade leaves it byte for byte as it is.
func TestUpgradeFile(t *testing.T) {
	for _, c := range []struct {
		file string
		from int
	}{
		{"model-v1-text.db", 1}, {"model-v1-mnist.db", 1},
		{"model-v2-text.db", 2}, {"model-v2-mnist.db", 2},
		{"model-v3-text.db", 3}, {"model-v3-mnist.db", 3},
	} {
		orig := filepath.Join("testdata", c.file)
		want := loadAll(t, orig)
		path := copyFile(t, orig)
		if err := os.Chmod(path, 0o640); err != nil {
			t.Fatal(err)
		}
		from, err := Upgrade(path)
		if err != nil || from != c.from {
			t.Fatalf("%s: Upgrade = %d, %v; want %d, nil", c.file, from, err, c.from)
		}
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := s.meta(metaFormat)
		s.Close()
		if err != nil || binary.BigEndian.Uint32(f) != Format {
			t.Errorf("%s: format %v after Upgrade (%v), want %d", c.file, f, err, Format)
		}
		if got := loadAll(t, path); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the upgraded file reads otherwise than the original", c.file)
		}
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != 0o640 {
			t.Errorf("%s: mode %v after Upgrade (%v), want 0640", c.file, fi.Mode().Perm(), err)
		}
		if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*")); len(matches) > 0 {
			t.Errorf("%s: Upgrade left %v", c.file, matches)
		}
		before, _ := os.ReadFile(path)
		if from, err := Upgrade(path); err != nil || from != Format {
			t.Errorf("%s: a second Upgrade = %d, %v; want %d, nil", c.file, from, err, Format)
		}
		if after, _ := os.ReadFile(path); !slices.Equal(before, after) {
			t.Errorf("%s: a second Upgrade changed the file", c.file)
		}
	}
	if _, err := Upgrade(filepath.Join(t.TempDir(), "none.db")); !errors.Is(err, ErrMissing) {
		t.Errorf("Upgrade of a missing file: %v, want ErrMissing", err)
	}
}

// savedModel is what a model file holds, as LoadModel, Vocab and Table read it.
type savedModel struct {
	Model *Model
	Vocab any
	Table any
}

// loadAll reads the model at path: its model, and a text model's dictionary and table.
func loadAll(t *testing.T, path string) savedModel {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out savedModel
	if out.Model, err = s.LoadModel(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if out.Model.Input.Kind == "text" {
		if out.Vocab, err = s.Vocab(); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if out.Table, err = s.Table(); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	return out
}
