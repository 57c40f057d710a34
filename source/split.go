package source

import (
	"crypto/sha256"

	"github.com/seqclf/seqclf/internal/rng"
)

// Part says where a document of the training source goes.
type Part int8

const (
	// PartTrain documents are trained on, and only they make the dictionary.
	PartTrain Part = iota
	// PartValidation documents measure each epoch, for early stopping.
	PartValidation
	// PartTest documents make the final report (without source.test).
	PartTest
	// PartDuplicate documents repeat the text of an earlier document and are left out, so that
	// no text is both trained on and tested.
	PartDuplicate
)

// Shares are the parts of a training source held out, drawn from Seed alone.
type Shares struct {
	// Test is the share of the documents (or of the groups) held out for testing: use it when
	// there is no test file (source.test_split), 0 otherwise.
	Test float64
	// Validation is the share of the documents (or groups) held out for validation
	// (source.validation_split).
	Validation float64
	// Seed is the config's seed.
	Seed uint64
}

// Split assigns each document of a run's training source to a Part: Shares.Test of the
// documents (or of the groups, with a group column) to the test set, Shares.Validation to
// validation, by draws from the seed alone. Training and the dictionary builder use it, so both
// count the same documents.
type Split struct {
	test, val []bool  // by unit: a document, or a group
	group     []int32 // the unit of each document, nil when each is its own
	seen      map[[16]byte]struct{}
}

// NewSplit reads the training source at path once to count its documents (and groups).
func NewSplit(path string, sc Options, sh Shares) (*Split, error) {
	s := &Split{seen: make(map[[16]byte]struct{})}
	var units int
	if sc.GroupColumn == "" {
		n, err := Count(path, sc)
		if err != nil {
			return nil, err
		}
		units = n
	} else {
		ids := map[string]int32{}
		for doc, err := range Read(path, sc) {
			if err != nil {
				return nil, err
			}
			id, ok := ids[doc.Group]
			if !ok {
				id = int32(len(ids))
				ids[doc.Group] = id
			}
			s.group = append(s.group, id)
		}
		units = len(ids)
	}
	if sh.Test > 0 {
		s.test = Holdout(units, sh.Test, rng.New(sh.Seed, rng.TestSplit))
	}
	s.val = Holdout(units, sh.Validation, rng.New(sh.Seed, rng.Validation))
	return s, nil
}

// Of returns the part of doc, the i-th document (from 0) that Read yields from the
// training source. Call it once per document, in order: it remembers the texts it has seen.
func (s *Split) Of(i int, doc Document) Part {
	h := sha256.Sum256([]byte(doc.Text))
	key := [16]byte(h[:16])
	if _, dup := s.seen[key]; dup {
		return PartDuplicate
	}
	s.seen[key] = struct{}{}
	u := i
	if s.group != nil {
		if i >= len(s.group) {
			return PartDuplicate // the source grew since NewSplit counted it
		}
		u = int(s.group[i])
	}
	if u >= len(s.val) {
		return PartDuplicate
	}
	switch {
	case s.test != nil && s.test[u]:
		return PartTest
	case s.val[u]:
		return PartValidation
	}
	return PartTrain
}

// Exclude marks text as seen, so that a training document with the same text is a
// PartDuplicate: call it with the texts of the test file before going through the training source.
func (s *Split) Exclude(text string) {
	h := sha256.Sum256([]byte(text))
	s.seen[[16]byte(h[:16])] = struct{}{}
}
