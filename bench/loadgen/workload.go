package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/seqclf/seqclf/idx"
)

// textWorkload reads one text a line and makes each a POST /v1/classify body, {"texts": [text]}.
func textWorkload(base *url.URL, path string, limit int) (workload, error) {
	w := workload{url: base.JoinPath("/v1/classify").String(), source: path}
	f, err := os.Open(path)
	if err != nil {
		return w, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() && (limit == 0 || len(w.bodies) < limit) {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		b, err := json.Marshal(map[string][]string{"texts": {sc.Text()}})
		if err != nil {
			return w, err
		}
		w.bodies = append(w.bodies, b)
	}
	if err := sc.Err(); err != nil {
		return w, fmt.Errorf("%s: %w", path, err)
	}
	if len(w.bodies) == 0 {
		return w, fmt.Errorf("%s holds no text", path)
	}
	w.check = func(body []byte) error {
		var a struct {
			Predictions []struct {
				Label string `json:"label"`
			} `json:"predictions"`
		}
		if err := json.Unmarshal(body, &a); err != nil {
			return err
		}
		if len(a.Predictions) != 1 || a.Predictions[0].Label == "" {
			return errors.New("want one prediction with a label")
		}
		return nil
	}
	return w, nil
}

// tensorMeta is an input or output of the Open Inference Protocol's model metadata.
type tensorMeta struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// imageWorkload reads the images of an IDX file and makes each a POST /v2/models/NAME/infer
// body: one FP32 tensor of the input the model's metadata names, its pixels scaled to [0, 1]
// as training scaled them.
func imageWorkload(ctx context.Context, client *http.Client, base *url.URL, name, path string, limit int) (workload, error) {
	w := workload{url: base.JoinPath("/v2/models", name, "infer").String(), source: path}
	in, err := modelInput(ctx, client, base, name)
	if err != nil {
		return w, err
	}
	im, err := idx.ReadImages(path)
	if err != nil {
		return w, err
	}
	pixels := im.Rows * im.Cols
	// The shape with a batch of 1; the metadata gives -1 for the batch (and any other free size).
	shape := make([]int64, len(in.Shape))
	n := int64(1)
	for i, s := range in.Shape {
		shape[i] = s
		if s < 0 {
			shape[i] = 1
		}
		n *= shape[i]
	}
	if n != int64(pixels) {
		return w, fmt.Errorf("model %s wants an input of shape %v; %s holds %d×%d images", name, in.Shape, path, im.Rows, im.Cols)
	}
	if in.Datatype != "FP32" {
		return w, fmt.Errorf("model %s wants %s input %s; loadgen sends FP32", name, in.Datatype, in.Name)
	}
	count := im.Count
	if limit > 0 {
		count = min(count, limit)
	}
	type tensor struct {
		Name     string    `json:"name"`
		Shape    []int64   `json:"shape"`
		Datatype string    `json:"datatype"`
		Data     []float32 `json:"data"`
	}
	data := make([]float32, pixels)
	for i := range count {
		for j, p := range im.Pixels[i*pixels : (i+1)*pixels] {
			data[j] = float32(p) / 255
		}
		b, err := json.Marshal(map[string][]tensor{"inputs": {{in.Name, shape, "FP32", data}}})
		if err != nil {
			return w, err
		}
		w.bodies = append(w.bodies, b)
	}
	if len(w.bodies) == 0 {
		return w, fmt.Errorf("%s holds no image", path)
	}
	w.check = func(body []byte) error {
		var a struct {
			Outputs []tensorMeta `json:"outputs"`
		}
		if err := json.Unmarshal(body, &a); err != nil {
			return err
		}
		if len(a.Outputs) == 0 {
			return errors.New("want outputs")
		}
		return nil
	}
	return w, nil
}

// modelInput asks the server for the model's metadata (GET /v2/models/NAME) and returns its
// one input.
func modelInput(ctx context.Context, client *http.Client, base *url.URL, name string) (tensorMeta, error) {
	u := base.JoinPath("/v2/models", name).String()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return tensorMeta{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return tensorMeta{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return tensorMeta{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return tensorMeta{}, fmt.Errorf("GET %s: %s: %.200s", u, resp.Status, body)
	}
	var m struct {
		Inputs []tensorMeta `json:"inputs"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return tensorMeta{}, fmt.Errorf("GET %s: %w", u, err)
	}
	if len(m.Inputs) != 1 {
		return tensorMeta{}, fmt.Errorf("GET %s: the model has %d inputs; loadgen sends one", u, len(m.Inputs))
	}
	return m.Inputs[0], nil
}

// textsCmd writes the "text" of each line of a JSONL file (gzip-compressed or not), one a line:
// line breaks and tabs become spaces, so that `seqclf classify` and loadgen read the same texts.
func textsCmd(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: loadgen texts FILE.jsonl[.gz]")
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var src io.Reader = r
	if magic, _ := r.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		z, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("%s: %w", args[0], err)
		}
		src = z
	}
	out := bufio.NewWriter(os.Stdout)
	sc := bufio.NewScanner(src)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	flatten := strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ", "\t", " ")
	line := 0
	for sc.Scan() {
		line++
		var doc struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			return fmt.Errorf("%s:%d: %w", args[0], line, err)
		}
		if t := strings.TrimSpace(flatten.Replace(doc.Text)); t != "" {
			fmt.Fprintln(out, t)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	return out.Flush()
}
