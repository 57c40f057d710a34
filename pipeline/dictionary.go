package pipeline

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"iter"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/internal/rng"
	"github.com/seqclf/seqclf/tokenize"
	"github.com/seqclf/seqclf/vocab"
)

// embedStd is the standard deviation of the embedding table's starting values: small against
// the LSTM's Glorot-scaled input weights, as nn.Embedding's N(0, 1) is not.
const embedStd = 0.1

// Dictionary is the dictionary and the starting embedding table built from the training texts.
type Dictionary struct {
	Vocab *vocab.Vocab
	Table *embed.Table
	// Counted is the number of texts counted; Bytes their length in bytes.
	Counted int
	Bytes   int64
	// Pretrained says what embed.pretrained gave, nil without it.
	Pretrained *embed.LoadStats
	// Pretrain is how long embed.pretrain took to learn the table, 0 without it.
	Pretrain time.Duration
	// PretrainReused is set when the vectors were an earlier build's (DictionaryOptions.Pretrained).
	PretrainReused bool
}

// BuildDictionary tokenizes texts on workers goroutines, counts their tokens, keeps those of
// vocab.min_count and more (at most vocab.max_size entries), and makes the embedding table:
// embed.dim values a row drawn from the seed's embedding stream, then the pretrained vectors of
// embed.pretrained where it has the token. keep, if not nil, receives each text's sentences of
// tokens with its index in texts, from the worker goroutines. With embed.pretrain: skipgram the
// table is then learnt from the texts' sentences (embed.SkipGram, on the seed's Pretrain
// stream), as the texts come, whatever the number of workers. Training and the dictionary-only
// build both make their dictionary here, so the same seed and texts give the same dictionary
// and table. o says where progress goes and what the learning may reuse.
func BuildDictionary(texts iter.Seq[string], tok *tokenize.Tokenizer, cfg *Config, workers int, keep func(i int, sents [][]string), o DictionaryOptions) (*Dictionary, error) {
	type job struct {
		i    int
		text string
	}
	workers = max(workers, 1)
	jobs := make(chan job, 4*workers)
	counters := make([]*vocab.Counter, workers)
	var all [][][]string // each text's sentences, for embed.pretrain
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range counters {
		c := vocab.NewCounter()
		counters[w] = c
		wg.Go(func() {
			for j := range jobs {
				sents := tok.Tokenize(j.text)
				for _, s := range sents {
					c.Add(s)
				}
				if keep != nil {
					keep(j.i, sents)
				}
				if cfg.Embed.Pretrain != "" {
					mu.Lock()
					all[j.i] = sents
					mu.Unlock()
				}
			}
		})
	}
	d := &Dictionary{}
	for text := range texts {
		if cfg.Embed.Pretrain != "" {
			mu.Lock()
			all = append(all, nil)
			mu.Unlock()
		}
		jobs <- job{d.Counted, text}
		d.Counted++
		d.Bytes += int64(len(text))
	}
	close(jobs)
	wg.Wait()
	for _, c := range counters[1:] {
		counters[0].Merge(c)
	}
	d.Vocab = counters[0].Build(vocab.Limits{MinCount: cfg.Vocab.MinCount, MaxSize: cfg.Vocab.MaxSize})
	var err error
	if d.Table, err = NewEmbedTable(d.Vocab.Len(), cfg); err != nil {
		return nil, err
	}
	if cfg.Embed.Pretrained != "" {
		stats, err := embed.LoadFile(cfg.Embed.Pretrained, d.Vocab, d.Table)
		if err != nil {
			return nil, fmt.Errorf("embed.pretrained: %w", err)
		}
		d.Pretrained = &stats
	}
	if cfg.Embed.Pretrain == "skipgram" {
		start := time.Now()
		if err := pretrain(d, counters[0], all, cfg, o); err != nil {
			return nil, err
		}
		d.Pretrain = time.Since(start)
	}
	d.Table.Trainable = cfg.Embed.Trainable
	return d, nil
}

// pretrainWords is the most words embed.pretrain learns vectors for, the dictionary's included.
const pretrainWords = 200_000

// pretrain learns d.Table from the texts' sentences with word2vec's skip-gram. It learns over
// every token of vocab.min_count and more (up to pretrainWords), not only the dictionary's: the
// rarer words beyond vocab.max_size are contexts that shape the vectors of the frequent ones.
// The dictionary's entries then take their rows.
func pretrain(d *Dictionary, counts *vocab.Counter, texts [][][]string, cfg *Config, o DictionaryOptions) error {
	wide := counts.Build(vocab.Limits{MinCount: max(cfg.Vocab.MinCount, 1), MaxSize: pretrainWords})
	var sents [][]int32
	for _, text := range texts {
		for _, s := range text {
			sents = append(sents, wide.Encode(s))
		}
	}
	sg := embed.SkipGram{LR: 0.05, Epochs: 5}
	key := pretrainKey(cfg, wide, sents, sg)
	t := o.Pretrained.get(key)
	if t != nil {
		d.PretrainReused = true
	} else {
		r := rng.New(cfg.Seed, rng.Pretrain)
		var err error
		if t, err = embed.New(wide.Len(), cfg.Embed.Dim, embedStd, r); err != nil {
			return &ConfigError{Key: "embed.dim", Msg: err.Error()}
		}
		if o.Log != nil {
			sg.Progress = pretrainProgress(o.Log, time.Now, sg.Epochs)
		}
		if err := sg.Train(t, sents, r); err != nil {
			return &ConfigError{Key: "embed.pretrain", Msg: "embed.pretrain: " + err.Error()}
		}
		o.Pretrained.put(key, t)
	}
	for id := 1; id < d.Vocab.Len(); id++ {
		if w := wide.ID(d.Vocab.Token(id)); w >= 1 {
			copy(d.Table.Row(id), t.Row(w))
		}
	}
	return nil
}

// DictionaryOptions are BuildDictionary's options; the zero value has none.
type DictionaryOptions struct {
	// Log, if not nil, receives a line every pretrainLogEvery while embed.pretrain learns.
	Log io.Writer
	// Pretrained, if not nil, keeps the vectors embed.pretrain learns, and gives them back to a
	// later build that would learn the same ones.
	Pretrained *PretrainCache
}

// PretrainCache keeps the vectors embed.pretrain learnt last, so that runs which would learn the
// same ones (a tuning search's trials with the same training text, dictionary limits, embedding
// size and seed, other settings apart) learn them once: 28–44 s a trial for configs/brown.yaml on
// 2 cores. The vectors given back are those the run would have learnt. It holds the tables of
// the last pretrainCacheSize learnings (one per embed.dim a search tries), and is safe for use
// by several builds at once; the zero value is empty.
type PretrainCache struct {
	mu      sync.Mutex
	entries []pretrainEntry // oldest first
}

// pretrainCacheSize is the most tables a PretrainCache holds: a search tries three embed.dim.
const pretrainCacheSize = 3

type pretrainEntry struct {
	key   [sha256.Size]byte
	table *embed.Table // only read once stored
}

func (c *PretrainCache) get(key [sha256.Size]byte) *embed.Table {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries {
		if e.key == key {
			return e.table
		}
	}
	return nil
}

func (c *PretrainCache) put(key [sha256.Size]byte, t *embed.Table) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) == pretrainCacheSize {
		c.entries = slices.Delete(c.entries, 0, 1)
	}
	c.entries = append(c.entries, pretrainEntry{key, t})
}

// pretrainKey digests what the vectors pretrain learns depend on: the seed, the table's size,
// the skip-gram's settings, the words learnt and the sentences of ids.
func pretrainKey(cfg *Config, wide *vocab.Vocab, sents [][]int32, sg embed.SkipGram) [sha256.Size]byte {
	h := sha256.New()
	var b []byte
	b = binary.LittleEndian.AppendUint64(b, uint64(cfg.Seed))
	b = binary.LittleEndian.AppendUint64(b, uint64(cfg.Embed.Dim))
	b = binary.LittleEndian.AppendUint64(b, uint64(wide.Len()))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(sg.LR))
	b = binary.LittleEndian.AppendUint64(b, uint64(sg.Epochs))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(embedStd))
	h.Write(b)
	for id := range wide.Len() {
		h.Write([]byte(wide.Token(id)))
		h.Write([]byte{0})
	}
	for _, s := range sents {
		b = binary.LittleEndian.AppendUint32(b[:0], uint32(len(s)))
		for _, id := range s {
			b = binary.LittleEndian.AppendUint32(b, uint32(id))
		}
		h.Write(b)
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	return key
}

// pretrainLogEvery is how often a line says how far embed.pretrain has come.
const pretrainLogEvery = 5 * time.Second

// pretrainProgress returns the embed.SkipGram.Progress of a pretraining of the given passes: a
// line on log every pretrainLogEvery (by now), with the share done, the pass and the time left.
// The line of the end is loadText's.
func pretrainProgress(log io.Writer, now func() time.Time, passes int) func(done, total int64) {
	start := now()
	last := start
	return func(done, total int64) {
		t := now()
		if done <= 0 || done >= total || t.Sub(last) < pretrainLogEvery {
			return
		}
		last = t
		el := t.Sub(start)
		left := time.Duration(float64(el) * float64(total-done) / float64(done))
		fmt.Fprintf(log, "embed.pretrain: skip-gram %d%% (pass %d of %d), %s, about %s left\n",
			100*done/total, min(int(done*int64(passes)/total)+1, passes), passes, el.Round(time.Second), left.Round(time.Second))
	}
}

// NewEmbedTable returns the starting embedding table of rows entries: embed.dim values a row,
// drawn from the seed's embedding stream, and trainable as embed.trainable says.
func NewEmbedTable(rows int, cfg *Config) (*embed.Table, error) {
	t, err := embed.New(rows, cfg.Embed.Dim, embedStd, rng.New(cfg.Seed, rng.Embed))
	if err != nil {
		return nil, &ConfigError{Key: "embed.dim", Msg: err.Error()}
	}
	t.Trainable = cfg.Embed.Trainable
	return t, nil
}
