// Package pipeline runs the stages of seqclf in order, as a config file describes them: the
// source's documents (package source) or images (idx) are split, tokenized (tokenize), counted
// into a dictionary (vocab) and an embedding table (embed), fed to the LSTM (feed, lstm), trained
// with checkpoints (train), scored (classify, report), and kept in model.db (store).
//
// # Basics
//
// [LoadConfig] reads a YAML config with environment and key=value overrides, checking every
// key; [Run] trains, evaluates and writes OUTPUT_DIR/model.db, metrics.json and curves.png;
// [BuildDictionary] makes the dictionary and starting table, for a run as for a dictionary
// alone.
//
// # Caveats
//
// Errors name what to change: a [*ConfigError] its key (and file or override), a
// *source.Error its file and line. They never name a command-line flag: the command adds its
// own advice. The config's random draws come from the named streams of internal/rng, so the
// same seed and config give the same model.
package pipeline
