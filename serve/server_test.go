package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seqclf/seqclf"
	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/idx"
	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/store"
	"github.com/seqclf/seqclf/vocab"
)

// The saved models of store/testdata, the inputs they answered and their recorded answers.
const (
	textModel    = "../store/testdata/model-v3-text.db"
	imageModel   = "../store/testdata/model-v3-mnist.db"
	textInputs   = "../store/testdata/texts.txt"
	textAnswers  = "../store/testdata/text-answers.jsonl"
	imageInputs  = "../idx/testdata/mnist-t10k-20-images-idx3-ubyte.gz"
	imageAnswers = "../store/testdata/mnist-answers.jsonl"
)

// syncBuffer is a log written by the server's goroutines and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testServer is a Server listening on a loopback port.
type testServer struct {
	*Server
	url string
	log *syncBuffer
}

// start serves the model at path on 127.0.0.1, logging JSON to ts.log; the test's end closes it.
func start(t *testing.T, path string, cfg Config) *testServer {
	t.Helper()
	ts := &testServer{log: &syncBuffer{}}
	cfg.Logger = slog.New(slog.NewJSONHandler(ts.log, nil))
	s, err := New(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	ts.Server, ts.url = s, "http://"+l.Addr().String()
	return ts
}

// do sends a request and returns the answer's status, headers and body.
func (ts *testServer) do(t *testing.T, method, path, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, ts.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// post sends v as JSON, expects status want, and decodes the answer into out (if not nil).
func (ts *testServer) post(t *testing.T, path string, v any, want int, out any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	code, _, body := ts.do(t, "POST", path, string(b))
	if code != want {
		t.Fatalf("POST %s: status %d, want %d: %s", path, code, want, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("POST %s: %v: %s", path, err, body)
		}
	}
}

func readTexts(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(textInputs)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func readAnswers(t *testing.T, path string) []seqclf.Prediction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var preds []seqclf.Prediction
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var p seqclf.Prediction
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		preds = append(preds, p)
	}
	return preds
}

// samePredictions fails t unless got has want's labels and probabilities within 1e-6.
func samePredictions(t *testing.T, what string, got, want []seqclf.Prediction) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d predictions, want %d", what, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Label != w.Label || math.Abs(float64(g.Probability-w.Probability)) > 1e-6 || len(g.Probabilities) != len(w.Probabilities) {
			t.Fatalf("%s: input %d: %+v, want %+v", what, i, g, w)
		}
		for c, p := range w.Probabilities {
			if math.Abs(float64(g.Probabilities[c]-p)) > 1e-6 {
				t.Fatalf("%s: input %d: class %s %v, want %v", what, i, c, g.Probabilities[c], p)
			}
		}
	}
}

// testResponse is an inference response with its outputs' data left to decode.
type testResponse struct {
	ModelName string `json:"model_name"`
	ID        string `json:"id"`
	Outputs   []struct {
		Name     string          `json:"name"`
		Datatype string          `json:"datatype"`
		Shape    []int           `json:"shape"`
		Data     json.RawMessage `json:"data"`
	} `json:"outputs"`
}

// predictions rebuilds Predictions from the label and probabilities outputs.
func (r *testResponse) predictions(t *testing.T, classes []string) []seqclf.Prediction {
	t.Helper()
	var labels []string
	var probs []float32
	for _, o := range r.Outputs {
		switch o.Name {
		case outputLabel:
			if o.Datatype != "BYTES" || len(o.Shape) != 1 {
				t.Fatalf("label output: %s %v", o.Datatype, o.Shape)
			}
			json.Unmarshal(o.Data, &labels)
		case outputProbs:
			if o.Datatype != "FP32" || len(o.Shape) != 2 || o.Shape[1] != len(classes) {
				t.Fatalf("probabilities output: %s %v", o.Datatype, o.Shape)
			}
			json.Unmarshal(o.Data, &probs)
		}
	}
	if len(probs) != len(labels)*len(classes) {
		t.Fatalf("%d labels and %d probabilities", len(labels), len(probs))
	}
	preds := make([]seqclf.Prediction, len(labels))
	for i, l := range labels {
		preds[i] = seqclf.Prediction{Label: l, Probabilities: map[string]float32{}}
		for j, c := range classes {
			preds[i].Probabilities[c] = probs[i*len(classes)+j]
			if c == l {
				preds[i].Probability = probs[i*len(classes)+j]
			}
		}
	}
	return preds
}

func textRequest(texts []string, nested bool) map[string]any {
	in := map[string]any{"name": "text", "datatype": "BYTES", "shape": []int{len(texts)}, "data": texts}
	if nested {
		rows := make([][]string, len(texts))
		for i, s := range texts {
			rows[i] = []string{s}
		}
		in["shape"], in["data"] = []int{len(texts), 1}, rows
	}
	return map[string]any{"id": "req-1", "inputs": []any{in}}
}

// TestHealthAndMetadata asks every GET route, and an unknown model's.
func TestHealthAndMetadata(t *testing.T) {
	ts := start(t, textModel, Config{Name: "spam", Version: "v9"})
	for _, c := range []struct{ path, want string }{
		{"/v2/health/live", `{"live":true}`},
		{"/v2/health/ready", `{"ready":true}`},
		{"/v2", `{"name":"seqclf","version":"v9","extensions":[]}`},
		{"/v2/models/spam/ready", `{"name":"spam","ready":true}`},
		{"/v2/models/spam", `{"name":"spam","platform":"seqclf","inputs":[{"name":"text","datatype":"BYTES","shape":[-1]}],` +
			`"outputs":[{"name":"label","datatype":"BYTES","shape":[-1]},{"name":"probabilities","datatype":"FP32","shape":[-1,2]}],` +
			`"parameters":{"classes":["ham","spam"],"kind":"text"}}`},
	} {
		code, h, body := ts.do(t, "GET", c.path, "")
		if code != 200 || strings.TrimSpace(string(body)) != c.want || h.Get("Content-Type") != "application/json" {
			t.Errorf("GET %s: %d %s %s, want 200 %s", c.path, code, h.Get("Content-Type"), body, c.want)
		}
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/v2/models/seqclf"}, {"GET", "/v2/models/seqclf/ready"}, {"POST", "/v2/models/other/infer"},
		{"POST", "/v2/repository/models/other/load"},
	} {
		code, _, body := ts.do(t, c.method, c.path, `{"inputs": []}`)
		var e struct{ Error string }
		if json.Unmarshal(body, &e); code != 404 || !strings.Contains(e.Error, "unknown model") {
			t.Errorf("%s %s: %d %s, want 404 and an unknown model", c.method, c.path, code, body)
		}
	}

	im := start(t, imageModel, Config{})
	code, _, body := im.do(t, "GET", "/v2/models/seqclf", "")
	want := `{"name":"seqclf","platform":"seqclf","inputs":[{"name":"image","datatype":"FP32","shape":[-1,28,28]}],` +
		`"outputs":[{"name":"label","datatype":"BYTES","shape":[-1]},{"name":"probabilities","datatype":"FP32","shape":[-1,10]}],` +
		`"parameters":{"classes":["0","1","2","3","4","5","6","7","8","9"],"kind":"mnist","pixel_range":[0,1]}}`
	if code != 200 || strings.TrimSpace(string(body)) != want {
		t.Errorf("image model metadata: %d %s, want %s", code, body, want)
	}
}

// TestInferText checks the protocol's answers for the recorded texts, flat and nested, and the
// plain endpoint's, against the answers of seqclf classify.
func TestInferText(t *testing.T) {
	ts := start(t, textModel, Config{})
	texts, want := readTexts(t), readAnswers(t, textAnswers)
	classes := []string{"ham", "spam"}
	for _, nested := range []bool{false, true} {
		var resp testResponse
		ts.post(t, "/v2/models/seqclf/infer", textRequest(texts, nested), 200, &resp)
		if resp.ModelName != "seqclf" || resp.ID != "req-1" {
			t.Errorf("model_name %q id %q", resp.ModelName, resp.ID)
		}
		samePredictions(t, fmt.Sprintf("infer (nested %v)", nested), resp.predictions(t, classes), want)
	}
	var plain classifyResponse
	ts.post(t, "/v1/classify", map[string]any{"texts": texts}, 200, &plain)
	samePredictions(t, "/v1/classify", plain.Predictions, want)

	// One output asked for; no inputs at all.
	req := textRequest(texts[:2], false)
	req["outputs"] = []map[string]string{{"name": "label"}}
	var resp testResponse
	ts.post(t, "/v2/models/seqclf/infer", req, 200, &resp)
	if len(resp.Outputs) != 1 || resp.Outputs[0].Name != "label" || string(resp.Outputs[0].Data) != `["spam","ham"]` {
		t.Errorf("outputs [label]: %+v", resp)
	}
	ts.post(t, "/v2/models/seqclf/infer", textRequest([]string{}, false), 200, &resp)
	if len(resp.Outputs) != 2 || string(resp.Outputs[0].Data) != "[]" || string(resp.Outputs[1].Data) != "[]" {
		t.Errorf("shape [0]: %+v", resp)
	}
	ts.post(t, "/v1/classify", map[string]any{"texts": []string{}}, 200, &plain)
	if plain.Predictions == nil || len(plain.Predictions) != 0 {
		t.Errorf("no texts: %+v", plain)
	}
}

// TestInferImages sends the 20 MNIST images as pixels / 255, nested and flat, and expects the
// recorded answers.
func TestInferImages(t *testing.T) {
	ts := start(t, imageModel, Config{MaxBatch: 8})
	im, err := idx.ReadImages(imageInputs)
	if err != nil {
		t.Fatal(err)
	}
	want := readAnswers(t, imageAnswers)
	flat := make([]float32, len(im.Pixels))
	for i, p := range im.Pixels {
		flat[i] = float32(p) / 255
	}
	nested := make([][][]float32, im.Count)
	for n := range nested {
		nested[n] = make([][]float32, im.Rows)
		for r := range nested[n] {
			off := (n*im.Rows + r) * im.Cols
			nested[n][r] = flat[off : off+im.Cols]
		}
	}
	classes := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	for name, data := range map[string]any{"flat": flat, "nested": nested} {
		var resp testResponse
		ts.post(t, "/v2/models/seqclf/infer", map[string]any{"inputs": []any{map[string]any{
			"name": "image", "datatype": "FP32", "shape": []int{im.Count, im.Rows, im.Cols}, "data": data}}}, 200, &resp)
		samePredictions(t, "images "+name, resp.predictions(t, classes), want)
	}
	// Concurrent requests of one image each are batched across requests.
	var wg sync.WaitGroup
	for n := range im.Count {
		wg.Go(func() {
			var resp testResponse
			ts.post(t, "/v2/models/seqclf/infer", map[string]any{"inputs": []any{map[string]any{
				"name": "image", "datatype": "FP32", "shape": []int{1, im.Rows, im.Cols}, "data": nested[n : n+1]}}}, 200, &resp)
			samePredictions(t, fmt.Sprintf("image %d alone", n), resp.predictions(t, classes), want[n:n+1])
		})
	}
	wg.Wait()
}

// TestBadRequests sends what the protocol must refuse with 400, and the plain endpoint too.
func TestBadRequests(t *testing.T) {
	text := start(t, textModel, Config{})
	image := start(t, imageModel, Config{})
	const infer = "/v2/models/seqclf/infer"
	pixels := "[" + strings.Repeat("0.5,", 28*28-1) + "0.5]"
	for _, c := range []struct {
		name       string
		ts         *testServer
		path, body string
		want       string // in the error
	}{
		{"not JSON", text, infer, `{"inputs": [`, "invalid JSON"},
		{"not an object", text, infer, `[1, 2]`, "not an inference request"},
		{"no inputs", text, infer, `{"id": "x"}`, `no "inputs"`},
		{"two inputs", text, infer, `{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["a"]}, {"name": "text", "shape": [1], "datatype": "BYTES", "data": ["b"]}]}`, "2 inputs"},
		{"unknown input", text, infer, `{"inputs": [{"name": "input-0", "shape": [1], "datatype": "BYTES", "data": ["a"]}]}`, `unknown input "input-0"`},
		{"wrong datatype", text, infer, `{"inputs": [{"name": "text", "shape": [1], "datatype": "FP32", "data": [1]}]}`, "must be BYTES"},
		{"wrong shape", text, infer, `{"inputs": [{"name": "text", "shape": [1, 2], "datatype": "BYTES", "data": ["a", "b"]}]}`, "[N] or [N, 1]"},
		{"negative shape", text, infer, `{"inputs": [{"name": "text", "shape": [-1], "datatype": "BYTES", "data": ["a"]}]}`, "cannot be negative"},
		{"shape and data differ", text, infer, `{"inputs": [{"name": "text", "shape": [3], "datatype": "BYTES", "data": ["a", "b"]}]}`, "holds 3 values but the data has 2"},
		{"huge shape", text, infer, `{"inputs": [{"name": "text", "shape": [1000000000000], "datatype": "BYTES", "data": ["a"]}]}`, "more values than the data"},
		{"numbers for texts", text, infer, `{"inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": ["a", 2]}]}`, "not a string"},
		{"null text", text, infer, `{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": [null]}]}`, "is null"},
		{"no data", text, infer, `{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES"}]}`, `no "data"`},
		{"data not an array", text, infer, `{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": "a"}]}`, "must be an array"},
		{"ragged", text, infer, `{"inputs": [{"name": "text", "shape": [2, 1], "datatype": "BYTES", "data": [["a"], ["b", "c"]]}]}`, "array of 2 at depth 2"},
		{"binary data", text, infer, `{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 4}, "data": []}]}`, "binary tensor data"},
		{"unknown output", text, infer, `{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["a"]}], "outputs": [{"name": "logits"}]}`, `unknown output "logits"`},
		{"texts to images", image, infer, `{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["a"]}]}`, `unknown input "text"`},
		{"wrong image size", image, infer, `{"inputs": [{"name": "image", "shape": [1, 2, 2], "datatype": "FP32", "data": [0, 0, 0, 0]}]}`, "takes [N, 28, 28]"},
		{"pixel above 1", image, infer, `{"inputs": [{"name": "image", "shape": [1, 28, 28], "datatype": "FP32", "data": ` + strings.Replace(pixels, "0.5", "255", 1) + `}]}`, "in [0, 1]"},
		{"pixel below 0", image, infer, `{"inputs": [{"name": "image", "shape": [1, 28, 28], "datatype": "FP32", "data": ` + strings.Replace(pixels, "0.5", "-0.1", 1) + `}]}`, "in [0, 1]"},
		{"pixel a string", image, infer, `{"inputs": [{"name": "image", "shape": [1, 28, 28], "datatype": "FP32", "data": ` + strings.Replace(pixels, "0.5", `"0"`, 1) + `}]}`, "not a number"},
		{"pixels nested 2 deep", image, infer, `{"inputs": [{"name": "image", "shape": [1, 28, 28], "datatype": "FP32", "data": [` + pixels + `]}]}`, "nested 2 deep"},
		{"plain: not JSON", text, "/v1/classify", `{"texts": "a"`, "not {"},
		{"plain: no texts", text, "/v1/classify", `{}`, `no "texts"`},
		{"plain: a text alone", text, "/v1/classify", `{"text": "a"}`, "unknown field"},
		{"plain: numbers", text, "/v1/classify", `{"texts": [1]}`, `field "texts"`},
		{"plain: two values", text, "/v1/classify", `{"texts": ["a"]} {"texts": ["b"]}`, "more than one"},
		{"plain: images", image, "/v1/classify", `{"texts": ["a"]}`, "28×28 images, not texts"},
	} {
		code, _, body := c.ts.do(t, "POST", c.path, c.body)
		var e map[string]string
		if err := json.Unmarshal(body, &e); err != nil || code != 400 || len(e) != 1 || !strings.Contains(e["error"], c.want) {
			t.Errorf("%s: %d %s, want 400 and an error with %q", c.name, code, body, c.want)
		}
	}
	// A method a route does not take.
	if code, _, _ := text.do(t, "GET", infer, ""); code != http.StatusMethodNotAllowed {
		t.Errorf("GET %s: %d, want 405", infer, code)
	}
}

// TestOversizeBody sends bodies over the limit, with and without a Content-Length.
func TestOversizeBody(t *testing.T) {
	ts := start(t, textModel, Config{MaxBody: 1024})
	big := `{"texts": ["` + strings.Repeat("a", 2000) + `"]}`
	code, _, body := ts.do(t, "POST", "/v1/classify", big)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "larger than 1024 bytes") {
		t.Errorf("2 kB with a Content-Length: %d %s", code, body)
	}
	// Chunked: the limit is found while reading.
	req, _ := http.NewRequest("POST", ts.url+"/v2/models/seqclf/infer", io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), `"error"`) {
		t.Errorf("2 kB chunked: %d %s", resp.StatusCode, b)
	}
	// Just under the limit is read.
	ts.post(t, "/v1/classify", map[string]any{"texts": []string{strings.Repeat("a", 900)}}, 200, nil)
}

// hold is a beforeBatch hook that keeps the worker until released: entered receives a value
// as each batch begins.
type hold struct {
	entered chan struct{}
	release chan struct{}
}

func newHold() *hold { return &hold{entered: make(chan struct{}, 100), release: make(chan struct{})} }

func (h *hold) wait() {
	h.entered <- struct{}{}
	<-h.release
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for start := time.Now(); !cond(); time.Sleep(time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// send posts texts to /v1/classify in the background and returns the status on a channel, 0
// if the request failed.
func (ts *testServer) send(t *testing.T, texts ...string) <-chan int {
	codes := make(chan int, 1)
	b, _ := json.Marshal(map[string]any{"texts": texts})
	go func() {
		resp, err := http.Post(ts.url+"/v1/classify", "application/json", bytes.NewReader(b))
		if err != nil {
			codes <- 0
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		codes <- resp.StatusCode
	}()
	return codes
}

// TestOverload fills the queue while the one worker is held: the next request is answered 503
// with Retry-After at once, the queued ones 200 once it goes on, and a later one 200 again.
func TestOverload(t *testing.T) {
	h := newHold()
	ts := start(t, textModel, Config{Workers: 1, MaxBatch: 1, Queue: 2, beforeBatch: h.wait})
	first := ts.send(t, "a")
	<-h.entered
	queued := []<-chan int{ts.send(t, "b"), ts.send(t, "c")}
	waitFor(t, "two queued requests", func() bool { return ts.cur.Load().batcher.depth() == 2 })
	if code, _, body := ts.do(t, "GET", "/metrics", ""); code != 200 || !strings.Contains(string(body), "seqclf_queue_depth 2\n") {
		t.Errorf("metrics with two queued: %d\n%s", code, body)
	}
	start := time.Now()
	code, hdr, body := ts.do(t, "POST", "/v1/classify", `{"texts": ["d"]}`)
	if code != 503 || hdr.Get("Retry-After") != "1" || !strings.Contains(string(body), "overloaded") || time.Since(start) > 2*time.Second {
		t.Errorf("past the queue: %d Retry-After %q %s after %v, want 503 at once", code, hdr.Get("Retry-After"), body, time.Since(start))
	}
	close(h.release)
	for i, c := range append([]<-chan int{first}, queued...) {
		if code := <-c; code != 200 {
			t.Errorf("request %d held in the queue: %d, want 200", i, code)
		}
	}
	ts.post(t, "/v1/classify", map[string]any{"texts": []string{"e"}}, 200, nil)
	_, _, metrics := ts.do(t, "GET", "/metrics", "")
	for _, want := range []string{
		`seqclf_http_requests_total{code="503",route="POST /v1/classify"} 1`,
		`seqclf_http_requests_total{code="200",route="POST /v1/classify"} 4`,
		`seqclf_batch_size_count 4`,
		`seqclf_http_request_duration_seconds_count{route="POST /v1/classify"} 5`,
		`seqclf_model_info{file="../store/testdata/model-v3-text.db",kind="text",name="seqclf"} 1`,
		`seqclf_queue_depth 0`,
	} {
		if !strings.Contains(string(metrics), want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestRequestTimeout holds the worker past a request's time: it is answered 503 before the
// write timeout cuts its connection.
func TestRequestTimeout(t *testing.T) {
	h := newHold()
	ts := start(t, textModel, Config{Workers: 1, MaxBatch: 1, WriteTimeout: 500 * time.Millisecond, beforeBatch: h.wait})
	first := ts.send(t, "a")
	<-h.entered
	code, hdr, body := ts.do(t, "POST", "/v1/classify", `{"texts": ["b"]}`)
	if code != 503 || hdr.Get("Retry-After") != "1" || !strings.Contains(string(body), "timed out") {
		t.Errorf("held past its time: %d %s", code, body)
	}
	close(h.release)
	<-first
}

// TestShutdownDrains shuts the server down with requests in flight: it stops accepting
// connections, answers them all 200, then returns.
func TestShutdownDrains(t *testing.T) {
	h := newHold()
	ts := start(t, textModel, Config{Workers: 1, MaxBatch: 1, beforeBatch: h.wait})
	inFlight := []<-chan int{ts.send(t, "a")}
	<-h.entered
	inFlight = append(inFlight, ts.send(t, "b"), ts.send(t, "c"))
	waitFor(t, "two queued requests", func() bool { return ts.cur.Load().batcher.depth() == 2 })
	done := make(chan error, 1)
	go func() { done <- ts.Shutdown(context.Background()) }()
	waitFor(t, "the listener to close", func() bool {
		c, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with requests in flight", err)
	default:
	}
	close(h.release)
	for i, c := range inFlight {
		if code := <-c; code != 200 {
			t.Errorf("in-flight request %d: %d, want 200", i, code)
		}
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if _, err := ts.cur.Load().model.Classify(context.Background(), "x"); !errors.Is(err, seqclf.ErrClosed) {
		t.Errorf("the model after Shutdown: %v, want ErrClosed", err)
	}
	rec := httptest.NewRecorder()
	ts.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/v2/health/ready", nil))
	if rec.Code != 503 || strings.TrimSpace(rec.Body.String()) != `{"ready":false}` {
		t.Errorf("ready after Shutdown: %d %s", rec.Code, rec.Body)
	}
}

// TestShutdownTimeout gives Shutdown less time than a held request needs: it returns the
// context's error and closes the connections.
func TestShutdownTimeout(t *testing.T) {
	h := newHold()
	ts := start(t, textModel, Config{Workers: 1, MaxBatch: 1, beforeBatch: h.wait})
	first := ts.send(t, "a")
	<-h.entered
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	go func() {
		time.Sleep(300 * time.Millisecond)
		close(h.release) // Shutdown waits for the worker's batch after closing the connections
	}()
	if err := ts.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v, want DeadlineExceeded", err)
	}
	<-first
}

// TestReload swaps the model file under a running server: a text model, then a model of
// images, then a broken file and none at all, which are refused while the images' model goes
// on answering. A request queued before a swap is answered by the old model.
func TestReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.db")
	copyFile(t, textModel, path)
	h := newHold()
	var holding atomic.Bool // batches wait for h.release while it is set
	ts := start(t, path, Config{Workers: 1, MaxBatch: 1, beforeBatch: func() {
		if holding.Load() {
			h.wait()
		}
	}})
	texts, want := readTexts(t), readAnswers(t, textAnswers)
	var plain classifyResponse
	ts.post(t, "/v1/classify", map[string]any{"texts": texts}, 200, &plain)
	samePredictions(t, "before the reload", plain.Predictions, want)

	// A text request held in the worker, another in the queue; the file becomes the image model.
	holding.Store(true)
	held := ts.send(t, texts[0])
	<-h.entered
	queued := ts.send(t, texts[1])
	waitFor(t, "a queued request", func() bool { return ts.cur.Load().batcher.depth() == 1 })
	copyFile(t, imageModel, path)
	if err := ts.Reload(); err != nil {
		t.Fatal(err)
	}
	holding.Store(false)
	close(h.release)
	if a, b := <-held, <-queued; a != 200 || b != 200 {
		t.Errorf("requests queued before the reload: %d %d, want 200 from the old model", a, b)
	}
	code, _, body := ts.do(t, "POST", "/v1/classify", `{"texts": ["a"]}`)
	if code != 400 || !strings.Contains(string(body), "images, not texts") {
		t.Errorf("texts after the reload to images: %d %s", code, body)
	}
	image := `{"inputs": [{"name": "image", "shape": [1, 28, 28], "datatype": "FP32", "data": [` + strings.Repeat("0,", 28*28-1) + `0]}]}`
	if code, _, body := ts.do(t, "POST", "/v2/models/seqclf/infer", image); code != 200 {
		t.Errorf("an image after the reload: %d %s", code, body)
	}

	// A broken file and a missing one: refused, the image model goes on.
	if err := os.WriteFile(path, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ts.Reload(); err == nil {
		t.Error("reloading a broken file succeeded")
	}
	code, _, body = ts.do(t, "POST", "/v2/repository/models/seqclf/load", "")
	if code != 400 || !strings.Contains(string(body), "the old model goes on answering") {
		t.Errorf("load of a broken file: %d %s", code, body)
	}
	os.Remove(path)
	if err := ts.Reload(); err == nil {
		t.Error("reloading a missing file succeeded")
	}
	if code, _, body := ts.do(t, "POST", "/v2/models/seqclf/infer", image); code != 200 {
		t.Errorf("an image after the failed reloads: %d %s", code, body)
	}
	if !strings.Contains(ts.log.String(), `"msg":"reload refused; the old model goes on answering"`) {
		t.Errorf("no log line for the refused reload:\n%s", ts.log.String())
	}

	// Back to the text model, through the protocol's load.
	copyFile(t, textModel, path)
	code, _, body = ts.do(t, "POST", "/v2/repository/models/seqclf/load", "")
	if code != 200 || !strings.Contains(string(body), `"kind":"text"`) {
		t.Errorf("load of the text model: %d %s", code, body)
	}
	ts.post(t, "/v1/classify", map[string]any{"texts": texts}, 200, &plain)
	samePredictions(t, "after reloading the text model", plain.Predictions, want)
	_, _, metrics := ts.do(t, "GET", "/metrics", "")
	for _, w := range []string{`seqclf_model_reloads_total{result="ok"} 2`, `seqclf_model_reloads_total{result="failed"} 3`,
		`seqclf_model_info{file="` + path + `",kind="text",name="seqclf"} 1`} {
		if !strings.Contains(string(metrics), w+"\n") {
			t.Errorf("metrics lack %s", w)
		}
	}
	if strings.Contains(string(metrics), `kind="mnist"`) {
		t.Error("metrics still name the image model")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	// Written aside and renamed, as pipeline run writes model.db.
	if err := os.WriteFile(to+".tmp", b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(to+".tmp", to); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrent sends requests from many goroutines, through both endpoints, while the model
// is reloaded and the metrics read: every answer must be the recorded one (run with -race).
func TestConcurrent(t *testing.T) {
	ts := start(t, textModel, Config{MaxBatch: 8, Queue: 10000})
	texts, want := readTexts(t), readAnswers(t, textAnswers)
	classes := []string{"ham", "spam"}
	const clients, rounds = 16, 6
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for r := range rounds {
				i := (c + r) % len(texts)
				if (c+r)%2 == 0 {
					var plain classifyResponse
					ts.post(t, "/v1/classify", map[string]any{"texts": texts[i : i+1]}, 200, &plain)
					samePredictions(t, "plain", plain.Predictions, want[i:i+1])
				} else {
					var resp testResponse
					ts.post(t, "/v2/models/seqclf/infer", textRequest(texts[i:], false), 200, &resp)
					samePredictions(t, "infer", resp.predictions(t, classes), want[i:])
				}
			}
		})
	}
	wg.Go(func() {
		for range 3 {
			if err := ts.Reload(); err != nil {
				t.Error(err)
			}
			ts.do(t, "GET", "/metrics", "")
		}
	})
	wg.Wait()
}

// TestLogLines expects one JSON log line per request, with its route, status and inputs.
func TestLogLines(t *testing.T) {
	ts := start(t, textModel, Config{})
	ts.do(t, "GET", "/v2/health/live", "")
	ts.do(t, "POST", "/v1/classify", `{"texts": ["a", "b"]}`)
	ts.do(t, "POST", "/v2/models/nope/infer", `{}`)
	var lines []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(ts.log.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("a log line that is not JSON: %q", line)
		}
		if m["msg"] == "request" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 3 {
		t.Fatalf("%d request lines, want 3:\n%s", len(lines), ts.log.String())
	}
	for i, want := range []struct {
		route  string
		status float64
	}{{"GET /v2/health/live", 200}, {"POST /v1/classify", 200}, {"POST /v2/models/{name}/infer", 404}} {
		if lines[i]["route"] != want.route || lines[i]["status"] != want.status || lines[i]["duration"] == nil {
			t.Errorf("line %d: %v, want route %s status %v", i, lines[i], want.route, want.status)
		}
	}
	if lines[1]["inputs"] != 2.0 || lines[2]["err"] == nil {
		t.Errorf("inputs and err: %v %v", lines[1], lines[2])
	}
}

// TestWarmUpLogged: a text model whose passes remember their tokens' projections (64 units, on
// the assembly kernels) is warmed up at start, in one info line naming the model, the tokens
// remembered (as many as its own WarmUp reports) and the time it took; a model with nothing to
// remember (8 units) logs none.
func TestWarmUpLogged(t *testing.T) {
	warmUpLine := func(ts *testServer) map[string]any {
		for line := range strings.SplitSeq(strings.TrimSpace(ts.log.String()), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "model warmed up" {
				return m
			}
		}
		return nil
	}
	path := writeTextModel(t, 64)
	m, err := seqclf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	tokens := m.WarmUp()
	m.Close()
	if tokens == 0 {
		t.Skip("this build's kernels remember nothing (pure Go)")
	}
	ts := start(t, path, Config{Name: "mails"})
	var warm map[string]any
	for deadline := time.Now().Add(20 * time.Second); warm == nil && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		warm = warmUpLine(ts)
	}
	if warm == nil {
		t.Fatalf("no warm-up line:\n%s", ts.log.String())
	}
	if warm["level"] != "INFO" || warm["name"] != "mails" || warm["file"] != path || warm["took"] == nil || warm["tokens"] != float64(tokens) {
		t.Errorf("warm-up line %v, want level INFO, name mails, file %s, the time and %d tokens", warm, path, tokens)
	}
	small := start(t, textModel, Config{})
	small.post(t, "/v1/classify", map[string]any{"texts": []string{"a"}}, http.StatusOK, nil)
	if m := warmUpLine(small); m != nil {
		t.Errorf("a model of 8 units logged a warm-up: %v", m)
	}
}

// writeTextModel writes a text model file of the given units, with random weights and a
// dictionary of 40 words, and returns its path.
func writeTextModel(t *testing.T, units int) string {
	t.Helper()
	c := vocab.NewCounter()
	var words []string
	for i := range 38 {
		words = append(words, fmt.Sprintf("w%d", i))
	}
	c.Add(words)
	v := c.Build(vocab.Limits{MinCount: 1, MaxSize: 100})
	rng := rand.New(rand.NewPCG(3, 4))
	table, err := embed.New(v.Len(), 8, 0.5, rng)
	if err != nil {
		t.Fatal(err)
	}
	m, err := lstm.New[float32](lstm.Config{InputDim: 8, NumUnits: units, NumLayers: 1, Classes: 2, Pooling: lstm.PoolMax}, rng)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.db")
	err = store.WriteModelFile(path, ".model-", func(s *store.Store) error {
		if err := s.PutVocab(v); err != nil {
			return err
		}
		if err := s.PutTable(table); err != nil {
			return err
		}
		return s.PutModel(&store.Trained{LSTM: m, Labels: []string{"ham", "spam"},
			Input: store.Input{Kind: "text", Unit: "document", TimeStep: 32}, Run: []byte("{}"), History: []byte("[]")})
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSlowClients: a client that never finishes its headers, or its body, loses its connection
// after the header or read timeout; the server goes on answering others.
func TestSlowClients(t *testing.T) {
	ts := start(t, textModel, Config{ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: 400 * time.Millisecond})
	addr := strings.TrimPrefix(ts.url, "http://")
	for _, c := range []struct{ name, sent string }{
		{"headers", "POST /v1/classify HTTP/1.1\r\nHost: x\r\n"},
		{"body", "POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"texts\": "},
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.Write([]byte(c.sent))
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		b, err := io.ReadAll(conn) // until the server closes the connection
		conn.Close()
		if err != nil || time.Since(start) > 3*time.Second {
			t.Errorf("slow %s: %v after %v, want the connection closed", c.name, err, time.Since(start))
		}
		if c.name == "body" && !strings.HasPrefix(string(b), "HTTP/1.1 400") {
			t.Errorf("slow body: %q, want 400", b)
		}
	}
	ts.post(t, "/v1/classify", map[string]any{"texts": []string{"a"}}, 200, nil)
}

// TestOpenErrors: New returns the store's errors for a missing or broken file.
func TestOpenErrors(t *testing.T) {
	if _, err := New(filepath.Join(t.TempDir(), "none.db"), Config{}); err == nil {
		t.Error("New of a missing file succeeded")
	}
	broken := filepath.Join(t.TempDir(), "broken.db")
	os.WriteFile(broken, []byte("not a model"), 0o644)
	if _, err := New(broken, Config{}); err == nil {
		t.Error("New of a broken file succeeded")
	}
}
