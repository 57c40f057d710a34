package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	savedTextModel  = "../../store/testdata/model-v3-text.db"
	savedImageModel = "../../store/testdata/model-v3-mnist.db"
)

// TestServeErrors: flags out of range, a model that does not open and a port in use end in one
// line before anything is served.
func TestServeErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	missing := filepath.Join(t.TempDir(), "none.db")
	for _, c := range []struct {
		args  []string
		want  string
		usage bool
	}{
		{[]string{"serve"}, "--model is required", false},
		{[]string{"serve", "--model", savedTextModel, "--log-format", "xml"}, `--log-format is "xml": use text or json`, false},
		{[]string{"serve", "--model", savedTextModel, "--max-batch", "0"}, "--max-batch is 0: it must be at least 1", false},
		{[]string{"serve", "--model", savedTextModel, "--queue", "-1"}, "--queue is -1", false},
		{[]string{"serve", "--model", savedTextModel, "--drain-timeout", "0s"}, "--drain-timeout is 0s: it must be more than 0", false},
		{[]string{"serve", "--model", savedTextModel, "--max-delay", "-1ms"}, "--max-delay is -1ms", false},
		{[]string{"serve", "--model", savedTextModel, "--name", ""}, "--name is empty", false},
		{[]string{"serve", "--model", missing}, missing, false},
		{[]string{"serve", "--model", savedTextModel, "--addr", busy.Addr().String()}, "--addr " + busy.Addr().String() + ": listen tcp", false},
		{[]string{"serve", "--model", savedTextModel, "--addr", "nohost:x"}, "--addr nohost:x", false},
		{[]string{"serve", "--model", savedTextModel, "--port", "80"}, "unknown flag: --port", true},
		{[]string{"serve", "--model", savedTextModel, "extra"}, "unknown command", true},
	} {
		out, err := run(t, "", c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") || out != "" {
			t.Errorf("%v: %v (stdout %q), want one line with %q", c.args, err, out, c.want)
			continue
		}
		if got := exitStatus(err) == exitUsage; got != c.usage {
			t.Errorf("%v: usage error %v, want %v", c.args, got, c.usage)
		}
	}
}

// serveChild runs seqclf serve as a child process and reads its log lines as they come.
type serveChild struct {
	cmd    *exec.Cmd
	lines  chan map[string]any
	stdout bytes.Buffer
	url    string
	log    strings.Builder // every line, for messages
}

func startServe(t *testing.T, args ...string) *serveChild {
	t.Helper()
	c := &serveChild{lines: make(chan map[string]any, 1000)}
	c.cmd = exec.Command(os.Args[0], append([]string{"serve", "--addr", "127.0.0.1:0", "--log-format", "json"}, args...)...)
	c.cmd.Env = append(os.Environ(), "SEQCLF_TEST_MAIN=1")
	c.cmd.Stdout = &c.stdout
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			c.cmd.Process.Kill()
			c.cmd.Wait()
		}
	})
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				m = map[string]any{"msg": "NOT JSON: " + sc.Text()}
			}
			c.lines <- m
		}
	}()
	m := c.await(t, "serving")
	c.url = "http://" + m["addr"].(string)
	return c
}

// await returns the next log line whose msg is msg, failing after 30 s or at the log's end.
func (c *serveChild) await(t *testing.T, msg string) map[string]any {
	t.Helper()
	lines := c.until(t, msg)
	return lines[len(lines)-1]
}

// until returns the log lines up to the next whose msg is msg, that one included.
func (c *serveChild) until(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	timeout := time.After(30 * time.Second)
	for {
		select {
		case m, ok := <-c.lines:
			if !ok {
				t.Fatalf("the log ended before %q:\n%s", msg, c.log.String())
			}
			b, _ := json.Marshal(m)
			c.log.WriteString(string(b) + "\n")
			lines = append(lines, m)
			if m["msg"] == msg {
				return lines
			}
		case <-timeout:
			t.Fatalf("no %q in the log after 30 s:\n%s", msg, c.log.String())
		}
	}
}

func (c *serveChild) post(t *testing.T, path, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(c.url+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeSignals runs seqclf serve as a process: SIGHUP reloads a broken file (refused, the
// old model answers) and a good one; SIGTERM with requests in flight answers them all and
// exits 0. Standard output stays empty.
func TestServeSignals(t *testing.T) {
	model := filepath.Join(t.TempDir(), "model.db")
	copyModel(t, savedTextModel, model)
	c := startServe(t, "--model", model, "--workers", "1", "--max-batch", "64")
	if code, body := c.post(t, "/v1/classify", `{"texts": ["Congratulations, you won a FREE cruise! Click here now to claim your prize."]}`); code != 200 || !strings.Contains(body, `"label":"spam","probability":0.83044`) {
		t.Fatalf("classify: %d %s", code, body)
	}

	os.WriteFile(model, []byte("not a model"), 0o644)
	c.cmd.Process.Signal(syscall.SIGHUP)
	c.await(t, "reload refused; the old model goes on answering")
	if code, body := c.post(t, "/v1/classify", `{"texts": ["a"]}`); code != 200 {
		t.Fatalf("classify after a refused reload: %d %s", code, body)
	}
	copyModel(t, savedImageModel, model)
	c.cmd.Process.Signal(syscall.SIGHUP)
	if m := c.await(t, "model reloaded"); m["kind"] != "mnist" {
		t.Errorf("reloaded: %v", m)
	}
	copyModel(t, savedTextModel, model)
	c.cmd.Process.Signal(syscall.SIGHUP)
	c.await(t, "model reloaded")

	// Four requests of 20,000 texts each, through one worker: one runs, three wait.
	texts := make([]string, 20000)
	for i := range texts {
		texts[i] = "Lowest mortgage rates in 10 years. Refinance today, no credit check!!!"
	}
	big, _ := json.Marshal(map[string]any{"texts": texts})
	codes := make(chan int, 4)
	for range 4 {
		go func() {
			resp, err := http.Post(c.url+"/v1/classify", "application/json", bytes.NewReader(big))
			if err != nil {
				t.Error(err)
				codes <- 0
				return
			}
			var out struct{ Predictions []struct{ Label string } }
			json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if len(out.Predictions) != len(texts) || out.Predictions[0].Label != "spam" {
				t.Errorf("a drained request: %d predictions", len(out.Predictions))
			}
			codes <- resp.StatusCode
		}()
	}
	depth := regexp.MustCompile(`(?m)^seqclf_queue_depth (\d+)$`)
	for start := time.Now(); ; time.Sleep(2 * time.Millisecond) {
		resp, err := http.Get(c.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if m := depth.FindSubmatch(b); m != nil && string(m[1]) != "0" && string(m[1]) != "1" {
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatal("the requests never queued")
		}
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	c.await(t, "draining")
	for range 4 {
		if code := <-codes; code != 200 {
			t.Errorf("a request in flight at SIGTERM: %d, want 200", code)
		}
	}
	drained := 0
	for _, m := range c.until(t, "stopped") {
		if m["msg"] == "request" && m["inputs"] == float64(len(texts)) && m["status"] == 200.0 {
			drained++
		}
	}
	t.Logf("%d requests answered after SIGTERM", drained)
	if drained < 2 {
		t.Errorf("%d requests answered after SIGTERM, want the 2 or more queued then:\n%s", drained, c.log.String())
	}
	if err := c.cmd.Wait(); err != nil {
		t.Errorf("seqclf serve after SIGTERM: %v, want exit status 0\n%s", err, c.log.String())
	}
	if c.stdout.Len() != 0 {
		t.Errorf("seqclf serve wrote to standard output: %q", c.stdout.String())
	}
	if _, err := http.Get(c.url + "/v2/health/live"); err == nil {
		t.Error("the server still answers after exiting")
	}
}

func copyModel(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to+".tmp", b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(to+".tmp", to); err != nil {
		t.Fatal(err)
	}
}
