package vocab

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The special tokens and their ids.
const (
	Pad   = "<pad>" // fills sequences shorter than time_step
	Unk   = "<unk>" // stands for every token not in the dictionary
	PadID = 0
	UnkID = 1
)

// A Counter counts tokens over a stream of sentences. It is not safe for concurrent use: give
// each goroutine its own and Merge them.
type Counter struct {
	counts map[string]int64
	total  int64
}

// NewCounter returns an empty Counter.
func NewCounter() *Counter { return &Counter{counts: make(map[string]int64)} }

// Add counts the tokens of one sentence. The Counter keeps its own copy of each new token, so
// tokens may point into a larger text without keeping it alive.
func (c *Counter) Add(tokens []string) {
	for _, t := range tokens {
		if n, ok := c.counts[t]; ok {
			c.counts[t] = n + 1
		} else {
			c.counts[strings.Clone(t)] = 1
		}
	}
	c.total += int64(len(tokens))
}

// Merge adds the counts of o to c.
func (c *Counter) Merge(o *Counter) {
	for t, n := range o.counts {
		c.counts[t] += n
	}
	c.total += o.total
}

// Total returns the number of tokens counted.
func (c *Counter) Total() int64 { return c.total }

// Types returns the number of distinct tokens counted.
func (c *Counter) Types() int { return len(c.counts) }

// Limits say which tokens a dictionary keeps: those seen at least MinCount times (the config's
// vocab.min_count), at most MaxSize entries including Pad and Unk (vocab.max_size; 0 or less:
// no limit).
type Limits struct {
	MinCount, MaxSize int
}

// Build returns the dictionary of the tokens within l, the most frequent first.
func (c *Counter) Build(l Limits) *Vocab {
	minCount, maxSize := l.MinCount, l.MaxSize
	type entry struct {
		tok string
		n   int64
	}
	var kept []entry
	for t, n := range c.counts {
		if n >= int64(minCount) && t != Pad && t != Unk {
			kept = append(kept, entry{t, n})
		}
	}
	slices.SortFunc(kept, func(a, b entry) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return strings.Compare(a.tok, b.tok)
	})
	if maxSize > 0 && len(kept) > maxSize-2 {
		kept = kept[:max(maxSize-2, 0)]
	}
	tokens := make([]string, 2, len(kept)+2)
	counts := make([]int64, 2, len(kept)+2)
	tokens[PadID], tokens[UnkID] = Pad, Unk
	var covered int64
	for _, e := range kept {
		tokens = append(tokens, e.tok)
		counts = append(counts, e.n)
		covered += e.n
	}
	counts[UnkID] = c.total - covered
	v, err := New(tokens, counts, c.Types())
	if err != nil {
		panic("vocab: Build made an invalid dictionary: " + err.Error()) // a bug here, not input
	}
	return v
}

// A Vocab is a dictionary. It is read-only once built, and safe for concurrent use.
type Vocab struct {
	tokens []string
	counts []int64
	ids    map[string]int
	types  int // distinct tokens in the corpus it was built from
}

// ErrInvalid is wrapped by the errors of New and UnmarshalBinary.
var ErrInvalid = errors.New("vocab: invalid dictionary")

// New returns the dictionary with the given tokens by id and their corpus counts (counts[UnkID]
// is the number of corpus tokens left out); types is the number of distinct tokens of the corpus.
// tokens[0] and tokens[1] must be Pad and Unk and no token may repeat. New takes ownership of
// both slices. It is how a stored dictionary is rebuilt.
func New(tokens []string, counts []int64, types int) (*Vocab, error) {
	if len(tokens) < 2 || tokens[PadID] != Pad || tokens[UnkID] != Unk {
		return nil, fmt.Errorf("%w: ids 0 and 1 must be %s and %s", ErrInvalid, Pad, Unk)
	}
	if len(counts) != len(tokens) {
		return nil, fmt.Errorf("%w: %d tokens but %d counts", ErrInvalid, len(tokens), len(counts))
	}
	ids := make(map[string]int, len(tokens))
	for id, t := range tokens[2:] {
		if t == Pad || t == Unk {
			return nil, fmt.Errorf("%w: special token %s at id %d", ErrInvalid, t, id+2)
		}
		if prev, dup := ids[t]; dup {
			return nil, fmt.Errorf("%w: token %q at ids %d and %d", ErrInvalid, t, prev, id+2)
		}
		ids[t] = id + 2
	}
	return &Vocab{tokens: tokens, counts: counts, ids: ids, types: types}, nil
}

// Len returns the number of ids, Pad and Unk included: the row count of the embedding table.
func (v *Vocab) Len() int { return len(v.tokens) }

// ID returns the id of token, or UnkID if the dictionary does not hold it.
func (v *Vocab) ID(token string) int {
	if id, ok := v.ids[token]; ok {
		return id
	}
	return UnkID
}

// Lookup returns the id of token and whether the dictionary holds it.
func (v *Vocab) Lookup(token string) (int, bool) {
	id, ok := v.ids[token]
	return id, ok
}

// Token returns the token of id; it panics if id is not in [0, Len()).
func (v *Vocab) Token(id int) string { return v.tokens[id] }

// Count returns how often the token of id occurred in the corpus the dictionary was built from
// (for UnkID: the number of corpus tokens it stands for; for PadID: 0).
func (v *Vocab) Count(id int) int64 { return v.counts[id] }

// Tokens returns the tokens in id order. The slice is the Vocab's own: do not change it.
func (v *Vocab) Tokens() []string { return v.tokens }

// Counts returns the corpus counts in id order. The slice is the Vocab's own: do not change it.
func (v *Vocab) Counts() []int64 { return v.counts }

// Encode returns the ids of tokens, UnkID for each token the dictionary does not hold, as the
// int32 that batches and the embedding table take.
func (v *Vocab) Encode(tokens []string) []int32 {
	return v.AppendEncode(make([]int32, 0, len(tokens)), tokens)
}

// AppendEncode appends the ids of tokens to dst and returns it.
func (v *Vocab) AppendEncode(dst []int32, tokens []string) []int32 {
	for _, t := range tokens {
		dst = append(dst, int32(v.ID(t)))
	}
	return dst
}

// Coverage describes how much of a corpus a dictionary covers.
type Coverage struct {
	Tokens    int64   // corpus tokens
	Covered   int64   // corpus tokens the dictionary holds
	Types     int     // distinct corpus tokens
	Kept      int     // dictionary entries, Pad and Unk excluded
	Share     float64 // Covered / Tokens
	OOVRate   float64 // 1 - Share: the share of tokens that become Unk
	TypeShare float64 // Kept / Types
}

// Coverage returns the coverage of the corpus the dictionary was built from.
func (v *Vocab) Coverage() Coverage {
	c := Coverage{Types: v.types, Kept: len(v.tokens) - 2, Tokens: v.counts[UnkID]}
	for _, n := range v.counts[2:] {
		c.Covered += n
	}
	c.Tokens += c.Covered
	c.fill()
	return c
}

// Measure returns the coverage of another corpus, counted by c (a test set, say).
func (v *Vocab) Measure(c *Counter) Coverage {
	cov := Coverage{Tokens: c.total, Types: len(c.counts), Kept: len(v.tokens) - 2}
	for t, n := range c.counts {
		if _, ok := v.ids[t]; ok {
			cov.Covered += n
		}
	}
	cov.fill()
	return cov
}

func (c *Coverage) fill() {
	if c.Tokens > 0 {
		c.Share = float64(c.Covered) / float64(c.Tokens)
		c.OOVRate = 1 - c.Share
	}
	if c.Types > 0 {
		c.TypeShare = float64(c.Kept) / float64(c.Types)
	}
}

// Types returns the number of distinct tokens of the corpus the dictionary was built from.
func (v *Vocab) Types() int { return v.types }

// binaryMagic starts the binary encoding; the byte after it is the format version.
const binaryMagic = "SQVOCAB"

const binaryVersion = 1

// MarshalBinary encodes the dictionary: the magic "SQVOCAB", a version byte, then as uvarints
// the number of distinct corpus tokens and of entries, and for each id in order the token's
// length, its bytes and its count.
func (v *Vocab) MarshalBinary() ([]byte, error) {
	b := append([]byte(binaryMagic), binaryVersion)
	b = binary.AppendUvarint(b, uint64(v.types))
	b = binary.AppendUvarint(b, uint64(len(v.tokens)))
	for id, t := range v.tokens {
		b = binary.AppendUvarint(b, uint64(len(t)))
		b = append(b, t...)
		b = binary.AppendUvarint(b, uint64(v.counts[id]))
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote into v.
func (v *Vocab) UnmarshalBinary(b []byte) error {
	if !strings.HasPrefix(string(b), binaryMagic) || len(b) < len(binaryMagic)+1 {
		return fmt.Errorf("%w: not a seqclf dictionary", ErrInvalid)
	}
	if b[len(binaryMagic)] != binaryVersion {
		return fmt.Errorf("%w: format version %d, this build reads %d", ErrInvalid, b[len(binaryMagic)], binaryVersion)
	}
	b = b[len(binaryMagic)+1:]
	next := func() (uint64, error) {
		x, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, fmt.Errorf("%w: truncated", ErrInvalid)
		}
		b = b[n:]
		return x, nil
	}
	types, err := next()
	if err != nil {
		return err
	}
	n, err := next()
	if err != nil {
		return err
	}
	if n > uint64(len(b)) {
		return fmt.Errorf("%w: %d entries in %d bytes", ErrInvalid, n, len(b))
	}
	tokens := make([]string, 0, n)
	counts := make([]int64, 0, n)
	for range n {
		l, err := next()
		if err != nil {
			return err
		}
		if l > uint64(len(b)) {
			return fmt.Errorf("%w: truncated", ErrInvalid)
		}
		tokens = append(tokens, string(b[:l]))
		b = b[l:]
		c, err := next()
		if err != nil {
			return err
		}
		counts = append(counts, int64(c))
	}
	if len(b) != 0 {
		return fmt.Errorf("%w: %d bytes after the last entry", ErrInvalid, len(b))
	}
	nv, err := New(tokens, counts, int(types))
	if err != nil {
		return err
	}
	*v = *nv
	return nil
}
