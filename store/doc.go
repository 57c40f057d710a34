// Package store keeps a model in a bbolt file: model.db holds the dictionary, the embedding
// table and the trained network; checkpoint.db beside it the training state to resume from. It
// is the only package that knows the files' layout; everything else goes through its typed
// methods.
//
// # Basics
//
// [Create] opens a store for writing (one process at a time), [Open] read-only (any number of
// readers). A dictionary build writes [Store.PutVocab], [Store.PutTable] and
// [Store.PutTokenizer]. A training run keeps its state in a store of its own (checkpoint.db):
// [Store.StartRun], then a [Store.PutCheckpoint] after each epoch; at the end it writes the
// model file (model.db) with PutVocab, PutTable and [Store.PutModel], and [Compact]s it. A
// program that classifies reads [Store.LoadModel] and [Store.Vocab].
//
// # Layout, version 3
//
// Integers are big-endian, so keys sort as numbers; vectors are little-endian float32 values;
// JSON records carry explicit names (the Go types of this package with their json tags), so
// renaming a Go field changes nothing stored.
//
//	bucket      key              value
//	meta        format           uint32: the layout version, Format
//	            created          RFC 3339 text: when the file was made
//	            tokenize         JSON Tokenizer: the options the dictionary was built with
//	            vocab.size       uint32: dictionary entries
//	            vocab.types      uint64: distinct tokens of the corpus counted
//	            embed.rows       uint32: table rows
//	            embed.dim        uint32: table columns
//	            embed.trainable  one byte, 1 if the table learns while training
//	vocab       packed           the dictionary, as vocab.Vocab.MarshalBinary writes it: ids 0
//	                             and 1 are <pad> and <unk>, then each token with its count
//	table       values           embed.rows × embed.dim float32 values, row after row
//	config      run              JSON: the run's config, under the YAML file's keys
//	            shape            JSON Shape: the network (layers, units, pooling, classes)
//	            input            JSON Input: how the model reads (kind, tokenizer, unit,
//	                             time_step, slice)
//	labels      names            JSON array of strings: the class names, by label id
//	weights     parameter name   float32 values: lstm.0.w, lstm.0.b, ..., head.w, head.b
//	history     epochs           JSON: the epochs trained (loss, accuracy, time), as metrics.json
//	checkpoint  state            JSON CheckpointState: epoch, step, best loss, Adam steps, done
//	            param/NAME       float32 values: the weights at the checkpoint
//	            best/NAME        float32 values: the weights of the best epoch so far
//	            opt/NAME/m, /v   float32 values: Adam's moments (opt/NAME/velocity for SGD)
//	            embed            float32 values: the table at the checkpoint (text models)
//	            best/embed       float32 values: the table at the best epoch
//	            embed/m, embed/v float32 values: the table's Adam moments
//
// A model file holds meta, vocab and table (text models), config, labels, weights and history:
// about its float32 values and the dictionary, nothing else. A checkpoint file holds meta,
// config (run), history and checkpoint. A dictionary build's file holds meta, vocab and table.
//
// # Versions
//
// Version 2 kept the dictionary in three buckets, vocab_tokens (id → token), vocab_counts (id →
// uint64 count) and vocab_ids (token → id), and the table in embed (id → row), and a model's
// file held its checkpoint too. Version 1 also kept the JSON records under Go's field names
// ("NumUnits", "SplitSentences"), the shape under config/lstm (with pooling as a number), and
// had no config/input. This package reads both: read-only, it converts version 1's records in
// memory as it opens the file; opened for writing, it rewrites them and the format in place, in
// one transaction. Version 2's buckets are read where they are, until PutVocab or PutTable
// replaces them. A version newer than Format is refused with ErrVersion.
//
// # Caveats
//
// A checkpoint, a model, a dictionary and a table are written in one transaction each: a process
// killed at any moment leaves the previous state or the new one. A file shorter than its last
// commit (a copy cut short) or damaged is refused with ErrNotStore rather than read. Compact
// cuts the file to its last used page: bbolt grows files by doubling its mapping, so an
// uncompacted file can be near twice its data.
package store
