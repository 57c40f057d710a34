package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seqclf/seqclf"
)

// Defaults of the Config fields left zero.
const (
	DefaultName              = "seqclf"
	DefaultMaxBatch          = 64
	DefaultMaxDelay          = 2 * time.Millisecond
	DefaultQueue             = 1024
	DefaultMaxBody           = 4 << 20
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 15 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
)

// Config sets a Server up; a zero field takes its default.
type Config struct {
	// Name is the model's name in the protocol's paths, /v2/models/{name}/… (default "seqclf").
	Name string
	// MaxBatch is the most inputs one call of the model classifies: a worker gathers queued
	// requests until they hold this many inputs (default 64). A request of more goes alone.
	MaxBatch int
	// MaxDelay is how long a worker waits for more requests after the first of a batch
	// (default 2 ms). Negative: never wait, take only the requests already queued.
	MaxDelay time.Duration
	// Queue is the most requests waiting for the model (default 1024); past it a request is
	// answered 503 at once. Requests read, queued or classified at once are at most
	// Queue + Workers × MaxBatch; a request past that is answered 503 before its body is read,
	// so that the bodies in memory are bounded too.
	Queue int
	// Workers is the number of batches classified at once (default GOMAXPROCS): while one batch
	// is tokenized another can run through the network.
	Workers int
	// MaxBody is the largest request body in bytes (default 4 MiB); a larger one is answered 413.
	MaxBody int64
	// The http.Server's timeouts (defaults 5 s, 15 s, 30 s, 60 s). A request still waiting
	// for the model a tenth of WriteTimeout (at most a second) before it ends is answered 503.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// Logger gets one line per request and the reloads (default: slog.Default()).
	Logger *slog.Logger
	// Version is the server's version in GET /v2 (default "dev").
	Version string

	beforeBatch func() // tests: called by a worker before each batch, to hold it
}

func (c Config) withDefaults() Config {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = DefaultMaxBatch
	}
	switch {
	case c.MaxDelay == 0:
		c.MaxDelay = DefaultMaxDelay
	case c.MaxDelay < 0:
		c.MaxDelay = 0
	}
	if c.Queue <= 0 {
		c.Queue = DefaultQueue
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.MaxBody <= 0 {
		c.MaxBody = DefaultMaxBody
	}
	def(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&c.ReadTimeout, DefaultReadTimeout)
	def(&c.WriteTimeout, DefaultWriteTimeout)
	def(&c.IdleTimeout, DefaultIdleTimeout)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	return c
}

// A Server answers HTTP requests with the model of one file. It is safe for concurrent use.
type Server struct {
	cfg     Config
	path    string
	log     *slog.Logger
	metrics *metrics
	handler http.Handler
	http    *http.Server

	admitted chan struct{}          // a token for each request to the model under way, read to answered
	cur      atomic.Pointer[loaded] // the model answering
	reloadMu sync.Mutex             // one reload or shutdown at a time
	retired  sync.WaitGroup         // models replaced by a reload, finishing their queues
	closing  atomic.Bool            // Shutdown or Close has begun
}

// New opens the model at path (the model.db of seqclf pipeline run) and returns a server for
// it, not yet listening: call Serve.
func New(path string, cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, path: path, log: cfg.Logger,
		admitted: make(chan struct{}, cfg.Queue+cfg.Workers*cfg.MaxBatch)}
	s.metrics = newMetrics(func() float64 {
		if l := s.cur.Load(); l != nil {
			return float64(l.batcher.depth())
		}
		return 0
	})
	l, err := s.open()
	if err != nil {
		return nil, err
	}
	s.cur.Store(l)
	s.metrics.setModel(cfg.Name, l.kind, l.file)
	s.handler = s.routes()
	s.http = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Handler returns the server's routes, for a test or another http.Server; Serve uses them
// with the Config's timeouts.
func (s *Server) Handler() http.Handler { return s.handler }

// Info describes the model answering now.
func (s *Server) Info() seqclf.Info { return s.cur.Load().model.Info() }

// Serve answers the connections of l until Shutdown or Close, and then returns
// http.ErrServerClosed.
func (s *Server) Serve(l net.Listener) error { return s.http.Serve(l) }

// Shutdown stops accepting connections, waits for the requests under way to be answered, then
// closes the model. If ctx ends first, the connections left are closed and its error returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.reloadMu.Lock()
	s.closing.Store(true)
	s.reloadMu.Unlock()
	err := s.http.Shutdown(ctx)
	if err != nil {
		s.http.Close()
	}
	s.cur.Load().retire()
	s.retired.Wait()
	return err
}

// Close closes the listeners and connections at once, then the model.
func (s *Server) Close() error {
	s.reloadMu.Lock()
	s.closing.Store(true)
	s.reloadMu.Unlock()
	err := s.http.Close()
	s.cur.Load().retire()
	s.retired.Wait()
	return err
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/health/live", s.live)
	mux.HandleFunc("GET /v2/health/ready", s.ready)
	mux.HandleFunc("GET /v2", s.serverMetadata)
	mux.HandleFunc("GET /v2/models/{name}", s.modelMetadata)
	mux.HandleFunc("GET /v2/models/{name}/ready", s.modelReady)
	mux.HandleFunc("POST /v2/models/{name}/infer", s.infer)
	mux.HandleFunc("POST /v2/repository/models/{name}/load", s.load)
	mux.HandleFunc("POST /v1/classify", s.classifyPlain)
	mux.Handle("GET /metrics", s.metrics.handler())
	return s.instrument(mux)
}

// A recorder notes what a handler answered, for the request's log line and metrics.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
	inputs int
	err    string
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// note records on w's recorder the number of inputs a request carried.
func note(w http.ResponseWriter, inputs int) {
	if r, ok := w.(*recorder); ok {
		r.inputs = inputs
	}
}

// instrument logs one line per request and counts it in the metrics.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		d := time.Since(start)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		route := r.Pattern // set by the mux
		if route == "" {
			route = "unmatched"
		}
		s.metrics.observe(route, rec.status, d)
		attrs := []slog.Attr{
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("route", route),
			slog.Int("status", rec.status), slog.Int("bytes", rec.bytes), slog.Duration("duration", d),
			slog.String("remote", r.RemoteAddr),
		}
		if rec.inputs > 0 {
			attrs = append(attrs, slog.Int("inputs", rec.inputs))
		}
		level := slog.LevelInfo
		if rec.err != "" {
			attrs = append(attrs, slog.String("err", rec.err))
			if rec.status >= 500 {
				level = slog.LevelWarn
			}
		}
		s.log.LogAttrs(r.Context(), level, "request", attrs...)
	})
}

// writeJSON answers v as JSON with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// A notFoundError is a model name the server does not serve: 404.
type notFoundError struct{ name, served string }

func (e *notFoundError) Error() string {
	return fmt.Sprintf("unknown model %q: this server answers %q", e.name, e.served)
}

// errShuttingDown is a request that came as the server stopped: 503.
var errShuttingDown = errors.New("the server is shutting down")

// fail answers err as the protocol's {"error": ...}, with the status its kind calls for.
func (s *Server) fail(w http.ResponseWriter, err error) {
	var (
		req      *requestError
		notFound *notFoundError
		tooLarge *http.MaxBytesError
		shape    *seqclf.ShapeError
	)
	code := http.StatusInternalServerError
	msg := err.Error()
	switch {
	case errors.As(err, &req), errors.Is(err, seqclf.ErrKind), errors.As(err, &shape):
		code = http.StatusBadRequest
	case errors.As(err, &notFound):
		code = http.StatusNotFound
	case errors.As(err, &tooLarge):
		code = http.StatusRequestEntityTooLarge
		msg = fmt.Sprintf("the body is larger than %d bytes", tooLarge.Limit)
	case errors.Is(err, ErrOverloaded):
		code = http.StatusServiceUnavailable
		msg = "overloaded: the queue is full; retry later"
		w.Header().Set("Retry-After", "1")
	case errors.Is(err, context.DeadlineExceeded):
		code = http.StatusServiceUnavailable
		msg = "timed out waiting for the model; retry later"
		w.Header().Set("Retry-After", "1")
	case errors.Is(err, context.Canceled), errors.Is(err, errShuttingDown), errors.Is(err, seqclf.ErrClosed):
		code = http.StatusServiceUnavailable
	}
	if r, ok := w.(*recorder); ok {
		r.err = msg
	}
	writeJSON(w, code, map[string]string{"error": msg})
}

// model returns the model named by the request's path, or a notFoundError.
func (s *Server) model(r *http.Request) (*loaded, error) {
	if name := r.PathValue("name"); name != s.cfg.Name {
		return nil, &notFoundError{name: name, served: s.cfg.Name}
	}
	return s.cur.Load(), nil
}

// readBody reads the request's body, at most MaxBody bytes.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > s.cfg.MaxBody {
		return nil, &http.MaxBytesError{Limit: s.cfg.MaxBody}
	}
	if rec, ok := w.(*recorder); ok {
		w = rec.ResponseWriter // MaxBytesReader tells the server's own writer to close the connection
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	var tooLarge *http.MaxBytesError
	if err != nil && !errors.As(err, &tooLarge) {
		return nil, badRequest("reading the body: %v", err)
	}
	return b, err
}

// requestContext returns the context a request waits for the model under: it ends in time to
// answer 503 before the server's write timeout cuts the connection.
func (s *Server) requestContext(r *http.Request) (context.Context, context.CancelFunc) {
	margin := min(s.cfg.WriteTimeout/10, time.Second)
	return context.WithTimeout(r.Context(), s.cfg.WriteTimeout-margin)
}

// admit takes a token for a request to the model, or returns ErrOverloaded at once; release
// gives it back.
func (s *Server) admit() (release func(), err error) {
	select {
	case s.admitted <- struct{}{}:
		return func() { <-s.admitted }, nil
	default:
		return nil, ErrOverloaded
	}
}

// classify runs the inputs that decode makes for the current model through its batcher, and
// returns their predictions with the model that answered. A reload between the look at the
// current model and the queue makes it try again with the new one.
func (s *Server) classify(ctx context.Context, decode func(*loaded) (inputs, error)) ([]seqclf.Prediction, *loaded, error) {
	for {
		l := s.cur.Load()
		in, err := decode(l)
		if err != nil {
			return nil, l, err
		}
		if in.n == 0 {
			return []seqclf.Prediction{}, l, nil
		}
		it := &item{ctx: ctx, in: in, done: make(chan result, 1)}
		if err := l.batcher.submit(it); errors.Is(err, errRetired) {
			if s.cur.Load() != l {
				continue
			}
			return nil, l, errShuttingDown
		} else if err != nil {
			return nil, l, err
		}
		select {
		case r := <-it.done:
			return r.preds, l, r.err
		case <-ctx.Done():
			return nil, l, ctx.Err()
		}
	}
}

func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"live": true})
}

// ready is true until Shutdown begins.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if s.closing.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]bool{"ready": false})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ready": true})
}

func (s *Server) serverMetadata(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, serverMetadata{Name: "seqclf", Version: s.cfg.Version, Extensions: []string{}})
}

func (s *Server) modelMetadata(w http.ResponseWriter, r *http.Request) {
	l, err := s.model(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	md := modelMetadata{
		Name:     s.cfg.Name,
		Platform: platformSeqclf,
		Outputs: []tensorMeta{
			{Name: outputLabel, Datatype: datatypeBytes, Shape: []int{-1}},
			{Name: outputProbs, Datatype: datatypeFloat, Shape: []int{-1, len(l.classes)}},
		},
		Parameters: map[string]any{"kind": l.kind, "classes": l.classes},
	}
	if l.rows == 0 {
		md.Inputs = []tensorMeta{{Name: inputText, Datatype: datatypeBytes, Shape: []int{-1}}}
	} else {
		md.Inputs = []tensorMeta{{Name: inputImage, Datatype: datatypeFloat, Shape: []int{-1, l.rows, l.cols}}}
		md.Parameters["pixel_range"] = []float32{0, 1}
	}
	writeJSON(w, http.StatusOK, md)
}

func (s *Server) modelReady(w http.ResponseWriter, r *http.Request) {
	if _, err := s.model(r); err != nil {
		s.fail(w, err)
		return
	}
	code := http.StatusOK
	if s.closing.Load() {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"name": s.cfg.Name, "ready": code == http.StatusOK})
}

func (s *Server) infer(w http.ResponseWriter, r *http.Request) {
	if _, err := s.model(r); err != nil {
		s.fail(w, err)
		return
	}
	release, err := s.admit()
	if err != nil {
		s.fail(w, err)
		return
	}
	defer release()
	body, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, err)
		return
	}
	req, err := decodeInfer(body)
	if err != nil {
		s.fail(w, err)
		return
	}
	ctx, cancel := s.requestContext(r)
	defer cancel()
	preds, l, err := s.classify(ctx, func(l *loaded) (inputs, error) {
		if l.rows == 0 {
			return req.textInputs()
		}
		return req.imageInputs(l.rows, l.cols)
	})
	note(w, len(preds))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, encodeInfer(s.cfg.Name, req, l.classes, preds))
}

// classifyRequest and classifyResponse are the bodies of POST /v1/classify.
type classifyRequest struct {
	Texts []string `json:"texts"`
}

type classifyResponse struct {
	Predictions []seqclf.Prediction `json:"predictions"`
}

func (s *Server) classifyPlain(w http.ResponseWriter, r *http.Request) {
	release, err := s.admit()
	if err != nil {
		s.fail(w, err)
		return
	}
	defer release()
	body, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, err)
		return
	}
	req, err := decodeClassify(body)
	if err != nil {
		s.fail(w, err)
		return
	}
	ctx, cancel := s.requestContext(r)
	defer cancel()
	preds, _, err := s.classify(ctx, func(l *loaded) (inputs, error) {
		if l.rows != 0 {
			return inputs{}, badRequest("the model reads %d×%d images, not texts: send them to /v2/models/%s/infer as FP32 [N, %d, %d]",
				l.rows, l.cols, s.cfg.Name, l.rows, l.cols)
		}
		return inputs{texts: req.Texts, n: len(req.Texts)}, nil
	})
	note(w, len(req.Texts))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, classifyResponse{Predictions: preds})
}

// decodeClassify reads the body of POST /v1/classify: {"texts": [...]} and nothing else.
func decodeClassify(body []byte) (*classifyRequest, error) {
	var req classifyRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, badRequest(`the body is not {"texts": ["...", ...]}: %v`, jsonError(err))
	}
	if dec.More() {
		return nil, badRequest(`the body holds more than one JSON value`)
	}
	if req.Texts == nil {
		return nil, badRequest(`the body has no "texts": send {"texts": ["...", ...]}`)
	}
	return &req, nil
}

func (s *Server) load(w http.ResponseWriter, r *http.Request) {
	if _, err := s.model(r); err != nil {
		s.fail(w, err)
		return
	}
	if err := s.Reload(); err != nil {
		s.fail(w, badRequest("reload refused, the old model goes on answering: %v", err))
		return
	}
	l := s.cur.Load()
	writeJSON(w, http.StatusOK, map[string]any{"name": s.cfg.Name, "file": l.file, "kind": l.kind, "ready": true})
}
