// Package vocab holds the dictionary: the map between tokens and the integer ids the embedding
// table is indexed by.
//
// # Basics
//
// Count a corpus one sentence at a time with a Counter (the corpus itself is never held), then
// Build the Vocab:
//
//	c := vocab.NewCounter()
//	for tokens := range sentences { c.Add(tokens) }
//	v := c.Build(vocab.Limits{MinCount: 2, MaxSize: 20000})
//	ids := v.Encode([]string{"the", "cat"})
//
// Id 0 is Pad ("<pad>", what short sequences are filled with) and id 1 is Unk ("<unk>", every
// token not in the dictionary). The other tokens follow by count, highest first, ties broken by
// the token's bytes, so the same corpus always gives the same ids.
//
// # Caveats
//
// The literal strings "<pad>" and "<unk>" in a text are ordinary words that the dictionary does
// not hold: both encode to Unk, never to padding. max_size counts the two special tokens.
package vocab
