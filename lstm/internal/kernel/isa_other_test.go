//go:build purego || !amd64

package kernel

func forEachISA(f func(name string)) { f("go") }
