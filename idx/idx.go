package idx

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// IDX files are the format MNIST is distributed in: a 4-byte magic number
// (two zero bytes, a data-type code, the number of dimensions), one
// big-endian uint32 per dimension, then the data, row-major.
const (
	idxTypeUbyte  = 0x08
	idxMagicImage = 0x00000803 // unsigned bytes, 3 dimensions: count, rows, columns
	idxMagicLabel = 0x00000801 // unsigned bytes, 1 dimension: count
)

// maxIDXBytes bounds the data a header may declare (8 GiB), so that a
// corrupt header is reported instead of attempted. MNIST's training
// images are 47 MB.
const maxIDXBytes = 1 << 33

// Slice says how an image becomes a sequence of time steps: one row of
// pixels per step (the seed's "28 time steps of 28 pixels") or one column
// per step.
type Slice int

const (
	// SliceRows feeds row t of the image at time step t: time_step is the
	// image height and the input size its width.
	SliceRows Slice = iota
	// SliceColumns feeds column t at time step t: time_step is the image
	// width and the input size its height.
	SliceColumns
)

// ParseSlice reads the config's `slice` value: "rows" (or "") or "columns".
func ParseSlice(s string) (Slice, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "rows":
		return SliceRows, nil
	case "columns":
		return SliceColumns, nil
	}
	return 0, fmt.Errorf("slice: %q is not a slicing; use rows or columns", s)
}

// String returns the config spelling: "rows" or "columns".
func (s Slice) String() string {
	if s == SliceColumns {
		return "columns"
	}
	return "rows"
}

// Images holds the images of one IDX file as the raw bytes it stores, so
// MNIST's 60000 training images take 47 MB rather than four times that as
// float32. FillBatch scales them to [0, 1] a batch at a time.
type Images struct {
	// Path is the file the images were read from, for messages.
	Path string
	// Count, Rows and Cols are the dimensions from the file's header.
	Count, Rows, Cols int
	// Pixels holds Count images of Rows×Cols bytes each, row-major.
	Pixels []byte
}

// ReadImages reads an IDX image file (magic 0x00000803), raw or
// gzip-compressed; the compression is detected from the file's first bytes,
// not its name. Errors name the file and say what is wrong with it.
func ReadImages(path string) (*Images, error) {
	f, err := openIDX(path, "images")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return DecodeImages(f, path)
}

// DecodeImages reads IDX images from r, as ReadImages does; name is
// used in error messages (and stored in Images.Path).
func DecodeImages(r io.Reader, name string) (*Images, error) {
	dims, data, err := decodeIDX(r, name, idxMagicImage)
	if err != nil {
		return nil, err
	}
	return &Images{Path: name, Count: dims[0], Rows: dims[1], Cols: dims[2], Pixels: data}, nil
}

// ReadLabels reads an IDX label file (magic 0x00000801), raw or
// gzip-compressed, and returns one label per image, each in 0..255.
func ReadLabels(path string) ([]int, error) {
	f, err := openIDX(path, "labels")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return DecodeLabels(f, path)
}

// DecodeLabels reads IDX labels from r, as ReadLabels does; name is
// used in error messages.
func DecodeLabels(r io.Reader, name string) ([]int, error) {
	_, data, err := decodeIDX(r, name, idxMagicLabel)
	if err != nil {
		return nil, err
	}
	labels := make([]int, len(data))
	for i, b := range data {
		labels[i] = int(b)
	}
	return labels, nil
}

// ReadPair reads an image file and its label file and checks that they
// hold the same number of items, so that image i is labelled labels[i].
func ReadPair(imagesPath, labelsPath string) (*Images, []int, error) {
	images, err := ReadImages(imagesPath)
	if err != nil {
		return nil, nil, err
	}
	labels, err := ReadLabels(labelsPath)
	if err != nil {
		return nil, nil, err
	}
	if len(labels) != images.Count {
		return nil, nil, fmt.Errorf("mnist: %s holds %d images but %s holds %d labels; "+
			"give the label file that belongs to these images", imagesPath, images.Count, labelsPath, len(labels))
	}
	return images, labels, nil
}

// TimeStep returns the number of time steps one image makes when sliced by s.
func (im *Images) TimeStep(s Slice) int {
	if s == SliceColumns {
		return im.Cols
	}
	return im.Rows
}

// InputSize returns the length of the vector fed at each time step when
// the images are sliced by s.
func (im *Images) InputSize(s Slice) int {
	if s == SliceColumns {
		return im.Rows
	}
	return im.Cols
}

// Shape is the sequence an image makes for the LSTM: TimeStep steps of InputSize values.
type Shape struct {
	TimeStep, InputSize int
}

// Shape returns the sequence each image makes when sliced by s.
func (im *Images) Shape(s Slice) Shape { return Shape{im.TimeStep(s), im.InputSize(s)} }

// CheckShape returns an error, naming the file, if images sliced by s do not
// make the sequences want says: for example a model trained on 28×28 images
// given a file of 20×20 ones.
func (im *Images) CheckShape(want Shape, s Slice) error {
	timeStep, inputSize := want.TimeStep, want.InputSize
	if im.TimeStep(s) == timeStep && im.InputSize(s) == inputSize {
		return nil
	}
	return fmt.Errorf("mnist: %s holds %d×%d images, which sliced by %s make %d steps of %d values, "+
		"but the model expects %d steps of %d; use images of the size the model was trained on",
		im.Path, im.Rows, im.Cols, s, im.TimeStep(s), im.InputSize(s), timeStep, inputSize)
}

// pixelScale maps a byte to [0, 1].
var pixelScale = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

// FillBatch writes the images idx[0], idx[1], ... into dst, time-major, as
// the LSTM takes them: dst[(t*len(idx)+b)*InputSize(s)+k] is value k of
// time step t of image idx[b], a pixel scaled to [0, 1]. dst must hold
// exactly TimeStep(s)·len(idx)·InputSize(s) values; it is overwritten and
// nothing is allocated.
//
// FillBatch panics if dst has the wrong length or an index is out of range:
// both are mistakes of the calling code, not of the data.
func (im *Images) FillBatch(dst []float32, idx []int, s Slice) {
	steps, in, batch := im.TimeStep(s), im.InputSize(s), len(idx)
	if len(dst) != steps*batch*in {
		panic(fmt.Sprintf("idx: FillBatch: dst has %d values, want time_step %d × batch %d × input %d = %d",
			len(dst), steps, batch, in, steps*batch*in))
	}
	size := im.Rows * im.Cols
	for b, i := range idx {
		if i < 0 || i >= im.Count {
			panic(fmt.Sprintf("idx: FillBatch: image index %d out of range [0, %d)", i, im.Count))
		}
		img := im.Pixels[i*size : (i+1)*size]
		for t := 0; t < steps; t++ {
			out := dst[(t*batch+b)*in : (t*batch+b+1)*in]
			if s == SliceColumns {
				for k := range out {
					out[k] = pixelScale[img[k*im.Cols+t]]
				}
			} else {
				for k, p := range img[t*im.Cols : (t+1)*im.Cols] {
					out[k] = pixelScale[p]
				}
			}
		}
	}
}

// openIDX opens path for reading, with errors that say what to do.
func openIDX(path, kind string) (*os.File, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("mnist %s: %s: no such file; check the path (scripts/fetch-data.sh mnist puts MNIST in data/mnist)", kind, path)
	}
	if err != nil {
		return nil, fmt.Errorf("mnist %s: %w", kind, err)
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("mnist %s: %s is a directory; give the path of an IDX file", kind, path)
	}
	return f, nil
}

// decodeIDX reads one unsigned-byte IDX file whose magic must be want and
// returns its dimensions and data.
func decodeIDX(r io.Reader, name string, want uint32) ([]int, []byte, error) {
	kind, other := "image", "label"
	if want == idxMagicLabel {
		kind, other = "label", "image"
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("mnist %ss: %s: %s", kind, name, fmt.Sprintf(format, args...))
	}

	br := bufio.NewReader(r)
	src := io.Reader(br)
	compressed := false
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fail("bad gzip header (%v); the file is damaged, fetch it again (scripts/fetch-data.sh mnist)", err)
		}
		defer zr.Close()
		zr.Multistream(false)
		src, compressed = zr, true
	}
	// readErr explains a failed read: a short file, or damaged compression.
	readErr := func(what string, err error) error {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fail("truncated: the file ends inside the %s; it was cut short, fetch it again (scripts/fetch-data.sh mnist)", what)
		}
		if compressed {
			return fail("corrupt gzip data in the %s (%v); fetch the file again (scripts/fetch-data.sh mnist)", what, err)
		}
		return fail("reading the %s: %v", what, err)
	}

	var magicBytes [4]byte
	if n, err := io.ReadFull(src, magicBytes[:]); err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return nil, nil, fail("the file is empty; give an IDX %s file such as t10k-%ss-idx%d-ubyte.gz", kind, kind, idxDims(want))
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, nil, fail("only %d bytes: too short to be an IDX file; give an MNIST-format %s file, raw or .gz", n, kind)
		}
		return nil, nil, readErr("4-byte magic number", err)
	}
	magic := binary.BigEndian.Uint32(magicBytes[:])
	if magic != want {
		switch {
		case magic == idxMagicImage || magic == idxMagicLabel:
			return nil, nil, fail("magic number 0x%08x is that of an IDX %s file, not of an IDX %s file (0x%08x); "+
				"the %s and %s paths look swapped", magic, other, kind, want, kind, other)
		case magicBytes[0] == 0 && magicBytes[1] == 0 && magicBytes[2] != idxTypeUbyte:
			return nil, nil, fail("IDX data type 0x%02x is not supported; seqclf reads unsigned-byte IDX files (type 0x08) as MNIST distributes them",
				magicBytes[2])
		default:
			return nil, nil, fail("magic number 0x%08x is not that of an IDX %s file (0x%08x); "+
				"give an MNIST-format %s file, raw or .gz", magic, kind, want, kind)
		}
	}

	nd := idxDims(want)
	header := make([]byte, 4*nd)
	if _, err := io.ReadFull(src, header); err != nil {
		return nil, nil, readErr("header", err)
	}
	dims := make([]int, nd)
	total := uint64(1)
	for i := range dims {
		d := binary.BigEndian.Uint32(header[4*i:])
		if d == 0 {
			if i == 0 {
				return nil, nil, fail("the header declares 0 %ss; the file holds no data", kind)
			}
			return nil, nil, fail("the header declares images of %s pixels; rows and columns must be at least 1", dimString(header))
		}
		dims[i] = int(d)
		// Both factors are below 2^33, so the product cannot overflow
		// before the check.
		total *= uint64(d)
		if total > maxIDXBytes {
			return nil, nil, fail("the header declares %s, more than %d bytes of data; the header is corrupt", dimString(header), uint64(maxIDXBytes))
		}
	}

	data, err := readIDXData(src, total)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, nil, readErr("data", err)
	}
	if uint64(len(data)) >= total && err != nil {
		return nil, nil, readErr("gzip checksum", err)
	}
	if uint64(len(data)) < total {
		per := total / uint64(dims[0])
		return nil, nil, fail("truncated: the header declares %s (%d bytes of data) but the file holds %d bytes of it (whole %ss: %d); "+
			"it was cut short, fetch it again (scripts/fetch-data.sh mnist)", dimString(header), total, len(data), kind, uint64(len(data))/per)
	}
	if uint64(len(data)) > total {
		return nil, nil, fail("the file holds more data than its header declares (%s); it is not a valid IDX %s file", dimString(header), kind)
	}
	if compressed {
		// Read to the end of the gzip stream so its checksum is verified.
		if _, err := io.Copy(io.Discard, src); err != nil {
			return nil, nil, readErr("end of the gzip stream", err)
		}
	}
	return dims, data, nil
}

// idxPrealloc is the most data readIDXData allocates at once on the word of a header.
const idxPrealloc = 1 << 28

// readIDXData reads what the header promises and one byte more (to tell a file that holds more).
// Up to idxPrealloc bytes it reads into one buffer of the promised size, so that MNIST's 47 MB
// cost 47 MB and not the twice as much of a growing buffer; beyond that it grows the buffer as
// data arrives, so that a corrupt header on a short file costs no more memory than the file.
func readIDXData(src io.Reader, total uint64) ([]byte, error) {
	if total > idxPrealloc {
		return io.ReadAll(io.LimitReader(src, int64(total)+1))
	}
	data := make([]byte, total, total+1)
	n, err := io.ReadFull(src, data)
	if err == io.EOF {
		err = nil // an empty body: the length check reports it
	}
	if err != nil {
		return data[:n], err
	}
	m, err := io.ReadFull(src, data[total:total+1])
	if err == io.EOF {
		err = nil
	}
	return data[:total+uint64(m)], err
}

// idxDims returns the number of dimensions a magic number declares.
func idxDims(magic uint32) int { return int(magic & 0xff) }

// dimString formats header dimensions as "10000×28×28".
func dimString(header []byte) string {
	parts := make([]string, len(header)/4)
	for i := range parts {
		parts[i] = fmt.Sprint(binary.BigEndian.Uint32(header[4*i:]))
	}
	return strings.Join(parts, "×")
}
