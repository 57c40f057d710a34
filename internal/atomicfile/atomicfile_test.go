//go:build unix

package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestWrite(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o027))
	dir := t.TempDir()
	path := filepath.Join(dir, "leaderboard.csv")
	for _, text := range []string{"first\n", "second\n"} {
		if err := Write(path, []byte(text)); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil || string(b) != text {
			t.Fatalf("read %q, %v; want %q", b, err, text)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o640 {
		t.Errorf("mode %v with umask 027, want -rw-r-----", mode)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d files in the folder, want only leaderboard.csv: a temporary file was left", len(entries))
	}
	// A folder that does not exist: the error names the file asked for, not a temporary one.
	missing := filepath.Join(dir, "no", "state.json")
	err = Write(missing, nil)
	if err == nil || !strings.Contains(err.Error(), "writing "+missing+":") || strings.Contains(err.Error(), ".tmp") {
		t.Errorf("Write into a missing folder: %v", err)
	}
}
