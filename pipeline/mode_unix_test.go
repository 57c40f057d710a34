//go:build unix

package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestModelFileHonoursUmask trains under the umasks 022 and 002: model.db gets 0666 less the
// umask, as a file os.Create makes, and so do metrics.json and curves.png.
func TestModelFileHonoursUmask(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	for _, c := range []struct {
		umask int
		want  os.FileMode
	}{{0o022, 0o644}, {0o002, 0o664}} {
		syscall.Umask(c.umask)
		cfg := mnistConfig(t)
		cfg.Train.Epochs = 1
		if _, err := Run(context.Background(), cfg, RunOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{ModelFile, MetricsFile, CurvesFile} {
			fi, err := os.Stat(filepath.Join(cfg.OutputDir, f))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != c.want {
				t.Errorf("umask %03o: %s has mode %v, want %v", c.umask, f, fi.Mode().Perm(), c.want)
			}
		}
	}
}
