// Package seqclf answers with a trained LSTM sequence classifier from a Go program: open the
// model.db that `seqclf pipeline run` wrote, give it texts (or MNIST-format images), read the
// labels.
//
//	m, err := seqclf.Open("runs/default/model.db")
//	if err != nil { ... }
//	preds, err := m.Classify(ctx, "Get a FREE quote on your mortgage now, click here")
//	if err != nil { ... }
//	fmt.Println(preds[0].Label, preds[0].Probability) // spam 0.9998595
//
// # Basics
//
// [Open] reads a model into memory with the dictionary and tokenizer settings it was trained
// with. [Model.Classify] answers texts, [Model.ClassifyImages] and [Model.ClassifyImageFile] the
// images of an IDX file; each answer is a [Prediction]: the label, its probability and every
// class's. [Model.Classes] names the classes and [Model.Info] says what the model reads, its
// shape and its parameter count.
//
// Training is package pipeline's: [github.com/seqclf/seqclf/pipeline.LoadConfig] reads a YAML
// config (or start from pipeline.DefaultConfig and set its fields) and
// [github.com/seqclf/seqclf/pipeline.Run] trains it; cancelling its context stops the run after
// the step under way, with a checkpoint to resume from. Training stays in pipeline so that a
// program that only classifies links no config (viper), plotting or command-line (cobra) code:
// this package imports none of them.
//
// # Caveats
//
// A Model is safe for many goroutines at once; inputs go through the network in batches
// ([WithBatchSize]), and a call looks at its context between batches. The model lives in memory
// and its file is closed when Open returns: replacing model.db (a new training run) changes
// nothing for an open Model. A text's answer does not depend on the texts classified beside
// it, up to the last bits: batches of up to four samples sum in another order than larger ones.
// Texts go to a model of text and images to a model of images; the other kind is an error
// wrapping [ErrKind], and images of another size a [*ShapeError].
package seqclf
