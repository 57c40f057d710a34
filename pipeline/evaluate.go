package pipeline

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/seqclf/seqclf/classify"
	"github.com/seqclf/seqclf/idx"
	"github.com/seqclf/seqclf/report"
	"github.com/seqclf/seqclf/source"
)

// ReadDocuments reads every document at path, repeats included, as a run reads source.test. A
// source without a document is an error.
func ReadDocuments(path string, opts source.Options) ([]source.Document, error) {
	var docs []source.Document
	for d, err := range source.Read(path, opts) {
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	if len(docs) == 0 {
		return nil, &source.Error{File: path, Key: "source.format", Msg: "holds no document; check source.format and the path"}
	}
	return docs, nil
}

// HeldOutDocuments returns the documents of cfg's training source that a run holds out for
// testing (source.test_split), drawn from the seed as the run draws them.
func HeldOutDocuments(cfg *Config) ([]source.Document, error) {
	split, err := NewSplit(cfg)
	if err != nil {
		return nil, err
	}
	var docs []source.Document
	i := 0
	for d, err := range source.Read(cfg.Source.Train, cfg.Source.Options()) {
		if err != nil {
			return nil, err
		}
		if split.Of(i, d) == source.PartTest {
			docs = append(docs, d)
		}
		i++
	}
	return docs, nil
}

// ScoreTexts classifies docs with c, all at once (so in the batches of a run's test report), and
// scores the answers against their labels. from is where the documents come from, to name one
// whose label is not among c's classes.
func ScoreTexts(c *classify.Classifier, docs []source.Document, from string, opts source.Options) (*report.Scores, error) {
	classes := c.Classes()
	ids := classIDs(classes)
	truth := make([]int, len(docs))
	texts := make([]string, len(docs))
	for i, d := range docs {
		id, ok := ids[d.Label]
		if !ok {
			where := d.Name
			if opts.Format == "dir" {
				where = filepath.Join(from, d.Name)
			}
			return nil, &source.Error{File: where, Msg: fmt.Sprintf("the label %q is not one of the model's classes (%s)",
				d.Label, strings.Join(classes, ", "))}
		}
		truth[i], texts[i] = id, d.Text
	}
	probs, err := c.Classify(texts)
	if err != nil {
		return nil, err
	}
	return report.Evaluate(truth, argmaxes(probs, len(classes)), classes)
}

// ScoreImages classifies the images of im with c, batchSize at a time, and scores the answers
// against labels, read from the file labelsPath.
func ScoreImages(c *classify.Classifier, im *idx.Images, labels []int, labelsPath string, batchSize int) (*report.Scores, error) {
	classes := c.Classes()
	ids := classIDs(classes)
	truth := make([]int, len(labels))
	for i, l := range labels {
		id, ok := ids[strconv.Itoa(l)]
		if !ok {
			return nil, &source.Error{File: labelsPath, Msg: fmt.Sprintf("image %d has the label %d, not one of the model's classes (%s)",
				i, l, strings.Join(classes, ", "))}
		}
		truth[i] = id
	}
	var pred []int
	for lo := 0; lo < im.Count; lo += batchSize {
		probs, err := c.ClassifyImages(im, lo, min(lo+batchSize, im.Count))
		if err != nil {
			return nil, err
		}
		pred = append(pred, argmaxes(probs, len(classes))...)
	}
	return report.Evaluate(truth, pred, classes)
}

// classIDs maps class names to their ids.
func classIDs(classes []string) map[string]int {
	ids := make(map[string]int, len(classes))
	for i, c := range classes {
		ids[c] = i
	}
	return ids
}

// argmaxes returns the most probable class of each row of probs (rows × k).
func argmaxes(probs []float32, k int) []int {
	pred := make([]int, len(probs)/k)
	for i := range pred {
		pred[i] = classify.Argmax(probs[i*k : (i+1)*k])
	}
	return pred
}
