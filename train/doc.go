// Package train fits a model to samples: the training loop of a pipeline run, with a checkpoint
// after every epoch, resumption at any step, early stopping on the validation loss, and the
// best epoch's weights kept.
//
// # Basics
//
// A [Trainer] runs the steps of one epoch: samples in the order [Order] draws from the seed (or
// [BucketedOrder], batches of samples of similar length), a batch at a time through the features
// (whose embedding table learns too) and the LSTM, each batch's samples longest first so that the
// LSTM computes few padding rows, the dropout of each step drawn from a stream of its own. [Run] runs the epochs of a [Job], saving
// the whole [State] (weights, optimizer moments, table, history, best epoch) to the store after
// each. A [Schedule] sets the learning rate of the optimizer and of the embedding table before
// every step, from the step's place in the whole run alone.
//
// # Caveats
//
// A run resumed from a checkpoint draws exactly what the uninterrupted run would have drawn and
// ends with the same weights, bit for bit, its schedule's rates included. A schedule is planned
// over Schedule.Epochs: stopping early does not shorten it, and a run resumed with more epochs
// goes on along the longer plan from the step it reached (a cosine rate rises again). A run
// that stops early returns a [*Stopped], which says whether the store holds a checkpoint to go
// on from.
package train
