package store

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/seqclf/seqclf/internal/atomicfile"
)

// Upgrade rewrites the closed model file at path in this layout (Format) and returns the
// layout it had. A file of an earlier layout opens as it is, read-only, but slower: its
// dictionary and table are read key by key rather than looked up and mapped in place. The
// rewrite goes to a copy beside path, which is upgraded, compacted (Compact) and renamed over
// path, with path's permissions: a reader of path sees the old file or the new one, and an
// error leaves path as it was. A file already in this layout is left untouched.
func Upgrade(path string) (from int, err error) {
	s, err := Open(path)
	if err != nil {
		return 0, err
	}
	v, err := s.meta(metaFormat)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	from = int(binary.BigEndian.Uint32(v))
	if from == Format {
		return from, nil
	}
	tmp, err := atomicfile.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".upgrade-")
	if err != nil {
		return from, fmt.Errorf("upgrading %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err = copyFileTo(tmp, path); err != nil {
		return from, fmt.Errorf("upgrading %s: %w", path, err)
	}
	w, err := Create(tmp) // opening for writing upgrades in place
	if err != nil {
		return from, fmt.Errorf("upgrading %s: %w", path, err)
	}
	if err = w.Close(); err != nil {
		return from, fmt.Errorf("upgrading %s: %w", path, err)
	}
	if err = Compact(tmp); err != nil {
		return from, err
	}
	var fi os.FileInfo
	if fi, err = os.Stat(path); err == nil {
		err = os.Chmod(tmp, fi.Mode().Perm())
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return from, fmt.Errorf("upgrading %s: %w", path, err)
	}
	return from, nil
}

// copyFileTo copies the file src over dst, synced.
func copyFileTo(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
