package feed

import "github.com/seqclf/seqclf/lstm"

// Sample is one sequence that one LSTM run sees, with its label. Text sources fill IDs (token
// ids, already cut to time_step); row-token sources (images) set Index, the image it reads.
type Sample struct {
	IDs   []int32
	Index int
	Label int
	Doc   int // the document it came from: with unit sentence, a document gives several samples
}

// Features turns a batch of samples into the LSTM's inputs and, when they are trainable, learns
// from the gradient with respect to those inputs.
type Features interface {
	// Dim is the size of one time step's input.
	Dim() int
	// Len is the number of real time steps of s.
	Len(s *Sample) int
	// Fill writes the inputs of batch time-major into x, [steps][len(batch)][Dim()], zeros at
	// padding.
	Fill(x []float32, batch []*Sample, steps int)
	// Learn receives the gradient of the loss with respect to x, shaped as Fill wrote it.
	Learn(dx []float32, batch []*Sample, steps int)
	// Trainable says whether Learn does anything: when not, that gradient is not computed.
	Trainable() bool
}

// Batch holds one batch's samples and the inputs made from them. Its buffers are reused from
// batch to batch: set Samples, then Assemble.
type Batch struct {
	Samples []*Sample
	x       []float32
	lengths []int
	labels  []int
}

// Assemble fills the batch's inputs from its Samples through f and returns them as the LSTM
// reads them: time-major, padded to the longest sample, with each sample's length and label.
// The returned batch shares b's buffers, valid until the next Assemble.
func (b *Batch) Assemble(f Features) lstm.Batch[float32] {
	b.lengths, b.labels = b.lengths[:0], b.labels[:0]
	steps := 0
	for _, s := range b.Samples {
		n := f.Len(s)
		b.lengths = append(b.lengths, n)
		b.labels = append(b.labels, s.Label)
		steps = max(steps, n)
	}
	b.x = grow(b.x, steps*len(b.Samples)*f.Dim())
	f.Fill(b.x, b.Samples, steps)
	return lstm.Batch[float32]{X: b.x, Lengths: b.lengths, Steps: steps, Labels: b.labels}
}

// grow returns s resliced to n values, reallocated only when its capacity is too small.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
