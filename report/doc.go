// Package report scores a trained classifier and writes what a run reports: the test set's
// scores ([Evaluate]: accuracy, per-class precision, recall and F1, macro and weighted
// averages, the confusion matrix), the training history ([History]), OUTPUT_DIR/metrics.json,
// curves.png, and a model's layer summary.
//
// # Caveats
//
// The scores follow scikit-learn's classification_report, whose documented examples the tests
// reproduce. Files are written under a temporary name and renamed, so a reader or an
// interrupted run sees the old file or the new one, never a part. JSON has no NaN: a value that
// is NaN or infinite (no validation set) is written as null and read back as NaN.
package report
