// Package progress shows how an epoch of training advances: a bar redrawn in place on a
// terminal, a plain line every so often in a log.
package progress

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// A Bar reports how an epoch of training advances. On a terminal it
// draws one bar per epoch that is redrawn in place with the running loss,
// samples/s and the time left; elsewhere (a log file, a pipe, CI) it writes
// a plain line every so often. Either way each epoch ends with one summary
// line.
//
// A Bar is used by one goroutine: Start an epoch, Update it as batches
// finish, Finish it, and Start the next. Write errors do not stop training;
// the first is kept for Err.
type Bar struct {
	w        io.Writer
	tty      bool
	width    int
	now      func() time.Time
	logEvery time.Duration
	redraw   time.Duration

	epoch, epochs, total int
	done                 int
	lossSum              float64 // loss × samples, over the epoch
	lossSamples          int
	start, last          time.Time // epoch start; last draw or log line
	drawn                bool
	err                  error
}

// Option configures a Bar.
type Option func(*Bar)

// WithClock makes the Bar read time from now instead of time.Now;
// tests pass a fake clock.
func WithClock(now func() time.Time) Option {
	return func(p *Bar) { p.now = now }
}

// WithTerminal overrides the detection of a terminal: tty true draws a bar
// of at most width columns, false writes log lines.
func WithTerminal(tty bool, width int) Option {
	return func(p *Bar) { p.tty, p.width = tty, width }
}

// WithLogEvery sets how often a line is written when the output is not a
// terminal (default 10 seconds).
func WithLogEvery(d time.Duration) Option {
	return func(p *Bar) { p.logEvery = d }
}

// New returns a Bar writing to w. It draws a bar when w is an
// *os.File on a terminal (and TERM is not "dumb"), and writes log lines
// otherwise.
func New(w io.Writer, opts ...Option) *Bar {
	p := &Bar{w: w, width: 80, now: time.Now, logEvery: 10 * time.Second, redraw: 100 * time.Millisecond}
	if f, ok := w.(*os.File); ok && os.Getenv("TERM") != "dumb" && term.IsTerminal(int(f.Fd())) {
		p.tty = true
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
			p.width = cols
		}
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Epoch is an epoch as a Bar shows it: number N (from 1) of Of (0: unknown), over Samples.
type Epoch struct {
	N, Of, Samples int
}

// Start begins epoch e.
func (p *Bar) Start(e Epoch) {
	epoch, epochs, total := e.N, e.Of, e.Samples
	p.epoch, p.epochs, p.total = epoch, epochs, total
	p.done, p.lossSum, p.lossSamples = 0, 0, 0
	p.start = p.now()
	p.last = p.start
	p.drawn = false
}

// Update records that done samples of the epoch are finished, and that
// loss is the mean loss of the samples finished since the previous Update
// (the batch just trained). The bar shows the epoch's running mean loss.
func (p *Bar) Update(done int, loss float64) {
	if n := done - p.done; n > 0 && !math.IsNaN(loss) {
		p.lossSum += loss * float64(n)
		p.lossSamples += n
	}
	p.done = done
	now := p.now()
	if p.tty {
		if !p.drawn || now.Sub(p.last) >= p.redraw {
			p.write("\r" + p.barLine(now) + "\x1b[K")
			p.last, p.drawn = now, true
		}
		return
	}
	if now.Sub(p.last) >= p.logEvery {
		p.write(p.logLine(now) + "\n")
		p.last = now
	}
}

// Finish ends the epoch with one line: the samples trained, the time, the
// throughput and the mean loss, followed by summary (for example the
// validation loss and accuracy), or "stopped at" when the epoch ended
// before all its samples, as on Ctrl-C. On a terminal the line replaces
// the bar.
func (p *Bar) Finish(summary string) {
	now := p.now()
	elapsed := now.Sub(p.start)
	var b strings.Builder
	fmt.Fprintf(&b, "epoch %s", p.epochLabel())
	if p.done < p.total {
		fmt.Fprintf(&b, "  stopped at %d/%d after %s", p.done, p.total, formatElapsed(elapsed))
	} else {
		fmt.Fprintf(&b, "  %d samples in %s", p.done, formatElapsed(elapsed))
	}
	if rate, ok := p.rate(now); ok {
		fmt.Fprintf(&b, "  %.0f samples/s", rate)
	}
	if p.lossSamples > 0 {
		fmt.Fprintf(&b, "  loss %.4f", p.Loss())
	}
	if summary != "" {
		b.WriteString("  " + summary)
	}
	if p.tty {
		p.write("\r" + b.String() + "\x1b[K\n")
	} else {
		p.write(b.String() + "\n")
	}
}

// Loss returns the mean loss over the samples updated so far in the epoch,
// or NaN if there are none.
func (p *Bar) Loss() float64 {
	if p.lossSamples == 0 {
		return math.NaN()
	}
	return p.lossSum / float64(p.lossSamples)
}

// Err returns the first error writing the output, or nil.
func (p *Bar) Err() error { return p.err }

func (p *Bar) write(s string) {
	if _, err := io.WriteString(p.w, s); err != nil && p.err == nil {
		p.err = err
	}
}

// epochLabel is "2/5", or "2" when the number of epochs is unknown.
func (p *Bar) epochLabel() string {
	if p.epochs > 0 {
		return fmt.Sprintf("%d/%d", p.epoch, p.epochs)
	}
	return fmt.Sprint(p.epoch)
}

// rate returns the samples per second since the epoch started.
func (p *Bar) rate(now time.Time) (float64, bool) {
	secs := now.Sub(p.start).Seconds()
	if secs <= 0 || p.done <= 0 {
		return 0, false
	}
	return float64(p.done) / secs, true
}

// stats is the part shared by the bar and the log line: loss, samples/s
// and the time left.
func (p *Bar) stats(now time.Time) string {
	var b strings.Builder
	if p.lossSamples > 0 {
		fmt.Fprintf(&b, "  loss %.4f", p.Loss())
	}
	if rate, ok := p.rate(now); ok {
		left := float64(max(0, p.total-p.done)) / rate
		fmt.Fprintf(&b, "  %.0f samples/s  ETA %s", rate, formatETA(time.Duration(min(left, 1e6)*float64(time.Second))))
	}
	return b.String()
}

// percent is done/total as a whole percentage.
func (p *Bar) percent() int {
	if p.total <= 0 {
		return 0
	}
	return max(0, min(100, p.done*100/p.total))
}

// logLine is one plain line: "epoch 1/3  500/1000 (50%)  loss …".
func (p *Bar) logLine(now time.Time) string {
	return fmt.Sprintf("epoch %s  %d/%d (%d%%)%s", p.epochLabel(), p.done, p.total, p.percent(), p.stats(now))
}

// barLine is the terminal line: "epoch 1/3 [=====>    ]  500/1000  loss …".
// The bar keeps one width through the epoch: what the terminal leaves
// beside the widest text expected (at most 30 columns), and none on a
// narrow terminal. The line is cut to the terminal's width so that it
// never wraps, which would defeat the redraw.
func (p *Bar) barLine(now time.Time) string {
	head := "epoch " + p.epochLabel()
	tail := fmt.Sprintf("  %d/%d%s", p.done, p.total, p.stats(now))
	reserve := len(fmt.Sprintf("  %d/%d", p.total, p.total)) + len("  loss 0.0000  99999 samples/s  ETA 59m59s")
	line := head + tail
	if barW := min(30, p.width-1-len(head)-reserve-3); barW >= 10 {
		fill := 0
		if p.total > 0 {
			fill = max(0, min(barW, p.done*barW/p.total))
		}
		bar := strings.Repeat("=", fill)
		if fill > 0 && fill < barW {
			bar = bar[:fill-1] + ">"
		}
		line = head + " [" + bar + strings.Repeat(" ", barW-fill) + "]" + tail
	}
	if p.width > 1 && len(line) > p.width-1 {
		line = line[:p.width-1]
	}
	return line
}

// formatElapsed writes a duration as "12.3s", "4m05s" or "1h02m".
func formatElapsed(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return formatETA(d)
}

// formatETA writes a duration as "6s", "4m05s" or "1h02m".
func formatETA(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}
