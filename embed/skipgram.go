package embed

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// SkipGram holds the settings of word2vec's skip-gram with negative sampling (Mikolov et al.,
// 2013), as its reference implementation and fastText's skipgram name them. The zero value of a
// field takes the default given beside it.
type SkipGram struct {
	Epochs    int     // passes over the sentences (5)
	Window    int     // the most tokens on each side of a word that are its context (5)
	Negatives int     // tokens drawn from the unigram distribution^0.75 for each context (5)
	LR        float64 // the starting rate, decayed linearly to 0 over all passes (0.025)
	// Subsample keeps a token of frequency f (its share of the tokens) with probability
	// √(s/f) + s/f, so that frequent words count less; 0 gives 1e-4, a negative value keeps
	// every token.
	Subsample float64
	// Progress, if not nil, is called on Train's goroutine as the passes advance, about every
	// hundredth of the work and once at the end: done of total tokens (over all passes). It does
	// not change what is learnt.
	Progress func(done, total int64)
}

// ErrNoText is returned by SkipGram.Train when the sentences hold no pair of tokens to learn from.
var ErrNoText = errors.New("embed: no sentence of two or more dictionary tokens to learn vectors from")

func (o SkipGram) withDefaults() SkipGram {
	if o.Epochs == 0 {
		o.Epochs = 5
	}
	if o.Window == 0 {
		o.Window = 5
	}
	if o.Negatives == 0 {
		o.Negatives = 5
	}
	if o.LR == 0 {
		o.LR = 0.025
	}
	if o.Subsample == 0 {
		o.Subsample = 1e-4
	}
	return o
}

// Train learns t's rows from sentences of token ids (rows of t), unsupervised: a row becomes
// a vector that predicts the tokens around it. Ids below 2 (PadID and the unknown token) are
// left out of the sentences first, as word2vec drops tokens outside its dictionary; each row
// learnt is set, the unknown token's row is rescaled to the standard deviation of the learnt
// ones, and PadID's stays zero. Rows of tokens that never occur keep their values, rescaled
// likewise. It runs on one goroutine, drawing from r alone, so the same r and sentences give the
// same table.
func (o SkipGram) Train(t *Table, sents [][]int32, r *rand.Rand) error {
	o = o.withDefaults()
	if o.Epochs < 0 || o.Window < 0 || o.Negatives < 0 || !(o.LR > 0) {
		return fmt.Errorf("embed: skip-gram settings %+v: epochs, window and negatives must be positive, and the rate more than 0", o)
	}
	rows, dim := t.Rows(), t.Dim()
	// The sentences without the special tokens, and the count of each token.
	counts := make([]int64, rows)
	var kept [][]int32
	var total int64
	for _, s := range sents {
		var k []int32
		for _, id := range s {
			if id < 0 || int(id) >= rows {
				return fmt.Errorf("embed: token id %d outside the table's %d rows", id, rows)
			}
			if id >= 2 {
				k = append(k, id)
				counts[id]++
			}
		}
		if len(k) >= 2 {
			kept = append(kept, k)
			total += int64(len(k))
		}
	}
	if len(kept) == 0 {
		return ErrNoText
	}
	// keep[id]: the probability of keeping an occurrence of id.
	keep := make([]float64, rows)
	for id, c := range counts {
		keep[id] = 1
		if c > 0 && o.Subsample > 0 {
			f := float64(c) / float64(total)
			keep[id] = min(1, math.Sqrt(o.Subsample/f)+o.Subsample/f)
		}
	}
	noise := unigramTable(counts, 1e6)

	in := make([]float32, rows*dim)  // the vectors learnt, word2vec's syn0
	out := make([]float32, rows*dim) // the context vectors, syn1neg, starting at 0
	for i := range in {
		in[i] = float32((r.Float64() - 0.5) / float64(dim))
	}
	grad := make([]float32, dim)
	steps := float64(o.Epochs) * float64(total)
	done := 0.0
	all, next := int64(o.Epochs)*total, int64(0) // next: the work done at the next report
	var sent []int32
	for range o.Epochs {
		for _, s := range kept {
			sent = sent[:0]
			for _, id := range s {
				if keep[id] >= 1 || r.Float64() < keep[id] {
					sent = append(sent, id)
				}
			}
			lr := float32(o.LR * max(1e-4, 1-done/steps))
			done += float64(len(s))
			if o.Progress != nil && int64(done) >= next {
				o.Progress(int64(done)-int64(len(s)), all)
				next = int64(done) + all/100
			}
			for i, w := range sent {
				b := 1 + r.IntN(o.Window)
				v := in[int(w)*dim : int(w+1)*dim]
				for j := max(0, i-b); j <= min(len(sent)-1, i+b); j++ {
					if j == i {
						continue
					}
					clear(grad)
					for n := 0; n <= o.Negatives; n++ {
						target, label := sent[j], float32(1)
						if n > 0 {
							target, label = noise[r.IntN(len(noise))], 0
							if target == sent[j] {
								continue
							}
						}
						u := out[int(target)*dim : int(target+1)*dim]
						var dot float32
						for k := range v {
							dot += v[k] * u[k]
						}
						g := (label - sigmoid32(dot)) * lr
						for k := range u {
							grad[k] += g * u[k]
							u[k] += g * v[k]
						}
					}
					for k := range v {
						v[k] += grad[k]
					}
				}
			}
		}
	}
	if o.Progress != nil {
		o.Progress(all, all)
	}
	for id := 2; id < rows; id++ {
		if counts[id] > 0 {
			copy(t.Row(id), in[id*dim:(id+1)*dim])
		}
	}
	std := t.Std(func(id int) bool { return id >= 2 && counts[id] > 0 })
	if old := t.Std(func(id int) bool { return id == 1 || id >= 2 && counts[id] == 0 }); old > 0 && std > 0 {
		for id := 1; id < rows; id++ {
			if id == 1 || counts[id] == 0 {
				for k := range t.Row(id) {
					t.Row(id)[k] *= float32(std / old)
				}
			}
		}
	}
	clear(t.Row(PadID))
	return nil
}

// unigramTable returns about size ids, each id as often as its count^0.75 says: drawing one at
// random draws from word2vec's noise distribution.
func unigramTable(counts []int64, size int) []int32 {
	var sum float64
	for _, c := range counts {
		sum += math.Pow(float64(c), 0.75)
	}
	table := make([]int32, 0, size+len(counts))
	for id, c := range counts {
		if c == 0 {
			continue
		}
		n := max(1, int(math.Round(float64(size)*math.Pow(float64(c), 0.75)/sum)))
		for range n {
			table = append(table, int32(id))
		}
	}
	return table
}

// sigmoid32 is the logistic function, its argument clipped to ±8 as word2vec's table is (the
// gradient there is under 3.4e-4).
func sigmoid32(x float32) float32 {
	x = max(-8, min(8, x))
	return float32(1 / (1 + math.Exp(-float64(x))))
}
