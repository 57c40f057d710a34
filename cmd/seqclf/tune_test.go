package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/seqclf/seqclf/pipeline"
)

const tuneData = "../../pipeline/testdata/tune"

// TestPipelineTune runs a search of two tiny trials through the CLI: it prints the leaderboard
// and the best config's test accuracy, and writes best.yaml, which pipeline run takes.
func TestPipelineTune(t *testing.T) {
	out := t.TempDir()
	cfg := writeConfig(t, `seed: 42
output_dir: `+out+`
source: {kind: text, format: tsv, train: `+tuneData+`/train.tsv, test: `+tuneData+`/test.tsv, validation_split: 0.25}
vocab: {min_count: 1}
embed: {dim: 4}
lstm: {num_units: 4, time_step: 16}
train: {epochs: 2, batch_size: 8}
`)
	// One trial of one epoch: the default space's sizes (up to 256 units) are quick on 48 lines.
	report, err := run(t, "", "pipeline", "tune", cfg, "--budget", "2m", "--trials", "1", "--set", "train.epochs=1")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"rank", "val_loss", "lstm.num_units", "best: trial 1", "test accuracy"} {
		if !strings.Contains(report, want) {
			t.Errorf("output lacks %q:\n%s", want, report)
		}
	}
	best := filepath.Join(out, "tune", "best.yaml")
	for _, f := range []string{best, filepath.Join(out, "tune", "leaderboard.csv"), filepath.Join(out, "tune", "best", pipeline.ModelFile)} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	if _, err := pipeline.LoadConfig(best, nil); err != nil {
		t.Errorf("best.yaml: %v", err)
	}
}

// TestPipelineTuneInterrupt sends SIGINT to a search after its first trial: it stops with its
// state saved and says how to go on, and the same command then finishes it.
func TestPipelineTuneInterrupt(t *testing.T) {
	out := t.TempDir()
	cfg := writeConfig(t, `seed: 7
output_dir: `+out+`
source: {kind: text, format: tsv, train: `+tuneData+`/train.tsv, validation_split: 0.25, test_split: 0.2}
vocab: {min_count: 1}
lstm: {time_step: 16}
train: {epochs: 3, batch_size: 8}
`)
	args := []string{"pipeline", "tune", cfg, "--budget", "5m", "--trials", "3"}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SEQCLF_TEST_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "tune: trial 1:") {
			cmd.Process.Signal(syscall.SIGINT)
			break
		}
	}
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
	}
	err = cmd.Wait()
	if err == nil || !strings.Contains(log.String(), "run the same command again") {
		t.Fatalf("interrupted search: exit %v, log:\n%s", err, log.String())
	}
	if _, err := os.Stat(filepath.Join(out, "tune", "state.json")); err != nil {
		t.Fatal(err)
	}
	report, err := run(t, "", args...)
	if err != nil || !strings.Contains(report, "test accuracy") {
		t.Fatalf("rerun: %v\n%s", err, report)
	}
}

// TestPipelineTuneKill kills a search (SIGKILL) as its third trial step starts, then runs the
// same command to the end: the leaderboard is that of a search never killed.
func TestPipelineTuneKill(t *testing.T) {
	config := func(out string) string {
		return writeConfig(t, `seed: 3
output_dir: `+out+`
source: {kind: text, format: tsv, train: `+tuneData+`/train.tsv, validation_split: 0.25}
vocab: {min_count: 1}
lstm: {time_step: 16}
train: {epochs: 3, batch_size: 8}
`)
	}
	whole, killed := t.TempDir(), t.TempDir()
	args := func(cfg string) []string { return []string{"pipeline", "tune", cfg, "--budget", "5m", "--trials", "3"} }
	if _, err := run(t, "", args(config(whole))...); err != nil {
		t.Fatal(err)
	}
	cfg := config(killed)
	cmd := exec.Command(os.Args[0], args(cfg)...)
	cmd.Env = append(os.Environ(), "SEQCLF_TEST_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "trial 3 of 3") {
			cmd.Process.Kill()
			break
		}
	}
	for sc.Scan() {
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("the killed search exited 0")
	}
	if _, err := run(t, "", args(cfg)...); err != nil {
		t.Fatal(err)
	}
	// The leaderboards without their seconds.
	board := func(dir string) string {
		b, err := os.ReadFile(filepath.Join(dir, "tune", "leaderboard.csv"))
		if err != nil {
			t.Fatal(err)
		}
		var rows []string
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			rows = append(rows, line[:strings.LastIndex(line, ",")])
		}
		return strings.Join(rows, "\n")
	}
	if a, b := board(whole), board(killed); a != b {
		t.Errorf("killed and resumed:\n%s\nnever killed:\n%s", b, a)
	}
}

// TestPipelineTuneFlags checks that a bad or missing --budget is a usage error naming the flag,
// and that --help says the time already spent counts.
func TestPipelineTuneFlags(t *testing.T) {
	cfg := writeConfig(t, "seed: 1\n")
	for _, args := range [][]string{
		{"pipeline", "tune", cfg},
		{"pipeline", "tune", cfg, "--budget", "20x"},
		{"pipeline", "tune", cfg, "--budget", "-5m"},
	} {
		_, err := run(t, "", args...)
		var u *usageError
		if !errors.As(err, &u) || !strings.Contains(err.Error(), "--budget") {
			t.Errorf("%v: %v; want a usage error naming --budget", args, err)
		}
	}
	help, err := run(t, "", "pipeline", "tune", "--help")
	if err != nil || !strings.Contains(help, "counts toward --budget") {
		t.Errorf("--help: %v\n%s", err, help)
	}
}
