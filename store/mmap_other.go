//go:build !unix

package store

import (
	"errors"
	"os"
)

// mapFile is not available here: values are copied out of the file instead.
func mapFile(f *os.File, off int64, n int) (mapping, data []byte, err error) {
	return nil, nil, errors.ErrUnsupported
}

func unmap(mapping []byte) {}
