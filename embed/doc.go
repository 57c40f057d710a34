// Package embed holds the lookup table: one float32 vector of embed.dim values per dictionary
// id, the input the LSTM sees at each time step.
//
// # Basics
//
// New fills a table from a seeded source, with the row of id 0 (padding) zero. Load reads
// pretrained vectors in the text format of word2vec, GloVe and fastText over it. FillTimeMajor
// writes a batch of id sequences as the LSTM's input, [time_step][batch][dim]; Grad gathers the
// gradient of that input back onto the rows the batch used, and SGD or Adam update those rows
// only, so a step costs the batch's tokens, not the dictionary's size.
//
// # Caveats
//
// A table with Trainable false ignores updates. The padding row stays zero: its gradient is
// dropped. Adam here is the "lazy" variant: a row's moments decay only at the steps that use it.
package embed
