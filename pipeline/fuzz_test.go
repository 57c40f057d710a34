package pipeline

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzLoadConfig(f *testing.F) {
	for _, name := range []string{"default", "mnist", "spam", "brown"} {
		if b, err := os.ReadFile(filepath.Join("..", "configs", name+".yaml")); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("lstm: {num_units: many}\n"))
	f.Add([]byte("lstm: [num_units: 8\n"))
	f.Add([]byte("source: {labels: {a: b}, extensions: [.txt]}\ntrain: {learning_rate: 1e-3, epochs: 2.0}\n"))
	f.Add([]byte("seed: -1\nlstm: {nums_units: 8}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfig(path, nil)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "config "+path) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line naming the file: %q", err)
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("error does not wrap ErrConfig: %v", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("accepted a config that Validate refuses: %v", err)
		}
	})
}
