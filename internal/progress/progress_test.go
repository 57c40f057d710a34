package progress

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newFakeClock() *fakeClock { return &fakeClock{time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }

func TestProgressLogLines(t *testing.T) {
	clock := newFakeClock()
	var out bytes.Buffer
	p := New(&out, WithClock(clock.now), WithLogEvery(10*time.Second))

	p.Start(Epoch{N: 1, Of: 3, Samples: 1000})
	clock.advance(time.Second)
	p.Update(100, 0.5) // 1 s since start: no line yet
	clock.advance(9 * time.Second)
	p.Update(500, 0.3) // 10 s: a line; mean loss (100·0.5 + 400·0.3)/500 = 0.34
	clock.advance(5 * time.Second)
	p.Update(750, 0.2) // 5 s since the last line: none
	clock.advance(5 * time.Second)
	p.Update(1000, 0.1) // (170 + 250·0.2 + 250·0.1)/1000 = 0.245
	p.Finish("val loss 0.2000  val accuracy 93.10%")

	// Ctrl-C two seconds into the second epoch.
	p.Start(Epoch{N: 2, Of: 3, Samples: 1000})
	clock.advance(2 * time.Second)
	p.Update(200, 0.2)
	p.Finish("interrupted")

	want := "epoch 1/3  500/1000 (50%)  loss 0.3400  50 samples/s  ETA 10s\n" +
		"epoch 1/3  1000/1000 (100%)  loss 0.2450  50 samples/s  ETA 0s\n" +
		"epoch 1/3  1000 samples in 20.0s  50 samples/s  loss 0.2450  val loss 0.2000  val accuracy 93.10%\n" +
		"epoch 2/3  stopped at 200/1000 after 2.0s  100 samples/s  loss 0.2000  interrupted\n"
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(out.String(), "\r") || strings.Contains(out.String(), "\x1b") {
		t.Error("log lines contain terminal control characters")
	}
}

func TestProgressBar(t *testing.T) {
	clock := newFakeClock()
	var out bytes.Buffer
	p := New(&out, WithClock(clock.now), WithTerminal(true, 80))

	p.Start(Epoch{N: 1, Of: 2, Samples: 1000})
	clock.advance(time.Second)
	p.Update(250, 0.8) // first update: drawn
	clock.advance(50 * time.Millisecond)
	p.Update(300, 0.8) // 50 ms later: not redrawn
	clock.advance(50 * time.Millisecond)
	p.Update(500, 0.4) // 100 ms after the last draw: redrawn; loss (240 + 80)/500 = 0.64, 500/1.1 s = 455/s
	clock.advance(900 * time.Millisecond)
	p.Update(1000, 0.4)
	p.Finish("val accuracy 90.00%")

	// 80 columns: 9 for "epoch 1/2", 53 reserved for "  1000/1000  loss …
	// samples/s  ETA …", 3 for " []" and one spare leave a bar of 14.
	want := "\repoch 1/2 [==>           ]  250/1000  loss 0.8000  250 samples/s  ETA 3s\x1b[K" +
		"\repoch 1/2 [======>       ]  500/1000  loss 0.6400  455 samples/s  ETA 1s\x1b[K" +
		"\repoch 1/2 [==============]  1000/1000  loss 0.5200  500 samples/s  ETA 0s\x1b[K" +
		"\repoch 1/2  1000 samples in 2.0s  500 samples/s  loss 0.5200  val accuracy 90.00%\x1b[K\n"
	if got := out.String(); got != want {
		t.Errorf("output:\n%q\nwant:\n%q", got, want)
	}
	// Bars are redrawn in place, so they must not wrap; the final line may.
	for _, line := range strings.Split(out.String(), "\r") {
		if strings.HasSuffix(line, "\n") {
			continue
		}
		line = strings.TrimSuffix(line, "\x1b[K")
		if len(line) > 79 {
			t.Errorf("line of %d columns on an 80-column terminal: %q", len(line), line)
		}
	}
}

func TestProgressNarrowTerminal(t *testing.T) {
	clock := newFakeClock()
	var out bytes.Buffer
	p := New(&out, WithClock(clock.now), WithTerminal(true, 40))
	p.Start(Epoch{N: 3, Of: 0, Samples: 60000}) // epochs unknown: "epoch 3"
	clock.advance(2 * time.Second)
	p.Update(6000, 1.25)
	// No room for a bar; the line is cut to 39 columns so it cannot wrap.
	want := "\r" + "epoch 3  6000/60000  loss 1.2500  3000 " + "\x1b[K"
	if got := out.String(); got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

type failingWriter struct{ n int }

func (w *failingWriter) Write(b []byte) (int, error) {
	w.n++
	return 0, errors.New("broken pipe")
}

func TestProgressWriteError(t *testing.T) {
	clock := newFakeClock()
	w := &failingWriter{}
	p := New(w, WithClock(clock.now), WithTerminal(true, 80))
	p.Start(Epoch{N: 1, Of: 1, Samples: 10})
	p.Update(5, 1)
	p.Finish("")
	if p.Err() == nil || p.Err().Error() != "broken pipe" || w.n != 2 {
		t.Errorf("Err = %v after %d writes, want broken pipe after 2", p.Err(), w.n)
	}
}

func TestProgressDetectsNonTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range []*Bar{New(f), New(&bytes.Buffer{})} {
		if p.tty {
			t.Error("a file or buffer was taken for a terminal")
		}
	}
}

func TestProgressLoss(t *testing.T) {
	p := New(&bytes.Buffer{}, WithClock(newFakeClock().now))
	p.Start(Epoch{N: 1, Of: 1, Samples: 100})
	if !math.IsNaN(p.Loss()) {
		t.Errorf("loss before any update = %v, want NaN", p.Loss())
	}
	p.Update(40, 1)
	p.Update(40, 9)           // no new samples: ignored
	p.Update(100, math.NaN()) // NaN loss: not averaged in
	if p.Loss() != 1 {
		t.Errorf("loss = %v, want 1", p.Loss())
	}
}

func TestFormatDurations(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 1499 * time.Millisecond: "1s", 59 * time.Second: "59s", 65 * time.Second: "1m05s",
		3599 * time.Second: "59m59s", 3720 * time.Second: "1h02m",
	} {
		if got := formatETA(d); got != want {
			t.Errorf("formatETA(%v) = %q, want %q", d, got, want)
		}
	}
	if got := formatElapsed(12340 * time.Millisecond); got != "12.3s" {
		t.Errorf("formatElapsed(12.34s) = %q", got)
	}
	if got := formatElapsed(125 * time.Second); got != "2m05s" {
		t.Errorf("formatElapsed(125s) = %q", got)
	}
}
