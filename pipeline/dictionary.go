package pipeline

import (
	"fmt"
	"io"
	"iter"
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
}

// BuildDictionary tokenizes texts on workers goroutines, counts their tokens, keeps those of
// vocab.min_count and more (at most vocab.max_size entries), and makes the embedding table:
// embed.dim values a row drawn from the seed's embedding stream, then the pretrained vectors of
// embed.pretrained where it has the token. keep, if not nil, receives each text's sentences of
// tokens with its index in texts, from the worker goroutines. With embed.pretrain: skipgram the
// table is then learnt from the texts' sentences (embed.SkipGram, on the seed's Pretrain
// stream), as the texts come, whatever the number of workers. Training and the dictionary-only
// build both make their dictionary here, so the same seed and texts give the same dictionary
// and table. log, if not nil, receives a line every pretrainLogEvery while the table is learnt.
func BuildDictionary(texts iter.Seq[string], tok *tokenize.Tokenizer, cfg *Config, workers int, keep func(i int, sents [][]string), log io.Writer) (*Dictionary, error) {
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
		if err := pretrain(d, counters[0], all, cfg, log); err != nil {
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
func pretrain(d *Dictionary, counts *vocab.Counter, texts [][][]string, cfg *Config, log io.Writer) error {
	wide := counts.Build(vocab.Limits{MinCount: max(cfg.Vocab.MinCount, 1), MaxSize: pretrainWords})
	var sents [][]int32
	for _, text := range texts {
		for _, s := range text {
			sents = append(sents, wide.Encode(s))
		}
	}
	r := rng.New(cfg.Seed, rng.Pretrain)
	t, err := embed.New(wide.Len(), cfg.Embed.Dim, embedStd, r)
	if err != nil {
		return &ConfigError{Key: "embed.dim", Msg: err.Error()}
	}
	sg := embed.SkipGram{LR: 0.05, Epochs: 5}
	if log != nil {
		sg.Progress = pretrainProgress(log, time.Now, sg.Epochs)
	}
	if err := sg.Train(t, sents, r); err != nil {
		return &ConfigError{Key: "embed.pretrain", Msg: "embed.pretrain: " + err.Error()}
	}
	for id := 1; id < d.Vocab.Len(); id++ {
		if w := wide.ID(d.Vocab.Token(id)); w >= 1 {
			copy(d.Table.Row(id), t.Row(w))
		}
	}
	return nil
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
