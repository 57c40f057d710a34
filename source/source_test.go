package source

import (
	"bytes"
	"compress/gzip"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func collect(t *testing.T, path string, sc Options) ([]Document, error) {
	t.Helper()
	var docs []Document
	for d, err := range Read(path, sc) {
		if err != nil {
			return docs, err
		}
		docs = append(docs, d)
	}
	return docs, nil
}

func writeSourceFile(t *testing.T, name, text string, gz bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	b := []byte(text)
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		b = buf.Bytes()
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLineSources(t *testing.T) {
	want := []Document{{Label: "spam", Text: "Win £1000 now"}, {Label: "ham", Text: "see you at 5, ok?"}}
	cases := []struct {
		name, text string
		sc         Options
	}{
		{"plain.tsv", "spam\tWin £1000 now\nham\tsee you at 5, ok?\n", Options{Format: "tsv"}},
		{"header.tsv", "id\ttext\tlabel\n1\tWin £1000 now\tspam\n\n2\tsee you at 5, ok?\tham", Options{Format: "tsv", Header: true, TextColumn: "text", LabelColumn: "label"}},
		{"index.tsv", "x\tWin £1000 now\tspam\r\nx\tsee you at 5, ok?\tham\r\n", Options{Format: "tsv", TextColumn: "1", LabelColumn: "2"}},
		{"quoted.csv", "label,text\nspam,Win £1000 now\nham,\"see you at 5, ok?\"\n", Options{Format: "csv", Header: true, TextColumn: "text", LabelColumn: "label"}},
		{"lines.jsonl", `{"text": "Win £1000 now", "label": "spam"}` + "\n\n" + `{"label": "ham", "text": "see you at 5, ok?", "extra": 1}` + "\n", Options{Format: "jsonl"}},
	}
	for _, c := range cases {
		for _, gz := range []bool{false, true} {
			path := writeSourceFile(t, c.name, c.text, gz)
			docs, err := collect(t, path, c.sc)
			if err != nil {
				t.Fatalf("%s (gzip %v): %v", c.name, gz, err)
			}
			for i := range docs {
				if !strings.HasPrefix(docs[i].Name, path+":") {
					t.Errorf("%s: name %q", c.name, docs[i].Name)
				}
				docs[i].Name = ""
			}
			if !reflect.DeepEqual(docs, want) {
				t.Errorf("%s (gzip %v): %q", c.name, gz, docs)
			}
			if n, err := Count(path, c.sc); n != 2 || err != nil {
				t.Errorf("%s: count %d %v", c.name, n, err)
			}
		}
	}
	// jsonl labels may be numbers.
	docs, err := collect(t, writeSourceFile(t, "n.jsonl", `{"text": "a", "label": 3}`, false), Options{Format: "jsonl"})
	if err != nil || docs[0].Label != "3" {
		t.Errorf("numeric label: %v %v", docs, err)
	}
}

func TestLineSourceErrors(t *testing.T) {
	cases := []struct {
		text string
		sc   Options
		want string
	}{
		{"spam\tok\nham\n", Options{Format: "tsv"}, ":2: 1 columns, but source.label_column and source.text_column need 2"},
		{"a\tb\n", Options{Format: "tsv", TextColumn: "body"}, `source.text_column is "body", a column name, but source.header is false`},
		{"label,text\n", Options{Format: "csv", Header: true, TextColumn: "body"}, `source.text_column "body" is not in the header ("label", "text")`},
		{"a,\"b\n", Options{Format: "csv"}, "quote"},
		{`{"text": "a"}`, Options{Format: "jsonl"}, `:1: want a text string under "text" and a label under "label"`},
		{"{\"text\": \"a\", \"label\": 1}\nnot json\n", Options{Format: "jsonl"}, ":2: not a JSON object"},
		{"x", Options{Format: "xml"}, `source.format "xml"`},
	}
	for _, c := range cases {
		_, err := collect(t, writeSourceFile(t, "f", c.text, false), c.sc)
		if err == nil || !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one saying %q", c.text, err, c.want)
		}
	}
	if _, err := collect(t, filepath.Join(t.TempDir(), "none.tsv"), Options{Format: "tsv"}); err == nil {
		t.Error("missing file read")
	}
	// The error carries where it is and what to change, for a caller to phrase its advice.
	path := writeSourceFile(t, "f.tsv", "spam\tbuy\nham\n", false)
	_, err := collect(t, path, Options{Format: "tsv"})
	var se *Error
	if !errors.As(err, &se) || se.File != path || se.Line != 2 || se.Key != "source.label_column" {
		t.Errorf("error %#v, want an *Error at %s:2 naming source.label_column", err, path)
	}
}

const mini = "testdata/spamassassin-mini"

func TestDirSourceSpamAssassinLayout(t *testing.T) {
	sc := Options{Format: "dir", Extensions: []string{".txt"},
		Labels: map[string]string{"easy-ham-1": "ham", "spam-2": "spam"}}
	docs, err := collect(t, mini, sc)
	if err != nil {
		t.Fatal(err)
	}
	var names, labels []string
	for _, d := range docs {
		names = append(names, d.Name)
		labels = append(labels, d.Label)
		if !strings.Contains(d.Text, "\nSubject: ") {
			t.Errorf("%s does not start like a mail: %.40q", d.Name, d.Text)
		}
	}
	wantNames := []string{
		"easy-ham-1/01692.3349a6670b58d2a39307e87ae0012294.txt",
		"easy-ham-1/01709.f25ce16131a4a1e9b4eb4e04f748509a.txt",
		"easy-ham-1/02026.e6e094c6110cbff0c3a55e0fc5c9273a.txt",
		"spam-2/00747.801e88bae96047fb00593129ad02fdca.txt.gz",
		"spam-2/00809.b657c1ead5a2b2307e3a887b19b9ce91.txt",
	}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("names %q", names)
	}
	if !reflect.DeepEqual(labels, []string{"ham", "ham", "ham", "spam", "spam"}) {
		t.Errorf("labels %q", labels)
	}
	if !strings.Contains(docs[2].Text, "Gambler wins £7,000") {
		t.Error("the Latin-1 mail was not decoded as Latin-1")
	}
	// Without the extension filter the .json twins come too; without labels, folder names.
	all, err := collect(t, mini, Options{Format: "dir"})
	if err != nil || len(all) != 10 || all[0].Label != "easy-ham-1" {
		t.Errorf("unfiltered: %d docs, %v", len(all), err)
	}
	if n, err := Count(mini, sc); n != 5 || err != nil {
		t.Errorf("count %d %v", n, err)
	}
}

func TestDirSourceErrors(t *testing.T) {
	_, err := collect(t, mini, Options{Format: "dir", Labels: map[string]string{"spam-2": "spam"}})
	if err == nil || !strings.Contains(err.Error(), "folder easy-ham-1 has no label in source.labels") {
		t.Errorf("unmapped folder: %v", err)
	}
	_, err = collect(t, mini, Options{Format: "dir", Extensions: []string{".eml"}})
	if err == nil || !strings.Contains(err.Error(), "no files in its folders end in .eml (source.extensions)") {
		t.Errorf("no files: %v", err)
	}
	_, err = collect(t, filepath.Join(mini, "spam-2"), Options{Format: "dir"})
	if err == nil || !strings.Contains(err.Error(), "no folders: source.format dir") {
		t.Errorf("flat folder: %v", err)
	}
}

func TestHoldout(t *testing.T) {
	a := Holdout(1000, 0.2, rand.New(rand.NewPCG(42, 1)))
	b := Holdout(1000, 0.2, rand.New(rand.NewPCG(42, 1)))
	c := Holdout(1000, 0.2, rand.New(rand.NewPCG(43, 1)))
	n := 0
	for _, h := range a {
		if h {
			n++
		}
	}
	if n != 200 {
		t.Errorf("held out %d of 1000 at 0.2", n)
	}
	if !reflect.DeepEqual(a, b) || reflect.DeepEqual(a, c) {
		t.Error("the split does not follow the seed")
	}
	if len(Holdout(0, 0.5, rand.New(rand.NewPCG(1, 1)))) != 0 {
		t.Error("empty")
	}
}

// TestByteOrderMark reads files that start with a UTF-8 byte-order mark, plain and gzipped: the
// mark is not part of the first label, column name or JSON object.
func TestByteOrderMark(t *testing.T) {
	const bom = "\xef\xbb\xbf"
	for _, c := range []struct {
		name, text string
		sc         Options
	}{
		{"bom.tsv", bom + "ham\tsee you\nspam\tbuy now\n", Options{Format: "tsv"}},
		{"bom-header.csv", bom + "label,text\nham,see you\nspam,buy now\n", Options{Format: "csv", Header: true, LabelColumn: "label", TextColumn: "text"}},
		{"bom.jsonl", bom + `{"label": "ham", "text": "see you"}` + "\n" + `{"label": "spam", "text": "buy now"}` + "\n", Options{Format: "jsonl"}},
	} {
		for _, gz := range []bool{false, true} {
			docs, err := collect(t, writeSourceFile(t, c.name, c.text, gz), c.sc)
			if err != nil || len(docs) != 2 || docs[0].Label != "ham" || docs[1].Label != "spam" {
				t.Errorf("%s (gzip %v): %+v, %v; want ham then spam", c.name, gz, docs, err)
			}
		}
	}
}
