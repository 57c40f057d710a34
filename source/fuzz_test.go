package source

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzSource writes data to a file and reads it as format, with the column settings picked by
// opts' bits, checking that no input panics and that the documents and errors are well formed.
func fuzzSource(t *testing.T, format string, data []byte, opts uint8) {
	path := filepath.Join(t.TempDir(), "data."+format)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sc := Options{Format: format, Header: opts&1 != 0}
	if opts&2 != 0 {
		sc.LabelColumn, sc.TextColumn = "label", "text"
	}
	if opts&4 != 0 {
		sc.GroupColumn = "2"
		if format == "jsonl" {
			sc.GroupColumn = "group"
		}
	}
	errs := 0
	for doc, err := range Read(path, sc) {
		if err != nil {
			errs++
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error does not name the file: %v", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error of more than one line: %q", err)
			}
			continue
		}
		if errs > 0 {
			t.Errorf("a document after an error")
		}
		if format != "jsonl" && (!utf8.ValidString(doc.Text) || !utf8.ValidString(doc.Label)) {
			t.Errorf("document %s is not UTF-8: %q %q", doc.Name, doc.Label, doc.Text)
		}
		if doc.Label != strings.TrimSpace(doc.Label) || !strings.HasPrefix(doc.Name, path+":") {
			t.Errorf("document %+v", doc)
		}
	}
	if errs > 1 {
		t.Errorf("%d errors: the stream must end at the first", errs)
	}
}

func FuzzReadTSV(f *testing.F) {
	f.Add([]byte("ham\thello there\nspam\tbuy now\n"), uint8(0))
	f.Add([]byte("label\ttext\tgroup\nham\thi\tg1\r\n\n  \nspam\tx\tg2"), uint8(7))
	f.Add([]byte("ham\tcaf\xe9\x00\n\xff\xfe\n"), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, opts uint8) { fuzzSource(t, "tsv", data, opts) })
}

func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("ham,hello there\nspam,\"buy, now\"\n"), uint8(0))
	f.Add([]byte("label,text,group\nham,\"multi\nline\",g1\nspam,x\n"), uint8(7))
	f.Add([]byte("ham,\"unclosed\nspam,x\n"), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, opts uint8) { fuzzSource(t, "csv", data, opts) })
}

func FuzzReadJSONL(f *testing.F) {
	f.Add([]byte(`{"label": "ham", "text": "hello"}`+"\n"+`{"label": 3, "text": "x", "group": null}`), uint8(0))
	f.Add([]byte(`{"label": "ham", "text": "hi", "group": "g"}`+"\n\n[1, 2]\n"), uint8(4))
	f.Add([]byte("{\"label\": \"\xff\", \"text\": \"caf\xe9\"}\n"), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, opts uint8) { fuzzSource(t, "jsonl", data, opts) })
}

// FuzzLoadConfig checks that no YAML makes the config loader panic, that its errors are one
// line naming the file, and that a config it accepts passes Validate.
