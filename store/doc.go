// Package store keeps a model in one bbolt file, model.db: the dictionary, the embedding table,
// the trained network and, while it trains, the checkpoint to resume from. It is the only
// package that knows the file's layout; everything else goes through its typed methods.
//
// # Basics
//
// [Create] opens a store for writing (one process at a time), [Open] read-only (any number of
// readers). A dictionary build writes [Store.PutVocab], [Store.PutTable] and
// [Store.PutTokenizer]; a training run [Store.StartRun], a [Store.PutCheckpoint] after each
// epoch, and [Store.PutModel] at the end; a program that classifies reads [Store.LoadModel] and
// [Store.Vocab].
//
// # Layout, version 2
//
// Integers are big-endian, so keys sort as numbers; vectors are little-endian float32 values;
// JSON records carry explicit names (the Go types of this package with their json tags), so
// renaming a Go field changes nothing stored.
//
//	bucket        key                  value
//	meta          format               uint32: the layout version, Format
//	              created              RFC 3339 text: when the file was made
//	              tokenize             JSON Tokenizer: the options the dictionary was built with
//	              vocab.size           uint32: dictionary entries, written last with the dictionary
//	              vocab.types          uint64: distinct tokens of the corpus counted
//	              embed.rows           uint32: table rows, written last with the table
//	              embed.dim            uint32: table columns
//	              embed.trainable      one byte, 1 if the table learns while training
//	vocab_tokens  id (uint32)          the token's UTF-8 bytes; ids 0 and 1 are <pad> and <unk>
//	vocab_counts  id (uint32)          uint64: the token's count in the corpus
//	vocab_ids     token                uint32: its id (lookups without reading the dictionary)
//	embed         id (uint32)          embed.dim float32 values: the token's vector
//	config        run                  JSON: the run's config, as the pipeline writes it
//	              shape                JSON Shape: the network (layers, units, pooling, classes)
//	              input                JSON Input: how the model reads (kind, tokenizer, unit, time_step, slice)
//	labels        names                JSON array of strings: the class names, by label id
//	weights       parameter name       float32 values: lstm.0.w, lstm.0.b, ..., head.w, head.b
//	history       epochs               JSON: the epochs trained (loss, accuracy, time), as metrics.json
//	checkpoint    state                JSON CheckpointState: epoch, step, best loss, Adam steps, done
//	              param/NAME           float32 values: the weights at the checkpoint
//	              best/NAME            float32 values: the weights of the best epoch so far
//	              opt/NAME/m, .../v    float32 values: Adam's moments (opt/NAME/velocity for SGD)
//	              embed                float32 values: the table at the checkpoint (text models)
//	              best/embed           float32 values: the table at the best epoch
//	              embed/m, embed/v     float32 values: the table's Adam moments
//
// A trained model is the weights, config, labels and history buckets with the table; the
// checkpoint bucket is the training state beside it.
//
// # Versions
//
// Version 1 kept the JSON records under Go's field names ("NumUnits", "SplitSentences"), the
// shape under config/lstm (with pooling as a number), and had no config/input. This package
// reads version 1: read-only, it converts the records in memory as it opens the file; opened
// for writing, it rewrites them and the format in place, in one transaction. A version newer
// than Format is refused with ErrVersion.
//
// # Caveats
//
// A checkpoint, a model, the history and each chunk of a bulk load are written in one
// transaction each: a process killed at any moment leaves the previous state or the new one. A
// dictionary or table is written in chunks of 10,000 keys, its size in the meta bucket last, so
// a load cut short reads as no dictionary. A file shorter than its last commit (a copy cut
// short) or damaged is refused with ErrNotStore rather than read.
package store
