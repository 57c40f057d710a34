package feed

import (
	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/idx"
)

// Rows feeds images row by row (or column by column): each row of pixels is one time step,
// scaled to [0, 1]. Nothing in it is trained. Samples give the image they read in Index.
type Rows struct {
	Images *idx.Images
	Slice  idx.Slice
	idx    []int
}

// Dim returns the pixels of one row (or column).
func (f *Rows) Dim() int { return f.Images.InputSize(f.Slice) }

// Len returns the rows (or columns) of an image: every image has them all.
func (f *Rows) Len(*Sample) int { return f.Images.TimeStep(f.Slice) }

// Fill writes the images of batch, time-major.
func (f *Rows) Fill(x []float32, batch []*Sample, steps int) {
	f.idx = f.idx[:0]
	for _, s := range batch {
		f.idx = append(f.idx, s.Index)
	}
	f.Images.FillBatch(x, f.idx, f.Slice)
}

// Learn does nothing: pixels are not trained.
func (*Rows) Learn([]float32, []*Sample, int) {}

// Trainable returns false: pixels are not trained.
func (*Rows) Trainable() bool { return false }

// Embeddings feeds token ids through an embedding table, one vector per time step. When the
// table is trainable, Learn gathers the inputs' gradient into the rows the batch used and
// applies Adam (lazily, to those rows only) or, without Adam, plain SGD with learning rate LR.
// Samples give their ids in IDs.
type Embeddings struct {
	Table *embed.Table
	Adam  *embed.Adam
	LR    float32

	grad *embed.Grad
	seqs [][]int32
}

// Dim returns the embedding dimension.
func (f *Embeddings) Dim() int { return f.Table.Dim() }

// Len returns the number of tokens of s.
func (f *Embeddings) Len(s *Sample) int { return len(s.IDs) }

func (f *Embeddings) collect(batch []*Sample) [][]int32 {
	f.seqs = f.seqs[:0]
	for _, s := range batch {
		f.seqs = append(f.seqs, s.IDs)
	}
	return f.seqs
}

// Fill writes the vectors of the batch's tokens, time-major.
func (f *Embeddings) Fill(x []float32, batch []*Sample, steps int) {
	f.Table.FillTimeMajor(x, f.collect(batch), steps)
}

// Trainable says whether the table is.
func (f *Embeddings) Trainable() bool { return f.Table.Trainable }

// Learn updates the rows of the tokens in batch from dx, if the table is trainable.
func (f *Embeddings) Learn(dx []float32, batch []*Sample, steps int) {
	if !f.Table.Trainable {
		return
	}
	if f.grad == nil {
		f.grad = f.Table.NewGrad()
	}
	f.grad.Reset()
	f.grad.AddTimeMajor(dx, f.collect(batch), steps)
	if f.Adam != nil {
		f.Adam.Step(f.Table, f.grad)
	} else {
		f.Table.SGD(f.grad, f.LR)
	}
}
