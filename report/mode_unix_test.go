//go:build unix

package report

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestOutputFilesHonourUmask writes metrics.json and curves.png under the umasks 022 and 077:
// each must get the mode 0666 less the umask, as other tools' output does, new or replacing an
// older file. It sets the process's umask, so it must not run in parallel with other tests.
func TestOutputFilesHonourUmask(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	h := &History{Epochs: []EpochStats{{Epoch: 1, TrainLoss: 0.5, TrainAccuracy: 0.75, ValLoss: 0.6, ValAccuracy: 0.7}}}
	dir := t.TempDir()
	for _, umask := range []int{0o022, 0o077} {
		syscall.Umask(umask)
		want := fs.FileMode(0o666 &^ umask)
		metrics, curves := filepath.Join(dir, "metrics.json"), filepath.Join(dir, "curves.png")
		if err := WriteMetricsJSON(metrics, nil, h); err != nil {
			t.Fatal(err)
		}
		if err := h.WriteCurves(curves); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{metrics, curves} {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Mode().Perm(); got != want {
				t.Errorf("umask %03o: %s has mode %04o, want %04o", umask, filepath.Base(p), got, want)
			}
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("files left in %s: %v", dir, entries)
	}
}
