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
// program that classifies reads [Store.MapModel] and [Store.Dictionary], which map the
// embedding table and the dictionary from the file instead of reading them, so that a model
// opens in the same time whatever their size; training and the tools that list or export a
// model read copies with [Store.LoadModel] and [Store.Vocab].
//
// # Layout, version 4
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
//	vocab       hashed           the dictionary, laid out to be looked up in place (below):
//	                             ids 0 and 1 are <pad> and <unk>, then each token with its count
//	table       rows             embed.rows × embed.dim float32 values, row after row
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
// The vocab and table buckets hold one key each, so that bbolt writes the value at a fixed
// offset of its page: after the page's 16-byte header, the one 16-byte element and the key.
// With the 4-byte key rows the table's values start at a multiple of 4 in the file, and are read
// in place as float32 values. The dictionary's value, vocab/hashed, is read in place too; its
// integers are little-endian:
//
//	offset            size      value
//	0                 8         "SQHDICT" and the version of this layout, 1
//	8                 4         n: the entries, <pad> and <unk> included (vocab.size)
//	12                4         slots: a power of two, at least 2n
//	16                8         the distinct tokens of the corpus counted (vocab.types)
//	24                8n        each id's corpus count
//	24+8n             4(n+1)    each id's token's start in the token bytes, then their total
//	28+12n            4·slots   the hash table: 0 for an empty slot, else id+1
//	28+12n+4·slots    ...       the token bytes, id after id
//
// A token is looked up at slot FNV-1a-64(token) mod slots, then the slots after it (wrapping)
// until its id or an empty slot. <pad> and <unk> have no slot: their text, met in an input, is
// an unknown token, as vocab.Vocab.Lookup has it.
//
// # Versions
//
// Version 3 kept the dictionary as vocab/packed, in vocab.Vocab.MarshalBinary's encoding (the
// magic "SQVOCAB", then uvarints), and the table as table/values, which its 6-byte key left at
// an offset that is not a multiple of 4: both were decoded, copied value by value, as a store
// opened. Version 2 kept the dictionary in three buckets, vocab_tokens (id → token),
// vocab_counts (id → uint64 count) and vocab_ids (token → id), and the table in embed (id →
// row), and a model's file held its checkpoint too. Version 1 also kept the JSON records under Go's field names
// ("NumUnits", "SplitSentences"), the shape under config/lstm (with pooling as a number), and
// had no config/input. This package reads them all. Read-only, it converts version 1's records
// in memory as it opens the file, and reads the dictionary and table of an earlier version
// where they are (copies, not mappings). Opened for writing, it rewrites the records, the
// dictionary and the table in this layout and sets the format, in one transaction. A version
// newer than Format is refused with ErrVersion.
//
// # Quantized models
//
// `seqclf model quantize` (WriteQuantModelFile, PutQuantModel) writes a model file whose weights
// and table are int8 (package lstm/quant). It holds what a float32 model file holds, but the
// weights and table buckets, which give way to:
//
//	bucket        key              value
//	config        quant            JSON Quantization: version 1, what is int8 and how it is scaled
//	weights_int8  NAME.w           int8 values, (input_dim+num_units) × 4·num_units: layer NAME's
//	                               W (NAME as in weights: lstm.0, lstm.0.reverse, gru.0)
//	              NAME.w.scale     binary16 values, 2 × 4·num_units: the scale of each column of
//	                               W's input rows, then of each column of its recurrent rows
//	              NAME.b           float32 values: the bias
//	              attention.*      float32 values, as in weights (attention pooling)
//	              head.w           int8 values, as in weights; head.w.scale, binary16, per column
//	              head.b           float32 values
//	table_int8    values           int8 values, embed.rows × embed.dim, row after row
//	              scale            binary16 values, embed.rows: the scale of each row
//
// A value's float32 weight is its int8 value times its column's (or row's) scale; scales are
// little-endian IEEE half-precision (binary16) values. The dictionary of a quantized model is
// kept packed, as version 3 kept it (vocab/packed), a third of the hashed layout's bytes: such a
// file is made to be small, and its dictionary is read into memory when it opens, not looked up
// in place. Its int8 table is mapped by MapModel, as a float32 table is. LoadModel and MapModel
// return such a model's int8 network in Model.Quant, and the float32 values it stands for in
// Model.LSTM, and LoadModel in Model.Table (MapModel leaves it nil).
//
// # Caveats
//
// A checkpoint, a model, a dictionary and a table are written in one transaction each: a process
// killed at any moment leaves the previous state or the new one. A file shorter than its last
// commit (a copy cut short) or damaged is refused with ErrNotStore rather than read. Compact
// cuts the file to its last used page: bbolt grows files by doubling its mapping, so an
// uncompacted file can be near twice its data.
//
// MapModel's table and Dictionary's entries are mappings of the file into the process's own
// memory, private and copy-on-write (a copy for a store open for writing, or one whose table is
// not 4-byte aligned). They stay valid after Close, and after the file is replaced by a rename
// or removed, as WriteModelFile and Compact replace a file; they are released once the Table or
// the Dictionary is unreachable, so hold those, not a slice of their values alone. A file
// rewritten in place or cut short while mapped (a process that opens it for writing once the
// reader's store is closed, and writes a new dictionary or table over the old pages) can change
// the values under the reader, or make reading them fault: write model files whole, with
// WriteModelFile.
package store
