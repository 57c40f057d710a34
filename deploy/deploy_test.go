package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seqclf/seqclf/serve"
)

// getRoutes are the routes seqclf serve answers to a GET (the protocol's and /metrics); {name} is one path
// segment, the model's name. A probe must GET one of them.
var getRoutes = []string{
	"/v2/health/live",
	"/v2/health/ready",
	"/v2",
	"/v2/models/{name}",
	"/v2/models/{name}/ready",
	"/metrics",
}

// postRoutes are the server's other routes: a GET of them answers 405, which a probe counts as
// a failure, so they are named in the message rather than accepted.
var postRoutes = []string{
	"/v2/models/{name}/infer",
	"/v2/repository/models/{name}/load",
	"/v1/classify",
}

// The probes: readiness and liveness as the Open Inference Protocol names them.
const (
	readyPath = "/v2/health/ready"
	livePath  = "/v2/health/live"
)

// kserveModelDir is where KServe's storage initializer puts what storageUri names, in the
// container it must find named kserveContainer.
const (
	kserveModelDir  = "/mnt/models"
	kserveContainer = "kserve-container"
)

func readFiles(t *testing.T) (dockerfile, kube, kserve string) {
	t.Helper()
	read := func(name string) string {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	return read("Dockerfile"), read("kubernetes.yaml"), read("kserve-servingruntime.yaml")
}

// TestManifests checks the Dockerfile, kubernetes.yaml and kserve-servingruntime.yaml against
// each other and against the server's routes.
func TestManifests(t *testing.T) {
	d, k, ks := readFiles(t)
	c, problems := check(d, k, ks)
	for _, p := range problems {
		t.Error(p)
	}
	if len(c.runs) < 3 {
		t.Fatalf("found %d server command lines; want the Dockerfile's, the Deployment's and the ServingRuntime's", len(c.runs))
	}
	for _, r := range c.runs {
		t.Logf("%s: %q GETs %v", r.where, r.argv, r.paths)
	}
}

// textModel is a small saved text model of the store's tests: what the servers started here
// answer with.
const textModel = "../store/testdata/model-v3-text.db"

// TestProbesAnswer starts the real server, as serve.New, under the --name of each command line
// of the files, on a loopback port, and GETs each of its probe paths, wanting 200. Then it holds
// the route lists the checks use to the same server: each GET route answers 200, and a GET of
// each POST route 405.
func TestProbesAnswer(t *testing.T) {
	d, k, ks := readFiles(t)
	c, _ := check(d, k, ks) // TestManifests reports the problems
	if len(c.runs) == 0 {
		t.Fatal("found no server command lines")
	}
	for _, r := range c.runs {
		name := servedName(r, &c)
		base := startServer(t, name)
		for _, p := range r.paths {
			get(t, r.where, base+p, http.StatusOK)
		}
	}
	base := startServer(t, serve.DefaultName)
	for _, r := range getRoutes {
		get(t, "the route list", base+strings.ReplaceAll(r, "{name}", serve.DefaultName), http.StatusOK)
	}
	for _, r := range postRoutes {
		get(t, "the route list", base+strings.ReplaceAll(r, "{name}", serve.DefaultName), http.StatusMethodNotAllowed)
	}
}

// TestCommandLines runs each command line of the files as it is written, with only the model's
// path and the address changed (to store/testdata's model and a loopback port): the flags must
// parse, the probes answer 200, and SIGTERM stop the server with status 0.
func TestCommandLines(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs seqclf")
	}
	if runtime.GOOS == "windows" {
		t.Skip("SIGTERM")
	}
	d, k, ks := readFiles(t)
	c, _ := check(d, k, ks)
	model, err := filepath.Abs(textModel)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "seqclf")
	build := exec.Command("go", "build", "-o", bin, "./cmd/seqclf")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/seqclf: %v\n%s", err, out)
	}
	seen := map[string]bool{}
	for _, r := range c.runs {
		key := strings.Join(r.argv, "\x00")
		if seen[key] {
			continue // the Dockerfile's stages share one ENTRYPOINT
		}
		seen[key] = true
		t.Run(r.where, func(t *testing.T) {
			port := freePort(t)
			argv := setFlag(r.argv, "model", model)
			argv = setFlag(argv, "addr", fmt.Sprintf("127.0.0.1:%d", port))
			if n, ok := r.flags["name"]; ok {
				argv = setFlag(argv, "name", strings.ReplaceAll(n, "{{.Name}}", servedName(r, &c)))
			}
			var log bytes.Buffer
			cmd := exec.Command(bin, argv[1:]...)
			cmd.Stdout, cmd.Stderr = &log, &log
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			base := fmt.Sprintf("http://127.0.0.1:%d", port)
			if err := waitReady(base, exited); err != nil {
				cmd.Process.Kill()
				t.Fatalf("%q: %v\n%s", argv, err, log.String())
			}
			for _, p := range r.paths {
				get(t, r.where, base+p, http.StatusOK)
			}
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("%q after SIGTERM: %v; want status 0\n%s", argv, err, log.String())
				}
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Errorf("%q still running 30 s after SIGTERM\n%s", argv, log.String())
			}
		})
	}
}

// servedName is the model's name a command line serves under: its --name (KServe's {{.Name}}
// being an InferenceService's name), or the server's default.
func servedName(r serverRun, c *checked) string {
	n, ok := r.flags["name"]
	if !ok {
		return serve.DefaultName
	}
	isvc := "model"
	for _, v := range c.isvcName {
		isvc = v
	}
	return strings.ReplaceAll(n, "{{.Name}}", isvc)
}

// startServer serves textModel under name on a loopback port until the test ends, and returns
// its base URL.
func startServer(t *testing.T, name string) string {
	t.Helper()
	s, err := serve.New(textModel, serve.Config{Name: name, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + l.Addr().String()
}

// get GETs url and wants the status want.
func get(t *testing.T, where, url string, want int) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Errorf("%s: GET %s: %v", where, url, err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Errorf("%s: GET %s: %s, want %d: %.300s", where, url, resp.Status, want, body)
	}
}

// waitReady polls GET /v2/health/ready until it answers 200, the process exits or 30 s pass.
func waitReady(base string, exited <-chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + readyPath)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(resp.Status)
		}
		select {
		case e := <-exited:
			return fmt.Errorf("exited before it was ready: %v", e)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GET %s not 200 after 30 s: %v", readyPath, err)
		}
	}
}

// freePort returns a TCP port free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// setFlag returns argv with the value of --name replaced, in either spelling.
func setFlag(argv []string, name, value string) []string {
	out := slices.Clone(argv)
	for i := 0; i < len(out); i++ {
		switch {
		case out[i] == "--"+name && i+1 < len(out):
			out[i+1] = value
			i++
		case strings.HasPrefix(out[i], "--"+name+"="):
			out[i] = "--" + name + "=" + value
		}
	}
	return out
}

// TestCheckCatches breaks the files one way at a time and wants check to say so: a check that
// cannot fail proves nothing.
func TestCheckCatches(t *testing.T) {
	d, k, ks := readFiles(t)
	cases := []struct {
		name, file, old, new, want string
	}{
		{"probe path not a route", "kube", "path: /v2/health/ready", "path: /healthz", `"/healthz" is not a route`},
		{"probe on a POST route", "kube", "path: /v2/health/live", "path: /v1/classify", "POST route"},
		{"liveness on the readiness path", "kserve", "path: /v2/health/live", "path: /v2/health/ready", "livenessProbe GETs /v2/health/ready"},
		{"containerPort", "kube", "containerPort: 8080", "containerPort: 8081", "no containerPort 8080"},
		{"probe port", "kserve", "port: 8080\n        periodSeconds: 5", "port: 9000\n        periodSeconds: 5", "port 9000"},
		{"targetPort", "kube", "targetPort: 8080", "targetPort: 9090", "targetPort 9090"},
		{"targetPort name", "kube", "targetPort: 8080", "targetPort: metrics", `targetPort "metrics"`},
		{"loopback addr", "kube", `"0.0.0.0:8080"`, `"127.0.0.1:8080"`, "loopback"},
		{"args appended to ENTRYPOINT", "kube", `command: ["/seqclf"]`, "", "appended to the image's ENTRYPOINT"},
		{"EXPOSE", "docker", "EXPOSE 8080", "EXPOSE 9000", "EXPOSE 9000;"},
		{"ENTRYPOINT verb", "docker", `"/seqclf", "serve"`, `"/seqclf", "classify"`, "want /seqclf serve"},
		{"ENTRYPOINT shell form", "docker", `ENTRYPOINT ["/seqclf", "serve", "--model", "/models/model.db", "--addr", "0.0.0.0:8080"]`,
			"ENTRYPOINT /seqclf serve --model /models/model.db --addr 0.0.0.0:8080", "exec form"},
		{"root user", "docker", "USER 65532:65532", "USER root", `USER "root"`},
		{"base image", "docker", "gcr.io/distroless/static:nonroot", "debian:13", "based on debian:13"},
		{"non-root pod", "kube", "runAsNonRoot: true", "runAsNonRoot: false", "runAsNonRoot"},
		{"model outside its volume", "kube", "mountPath: /models", "mountPath: /data", "no read-only volume"},
		{"KServe model dir", "kserve", "/mnt/models/model.db", "/models/model.db", kserveModelDir},
		{"KServe protocol", "kserve", "    - v2\n", "    - v1\n", "protocolVersion v2"},
		{"KServe runtime name", "kserve", "runtime: seqclf", "runtime: triton", `runtime "triton"`},
		{"KServe container name", "kserve", "name: kserve-container", "name: seqclf", kserveContainer},
		{"HPA target", "kube", "    name: seqclf\n  minReplicas", "    name: seqclf-v2\n  minReplicas", `no Deployment "seqclf-v2"`},
		{"duplicate flag", "kube", `"--name", "seqclf"`, `"--addr", "seqclf"`, "twice"},
		{"Prometheus path", "kube", "prometheus.io/path: /metrics", "prometheus.io/path: /stats", `"/stats" is not a route`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := map[string]*string{"docker": &d, "kube": &k, "kserve": &ks}
			text := *files[c.file]
			if !strings.Contains(text, c.old) {
				t.Fatalf("%s holds no %q to change", c.file, c.old)
			}
			broken := strings.Replace(text, c.old, c.new, 1)
			args := []string{d, k, ks}
			switch c.file {
			case "docker":
				args[0] = broken
			case "kube":
				args[1] = broken
			case "kserve":
				args[2] = broken
			}
			_, problems := check(args[0], args[1], args[2])
			for _, p := range problems {
				if strings.Contains(p, c.want) {
					t.Log(p)
					return
				}
			}
			t.Errorf("no problem mentions %q; got %q", c.want, problems)
		})
	}
}

func TestMatchRoute(t *testing.T) {
	for _, c := range []struct {
		pattern, path string
		want          bool
	}{
		{"/v2", "/v2", true},
		{"/v2", "/v2/", false},
		{"/v2/models/{name}/ready", "/v2/models/seqclf/ready", true},
		{"/v2/models/{name}/ready", "/v2/models//ready", false},
		{"/v2/models/{name}", "/v2/models/seqclf/ready", false},
		{"/metrics", "/metrics?x=1", true},
	} {
		if got := matchRoute(c.pattern, c.path); got != c.want {
			t.Errorf("matchRoute(%q, %q) = %v, want %v", c.pattern, c.path, got, c.want)
		}
	}
}
