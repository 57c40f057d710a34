package store

import (
	"encoding/binary"
	"fmt"
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
	if err := rewriteCopy(path, path, true, nil); err != nil {
		return from, fmt.Errorf("upgrading %s: %w", path, err)
	}
	return from, nil
}
