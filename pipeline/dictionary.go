package pipeline

import (
	"fmt"
	"iter"
	"sync"

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
}

// BuildDictionary tokenizes texts on workers goroutines, counts their tokens, keeps those of
// vocab.min_count and more (at most vocab.max_size entries), and makes the embedding table:
// embed.dim values a row drawn from the seed's embedding stream, then the pretrained vectors of
// embed.pretrained where it has the token. keep, if not nil, receives each text's sentences of
// tokens with its index in texts, from the worker goroutines. Training and the dictionary-only
// build both make their dictionary here, so the same seed and texts give the same dictionary
// and table.
func BuildDictionary(texts iter.Seq[string], tok *tokenize.Tokenizer, cfg *Config, workers int, keep func(i int, sents [][]string)) (*Dictionary, error) {
	type job struct {
		i    int
		text string
	}
	workers = max(workers, 1)
	jobs := make(chan job, 4*workers)
	counters := make([]*vocab.Counter, workers)
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
			}
		})
	}
	d := &Dictionary{}
	for text := range texts {
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
	d.Table.Trainable = cfg.Embed.Trainable
	return d, nil
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
