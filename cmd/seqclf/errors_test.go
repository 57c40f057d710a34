package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/seqclf/seqclf/store"
)

var updateErrorsDoc = flag.Bool("update-errors-doc", false, "rewrite the table of docs/errors.md from TestBadInputs")

const mnistExcerpt = "../../idx/testdata/mnist-t10k-20-"

// seqclfChild runs this test binary as seqclf in dir, and returns its standard output and error
// and its exit status (-1 if a signal ended it).
func seqclfChild(t *testing.T, dir, stdin string, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SEQCLF_TEST_MAIN=1")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		status = exit.ExitCode()
	default:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), status
}

// snapshot returns every file and folder below dir with a hash of its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			files[p] = "folder"
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[p] = fmt.Sprintf("%x", sha256.Sum256(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// fixtures are the files the bad-input cases start from, in one folder.
type fixtures struct {
	dir       string
	textModel string // a trained text model
	imgModel  string // a trained MNIST model
}

func (f *fixtures) path(name string) string { return filepath.Join(f.dir, name) }

func (f *fixtures) write(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := f.path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodTSV = "ham\tThe meeting is moved to Tuesday at noon.\n" +
	"spam\tClick here to claim your FREE prize now!\n" +
	"ham\tCan you send me the report before Friday?\n" +
	"spam\tCheap meds, no prescription, order today!\n" +
	"ham\tLunch tomorrow? The usual place.\n" +
	"spam\tYou have won a free cruise, call now!\n"

// textConfig writes a config for a tiny text run on train (a path below the fixtures' folder)
// into OUTPUT_DIR out; each of over, "section.key=value" (a YAML value), sets or adds a key.
func (f *fixtures) textConfig(t *testing.T, name, train, out string, over ...string) string {
	t.Helper()
	sections := []string{"source", "vocab", "embed", "lstm", "train"}
	keys := map[string][]string{
		"source": {"kind: text", "format: tsv", "train: " + f.path(train), "validation_split: 0"},
		"vocab":  {"min_count: 1"},
		"embed":  {"dim: 4"},
		"lstm":   {"num_units: 4", "time_step: 16"},
		"train":  {"epochs: 1", "batch_size: 4"},
	}
	for _, o := range over {
		kv, val, _ := strings.Cut(o, "=")
		sec, key, _ := strings.Cut(kv, ".")
		keys[sec] = slices.DeleteFunc(keys[sec], func(s string) bool { return strings.HasPrefix(s, key+":") })
		keys[sec] = append(keys[sec], key+": "+val)
	}
	yaml := "seed: 1\noutput_dir: " + f.path(out) + "\n"
	for _, sec := range sections {
		yaml += sec + ": {" + strings.Join(keys[sec], ", ") + "}\n"
	}
	return f.write(t, name, []byte(yaml))
}

func (f *fixtures) mnistConfig(t *testing.T, name, images, labels, out string) string {
	t.Helper()
	return f.write(t, name, []byte(`output_dir: `+f.path(out)+`
source: {kind: mnist, train_images: `+images+`, train_labels: `+labels+`, validation_split: 0}
lstm: {num_units: 4, time_step: 28}
train: {epochs: 1, batch_size: 8}
`))
}

func newFixtures(t *testing.T) *fixtures {
	f := &fixtures{dir: t.TempDir()}
	f.write(t, "train.tsv", []byte(goodTSV))
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	images, labels := abs(mnistExcerpt+"images-idx3-ubyte.gz"), abs(mnistExcerpt+"labels-idx1-ubyte.gz")
	if _, err := run(t, "", "pipeline", "run", f.textConfig(t, "text.yaml", "train.tsv", "text")); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "", "pipeline", "run", f.mnistConfig(t, "mnist.yaml", images, labels, "mnist")); err != nil {
		t.Fatal(err)
	}
	f.textModel, f.imgModel = f.path("text/model.db"), f.path("mnist/model.db")

	// IDX files: the excerpt raw, cut short, of other sizes.
	raw := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	img, lab := raw(images), raw(labels)
	f.write(t, "images.idx", img)
	f.write(t, "labels.idx", lab)
	f.write(t, "images-cut.idx", img[:len(img)/2])
	lab10 := slices.Clone(lab[:8+10])
	binary.BigEndian.PutUint32(lab10[4:], 10)
	f.write(t, "labels-10.idx", lab10)
	small := binary.BigEndian.AppendUint32([]byte{0, 0, 8, 3}, 20)
	small = binary.BigEndian.AppendUint32(small, 20)
	small = binary.BigEndian.AppendUint32(small, 20)
	f.write(t, "images-20x20.idx", append(small, make([]byte, 20*20*20)...))

	// Stores: a truncated copy of a model, another layout version, a dictionary without a model.
	model, err := os.ReadFile(f.textModel)
	if err != nil {
		t.Fatal(err)
	}
	f.write(t, "cut.db", model[:len(model)/3])
	forgeVersion(t, f.path("v99.db"), 99)
	f.write(t, "not-a-store.db", bytes.Repeat([]byte("not a bbolt file\n"), 1000))
	if _, err := run(t, "", "vocab", "build", "--input", f.path("train.tsv"), "--min-count", "1", "--dim", "4", "--out", f.path("vocab.db")); err != nil {
		t.Fatal(err)
	}
	return f
}

// A badInput is one row of docs/errors.md: what a user gives, and the one line seqclf answers.
type badInput struct {
	group, what string
	args        func(f *fixtures, t *testing.T) []string
	stdin       string
	status      int    // 1, or 2 for a command line that does not parse
	want        string // a regular expression the stderr line must match
}

func badInputs() []badInput {
	cfgText := func(extra ...string) func(*fixtures, *testing.T) []string {
		return func(f *fixtures, t *testing.T) []string {
			return []string{"pipeline", "run", f.textConfig(t, "c.yaml", "train.tsv", "out", extra...)}
		}
	}
	withData := func(format, data string, extra ...string) func(*fixtures, *testing.T) []string {
		return func(f *fixtures, t *testing.T) []string {
			f.write(t, "data."+format, []byte(data))
			return []string{"pipeline", "run", f.textConfig(t, "c.yaml", "data."+format, "out", append([]string{"source.format=" + format}, extra...)...)}
		}
	}
	set := func(kv ...string) func(*fixtures, *testing.T) []string {
		return func(f *fixtures, t *testing.T) []string {
			args := []string{"pipeline", "run", f.textConfig(t, "c.yaml", "train.tsv", "out")}
			for _, s := range kv {
				args = append(args, "--set", s)
			}
			return args
		}
	}
	mnist := func(images, labels string, sets ...string) func(*fixtures, *testing.T) []string {
		return func(f *fixtures, t *testing.T) []string {
			args := []string{"pipeline", "run", f.mnistConfig(t, "c.yaml", f.path(images), f.path(labels), "out")}
			for _, s := range sets {
				args = append(args, "--set", s)
			}
			return args
		}
	}
	classify := func(model string, more ...string) func(*fixtures, *testing.T) []string {
		return func(f *fixtures, t *testing.T) []string {
			var m string
			switch model {
			case "text":
				m = f.textModel
			case "mnist":
				m = f.imgModel
			default:
				m = f.path(model)
			}
			return append([]string{"classify", "--model", m}, more...)
		}
	}
	args := func(a ...string) func(*fixtures, *testing.T) []string {
		return func(*fixtures, *testing.T) []string { return a }
	}
	return []badInput{
		{"command line", "unknown verb", args("clasify"), "", 2, `^unknown command "clasify"; did you mean classify\? \(see seqclf --help\)$`},
		{"command line", "unknown flag", args("pipeline", "run", "c.yaml", "--epochs", "3"), "", 2, `^pipeline run: unknown flag: --epochs \(see seqclf pipeline run --help\)$`},
		{"command line", "missing argument", args("pipeline", "run"), "", 2, `^pipeline run: accepts 1 arg\(s\), received 0`},
		{"command line", "a flag value of the wrong type", args("classify", "--model", "m.db", "--top-k", "two"), "", 2, `^classify: invalid argument "two" for "--top-k"`},
		{"command line", "a flag value out of range", classify("text", "--top-k", "0"), "", 1, `^--top-k is 0: it must be at least 1$`},

		{"config", "missing file", args("pipeline", "run", "none.yaml"), "", 1, `^config none\.yaml: bad configuration: no such file`},
		{"config", "not YAML", func(f *fixtures, t *testing.T) []string {
			return []string{"pipeline", "run", f.write(t, "c.yaml", []byte("lstm: [num_units: 8\n"))}
		}, "", 1, `^config .*c\.yaml: bad configuration: .*yaml`},
		{"config", "unknown key (names the valid ones)", cfgText("lstm.nums_units=8"), "", 1, `unknown key lstm\.nums_units \(the keys of lstm are num_units, num_layers, time_step, pooling, dropout, input_dropout, word_dropout, cell, bidirectional\)$`},
		{"config", "wrong type", cfgText("lstm.num_units=many"), "", 1, `lstm\.num_units: "many" is not a whole number`},
		{"config", "num_units ≤ 0", cfgText("lstm.num_units=0"), "", 1, `lstm\.num_units is 0, want at least 1$`},
		{"config", "time_step ≤ 0", set("lstm.time_step=-3"), "", 1, `lstm\.time_step is -3, want at least 1$`},
		{"config", "batch_size ≤ 0", set("train.batch_size=0"), "", 1, `train\.batch_size is 0, want at least 1$`},
		{"config", "unknown optimizer", set("train.optimizer=adagrad"), "", 1, `train\.optimizer is "adagrad", want one of adam, adamw, sgd$`},
		{"config", "unknown pooling", set("lstm.pooling=avg"), "", 1, `lstm\.pooling: unknown pooling "avg": use one of last, mean, max, attention$`},
		{"config", "--set without =", set("lstm.num_units"), "", 1, `^--set lstm\.num_units: bad configuration: want key=value`},
		{"config", "output_dir that cannot be written", func(f *fixtures, t *testing.T) []string {
			f.write(t, "file", []byte("x"))
			return []string{"pipeline", "run", f.textConfig(t, "c.yaml", "train.tsv", "file/out")}
		}, "", 1, `^config .*c\.yaml: bad configuration: output_dir .*/file/out cannot be made: .*not a directory; set output_dir to a folder you can write$`},

		{"text data", "missing training file", cfgText("source.train=nowhere.tsv"), "", 1, `^config .*c\.yaml: bad configuration: source\.train: nowhere\.tsv: no such file or folder; check the path$`},
		{"text data", "empty file", withData("tsv", ""), "", 1, `^bad source: .*data\.tsv: holds no document; check source\.format and the path$`},
		{"text data", "missing text column (tsv)", withData("tsv", "ham\tfine text\nspam\n"), "", 1, `data\.tsv:2: 1 columns, but source\.label_column and source\.text_column need 2$`},
		{"text data", "label column not in the header", withData("tsv", "label\ttext\nham\tx\n", "source.header=true", "source.label_column=category"), "", 1, `source\.label_column "category" is not in the header \("label", "text"\)$`},
		{"text data", "ragged csv row", withData("csv", "ham,fine text\nspam\nham,more\n"), "", 1, `data\.csv:2: 1 columns, but source\.label_column and source\.text_column need 2$`},
		{"text data", "bad csv quoting", withData("csv", "ham,\"fine text\nspam,x\n"), "", 1, `^bad source: .*data\.csv:1: .*extraneous or missing " in quoted-field`},
		{"text data", "jsonl line that is not JSON", withData("jsonl", `{"label": "ham", "text": "x"}`+"\n{label: spam}\n"), "", 1, `data\.jsonl:2: not a JSON object`},
		{"text data", "jsonl line without the text key", withData("jsonl", `{"label": "ham", "body": "x"}`+"\n"), "", 1, `data\.jsonl:1: want a text string under "text" and a label under "label"`},
		{"text data", "binary junk", func(f *fixtures, t *testing.T) []string {
			junk := make([]byte, 4096)
			for i := range junk {
				junk[i] = byte(rand.New(rand.NewPCG(1, 2)).IntN(256)) | 0x80 // no tab, no newline
			}
			f.write(t, "junk.tsv", junk)
			return []string{"pipeline", "run", f.textConfig(t, "c.yaml", "junk.tsv", "out")}
		}, "", 1, `junk\.tsv:1: 1 columns, but source\.label_column and source\.text_column need 2$`},
		{"text data", "only one class", withData("tsv", "ham\ta\nham\tb\n"), "", 1, `^bad source: .*data\.tsv: has only the label "ham": a classifier needs at least two$`},
		{"text data", "a test label never seen in training", func(f *fixtures, t *testing.T) []string {
			f.write(t, "test.tsv", []byte("ham\tsee you\neggs\tscrambled\n"))
			return []string{"pipeline", "run", f.textConfig(t, "c.yaml", "train.tsv", "out", "source.test="+f.path("test.tsv"))}
		}, "", 1, `test\.tsv:2: a test document has the label "eggs", never seen in training \(labels: \[ham spam\]\)$`},
		{"text data", "no document with a token", withData("tsv", "ham\t \nspam\t\t\n"), "", 1, `no training document has a token$`},
		{"text data", "a test file that holds every training document", func(f *fixtures, t *testing.T) []string {
			return []string{"pipeline", "run", f.textConfig(t, "c.yaml", "train.tsv", "out", "source.test="+f.path("train.tsv"))}
		}, "", 1, `^bad source: .*train\.tsv: every document is a test document or repeats one: nothing is left to train on$`},
		{"text data", "a test_split that holds out every document (one group)", withData("tsv", "ham\tsee you\tg\nspam\tfree money\tg\n", "source.group_column=2", "source.test_split=0.5"),
			"", 1, `^bad source: .*data\.tsv: every document is a test document or repeats one: nothing is left to train on$`},
		{"text data", "a validation_split that holds out every document (one group)", withData("tsv", "ham\tsee you\tg\nspam\tfree money\tg\n", "source.group_column=2", "source.validation_split=0.5"),
			"", 1, `^bad source: .*data\.tsv: no training document has a token$`},
		{"text data", "an empty test file", func(f *fixtures, t *testing.T) []string {
			f.write(t, "test.tsv", nil)
			return []string{"pipeline", "run", f.textConfig(t, "c.yaml", "train.tsv", "out", "source.test="+f.path("test.tsv"))}
		}, "", 1, `^bad source: .*test\.tsv: holds no document; check source\.format and the path$`},
		{"text data", "dir: a folder without label folders", func(f *fixtures, t *testing.T) []string {
			f.write(t, "mails/readme.txt", []byte("no label folders here\n"))
			return []string{"pipeline", "run", f.textConfig(t, "c.yaml", "mails", "out", "source.format=dir")}
		}, "", 1, `^bad source: .*mails: no folders: source\.format dir wants one folder per label$`},

		{"IDX", "wrong magic number", mnist("train.tsv", "labels.idx"), "", 1, `train\.tsv: magic number 0x68616d09 is not that of an IDX image file`},
		{"IDX", "image and label paths swapped", mnist("labels.idx", "images.idx"), "", 1, `look swapped$`},
		{"IDX", "truncated file", mnist("images-cut.idx", "labels.idx"), "", 1, `images-cut\.idx: truncated: the header declares 20×28×28`},
		{"IDX", "image and label counts differ", mnist("images.idx", "labels-10.idx"), "", 1, `holds 20 images but .*labels-10\.idx holds 10 labels`},
		{"IDX", "time_step that does not match the images", mnist("images.idx", "labels.idx", "lstm.time_step=20"), "", 1, `lstm\.time_step: .*28×28 images, which sliced by rows make 28 steps of 28 values, but the model expects 20 steps of 28`},
		{"IDX", "classify images of another size", classify("mnist", "--images", "images-20x20.idx"), "", 1, `does not fit the model: .*20×20 images.*expects 28 steps of 28`},

		{"model store", "missing file", classify("none.db"), "", 1, `^store .*none\.db does not exist; make one with seqclf vocab build or seqclf pipeline run$`},
		{"model store", "not a bbolt file", classify("not-a-store.db"), "", 1, `not-a-store\.db: not a seqclf store \(invalid database\)$`},
		{"model store", "truncated file", classify("cut.db"), "", 1, `cut\.db: not a seqclf store: the file is truncated \(\d+ bytes, its last commit needs \d+\)`},
		{"model store", "layout version it does not know", classify("v99.db"), "", 1, `v99\.db: store layout version not supported: version 99, this seqclf reads versions up to 4$`},
		{"model store", "a file locked by a running training (after 1 s)", func(f *fixtures, t *testing.T) []string {
			f.write(t, "busy/.keep", nil)
			st, err := store.Create(f.path("busy/model.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return []string{"classify", "--model", f.path("busy/model.db")}
		}, "", 1, `busy/model\.db: store is in use by another process \(a running seqclf\?\); wait for it to finish or use another file$`},
		{"model store", "an output_dir where another run trains (its checkpoint.db locked)", func(f *fixtures, t *testing.T) []string {
			f.write(t, "training/.keep", nil)
			st, err := store.Create(f.path("training/checkpoint.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return []string{"pipeline", "run", f.textConfig(t, "c.yaml", "train.tsv", "training")}
		}, "", 1, `training/checkpoint\.db: store is in use by another process`},
		{"model store", "a dictionary without a trained model", classify("vocab.db"), "", 1, `vocab\.db holds no trained model`},
		{"model store", "quantize a model that is int8 already", func(f *fixtures, t *testing.T) []string {
			q := f.path("int8.db")
			if _, err := run(t, "", "model", "quantize", f.textModel, q); err != nil {
				t.Fatal(err)
			}
			return []string{"model", "quantize", q, f.path("again.db")}
		}, "", 1, `model quantize: .*int8\.db is quantized already$`},
		{"model store", "a text model given images", classify("text", "--images", "images.idx"), "", 1, `is a text model; give it text on standard input$`},
		{"model store", "an image model given text", classify("mnist"), "x\n", 1, `is a model of mnist images, not of text: give the images with --images$`},
		{"model store", "--resume with another config", func(f *fixtures, t *testing.T) []string {
			return []string{"pipeline", "run", f.textConfig(t, "c.yaml", "train.tsv", "text", "train.epochs=3", "lstm.num_units=5"), "--resume"}
		}, "", 1, `^--resume: .*text/checkpoint\.db: bad configuration: lstm\.num_units is 5, but the checkpoint was trained with 4; resume with the same config, or run without --resume to start again$`},

		{"evaluate", "a label the model does not know", func(f *fixtures, t *testing.T) []string {
			f.write(t, "eggs.tsv", []byte("ham\tsee you\nspam\tfree money\neggs\tscrambled\n"))
			return []string{"evaluate", "--model", f.textModel, f.path("eggs.tsv")}
		}, "", 1, `^bad source: .*eggs\.tsv:3: the label "eggs" is not one of the model's classes \(ham, spam\)$`},
		{"evaluate", "a config without a test set", func(f *fixtures, t *testing.T) []string {
			return []string{"evaluate", "--model", f.textModel, "--config", f.path("text.yaml")}
		}, "", 1, `text\.yaml has no test set \(neither source\.test nor source\.test_split\): give a FILE of labelled texts$`},
		{"evaluate", "a text file for an image model", func(f *fixtures, t *testing.T) []string {
			return []string{"evaluate", "--model", f.imgModel, f.path("train.tsv")}
		}, "", 1, `is a model of mnist images, not of text: give the images with --images and --labels, not .*train\.tsv$`},
		{"evaluate", "--images without --labels", func(f *fixtures, t *testing.T) []string {
			return []string{"evaluate", "--model", f.imgModel, "--images", f.path("images.idx")}
		}, "", 1, `^--images and --labels go together: give the IDX image file and its label file$`},
	}
}

// TestBadInputs gives seqclf each bad input of docs/errors.md as a child process, and wants a
// non-zero exit status (2 for a command line that does not parse), one line on standard error
// that says what is wrong, nothing on standard output, and no file made or changed.
func TestBadInputs(t *testing.T) {
	f := newFixtures(t)
	var doc strings.Builder
	group := ""
	for _, c := range badInputs() {
		args := c.args(f, t)
		before := snapshot(t, f.dir)
		stdout, stderr, status := seqclfChild(t, f.dir, c.stdin, args...)
		line := strings.TrimSuffix(stderr, "\n")
		// The progress lines of a run that got as far as loading data come first: the error is the
		// last line, and the only one starting "seqclf:".
		lines := strings.Split(line, "\n")
		var errLines []string
		for _, l := range lines {
			if strings.HasPrefix(l, "seqclf:") || strings.Contains(l, "panic") || strings.Contains(l, "goroutine ") {
				errLines = append(errLines, l)
			}
		}
		msg := strings.TrimPrefix(lines[len(lines)-1], "seqclf: ")
		switch {
		case status != c.status:
			t.Errorf("%s, %s: exit status %d, want %d; stderr:\n%s", c.group, c.what, status, c.status, stderr)
		case len(errLines) != 1 || errLines[0] != lines[len(lines)-1]:
			t.Errorf("%s, %s: want one error line, last; stderr:\n%s", c.group, c.what, stderr)
		case !regexp.MustCompile(c.want).MatchString(msg):
			t.Errorf("%s, %s: error %q does not match %q", c.group, c.what, msg, c.want)
		case stdout != "":
			t.Errorf("%s, %s: wrote to standard output: %q", c.group, c.what, stdout)
		}
		after := snapshot(t, f.dir)
		for p, h := range after {
			if before[p] != h {
				t.Errorf("%s, %s: left %s behind (or changed it)", c.group, c.what, p)
			}
		}
		for p := range before {
			if _, ok := after[p]; !ok {
				t.Errorf("%s, %s: removed %s", c.group, c.what, p)
			}
		}
		if c.group != group {
			group = c.group
			fmt.Fprintf(&doc, "| **%s** | | | |\n", group)
		}
		shown := strings.ReplaceAll(msg, f.dir+"/", "")
		shown = strings.ReplaceAll(shown, "|", `\|`)
		fmt.Fprintf(&doc, "| %s | `seqclf %s` | %d | `%s` |\n", c.what, strings.ReplaceAll(strings.Join(args, " "), f.dir+"/", ""), status, shown)
	}
	checkDocTable(t, "badinputs", doc.String())
}

// checkDocTable compares the rows between the markers <!-- name --> and <!-- /name --> of
// docs/errors.md with table, or writes them with -update-errors-doc.
func checkDocTable(t *testing.T, name, table string) {
	t.Helper()
	const path = "../../docs/errors.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	start, end := "<!-- "+name+" -->\n", "<!-- /"+name+" -->"
	i, j := bytes.Index(b, []byte(start)), bytes.Index(b, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers %q and %q", path, start, end)
	}
	header := "| input | command | exit | standard error (after `seqclf: `) |\n|---|---|---|---|\n"
	got := string(b[i+len(start) : j])
	if *updateErrorsDoc {
		out := slices.Concat(b[:i+len(start)], []byte(header+table), b[j:])
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got != header+table {
		t.Errorf("%s is not what the test saw; rerun with -update-errors-doc. Saw:\n%s", path, header+table)
	}
}

// TestClassifyBrokenPipe closes classify's standard output after its first line: seqclf must
// end (SIGPIPE, as cat does) rather than go on reading, and print nothing.
func TestClassifyBrokenPipe(t *testing.T) {
	f := &fixtures{dir: t.TempDir()}
	f.write(t, "train.tsv", []byte(goodTSV))
	if _, err := run(t, "", "pipeline", "run", f.textConfig(t, "text.yaml", "train.tsv", "text")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "classify", "--model", f.path("text/model.db"), "--batch-size", "1")
	cmd.Env = append(os.Environ(), "SEQCLF_TEST_MAIN=1")
	pr, pw := io.Pipe()
	defer pw.Close()
	cmd.Stdin = pr
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// An endless input: only the closed output can stop it.
	go func() {
		for {
			if _, err := pw.Write([]byte("free money now\n")); err != nil {
				return
			}
		}
	}()
	first := make([]byte, 1)
	if _, err := stdout.Read(first); err != nil {
		t.Fatal(err)
	}
	stdout.Close()
	err = cmd.Wait()
	pr.Close()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if err == nil || !ok || !ws.Signaled() || ws.Signal() != syscall.SIGPIPE {
		t.Errorf("classify into a closed pipe: %v, want the end by SIGPIPE", err)
	}
	if stderr.Len() != 0 {
		t.Errorf("classify into a closed pipe wrote %q", stderr.String())
	}
}

// TestAcceptedInputs gives seqclf the odd inputs that are not mistakes: text that is not UTF-8
// (read as Latin-1), NUL bytes, a 10 MB line, and empty, long and binary lines to classify.
func TestAcceptedInputs(t *testing.T) {
	f := &fixtures{dir: t.TempDir()}
	long := strings.Repeat("free money for the meeting on tuesday ", 10<<20/38+1)
	f.write(t, "odd.tsv", []byte(goodTSV+
		"ham\tSee you at the caf\xe9 on Monday\n"+ // Latin-1
		"spam\tWin\x00 a prize\x00\x00 today\n"+
		"spam\t"+long+"\n"))
	if _, err := run(t, "", "pipeline", "run", f.textConfig(t, "c.yaml", "odd.tsv", "out")); err != nil {
		t.Fatal(err)
	}
	model := f.path("out/model.db")
	show, err := run(t, "", "vocab", "show", model, "café")
	if err != nil || !strings.Contains(show, `"café": id`) {
		t.Errorf("a Latin-1 line: the dictionary lacks café: %v\n%s", err, show)
	}
	in := []string{"", "free money", "", "\x00\xff\xfe\x01binary\x7f", long[:1<<20], "last, without a newline"}
	out, err := run(t, strings.Join(in, "\n"), "classify", "--model", model, "--batch-size", "2")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(in) {
		t.Fatalf("%d input lines gave %d output lines:\n%s", len(in), len(lines), out)
	}
	for _, l := range lines {
		if !regexp.MustCompile(`^(ham|spam)\t(0\.\d{4}|1\.0000)$`).MatchString(l) {
			t.Errorf("output line %q is not label<TAB>probability", l)
		}
	}
}

// forgeVersion writes at path a store that a seqclf of layout version v would have made, one
// that this seqclf does not know: bbolt's own API, since no seqclf writes it.
func forgeVersion(t *testing.T, path string, v uint32) {
	t.Helper()
	db, err := bolt.Open(path, 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("meta"))
		if err != nil {
			return err
		}
		return b.Put([]byte("format"), binary.BigEndian.AppendUint32(nil, v))
	})
	if err != nil {
		t.Fatal(err)
	}
}
