// Package classify answers with a trained model: the class probabilities of texts, or of images,
// the last stage of the pipeline (the LSTM's pooled output through the dense head and a
// softmax).
//
// # Basics
//
// [Load] reads a model from a store, with the dictionary and tokenizer settings it was trained
// with; it maps the embedding table and the dictionary from the file rather than reading them
// (store.MapModel, store.Dictionary), so a model opens in the same time whatever their size.
// [Classifier.Classify] returns each text's probabilities, [Classifier.ClassifyImages]
// each image's. [Predictor] runs batches of samples through a model, for evaluation during
// training as for answers.
//
// # Caveats
//
// A Classifier is safe for many goroutines; a Predictor holds a workspace and is for one. A
// text's answer does not depend on the texts classified beside it, up to the last bits: batches
// of up to four samples sum in another order than larger ones. A loaded Classifier outlives
// its store and file (store's Caveats say when a mapped file must not be rewritten in place).
// This package links no config, plotting or command-line code.
package classify
