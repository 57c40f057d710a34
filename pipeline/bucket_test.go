package pipeline

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seqclf/seqclf/internal/progress"
	"github.com/seqclf/seqclf/train"
)

// bucketConfig is a text run on five real SpamAssassin mails, one sample a sentence (lengths
// from 1 to 20 tokens), with train.bucket_by_length on.
func bucketConfig(t *testing.T) *Config {
	cfg := DefaultConfig()
	cfg.OutputDir = t.TempDir()
	cfg.Source = SourceConfig{Kind: "text", Format: "dir", Train: "../source/testdata/spamassassin-mini", TestSplit: 0.4,
		Extensions: []string{".txt"}, Labels: map[string]string{"easy-ham-1": "ham", "spam-2": "spam"}}
	cfg.Tokenize.Unit = "sentence"
	cfg.Vocab.MinCount = 1
	cfg.Embed.Dim = 8
	cfg.LSTM = LSTMConfig{NumUnits: 8, NumLayers: 1, TimeStep: 20, Pooling: "mean", Cell: "lstm", InputDropout: 0.1}
	cfg.Train.Epochs, cfg.Train.BatchSize, cfg.Train.Schedule = 2, 4, "cosine"
	cfg.Train.EarlyStoppingPatience = 0
	cfg.Train.BucketByLength = true
	return &cfg
}

// TestRunBucketedInterruptedResumes stops a run with batches bucketed by length in the middle of
// an epoch and resumes it: the model must be the one an uninterrupted run makes, bit for bit, and
// differ from the model of unbucketed batches. A resumed run cannot change the setting.
func TestRunBucketedInterruptedResumes(t *testing.T) {
	cfg := bucketConfig(t)
	if _, err := Run(context.Background(), cfg, RunOptions{NoTest: true}); err != nil {
		t.Fatal(err)
	}
	want := storedWeights(t, cfg.OutputDir+"/"+ModelFile)

	plain := *cfg
	plain.OutputDir, plain.Train.BucketByLength = t.TempDir(), false
	if _, err := Run(context.Background(), &plain, RunOptions{NoTest: true}); err != nil {
		t.Fatal(err)
	}
	if other := storedWeights(t, plain.OutputDir+"/"+ModelFile); slices.EqualFunc(other, want, slices.Equal) {
		t.Error("bucketed and unbucketed batches trained the same model")
	}

	cfg.OutputDir = t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	clock := func() time.Time {
		// The clock is read at each epoch's start, each step and each end: call 9 is a step's.
		if calls++; calls == 9 {
			cancel()
		}
		return time.Unix(0, 0)
	}
	_, err := Run(ctx, cfg, RunOptions{NoTest: true, Progress: []progress.Option{progress.WithClock(clock)}})
	if !errors.Is(err, train.ErrInterrupted) || !strings.Contains(err.Error(), "step") {
		t.Fatalf("cancelled run: %v, want ErrInterrupted in the middle of an epoch", err)
	}
	changed := *cfg
	changed.Train.BucketByLength = false
	if _, err := Run(context.Background(), &changed, RunOptions{Resume: true, NoTest: true}); err == nil || !strings.Contains(err.Error(), "train.bucket_by_length") {
		t.Errorf("resume without bucketing: %v, want an error naming train.bucket_by_length", err)
	}
	res, err := Run(context.Background(), cfg, RunOptions{Resume: true, NoTest: true})
	if err != nil {
		t.Fatal(err)
	}
	got := storedWeights(t, res.ModelPath)
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("parameter %d differs between the resumed and the uninterrupted run", i)
		}
	}
}
