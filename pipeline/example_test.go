package pipeline_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/seqclf/seqclf"
	"github.com/seqclf/seqclf/pipeline"
)

// Training from Go: the YAML file of `seqclf pipeline run`, with key=value overrides as --set
// gives them (here a smaller network, for a quick example), run with a context. Cancelling the
// context stops the run after the step under way, with a checkpoint that RunOptions.Resume goes
// on from. Package seqclf then answers with the model.
func Example() {
	dir, err := os.MkdirTemp("", "seqclf-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	cfg, err := pipeline.LoadConfig("../configs/default.yaml", []string{
		"output_dir=" + dir,
		"source.train=../configs/data/spamassassin-sample.jsonl.gz",
		"embed.dim=16", "lstm.num_units=16", "train.epochs=2",
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	res, err := pipeline.Run(ctx, cfg, pipeline.RunOptions{}) // Log: os.Stderr shows the progress
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d epochs, %d test mails\n", len(res.History.Epochs), res.Test.Samples)

	m, err := seqclf.Open(res.ModelPath)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	preds, err := m.Classify(ctx, "Congratulations, you won a FREE cruise! Click here now to claim your prize.")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(preds[0].Label)
	// Output:
	// 2 epochs, 240 test mails
	// spam
}

// A config can be a Go value too: DefaultConfig holds the value of every key a file leaves
// out, and Validate checks the values as LoadConfig does. This one trains on the 20 MNIST
// images of idx/testdata, a row of pixels a step.
func ExampleRun() {
	dir, err := os.MkdirTemp("", "seqclf-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	cfg := pipeline.DefaultConfig()
	cfg.OutputDir = dir
	cfg.Source.Kind = "mnist"
	cfg.Source.TrainImages = "../idx/testdata/mnist-t10k-20-images-idx3-ubyte.gz"
	cfg.Source.TrainLabels = "../idx/testdata/mnist-t10k-20-labels-idx1-ubyte.gz"
	cfg.LSTM.NumUnits, cfg.LSTM.TimeStep = 12, 28
	cfg.Train.BatchSize, cfg.Train.Epochs = 4, 3
	if err := cfg.Validate(); err != nil { // LoadConfig checks a file's values; Run does not
		log.Fatal(err)
	}
	res, err := pipeline.Run(context.Background(), &cfg, pipeline.RunOptions{})
	if err != nil {
		log.Fatal(err)
	}

	m, err := seqclf.Open(res.ModelPath)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	info := m.Info()
	fmt.Printf("%d epochs; %s model: %d steps of %d pixels, %d units, %d classes, %d parameters\n",
		len(res.History.Epochs), info.Kind, info.Input.TimeStep, info.Shape.InputDim, info.Shape.NumUnits,
		info.Shape.Classes, info.Parameters)
	// Output:
	// 3 epochs; mnist model: 28 steps of 28 pixels, 12 units, 10 classes, 2098 parameters
}
