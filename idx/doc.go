// Package idx reads images in the IDX format that MNIST is distributed in, the row-token source
// of the pipeline: each row (or column) of an image's pixels is one time step's input, so images
// skip the dictionary and the embedding table.
//
// # Basics
//
// [ReadPair] reads an image file and its label file; [Images.FillBatch] writes a batch of
// images time-major, pixels scaled to [0, 1], sliced by rows or columns ([Slice]).
//
// # Caveats
//
// An [Images] keeps the file's bytes (MNIST's 60,000 training images take 47 MB rather than four
// times that as float32); pixels are scaled only as a batch is filled. Files are read raw or
// gzip-compressed, told apart by their first bytes, not their names. Errors name the file and
// say what is wrong with it.
package idx
