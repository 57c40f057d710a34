//go:build !amd64 || purego

package main

func haveLoops() bool { return false }

func (t *tile) runInt8(reps int)    {}
func (t *tile) runInt16(reps int)   {}
func (t *tile) runFloat32(reps int) {}
