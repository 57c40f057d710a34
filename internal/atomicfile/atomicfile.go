// Package atomicfile writes files so that a reader, or a process killed at any moment, sees the
// old file or the new one, never a part, with the permissions a new file gets from the umask.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// CreateTemp creates an empty file in dir whose name is prefix and a random suffix, and returns
// its name. Unlike os.CreateTemp's 0600, the file has the mode a new file gets from open(2):
// 0666 less the umask, as other tools' output has, with no racy read of the umask.
func CreateTemp(dir, prefix string) (string, error) {
	for {
		name := filepath.Join(dir, fmt.Sprintf("%s%08x", prefix, rand.Uint32()))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		return name, f.Close()
	}
}

// Write writes data to path under a temporary name beside it (".BASE.tmp-…"), synced, then
// renamed over path. An error names path, not the temporary file, which is removed.
func Write(path string, data []byte) (err error) {
	tmp, err := CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, unwrap(err))
	}
	defer func() {
		if err != nil {
			os.Remove(tmp)
			err = fmt.Errorf("writing %s: %w", path, unwrap(err))
		}
	}()
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	return err
}

// unwrap drops the temporary file's name from err: the message names the file the caller asked
// for.
func unwrap(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) && strings.Contains(pe.Path, ".tmp") {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
