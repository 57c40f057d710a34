package pipeline

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seqclf/seqclf/lstm"
	"github.com/seqclf/seqclf/store"
	"github.com/seqclf/seqclf/train"
)

// TestMain lets the crash test run this test binary as a training process: with
// SEQCLF_CRASH_CONFIG set it runs that config (with SEQCLF_CRASH_RESUME=1, resumed), writing
// "checkpoint begin" and "checkpoint end" around each checkpoint's write to standard error.
func TestMain(m *testing.M) {
	if path := os.Getenv("SEQCLF_CRASH_CONFIG"); path != "" {
		os.Exit(crashChild(path, os.Getenv("SEQCLF_CRASH_RESUME") == "1"))
	}
	os.Exit(m.Run())
}

func crashChild(path string, resume bool) int {
	cfg, err := LoadConfig(path, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	hook := func(begin bool) {
		if begin {
			os.Stderr.WriteString("checkpoint begin\n")
		} else {
			os.Stderr.WriteString("checkpoint end\n")
		}
	}
	if _, err := Run(context.Background(), cfg, RunOptions{Resume: resume, CheckpointHook: hook}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

const crashConfig = `seed: 3
output_dir: %s
source: {kind: mnist, train_images: ../idx/testdata/mnist-t10k-20-images-idx3-ubyte.gz, train_labels: ../idx/testdata/mnist-t10k-20-labels-idx1-ubyte.gz, validation_split: 0.2}
lstm: {num_units: 64, time_step: 28, dropout: 0}
train: {epochs: 30, batch_size: 4, learning_rate: 0.003}
`

// crashRun is one training process of the crash test.
type crashRun struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr strings.Builder
	begins chan struct{} // a value per "checkpoint begin" line
	done   chan error
}

func (r *crashRun) log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stderr.String()
}

func startCrashRun(t *testing.T, config string, resume bool) *crashRun {
	t.Helper()
	r := &crashRun{cmd: exec.Command(os.Args[0]), begins: make(chan struct{}, 1000), done: make(chan error, 1)}
	r.cmd.Env = append(os.Environ(), "SEQCLF_CRASH_CONFIG="+config)
	if resume {
		r.cmd.Env = append(r.cmd.Env, "SEQCLF_CRASH_RESUME=1")
	}
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			r.mu.Lock()
			r.stderr.WriteString(sc.Text() + "\n")
			r.mu.Unlock()
			if sc.Text() == "checkpoint begin" {
				r.begins <- struct{}{}
			}
		}
		r.done <- r.cmd.Wait()
	}()
	return r
}

// readCheckpoint opens the store at path as a reader would and reads its checkpoint back
// whole into a model of the crash test's shape. It reports the checkpoint's state, and found
// false if the store holds none yet.
func readCheckpoint(t *testing.T, cfg *Config, path string) (state store.CheckpointState, found bool) {
	t.Helper()
	s, err := store.Open(path)
	if errors.Is(err, store.ErrMissing) {
		return state, false // bbolt made the file; killed before the meta bucket's commit
	}
	if err != nil {
		t.Fatalf("after a kill: %v", err)
	}
	defer s.Close()
	m, err := lstm.NewZero[float32](lstm.Config{InputDim: 28, NumUnits: cfg.LSTM.NumUnits, NumLayers: 1, Classes: 10})
	if err != nil {
		t.Fatal(err)
	}
	opt, err := newOptimizer(cfg.Train)
	if err != nil {
		t.Fatal(err)
	}
	st := train.NewState(m, opt, nil)
	found, err = st.Load(s)
	if err != nil {
		t.Fatalf("after a kill: %v", err)
	}
	if found && len(st.History.Epochs) != st.Epoch {
		t.Fatalf("after a kill: the checkpoint of epoch %d holds the history of %d epochs", st.Epoch, len(st.History.Epochs))
	}
	return st.CheckpointState, found
}

// TestCrashSafety kills training with SIGKILL at random moments, at least 20 times, many of them
// inside a checkpoint's write. After each kill model.db must open and its checkpoint read back
// whole, never older than the one before; --resume goes on, and each chain of kills and resumes
// ends with exactly the weights of an uninterrupted run.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("trains in child processes")
	}
	cfgFor := func(dir string) (string, *Config) {
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, fmt.Appendf(nil, crashConfig, filepath.Join(dir, "out")), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfig(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		return path, cfg
	}

	// The uninterrupted run, in a child process like the others; its time sets the kills' range.
	config, cfg := cfgFor(t.TempDir())
	start := time.Now()
	r := startCrashRun(t, config, false)
	if err := <-r.done; err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, r.log())
	}
	full := time.Since(start)
	want := storedWeights(t, filepath.Join(cfg.OutputDir, ModelFile))
	checkpoints := strings.Count(r.log(), "checkpoint end")
	t.Logf("uninterrupted run: %v, %d checkpoints", full.Round(time.Millisecond), checkpoints)

	rng := rand.New(rand.NewPCG(6, 1))
	const minKills = 40
	kills, inWrite, chains, emptyFiles := 0, 0, 0, 0
	for kills < minKills {
		chains++
		config, cfg := cfgFor(t.TempDir())
		path := filepath.Join(cfg.OutputDir, CheckpointFile)
		resume, last := false, -1
		for attempt := 0; ; attempt++ {
			if attempt == 100 {
				t.Fatalf("chain %d: 100 processes without finishing", chains)
			}
			r := startCrashRun(t, config, resume)
			// A third of the kills come as the n-th checkpoint's write begins, the others after
			// a random delay.
			delay := time.Duration(rng.Int64N(int64(full)))
			var kill <-chan time.Time
			var begins <-chan struct{}
			nth := 0
			if rng.IntN(3) == 0 {
				begins, nth = r.begins, 1+rng.IntN(4)
			} else {
				kill = time.After(delay)
			}
			var err error
			exited := true
		wait:
			select {
			case err = <-r.done:
			case <-begins:
				if nth--; nth > 0 {
					goto wait
				}
				r.cmd.Process.Signal(syscall.SIGKILL)
				err = <-r.done
				exited = false
			case <-kill:
				r.cmd.Process.Signal(syscall.SIGKILL)
				err = <-r.done
				exited = false
				var exit *exec.ExitError
				if errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
					exited = true // it had ended before the signal
				}
			}
			if exited {
				if err != nil {
					t.Fatalf("chain %d: run ended with %v\n%s", chains, err, r.log())
				}
				break
			}
			kills++
			if log := r.log(); strings.HasSuffix(log, "checkpoint begin\n") {
				inWrite++
			}
			// Every run after a kill resumes, as a retried job does, whatever the kill left.
			resume = true
			if st, err := os.Stat(path); errors.Is(err, os.ErrNotExist) || err == nil && st.Size() == 0 {
				// Killed before it made checkpoint.db, or after it made the file and before
				// bbolt wrote its first pages (in one write): the resumed run starts again.
				emptyFiles++
				continue
			}
			state, found := readCheckpoint(t, cfg, path)
			if found && state.Epoch < last {
				t.Fatalf("chain %d: after a kill the checkpoint is of epoch %d, older than the %d seen before", chains, state.Epoch, last)
			}
			if found {
				last = state.Epoch
			}
			if state.Done {
				break // killed after the model was written
			}
		}
		got := storedWeights(t, filepath.Join(cfg.OutputDir, ModelFile))
		for i := range want {
			if !slices.Equal(got[i], want[i]) {
				t.Fatalf("chain %d: parameter %d differs from the uninterrupted run's", chains, i)
			}
		}
	}
	t.Logf("%d kills in %d chains, %d of them inside a checkpoint's write, %d before checkpoint.db had its first pages", kills, chains, inWrite, emptyFiles)
	if inWrite == 0 {
		t.Error("no kill landed inside a checkpoint's write")
	}
}
