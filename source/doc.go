// Package source reads labelled documents, the first stage of a text pipeline: TSV, CSV and JSON
// Lines files (plain or gzip-compressed) and folders of one folder per label, and splits a
// training source into training, validation and test documents.
//
// # Basics
//
// [Read] streams a source's documents as [Options] say; [Count] counts them. [NewSplit] assigns
// each document of a training source to a [Part] by seeded draws, by document or by group (the
// sentences of one file, the mails of one thread), and leaves out texts that repeat an earlier
// one, so that no text is both trained on and tested.
//
// # Caveats
//
// A text that is not valid UTF-8 is read as Latin-1 (old mail often is), so every byte string
// reads as some text. A problem with a source's content is an [*Error], which names the file,
// the line and the config key to change; the stream ends at the first one.
package source
