// Package feed turns samples into the LSTM's batches, the stage between the vectors and the
// network: a text's token ids through an embedding table ([Embeddings]), or an image's rows of
// pixels ([Rows]), written time-major and padded into a [Batch].
//
// # Basics
//
// [EncodeText] cuts a document into the id sequences one LSTM run reads each: one per sentence
// or one per document ([Unit]), each at most time_step long. A [Sample] is one of them with its
// label; [Batch.Assemble] writes a batch of samples through [Features] into an lstm.Batch.
//
// # Caveats
//
// A Batch reuses its buffers from batch to batch: what Assemble returns is valid until the next
// call. A trainable [Embeddings] updates only the rows its batch used.
package feed
