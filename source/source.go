package source

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"unicode/utf8"
)

// Options say how to read a source: its format and, for tsv, csv and jsonl, where the label,
// text and group are. They are the source section of a pipeline config, whose key each field's
// comment names.
type Options struct {
	Format string // source.format: tsv, csv, jsonl or dir
	// LabelColumn and TextColumn are columns of tsv and csv (a 0-based number, or a name from
	// the header line) and keys of jsonl (source.label_column, source.text_column); empty: 0
	// and 1 for tsv and csv, "label" and "text" for jsonl.
	LabelColumn, TextColumn string
	// GroupColumn names a column (tsv, csv) or key (jsonl) whose documents are held out
	// together (source.group_column): the sentences of one file, the mails of one thread.
	// Empty: each document on its own.
	GroupColumn string
	Header      bool // tsv and csv: the first line names the columns (source.header)
	// Labels renames the folders of a dir source (source.labels; several may share a label;
	// matched without regard to case), and Extensions keeps only the files whose name ends so
	// (source.extensions: ".txt"; a trailing ".gz" aside). Empty: every folder its own label,
	// every file.
	Labels     map[string]string
	Extensions []string
}

// ErrSource is wrapped by every error about a source's content.
var ErrSource = errors.New("bad source")

// An Error is a problem with a source's content: where it is and which option to change.
type Error struct {
	File string // the file or folder
	Line int    // the line from 1, 0 when the problem is not on one line
	Key  string // the config key to change, as source.label_column; "" when none applies
	Msg  string // what is wrong
}

// Error returns "bad source: FILE:LINE: MSG", without the line when there is none.
func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%v: %s:%d: %s", ErrSource, e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%v: %s: %s", ErrSource, e.File, e.Msg)
}

// Is reports whether target is ErrSource.
func (e *Error) Is(target error) bool { return target == ErrSource }

// A Document is one text of a source with its label.
type Document struct {
	Name  string // where it comes from: "file:line", or the file's path below the source folder
	Label string
	Text  string
	Group string // with source.group_column: documents of one group go to the same split
}

// openText opens path for reading, through gzip if the file starts with gzip's magic bytes
// (whatever its name), without a leading UTF-8 byte-order mark.
func openText(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(f, 1<<16)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return readCloser{skipBOM(bufio.NewReaderSize(zr, 1<<16)), func() error { zr.Close(); return f.Close() }}, nil
	}
	return readCloser{skipBOM(br), f.Close}, nil
}

// skipBOM drops a UTF-8 byte-order mark at the start of br, which some editors write: it would
// otherwise start the first label, column name or JSON object.
func skipBOM(br *bufio.Reader) *bufio.Reader {
	if b, _ := br.Peek(3); len(b) == 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf {
		br.Discard(3)
	}
	return br
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// decodeText returns b as a string, read as Latin-1 if it is not valid UTF-8: old mail (the
// SpamAssassin corpus) is often Latin-1, and every byte string is valid Latin-1.
func decodeText(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// DecodeString is decodeText for a string: s itself when it is valid UTF-8.
func DecodeString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return decodeText([]byte(s))
}

// Holdout picks round(share·n) of n documents at random from rng: held[i] says whether
// document i is held out. Used with the documents in the order a source yields them, the same
// seed always holds out the same documents.
func Holdout(n int, share float64, rng *rand.Rand) []bool {
	held := make([]bool, n)
	k := int(math.Round(share * float64(n)))
	for _, i := range rng.Perm(n)[:k] {
		held[i] = true
	}
	return held
}
