//go:build unix

package store

import (
	"os"
	"syscall"
)

// mapFile maps n bytes of f from offset off into memory of the process's own: private and
// copy-on-write, so that writes to it stay in memory and the mapping outlives f's closing (and
// the file's removal). It returns the whole mapping, from off rounded down to a page, for
// unmap, and the n bytes.
func mapFile(f *os.File, off int64, n int) (mapping, data []byte, err error) {
	start := off &^ int64(os.Getpagesize()-1)
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, nil, err
	}
	cerr := rc.Control(func(fd uintptr) {
		mapping, err = syscall.Mmap(int(fd), start, int(off-start)+n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE)
	})
	if cerr != nil {
		return nil, nil, cerr
	}
	if err != nil {
		return nil, nil, os.NewSyscallError("mmap", err)
	}
	return mapping, mapping[off-start:][:n:n], nil
}

// unmap releases a mapping of mapFile; nil is none.
func unmap(mapping []byte) {
	if mapping != nil {
		syscall.Munmap(mapping)
	}
}
