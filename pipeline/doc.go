// Package pipeline turns data into a trained LSTM classifier and reports on
// it: sources (text files and MNIST-format IDX images), batching, the
// training loop, evaluation and the model store.
//
// # Basics
//
// Text runs source → sentences → tokens → ids → embeddings → LSTM; MNIST
// images skip the dictionary and the embeddings, each row (or column) of
// pixels being one time step's input ([ReadIDXPair], [Images.FillBatch]).
// [Evaluate] scores predictions ([Report]: accuracy, per-class
// precision/recall/F1, macro-F1, confusion matrix); [WriteMetricsJSON] and
// [History.WriteCurves] write OUTPUT_DIR/metrics.json and curves.png;
// [Progress] shows an epoch's progress on a terminal or in a log.
//
// # Caveats
//
// Output files are written under a temporary name and renamed, so a reader
// or an interrupted run sees the old file or the new one, never a part.
// An [Images] keeps the file's bytes; pixels are scaled to [0, 1] only as a
// batch is filled.
package pipeline
