package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/seqclf/seqclf/serve"
)

func init() { register(newServeCmd) }

// serveOptions are the flags of seqclf serve.
type serveOptions struct {
	model     string
	addr      string
	logFormat string
	drain     time.Duration
	cfg       serve.Config
}

// AddFlags adds the options' flags to fs.
func (o *serveOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.model, "model", "", "the trained model: OUTPUT_DIR/model.db of seqclf pipeline run (required)")
	fs.StringVar(&o.cfg.Name, "name", serve.DefaultName, "the model's name in the paths /v2/models/NAME/...")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "the address to listen on, HOST:PORT (0.0.0.0:8080 for every interface)")
	fs.IntVar(&o.cfg.MaxBatch, "max-batch", serve.DefaultMaxBatch, "the most inputs classified in one call of the model, across requests")
	fs.DurationVar(&o.cfg.MaxDelay, "max-delay", serve.DefaultMaxDelay, "how long a batch waits for more requests after its first (0: take only those already queued)")
	fs.IntVar(&o.cfg.Queue, "queue", serve.DefaultQueue, "the most requests waiting for the model; past it, 503 with Retry-After")
	fs.IntVar(&o.cfg.Workers, "workers", 0, "batches classified at once (0: one per CPU, GOMAXPROCS)")
	fs.Int64Var(&o.cfg.MaxBody, "max-body", serve.DefaultMaxBody, "the largest request body in bytes; a larger one is answered 413")
	fs.DurationVar(&o.cfg.ReadHeaderTimeout, "header-timeout", serve.DefaultReadHeaderTimeout, "time to read a request's headers")
	fs.DurationVar(&o.cfg.ReadTimeout, "read-timeout", serve.DefaultReadTimeout, "time to read a whole request")
	fs.DurationVar(&o.cfg.WriteTimeout, "write-timeout", serve.DefaultWriteTimeout, "time from a request's headers to the end of its answer")
	fs.DurationVar(&o.cfg.IdleTimeout, "idle-timeout", serve.DefaultIdleTimeout, "how long an idle keep-alive connection stays open")
	fs.DurationVar(&o.drain, "drain-timeout", 25*time.Second, "on SIGTERM or SIGINT, how long the requests under way have to finish")
	fs.StringVar(&o.logFormat, "log-format", "text", "the log on standard error: text or json, one line per request")
}

func newServeCmd(s streams) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve --model model.db",
		Short: "Answer HTTP requests with a trained model (Open Inference Protocol v2)",
		Long: `Serves a trained model over HTTP until SIGTERM or SIGINT:

  GET  /v2/health/live, /v2/health/ready, /v2, /v2/models/NAME, /v2/models/NAME/ready
  POST /v2/models/NAME/infer             the Open Inference Protocol (KServe, Triton)
  POST /v1/classify                      {"texts": ["...", ...]}
  POST /v2/repository/models/NAME/load   read the model file again (as SIGHUP does)
  GET  /metrics                          Prometheus

A text model takes one BYTES input "text" of shape [N] or [N, 1]; a model of images one FP32
input "image" of shape [N, rows, columns], pixels in [0, 1]. Both answer "label" (BYTES [N]) and
"probabilities" (FP32 [N, classes]). Concurrent requests are classified together, in batches of
up to --max-batch inputs. SIGTERM stops accepting connections and exits 0 once the requests under
way are answered; SIGHUP loads the model file again and swaps it in, or keeps the old model if
the new file does not open. One log line per request goes to standard error.`,
		Example: `  seqclf serve --model runs/default/model.db
  curl -s localhost:8080/v1/classify -d '{"texts": ["Get a FREE quote now, click here"]}'
  seqclf serve --model /models/model.db --name spam --addr 0.0.0.0:8080 --log-format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), s)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func (o *serveOptions) run(ctx context.Context, s streams) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := o.check(); err != nil {
		return err
	}
	var h slog.Handler = slog.NewTextHandler(s.err, nil)
	if o.logFormat == "json" {
		h = slog.NewJSONHandler(s.err, nil)
	}
	log := slog.New(h)
	o.cfg.Logger = log
	o.cfg.Version = buildVersion()

	// Signals are caught before the model loads, so that a SIGTERM during the load is not lost.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)

	srv, err := serve.New(o.model, o.cfg)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", o.addr)
	if err != nil {
		srv.Close()
		return fmt.Errorf("--addr %s: %w; give a free HOST:PORT", o.addr, err)
	}
	info := srv.Info()
	log.Info("serving", "addr", l.Addr().String(), "name", o.cfg.Name, "model", o.model, "kind", info.Kind,
		"classes", info.Shape.Classes)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()

	for {
		select {
		case err := <-served:
			srv.Close()
			return fmt.Errorf("serving on %s: %w", o.addr, err)
		case <-ctx.Done():
			return o.shutdown(srv, log, "the command's context ended", sigs)
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				srv.Reload() // logs its outcome; a failure leaves the old model answering
				continue
			}
			return o.shutdown(srv, log, sig.String(), sigs)
		}
	}
}

// shutdown drains srv within the drain timeout; a second SIGTERM or SIGINT cuts it short.
func (o *serveOptions) shutdown(srv *serve.Server, log *slog.Logger, why string, sigs <-chan os.Signal) error {
	log.Info("draining", "signal", why, "timeout", o.drain)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), o.drain)
	defer cancel()
	go func() {
		for sig := range sigs {
			if sig != syscall.SIGHUP {
				log.Warn("second signal: stopping at once", "signal", sig.String())
				cancel()
				return
			}
		}
	}()
	err := srv.Shutdown(ctx)
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutting down: the requests under way did not finish within --drain-timeout %s, or a second signal came: %w", o.drain, err)
	}
	log.Info("stopped", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// check returns an error for flags out of range, naming the flag.
func (o *serveOptions) check() error {
	if o.model == "" {
		return errors.New("--model is required: the model.db that seqclf pipeline run wrote")
	}
	if o.cfg.Name == "" {
		return errors.New("--name is empty: give the name the model answers to in /v2/models/NAME")
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return fmt.Errorf("--log-format is %q: use text or json", o.logFormat)
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"--max-batch", int64(o.cfg.MaxBatch)}, {"--queue", int64(o.cfg.Queue)}, {"--max-body", o.cfg.MaxBody}} {
		if f.v < 1 {
			return fmt.Errorf("%s is %d: it must be at least 1", f.name, f.v)
		}
	}
	if o.cfg.Workers < 0 {
		return fmt.Errorf("--workers is %d: give 0 (one per CPU) or more", o.cfg.Workers)
	}
	for _, f := range []struct {
		name string
		d    time.Duration
		zero bool // 0 is allowed
	}{{"--max-delay", o.cfg.MaxDelay, true}, {"--header-timeout", o.cfg.ReadHeaderTimeout, false},
		{"--read-timeout", o.cfg.ReadTimeout, false}, {"--write-timeout", o.cfg.WriteTimeout, false},
		{"--idle-timeout", o.cfg.IdleTimeout, false}, {"--drain-timeout", o.drain, false}} {
		if f.d < 0 || f.d == 0 && !f.zero {
			return fmt.Errorf("%s is %s: it must be more than 0", f.name, f.d)
		}
	}
	if o.cfg.MaxDelay == 0 {
		o.cfg.MaxDelay = -1 // serve.Config reads 0 as its default, and a negative delay as none
	}
	return nil
}

// buildVersion is the version seqclf version prints.
func buildVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok && version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return version
}
