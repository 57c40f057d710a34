package idx

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var updateMNIST = flag.Bool("update-mnist", false, "rewrite testdata/mnist-t10k-20-* from ../data/mnist (scripts/fetch-data.sh mnist)")

const (
	excerptImages = "testdata/mnist-t10k-20-images-idx3-ubyte.gz"
	excerptLabels = "testdata/mnist-t10k-20-labels-idx1-ubyte.gz"
	sourceImages  = "../data/mnist/t10k-images-idx3-ubyte.gz"
	sourceLabels  = "../data/mnist/t10k-labels-idx1-ubyte.gz"
)

// encodeIDX builds an unsigned-byte IDX file: magic, dimensions, data.
func encodeIDX(ndims int, dims []uint32, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, idxTypeUbyte, byte(ndims)})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, d)
	}
	b.Write(data)
	return b.Bytes()
}

func gzipBytes(t *testing.T, raw []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestMNISTExcerpt checks the committed excerpt: the first 20 test images
// and labels of MNIST (t10k), whose labels are well known.
func TestMNISTExcerpt(t *testing.T) {
	if *updateMNIST {
		images, labels, err := ReadPair(sourceImages, sourceLabels)
		if err != nil {
			t.Fatalf("-update-mnist needs the real files (scripts/fetch-data.sh mnist): %v", err)
		}
		const n = 20
		size := images.Rows * images.Cols
		lab := make([]byte, n)
		for i := range lab {
			lab[i] = byte(labels[i])
		}
		img := encodeIDX(3, []uint32{n, uint32(images.Rows), uint32(images.Cols)}, images.Pixels[:n*size])
		if err := os.WriteFile(excerptImages, gzipBytes(t, img), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(excerptLabels, gzipBytes(t, encodeIDX(1, []uint32{n}, lab)), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	images, labels, err := ReadPair(excerptImages, excerptLabels)
	if err != nil {
		t.Fatal(err)
	}
	if images.Count != 20 || images.Rows != 28 || images.Cols != 28 || len(images.Pixels) != 20*28*28 {
		t.Fatalf("excerpt is %d×%d×%d (%d bytes), want 20×28×28", images.Count, images.Rows, images.Cols, len(images.Pixels))
	}
	// The first 20 labels of the MNIST test set.
	want := []int{7, 2, 1, 0, 4, 1, 4, 9, 5, 9, 0, 6, 9, 0, 1, 5, 9, 7, 3, 4}
	if !slices.Equal(labels, want) {
		t.Errorf("labels = %v, want %v", labels, want)
	}
	// MNIST digits are centred in a 20×20 box inside the 28×28 frame: the
	// border rows and columns of every image are blank.
	for i := 0; i < images.Count; i++ {
		img := images.Pixels[i*784 : (i+1)*784]
		for k := 0; k < 28; k++ {
			if img[k] != 0 || img[27*28+k] != 0 || img[k*28] != 0 || img[k*28+27] != 0 {
				t.Fatalf("image %d has ink on its border", i)
			}
		}
	}

	// When the real files are present, the excerpt must be their prefix.
	if _, err := os.Stat(sourceImages); err != nil {
		t.Logf("%s not present (scripts/fetch-data.sh mnist); excerpt not compared with its source", sourceImages)
		return
	}
	full, fullLabels, err := ReadPair(sourceImages, sourceLabels)
	if err != nil {
		t.Fatal(err)
	}
	if full.Count != 10000 {
		t.Errorf("%s holds %d images, want 10000", sourceImages, full.Count)
	}
	if !bytes.Equal(full.Pixels[:20*784], images.Pixels) || !slices.Equal(fullLabels[:20], labels) {
		t.Errorf("excerpt differs from the first 20 items of %s; regenerate it with go test -run TestMNISTExcerpt -update-mnist", sourceImages)
	}
}

func TestReadIDXRawAndGzip(t *testing.T) {
	// A 2×3 image of bytes 0..5 and a second of 6..11, written raw and
	// gzipped; the reader tells them apart by content, so names lie.
	pix := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255}
	raw := encodeIDX(3, []uint32{2, 2, 3}, pix)
	for name, data := range map[string][]byte{"raw.gz": raw, "gzipped.idx": gzipBytes(t, raw)} {
		im, err := ReadImages(writeFile(t, name, data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if im.Count != 2 || im.Rows != 2 || im.Cols != 3 || !bytes.Equal(im.Pixels, pix) {
			t.Errorf("%s: got %d×%d×%d %v", name, im.Count, im.Rows, im.Cols, im.Pixels)
		}
	}
	labels, err := ReadLabels(writeFile(t, "l", encodeIDX(1, []uint32{3}, []byte{9, 0, 200})))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(labels, []int{9, 0, 200}) {
		t.Errorf("labels = %v", labels)
	}
}

func TestFillBatch(t *testing.T) {
	// Two 2×3 images:  image 0 = [0 1 2; 3 4 5], image 1 = [6 7 8; 9 10 255].
	im := &Images{Path: "x", Count: 2, Rows: 2, Cols: 3, Pixels: []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255}}
	s := func(v ...float32) []float32 {
		for i := range v {
			v[i] /= 255
		}
		return v
	}

	// Rows: 2 steps of 3 values; batch (1, 0): step 0 = row 0 of image 1,
	// row 0 of image 0; step 1 = row 1 of image 1, row 1 of image 0.
	if im.TimeStep(SliceRows) != 2 || im.InputSize(SliceRows) != 3 {
		t.Fatalf("rows: %d steps of %d", im.TimeStep(SliceRows), im.InputSize(SliceRows))
	}
	dst := make([]float32, 2*2*3)
	im.FillBatch(dst, []int{1, 0}, SliceRows)
	if want := s(6, 7, 8, 0, 1, 2, 9, 10, 255, 3, 4, 5); !slices.Equal(dst, want) {
		t.Errorf("rows:\n got %v\nwant %v", dst, want)
	}
	if dst[8] != 1 || dst[0] != 6.0/255 {
		t.Errorf("scaling: 255 → %v, 6 → %v", dst[8], dst[0])
	}

	// Columns: 3 steps of 2 values; batch (0, 1).
	if im.TimeStep(SliceColumns) != 3 || im.InputSize(SliceColumns) != 2 {
		t.Fatalf("columns: %d steps of %d", im.TimeStep(SliceColumns), im.InputSize(SliceColumns))
	}
	dst = make([]float32, 3*2*2)
	im.FillBatch(dst, []int{0, 1}, SliceColumns)
	if want := s(0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 255); !slices.Equal(dst, want) {
		t.Errorf("columns:\n got %v\nwant %v", dst, want)
	}

	for _, bad := range []struct {
		dst []float32
		idx []int
	}{{make([]float32, 5), []int{0}}, {make([]float32, 6), []int{2}}, {make([]float32, 6), []int{-1}}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("FillBatch(len %d, %v) did not panic", len(bad.dst), bad.idx)
				}
			}()
			im.FillBatch(bad.dst, bad.idx, SliceRows)
		}()
	}
}

func TestFillBatchMNISTRow(t *testing.T) {
	images, err := ReadImages(excerptImages)
	if err != nil {
		t.Fatal(err)
	}
	// Step 14 of image 3 (a 0), sliced by rows, is its middle row of pixels.
	dst := make([]float32, 28*2*28)
	images.FillBatch(dst, []int{0, 3}, SliceRows)
	got := dst[(14*2+1)*28 : (14*2+2)*28]
	row := images.Pixels[3*784+14*28 : 3*784+15*28]
	ink := 0
	for k := range got {
		if got[k] != float32(row[k])/255 || got[k] < 0 || got[k] > 1 {
			t.Fatalf("value %d = %v, pixel %d", k, got[k], row[k])
		}
		if got[k] > 0 {
			ink++
		}
	}
	if ink == 0 {
		t.Errorf("the middle row of a 0 has no ink")
	}
}

func TestCheckShape(t *testing.T) {
	im := &Images{Path: "small.idx", Count: 1, Rows: 20, Cols: 24, Pixels: make([]byte, 480)}
	if err := im.CheckShape(Shape{20, 24}, SliceRows); err != nil {
		t.Errorf("rows: %v", err)
	}
	if err := im.CheckShape(Shape{24, 20}, SliceColumns); err != nil {
		t.Errorf("columns: %v", err)
	}
	err := im.CheckShape(Shape{28, 28}, SliceRows)
	if err == nil || !strings.Contains(err.Error(), "small.idx") || !strings.Contains(err.Error(), "20×24") ||
		!strings.Contains(err.Error(), "28 steps of 28") {
		t.Errorf("CheckShape(28, 28) = %v", err)
	}
}

func TestParseSlice(t *testing.T) {
	for in, want := range map[string]Slice{"": SliceRows, "rows": SliceRows, "Columns": SliceColumns} {
		if got, err := ParseSlice(in); err != nil || got != want {
			t.Errorf("ParseSlice(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseSlice("diagonals"); err == nil || !strings.Contains(err.Error(), "rows or columns") {
		t.Errorf("ParseSlice(diagonals) = %v", err)
	}
	if SliceColumns.String() != "columns" || SliceRows.String() != "rows" {
		t.Errorf("String: %v %v", SliceRows, SliceColumns)
	}
}

func TestReadIDXErrors(t *testing.T) {
	img := encodeIDX(3, []uint32{2, 2, 2}, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	gz := gzipBytes(t, img)
	badCRC := slices.Clone(gz)
	badCRC[len(badCRC)-8] ^= 0xff // the CRC-32 in the gzip trailer

	cases := []struct {
		name   string
		data   []byte
		labels bool     // read as labels instead of images
		want   []string // substrings of the error
	}{
		{"empty", nil, false, []string{"empty"}},
		{"short-magic", []byte{0, 0}, false, []string{"only 2 bytes", "too short"}},
		{"short-magic-gzip", gzipBytes(t, []byte{0, 0, 8}), false, []string{"only 3 bytes", "too short"}},
		{"text", []byte("label\ttext\nspam\thello\n"), false, []string{"magic number 0x6c616265", "not that of an IDX image file"}},
		{"labels-as-images", encodeIDX(1, []uint32{1}, []byte{3}), false, []string{"IDX label file", "swapped"}},
		{"images-as-labels", img, true, []string{"IDX image file", "swapped"}},
		{"float-type", []byte{0, 0, 0x0d, 3, 0, 0, 0, 1}, false, []string{"data type 0x0d", "not supported"}},
		{"short-header", img[:9], false, []string{"truncated", "header"}},
		{"short-data", img[:len(img)-3], false, []string{"truncated", "2×2×2", "8 bytes", "holds 5 bytes of it (whole images: 1)", "fetch it again"}},
		{"short-gzip", gz[:len(gz)-12], false, []string{"truncated"}},
		{"gzip-checksum", badCRC, false, []string{"corrupt gzip", "checksum"}},
		{"bad-gzip-header", []byte{0x1f, 0x8b, 0, 0}, false, []string{"gzip"}},
		{"trailing", append(slices.Clone(img), 0), false, []string{"more data than its header declares"}},
		{"zero-count", encodeIDX(3, []uint32{0, 28, 28}, nil), false, []string{"0 images"}},
		{"zero-rows", encodeIDX(3, []uint32{1, 0, 28}, nil), false, []string{"1×0×28", "at least 1"}},
		{"huge-header", encodeIDX(3, []uint32{0xffffffff, 0xffffffff, 0xffffffff}, []byte{1, 2}), false, []string{"header is corrupt"}},
		{"huge-but-short", encodeIDX(3, []uint32{100000, 200, 200}, []byte{1, 2}), false, []string{"truncated", "holds 2 bytes"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, c.name, c.data)
			var err error
			if c.labels {
				_, err = ReadLabels(path)
			} else {
				_, err = ReadImages(path)
			}
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.Contains(msg, path) {
				t.Errorf("error does not name the file: %v", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q: %v", w, msg)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
		})
	}

	missing := filepath.Join(t.TempDir(), "missing.gz")
	if _, err := ReadLabels(missing); err == nil || !strings.Contains(err.Error(), missing+": no such file; check the path") {
		t.Errorf("missing file: %v", err)
	}
	dir := t.TempDir()
	if _, err := ReadImages(dir); err == nil || !strings.Contains(err.Error(), dir+" is a directory") {
		t.Errorf("directory: %v", err)
	}
}

func TestReadPairCountMismatch(t *testing.T) {
	images := writeFile(t, "images", encodeIDX(3, []uint32{3, 1, 1}, []byte{1, 2, 3}))
	labels := writeFile(t, "labels", encodeIDX(1, []uint32{2}, []byte{0, 1}))
	_, _, err := ReadPair(images, labels)
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{images, labels, "3 images", "2 labels"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
	if _, _, err := ReadPair(images, writeFile(t, "l3", encodeIDX(1, []uint32{3}, []byte{0, 1, 2}))); err != nil {
		t.Errorf("matching pair: %v", err)
	}
}

// FuzzDecodeIDXImages checks that no input makes the reader panic, and that
// what it accepts is consistent with its header.
func FuzzDecodeIDXImages(f *testing.F) {
	f.Add(encodeIDX(3, []uint32{2, 2, 2}, []byte{1, 2, 3, 4, 5, 6, 7, 8}))
	f.Add(encodeIDX(1, []uint32{1}, []byte{3}))
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	f.Add([]byte{})
	if data, err := os.ReadFile(excerptLabels); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		im, err := DecodeImages(bytes.NewReader(data), "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "mnist images: fuzz: ") {
				t.Errorf("error does not name the input: %v", err)
			}
			return
		}
		if im.Count < 1 || im.Rows < 1 || im.Cols < 1 || len(im.Pixels) != im.Count*im.Rows*im.Cols {
			t.Errorf("accepted %d×%d×%d with %d bytes", im.Count, im.Rows, im.Cols, len(im.Pixels))
		}
		dst := make([]float32, im.Rows*im.Cols)
		im.FillBatch(dst, []int{im.Count - 1}, SliceColumns)
	})
}
