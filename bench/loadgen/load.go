package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// runOptions are the flags of loadgen run.
type runOptions struct {
	url      string
	texts    string
	images   string
	name     string
	clients  string
	requests int
	duration time.Duration
	warmup   int
	timeout  time.Duration
	wait     time.Duration
	limit    int
}

func (o *runOptions) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.url, "url", "", "the server, on loopback: http://127.0.0.1:PORT (required)")
	fs.StringVar(&o.texts, "texts", "", "a file of one text a line: each request POSTs one to /v1/classify")
	fs.StringVar(&o.images, "images", "", "an IDX image file: each request POSTs one image, FP32, to /v2/models/NAME/infer")
	fs.StringVar(&o.name, "name", "seqclf", "the model's name on the server (its --name), for /v2/models/NAME")
	fs.StringVar(&o.clients, "clients", "1,8,64", "the levels of concurrency, one after the other: clients each sending a request, waiting for its answer, and sending the next")
	fs.IntVar(&o.requests, "requests", 2000, "the most requests of one level, all its clients together")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "the longest a level sends new requests")
	fs.IntVar(&o.warmup, "warmup", 50, "untimed requests, one at a time, before the first level; any failure among them stops loadgen")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "the longest one request may take; a slower one is an error")
	fs.DurationVar(&o.wait, "wait", 30*time.Second, "how long to wait for GET /v2/health/ready to answer 200 before starting")
	fs.IntVar(&o.limit, "limit", 0, "use only the first N inputs of the file (0: all)")
}

func runCmd(args []string) error {
	var o runOptions
	fs := flag.NewFlagSet("loadgen run", flag.ExitOnError)
	o.addFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("run takes no arguments, got %q", fs.Args())
	}
	base, err := loopbackURL(o.url)
	if err != nil {
		return err
	}
	levels, err := parseClients(o.clients)
	if err != nil {
		return err
	}
	if o.requests < 1 || o.duration <= 0 {
		return fmt.Errorf("--requests %d and --duration %v: both must be positive, so that each level ends", o.requests, o.duration)
	}
	if (o.texts == "") == (o.images == "") {
		return errors.New("give one of --texts FILE and --images FILE")
	}
	client := newClient(slices.Max(levels), o.timeout)
	ctx := context.Background()
	if err := waitReady(ctx, client, base, o.wait); err != nil {
		return err
	}

	var w workload
	if o.texts != "" {
		w, err = textWorkload(base, o.texts, o.limit)
	} else {
		w, err = imageWorkload(ctx, client, base, o.name, o.images, o.limit)
	}
	if err != nil {
		return err
	}
	fmt.Printf("POST %s: %d inputs from %s, one a request; each level stops at %d requests or after %v\n\n",
		w.url, len(w.bodies), w.source, o.requests, o.duration)
	for i := range o.warmup {
		if _, err := w.do(ctx, client, w.bodies[i%len(w.bodies)], true); err != nil {
			return fmt.Errorf("warm-up request %d: %w", i+1, err)
		}
	}
	var results []level
	for _, c := range levels {
		l := runLevel(ctx, client, &w, c, o.requests, o.duration)
		results = append(results, l)
	}
	writeTable(os.Stdout, results)
	return nil
}

// loopbackURL parses the server's URL and refuses any host that is not loopback: loadgen is for
// measuring a server on this machine, never for sending load elsewhere.
func loopbackURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("--url is required: http://127.0.0.1:PORT")
	}
	if !strings.HasPrefix(raw, "http://") {
		return nil, fmt.Errorf("--url %s: the scheme must be http: http://127.0.0.1:PORT", raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("--url: %w", err)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("--url %s: give only the scheme, host and port: http://127.0.0.1:PORT", raw)
	}
	host := u.Hostname()
	if host == "" || u.Port() == "" {
		return nil, fmt.Errorf("--url %s: give a host and a port: http://127.0.0.1:PORT", raw)
	}
	if !isLoopbackHost(host) {
		return nil, fmt.Errorf("--url %s: %s is not a loopback address; loadgen only sends to this machine (127.0.0.1, ::1 or localhost)", raw, host)
	}
	u.Path = ""
	return u, nil
}

// isLoopbackHost says whether host is a loopback IP address, or localhost resolving to
// loopback addresses only.
func isLoopbackHost(host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	if !strings.EqualFold(host, "localhost") {
		return false
	}
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 {
		return false
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return false
		}
	}
	return true
}

func parseClients(s string) ([]int, error) {
	var cs []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 4096 {
			return nil, fmt.Errorf("--clients %q: want numbers from 1 to 4096, comma-separated", s)
		}
		cs = append(cs, n)
	}
	return cs, nil
}

// newClient returns an HTTP client that keeps a connection per client open, uses no proxy,
// follows no redirect and dials loopback addresses only.
func newClient(maxClients int, timeout time.Duration) *http.Client {
	maxClients = max(maxClients, 8)
	d := &net.Dialer{Timeout: 5 * time.Second}
	t := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if a, ok := c.RemoteAddr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
				c.Close()
				return nil, fmt.Errorf("%s is not a loopback address", c.RemoteAddr())
			}
			return c, nil
		},
		MaxIdleConns:        maxClients,
		MaxIdleConnsPerHost: maxClients,
		DisableCompression:  true,
	}
	return &http.Client{
		Transport:     t,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func waitReady(ctx context.Context, client *http.Client, base *url.URL, wait time.Duration) error {
	u := base.JoinPath("/v2/health/ready").String()
	deadline := time.Now().Add(wait)
	for {
		resp, err := client.Get(u)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GET %s: not ready after %v: %v", u, wait, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// workload is what the clients send: one request body per input, all encoded beforehand so
// that the timed loop only sends and receives.
type workload struct {
	url    string
	source string
	bodies [][]byte
	// check looks at an answer's body (the first of each client, and every warm-up answer).
	check func(body []byte) error
}

// do sends one request and returns how long it took to the last byte of the answer.
func (w *workload) do(ctx context.Context, client *http.Client, body []byte, check bool) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	var buf bytes.Buffer
	_, err = io.Copy(&buf, resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %s: %.200s", resp.Status, buf.Bytes())
	}
	if check {
		if err := w.check(buf.Bytes()); err != nil {
			return 0, fmt.Errorf("answer %.200s: %w", buf.Bytes(), err)
		}
	}
	return d, nil
}

// runLevel runs clients clients until requests requests have been sent or duration has
// passed, and returns what they measured.
func runLevel(ctx context.Context, client *http.Client, w *workload, clients, requests int, duration time.Duration) level {
	var next atomic.Int64
	var byDuration atomic.Bool
	var mu sync.Mutex
	var firstErr error
	lats := make([][]time.Duration, clients)
	errs := make([]int, clients)
	cpu0 := cpuTime()
	start := time.Now()
	deadline := start.Add(duration)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			lat := make([]time.Duration, 0, requests/clients+1)
			for i := 0; ; i++ {
				n := next.Add(1)
				if n > int64(requests) {
					break
				}
				if time.Now().After(deadline) {
					byDuration.Store(true)
					break
				}
				// Clients start at different inputs, spread over the file.
				body := w.bodies[(int(n)-1+c*len(w.bodies)/clients)%len(w.bodies)]
				d, err := w.do(ctx, client, body, i == 0)
				if err != nil {
					errs[c]++
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				lat = append(lat, d)
			}
			lats[c] = lat
		})
	}
	wg.Wait()
	l := level{clients: clients, elapsed: time.Since(start), cpu: cpuTime() - cpu0, stoppedBy: "requests"}
	if byDuration.Load() {
		l.stoppedBy = "duration"
	}
	for c := range clients {
		l.latencies = append(l.latencies, lats[c]...)
		l.errors += errs[c]
	}
	if firstErr != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %d clients: %d errors; the first: %v\n", clients, l.errors, firstErr)
	}
	return l
}

// cpuTime returns the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func freePortCmd() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer l.Close()
	fmt.Println(l.Addr().(*net.TCPAddr).Port)
	return nil
}
