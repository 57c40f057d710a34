package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/seqclf/seqclf/feed"
	"github.com/seqclf/seqclf/internal/rng"
	"github.com/seqclf/seqclf/pipeline"
	"github.com/seqclf/seqclf/tokenize"
)

// idsHeader starts an id file: the encoded documents both sides train on.
const idsHeader = "seqclf-bench-ids v1"

type doc struct {
	label int
	ids   []int32
}

// runEncodeSpam tokenizes a seeded sample of the SpamAssassin mails (whole files, headers
// included, as a source would read them), builds a dictionary on them and writes each mail's ids,
// cut to time_step, with its label (1 spam, 0 ham).
func runEncodeSpam(args []string) error {
	fset := flag.NewFlagSet("encode-spam", flag.ExitOnError)
	dir := fset.String("data", "data/spam-assassin", "the corpus (scripts/fetch-data.sh spam)")
	out := fset.String("out", "bench/out/spam-ids.txt", "the id file to write")
	n := fset.Int("n", 1600, "mails to encode, drawn with a fixed seed")
	maxVocab := fset.Int("max-vocab", 20000, "dictionary size, <pad> and <unk> included")
	dictOut := fset.String("dict", "", "also write the dictionary to this file (for spam -save)")
	fset.Parse(args)

	var paths []string
	root := filepath.Join(*dir, "data")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".txt") {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return fmt.Errorf("no mails under %s: run scripts/fetch-data.sh spam", root)
	}
	slices.Sort(paths)
	rng.New(benchSeed, rng.BenchSample).Shuffle(len(paths), func(i, j int) { paths[i], paths[j] = paths[j], paths[i] })
	paths = paths[:min(*n, len(paths))]

	tok, err := tokenize.New(tokenize.Lowercase(true))
	if err != nil {
		return err
	}
	texts := make([]string, len(paths))
	for i, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		texts[i] = string(b)
	}
	cfg := pipeline.DefaultConfig()
	cfg.Seed, cfg.Vocab.MinCount, cfg.Vocab.MaxSize, cfg.Embed.Dim = benchSeed, 2, *maxVocab, spamEmbed
	dict, err := pipeline.BuildDictionary(slices.Values(texts), tok, &cfg, runtime.GOMAXPROCS(0), nil, pipeline.DictionaryOptions{})
	if err != nil {
		return err
	}
	v := dict.Vocab
	docs := make([]doc, len(texts))
	parallel(len(texts), func(i int) {
		label := 0
		if strings.HasPrefix(filepath.Base(filepath.Dir(paths[i])), "spam") {
			label = 1
		}
		docs[i] = doc{label, feed.EncodeText(tok, v, texts[i], feed.UnitDocument, spamSteps)[0]}
	})
	docs = slices.DeleteFunc(docs, func(d doc) bool { return len(d.ids) == 0 })
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	if err := writeIDs(*out, v.Len(), docs); err != nil {
		return err
	}
	if *dictOut != "" {
		if err := writeDict(*dictOut, v); err != nil {
			return err
		}
	}
	lens := make([]float64, len(docs))
	for i, d := range docs {
		lens[i] = float64(len(d.ids))
	}
	slices.Sort(lens)
	fmt.Fprintf(os.Stderr, "encode-spam: %d mails, dictionary %d ids, tokens per mail (cut to %d): p10 %.0f, median %.0f, p90 %.0f\n",
		len(docs), v.Len(), spamSteps, lens[len(lens)/10], median(lens), lens[len(lens)*9/10])
	return nil
}

// parallel calls f(i) for i in [0, n) on GOMAXPROCS goroutines.
func parallel(n int, f func(i int)) {
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				f(i)
			}
		})
	}
	wg.Wait()
}

// writeIDs writes the id file: a header line, then one line per document, its label, a tab and
// its ids separated by spaces.
func writeIDs(path string, vocabSize int, docs []doc) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "%s vocab=%d docs=%d\n", idsHeader, vocabSize, len(docs))
	var buf []byte
	for _, d := range docs {
		buf = strconv.AppendInt(buf[:0], int64(d.label), 10)
		buf = append(buf, '\t')
		for j, id := range d.ids {
			if j > 0 {
				buf = append(buf, ' ')
			}
			buf = strconv.AppendInt(buf, int64(id), 10)
		}
		buf = append(buf, '\n')
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readIDs reads a file written by writeIDs.
func readIDs(path string) (vocabSize int, docs []doc, err error) {
	// The whole file at once and ids parsed in place: a line at a time through strings.Fields
	// left about 12 MB of garbage, resident through training.
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, nil, err
	}
	header, rest, _ := bytes.Cut(b, []byte("\n"))
	if len(header) == 0 {
		return 0, nil, fmt.Errorf("%s: empty", path)
	}
	var n int
	if _, err := fmt.Sscanf(string(header), idsHeader+" vocab=%d docs=%d", &vocabSize, &n); err != nil {
		return 0, nil, fmt.Errorf("%s: bad header %q", path, header)
	}
	docs = make([]doc, 0, n)
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		lineNo := len(docs) + 2
		label, ids, ok := bytes.Cut(line, []byte("\t"))
		if !ok {
			return 0, nil, fmt.Errorf("%s:%d: no tab", path, lineNo)
		}
		var d doc
		if d.label, err = strconv.Atoi(string(label)); err != nil {
			return 0, nil, fmt.Errorf("%s:%d: %w", path, lineNo, err)
		}
		d.ids = make([]int32, 0, bytes.Count(ids, []byte(" "))+1)
		for f := range bytes.FieldsSeq(ids) {
			id, ok := 0, len(f) > 0 && len(f) <= 9
			for _, c := range f {
				if c < '0' || c > '9' {
					ok = false
					break
				}
				id = id*10 + int(c-'0')
			}
			if !ok || id >= vocabSize {
				return 0, nil, fmt.Errorf("%s:%d: bad id %q", path, lineNo, f)
			}
			d.ids = append(d.ids, int32(id))
		}
		docs = append(docs, d)
	}
	if len(docs) != n {
		return 0, nil, fmt.Errorf("%s: %d documents, header says %d", path, len(docs), n)
	}
	return vocabSize, docs, nil
}
