package embed

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
)

// PadID is the id whose row is kept zero (vocab.PadID).
const PadID = 0

// A Table is the embedding matrix, Rows()×Dim() float32 values stored row by row.
type Table struct {
	rows, dim int
	// Data holds row id at Data[id*Dim() : (id+1)*Dim()].
	Data []float32
	// Trainable says whether SGD and Adam change the table; false freezes it.
	Trainable bool
}

// ErrShape is wrapped by the errors about sizes that do not fit.
var ErrShape = errors.New("embed: shape mismatch")

// New returns a trainable rows×dim table drawn from N(0, std²) with rng, row PadID zero.
func New(rows, dim int, std float64, rng *rand.Rand) (*Table, error) {
	if rows < 1 || dim < 1 {
		return nil, fmt.Errorf("%w: a table needs at least one row and one column, not %d×%d", ErrShape, rows, dim)
	}
	t := &Table{rows: rows, dim: dim, Data: make([]float32, rows*dim), Trainable: true}
	for i := dim; i < len(t.Data); i++ {
		t.Data[i] = float32(rng.NormFloat64() * std)
	}
	return t, nil
}

// FromData returns a table over data, rows×dim values row by row (a stored table). It takes
// ownership of data.
func FromData(rows, dim int, data []float32) (*Table, error) {
	if rows < 1 || dim < 1 || len(data) != rows*dim {
		return nil, fmt.Errorf("%w: %d values for a %d×%d table", ErrShape, len(data), rows, dim)
	}
	return &Table{rows: rows, dim: dim, Data: data, Trainable: true}, nil
}

// Rows returns the number of rows, the dictionary size.
func (t *Table) Rows() int { return t.rows }

// Dim returns the length of one vector.
func (t *Table) Dim() int { return t.dim }

// Row returns the vector of id; it aliases the table.
func (t *Table) Row(id int) []float32 { return t.Data[id*t.dim : (id+1)*t.dim : (id+1)*t.dim] }

// Lookup writes the vectors of ids one after the other into dst, which must hold
// len(ids)·Dim() values, and returns it.
func (t *Table) Lookup(dst []float32, ids []int32) []float32 {
	for i, id := range ids {
		copy(dst[i*t.dim:(i+1)*t.dim], t.Row(int(id)))
	}
	return dst
}

// FillTimeMajor writes the LSTM input of a batch into x: x[s][b] is the vector of seqs[b][s],
// zeros where s ≥ len(seqs[b]). x must hold steps·len(seqs)·Dim() values; sequences longer than
// steps are cut.
func (t *Table) FillTimeMajor(x []float32, seqs [][]int32, steps int) {
	d, nb := t.dim, len(seqs)
	for s := range steps {
		for b, seq := range seqs {
			dst := x[(s*nb+b)*d : (s*nb+b+1)*d]
			if s < len(seq) {
				copy(dst, t.Row(int(seq[s])))
			} else {
				clear(dst)
			}
		}
	}
}

// Std returns the standard deviation of the values of the rows for which use(id) is true.
func (t *Table) Std(use func(id int) bool) float64 {
	var n, sum, sq float64
	for id := range t.rows {
		if !use(id) {
			continue
		}
		for _, x := range t.Row(id) {
			sum += float64(x)
			sq += float64(x) * float64(x)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	mean := sum / n
	return math.Sqrt(max(sq/n-mean*mean, 0))
}

// A Grad is a sparse gradient of a table: the rows a batch used and their gradients.
type Grad struct {
	dim int
	// pos[id] is 1 + the index of id in Rows, 0 when id is not there: one int32 per row of the
	// table, so that finding a row's gradient is an index and Reset clears only the rows used.
	pos  []int32
	Rows []int32   // the ids touched, in first-use order
	Data []float32 // the gradient of Rows[i] at Data[i*dim : (i+1)*dim]
}

// NewGrad returns an empty gradient for t.
func (t *Table) NewGrad() *Grad { return &Grad{dim: t.dim, pos: make([]int32, t.rows)} }

// Reset empties g, keeping its memory.
func (g *Grad) Reset() {
	for _, id := range g.Rows {
		g.pos[id] = 0
	}
	g.Rows, g.Data = g.Rows[:0], g.Data[:0]
}

// Add adds d, a gradient of the vector of id, to g. Gradients of PadID are dropped.
func (g *Grad) Add(id int32, d []float32) {
	if id == PadID {
		return
	}
	i := g.pos[id] - 1
	if i < 0 {
		i = int32(len(g.Rows))
		g.pos[id] = i + 1
		g.Rows = append(g.Rows, id)
		n := len(g.Data)
		g.Data = slices.Grow(g.Data, g.dim)[:n+g.dim]
		copy(g.Data[n:], d) // the row's first gradient: set, not added to zeros
		return
	}
	dst := g.Data[int(i)*g.dim : (int(i)+1)*g.dim]
	for k, v := range d[:len(dst)] {
		dst[k] += v
	}
}

// AddTimeMajor adds the gradient dx of an input that FillTimeMajor wrote (same seqs and steps)
// to the rows that filled it.
func (g *Grad) AddTimeMajor(dx []float32, seqs [][]int32, steps int) {
	d, nb := g.dim, len(seqs)
	for s := range steps {
		for b, seq := range seqs {
			if s < len(seq) {
				g.Add(seq[s], dx[(s*nb+b)*d:(s*nb+b+1)*d])
			}
		}
	}
}

// SGD applies row ← row − lr·grad to the rows in g, if t is trainable.
func (t *Table) SGD(g *Grad, lr float32) {
	if !t.Trainable {
		return
	}
	for i, id := range g.Rows {
		row, gr := t.Row(int(id)), g.Data[i*t.dim:(i+1)*t.dim]
		for k, gk := range gr[:len(row)] {
			row[k] -= lr * gk
		}
	}
}

// Adam is the Adam optimizer applied lazily: only the rows of a gradient get their moments and
// values updated, with the bias correction of the global step count (TensorFlow's LazyAdam).
type Adam struct {
	LR, Beta1, Beta2, Eps float64
	// Steps counts the updates; M and V are the moments, Rows()·Dim() values each, nil before
	// the first step. A checkpoint saves them to resume exactly.
	Steps int
	M, V  []float32
}

// NewAdam returns Adam with the usual defaults (β1 0.9, β2 0.999, ε 1e-8) and learning rate lr.
func NewAdam(lr float64) *Adam { return &Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

// Step applies one update of the rows in g to t, if t is trainable.
func (o *Adam) Step(t *Table, g *Grad) {
	if !t.Trainable {
		return
	}
	if o.M == nil {
		o.M, o.V = make([]float32, len(t.Data)), make([]float32, len(t.Data))
		// Have the OS map the moments now, in order, rather than a page at a time as the
		// batches first reach its rows (2·Rows()·Dim() values: 16 MB for 20000 rows of 100;
		// the first steps of a text run spent half their Adam time in page faults).
		for i := 0; i < len(o.M); i += 1024 {
			o.M[i], o.V[i] = 0, 0
		}
	}
	o.Steps++
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	c1 := 1 - math.Pow(o.Beta1, float64(o.Steps))
	c2 := 1 - math.Pow(o.Beta2, float64(o.Steps))
	lr := float32(o.LR / c1)
	sc2 := float32(math.Sqrt(c2))
	eps := float32(o.Eps)
	d := t.dim
	// Each row on its own: the workers take runs of rows.
	parallel(len(g.Rows)*d, func(w, workers int) {
		n := len(g.Rows)
		for i := n * w / workers; i < n*(w+1)/workers; i++ {
			off := int(g.Rows[i]) * d
			gr := g.Data[i*d : (i+1)*d]
			ms, vs, row := o.M[off:off+d], o.V[off:off+d], t.Data[off:off+d]
			for k, gk := range gr {
				m := b1*ms[k] + (1-b1)*gk
				v := b2*vs[k] + (1-b2)*gk*gk
				ms[k], vs[k] = m, v
				row[k] -= lr * m / (float32(math.Sqrt(float64(v)))/sc2 + eps)
			}
		}
	})
}

// parallelFrom is the work, in values, from which Adam.Step splits its rows among GOMAXPROCS
// goroutines: a text batch of 64 mails updates about 1600 rows of 100 values, 0.7 ms on one
// goroutine while the LSTM's other thread waits, 0.45 ms on two. (FillTimeMajor and
// Grad.AddTimeMajor, bound by memory, were no faster on two: 0.13 and 0.44 ms on one, 0.15
// and 0.58 ms on two.)
const parallelFrom = 1 << 16

// parallel runs f(w, workers) for w in [0, workers) on workers goroutines, the caller one of
// them: GOMAXPROCS of them, up to 8, for n values of work from parallelFrom, else one. Each w
// must do its own share of the work, the same whatever the number of workers.
func parallel(n int, f func(w, workers int)) {
	workers := 1
	if n >= parallelFrom {
		workers = min(runtime.GOMAXPROCS(0), 8)
	}
	if workers == 1 {
		f(0, 1)
		return
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Go(func() { f(w, workers) })
	}
	f(0, workers)
	wg.Wait()
}
