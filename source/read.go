package source

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Read streams the documents at path (a file, or a folder for format dir) read as sc says. An
// error is yielded once, with an empty Document, and ends the stream; a problem with the
// content is an *Error, which names the file, the line and the config key to change.
func Read(path string, sc Options) iter.Seq2[Document, error] {
	switch sc.Format {
	case "tsv":
		return readTSV(path, sc)
	case "csv":
		return readCSV(path, sc)
	case "jsonl":
		return readJSONL(path, sc)
	case "dir":
		return readDir(path, sc)
	}
	return func(yield func(Document, error) bool) {
		yield(Document{}, &Error{File: path, Key: "source.format", Msg: fmt.Sprintf("source.format %q is none of tsv, csv, jsonl, dir", sc.Format)})
	}
}

// Count returns the number of documents Read yields, without keeping them. A folder's files are
// counted without reading them.
func Count(path string, sc Options) (int, error) {
	if sc.Format == "dir" {
		files, err := dirFiles(path, sc)
		return len(files), err
	}
	n := 0
	for _, err := range Read(path, sc) {
		if err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// cols are the label, text and group columns of a tsv or csv source; group is -1 without
// source.group_column, and label -1 until the first line has been read.
type cols struct{ label, text, group int }

// columns resolves the columns of a tsv or csv source: numbers are 0-based indexes, names are
// looked up in the header.
func columns(sc Options, header []string, path string) (c cols, err error) {
	resolve := func(spec, key string, def int) (int, error) {
		if spec == "" {
			return def, nil
		}
		if i, err := strconv.Atoi(spec); err == nil && i >= 0 {
			return i, nil
		}
		if header == nil {
			return 0, &Error{File: path, Key: key, Msg: fmt.Sprintf("%s is %q, a column name, but source.header is false", key, spec)}
		}
		for i, h := range header {
			if strings.TrimSpace(h) == spec {
				return i, nil
			}
		}
		names := make([]string, len(header))
		for i, h := range header {
			names[i] = strconv.Quote(strings.TrimSpace(h))
		}
		return 0, &Error{File: path, Key: key, Msg: fmt.Sprintf("%s %q is not in the header (%s)", key, spec, strings.Join(names, ", "))}
	}
	if c.label, err = resolve(sc.LabelColumn, "source.label_column", 0); err != nil {
		return
	}
	if c.text, err = resolve(sc.TextColumn, "source.text_column", 1); err != nil {
		return
	}
	c.group, err = resolve(sc.GroupColumn, "source.group_column", -1)
	return
}

// fields picks the label, text and group out of a record.
func fields(rec []string, c cols, path string, line int) (Document, error) {
	label, text, group := c.label, c.text, c.group
	if need := max(label, text, group) + 1; len(rec) < need {
		keys := "source.label_column and source.text_column"
		if group >= 0 {
			keys = "source.label_column, source.text_column and source.group_column"
		}
		return Document{}, &Error{File: path, Line: line, Key: "source.label_column",
			Msg: fmt.Sprintf("%d columns, but %s need %d", len(rec), keys, need)}
	}
	d := Document{Name: fmt.Sprintf("%s:%d", path, line), Label: strings.TrimSpace(DecodeString(rec[label])), Text: DecodeString(rec[text])}
	if group >= 0 {
		d.Group = strings.TrimSpace(DecodeString(rec[group]))
	}
	return d, nil
}

func readTSV(path string, sc Options) iter.Seq2[Document, error] {
	return func(yield func(Document, error) bool) {
		r, err := openText(path)
		if err != nil {
			yield(Document{}, fmt.Errorf("source: %w", err))
			return
		}
		defer r.Close()
		br := bufio.NewReaderSize(r, 1<<20)
		c := cols{label: -1}
		for line := 1; ; line++ {
			s, err := br.ReadString('\n')
			if err != nil && err != io.EOF {
				yield(Document{}, fmt.Errorf("source %s:%d: %w", path, line, err))
				return
			}
			s = strings.TrimRight(s, "\r\n")
			if c.label < 0 {
				var header []string
				if sc.Header {
					header = strings.Split(s, "\t")
				}
				if c, err = columns(sc, header, path); err != nil {
					yield(Document{}, err)
					return
				}
				if sc.Header {
					continue
				}
			}
			if strings.TrimSpace(s) != "" {
				d, derr := fields(strings.Split(s, "\t"), c, path, line)
				if !yield(d, derr) || derr != nil {
					return
				}
			}
			if err == io.EOF {
				return
			}
		}
	}
}

func readCSV(path string, sc Options) iter.Seq2[Document, error] {
	return func(yield func(Document, error) bool) {
		r, err := openText(path)
		if err != nil {
			yield(Document{}, fmt.Errorf("source: %w", err))
			return
		}
		defer r.Close()
		cr := csv.NewReader(r)
		cr.FieldsPerRecord = -1
		cr.ReuseRecord = true
		c := cols{label: -1}
		for {
			rec, err := cr.Read()
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(Document{}, &Error{File: path, Line: csvLine(err), Msg: csvMessage(err)})
				return
			}
			line, _ := cr.FieldPos(0)
			if c.label < 0 {
				var header []string
				if sc.Header {
					header = slices.Clone(rec)
				}
				if c, err = columns(sc, header, path); err != nil {
					yield(Document{}, err)
					return
				}
				if sc.Header {
					continue
				}
			}
			d, derr := fields(rec, c, path, line)
			if !yield(d, derr) || derr != nil {
				return
			}
		}
	}
}

func readJSONL(path string, sc Options) iter.Seq2[Document, error] {
	labelKey, textKey := cmpOr(sc.LabelColumn, "label"), cmpOr(sc.TextColumn, "text")
	return func(yield func(Document, error) bool) {
		r, err := openText(path)
		if err != nil {
			yield(Document{}, fmt.Errorf("source: %w", err))
			return
		}
		defer r.Close()
		br := bufio.NewReaderSize(r, 1<<20)
		for line := 1; ; line++ {
			b, err := br.ReadBytes('\n')
			if err != nil && err != io.EOF {
				yield(Document{}, fmt.Errorf("source %s:%d: %w", path, line, err))
				return
			}
			if len(strings.TrimSpace(string(b))) > 0 {
				var obj map[string]any
				if jerr := json.Unmarshal(b, &obj); jerr != nil {
					yield(Document{}, &Error{File: path, Line: line, Msg: fmt.Sprintf("not a JSON object: %v", jerr)})
					return
				}
				t, tok := obj[textKey].(string)
				l, lok := obj[labelKey]
				if !tok || !lok || l == nil {
					yield(Document{}, &Error{File: path, Line: line, Key: "source.text_column",
						Msg: fmt.Sprintf("want a text string under %q and a label under %q (source.text_column, source.label_column)", textKey, labelKey)})
					return
				}
				if f, ok := l.(float64); ok {
					l = strconv.FormatFloat(f, 'f', -1, 64)
				}
				// Labels and groups are trimmed as in TSV and CSV: " spam" is the class "spam".
				d := Document{Name: fmt.Sprintf("%s:%d", path, line), Label: strings.TrimSpace(fmt.Sprint(l)), Text: t}
				if sc.GroupColumn != "" {
					g, ok := obj[sc.GroupColumn]
					if !ok || g == nil {
						yield(Document{}, &Error{File: path, Line: line, Key: "source.group_column", Msg: fmt.Sprintf("no group under %q (source.group_column)", sc.GroupColumn)})
						return
					}
					d.Group = strings.TrimSpace(fmt.Sprint(g))
				}
				if !yield(d, nil) {
					return
				}
			}
			if err == io.EOF {
				return
			}
		}
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// dirFile is one document of a dir source.
type dirFile struct {
	path, name, label string
}

// dirFiles lists the documents of a dir source: the files below each folder of path, in name
// order, with the folder's label.
func dirFiles(path string, sc Options) ([]dirFile, error) {
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	labels := make(map[string]string, len(sc.Labels))
	for k, v := range sc.Labels {
		labels[strings.ToLower(k)] = v
	}
	var files []dirFile
	folders := 0
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		folders++
		label := e.Name()
		if len(labels) > 0 {
			l, ok := labels[strings.ToLower(e.Name())]
			if !ok {
				return nil, &Error{File: path, Key: "source.labels", Msg: fmt.Sprintf("folder %s has no label in source.labels (%d folders mapped)", e.Name(), len(labels))}
			}
			label = l
		}
		err := filepath.WalkDir(filepath.Join(path, e.Name()), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() || !d.Type().IsRegular() || !hasExtension(d.Name(), sc.Extensions) {
				return nil
			}
			rel, _ := filepath.Rel(path, p)
			files = append(files, dirFile{path: p, name: filepath.ToSlash(rel), label: label})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("source: %w", err)
		}
	}
	if folders == 0 {
		return nil, &Error{File: path, Key: "source.format", Msg: "no folders: source.format dir wants one folder per label"}
	}
	if len(files) == 0 {
		return nil, &Error{File: path, Key: "source.extensions", Msg: fmt.Sprintf("no files in its folders end in %s (source.extensions)", strings.Join(sc.Extensions, ", "))}
	}
	return files, nil
}

// hasExtension reports whether name, less a trailing ".gz", ends in one of exts (all if none).
func hasExtension(name string, exts []string) bool {
	if len(exts) == 0 {
		return true
	}
	name = strings.ToLower(strings.TrimSuffix(name, ".gz"))
	for _, e := range exts {
		if strings.HasSuffix(name, strings.ToLower(e)) {
			return true
		}
	}
	return false
}

func readDir(path string, sc Options) iter.Seq2[Document, error] {
	return func(yield func(Document, error) bool) {
		files, err := dirFiles(path, sc)
		if err != nil {
			yield(Document{}, err)
			return
		}
		for _, f := range files {
			r, err := openText(f.path)
			if err != nil {
				yield(Document{}, fmt.Errorf("source: %w", err))
				return
			}
			b, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				yield(Document{}, fmt.Errorf("source %s: %w", f.path, err))
				return
			}
			if !yield(Document{Name: f.name, Label: f.label, Text: decodeText(b)}, nil) {
				return
			}
		}
	}
}

// csvLine returns the line of a csv parse error, 0 if it has none.
func csvLine(err error) int {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.StartLine
	}
	return 0
}

// csvMessage returns a csv parse error without the line, which Error gives.
func csvMessage(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if pe.Column > 0 {
			return fmt.Sprintf("column %d: %v", pe.Column, pe.Err)
		}
		return pe.Err.Error()
	}
	return err.Error()
}
