// Package rng is the one table of the random streams that training draws from. Every draw of a
// run comes from PCG(seed, stream), seed being the config's seed and stream one of the streams
// below, so that each use has a sequence of its own: the same seed gives the same model, and a
// run resumed at any step draws what an uninterrupted run would have drawn.
//
// # Caveats
//
// The fixed streams keep the values that trained every model so far: changing one changes the
// weights that a seed gives. Shuffle covers epochs below MaxEpochs and Dropout steps below
// 2^32; beyond them they panic rather than repeat a stream (TestStreamsNeverCoincide).
package rng

import (
	"fmt"
	"math/rand/v2"
)

// A Stream is the second word of a PCG seed: one use of the config's seed.
type Stream uint64

// The fixed streams of a run.
const (
	// Init draws the LSTM's starting weights.
	Init Stream = 0x1417
	// Embed draws the embedding table's starting vectors.
	Embed Stream = 0x1416
	// Validation picks the training documents (or images) held out for validation.
	Validation Stream = 0x7a11d
	// TestSplit picks the documents held out for testing when a source has no test file.
	TestSplit Stream = 0x7e57
	// BenchSample picks the documents a benchmark reads.
	BenchSample Stream = 0xbe9c
	// BenchInputs draws the random inputs of a benchmark.
	BenchInputs Stream = 0xbe1e
	// Tune draws the configs of a search's trials (seqclf pipeline tune).
	Tune Stream = 0x7a9e
	// Pretrain draws what learning the embedding table from the training text draws (its
	// starting vectors, windows, kept tokens and negative samples).
	Pretrain Stream = 0x5e9a
)

// Fixed lists the fixed streams by name, for the test that no two streams coincide.
var Fixed = map[string]Stream{
	"init": Init, "embed": Embed, "validation": Validation, "test_split": TestSplit,
	"bench_sample": BenchSample, "bench_inputs": BenchInputs, "tune": Tune, "pretrain": Pretrain,
}

// MaxEpochs bounds the epochs of a run: Shuffle's streams, 2·epoch+1, stay below every fixed
// stream that is odd.
const MaxEpochs = 1024

// dropoutBit sets Dropout's streams apart from all others, which stay below it.
const dropoutBit = 1 << 63

// Shuffle is the stream of the order of the training samples in epoch (from 0).
func Shuffle(epoch int) Stream {
	if epoch < 0 || epoch >= MaxEpochs {
		panic(fmt.Sprintf("rng: epoch %d outside [0, %d)", epoch, MaxEpochs))
	}
	return Stream(uint64(epoch)<<1 | 1)
}

// Step is one training step: Step steps done of the epoch Epoch, both from 0.
type Step struct {
	Epoch, Step int
}

// Dropout is the stream of the dropout masks of training step at.
func Dropout(at Step) Stream {
	epoch, step := at.Epoch, at.Step
	if epoch < 0 || epoch >= MaxEpochs || step < 0 || uint64(step) >= 1<<32 {
		panic(fmt.Sprintf("rng: dropout stream of epoch %d, step %d out of range", epoch, step))
	}
	return Stream(dropoutBit | uint64(epoch)<<32 | uint64(step))
}

// New returns a source drawing from stream s of seed.
func New(seed uint64, s Stream) *rand.Rand { return rand.New(rand.NewPCG(seed, uint64(s))) }

// Seed sets p to stream s of seed, for a source reused from step to step without allocating.
func Seed(p *rand.PCG, seed uint64, s Stream) { p.Seed(seed, uint64(s)) }
