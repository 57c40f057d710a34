package serve

import (
	"errors"
	"fmt"
	"time"

	"github.com/seqclf/seqclf"
	"github.com/seqclf/seqclf/idx"
)

// A loaded model is one opening of the model file, with the batcher that runs its requests.
// A reload makes a new one and retires the old once its queue is empty.
type loaded struct {
	model      *seqclf.Model
	batcher    *batcher
	file       string
	kind       string
	classes    []string
	rows, cols int // a model of images: the shape of an image
}

// open opens the model file and starts its batcher's workers.
func (s *Server) open() (*loaded, error) {
	m, err := seqclf.Open(s.path, seqclf.WithBatchSize(s.cfg.MaxBatch))
	if err != nil {
		return nil, err
	}
	info := m.Info()
	l := &loaded{model: m, file: s.path, kind: info.Kind, classes: m.Classes()}
	if info.Kind == seqclf.KindImages {
		// The model reads time_step steps of InputDim values; sliced by columns, a step is a
		// column of the image.
		l.rows, l.cols = info.Input.TimeStep, info.Shape.InputDim
		if slice, _ := idx.ParseSlice(info.Input.Slice); slice == idx.SliceColumns {
			l.rows, l.cols = l.cols, l.rows
		}
		if l.rows < 1 || l.cols < 1 {
			m.Close()
			return nil, fmt.Errorf("%s: a model of %d×%d images", s.path, l.rows, l.cols)
		}
	}
	l.batcher = newBatcher(m, l.rows, l.cols, s.cfg, func(n int) { s.metrics.batchSize.Observe(float64(n)) })
	go func() {
		start := time.Now()
		if n := m.WarmUp(); n > 0 {
			s.log.Info("model warmed up", "name", s.cfg.Name, "file", s.path, "tokens", n, "took", time.Since(start).Round(time.Millisecond))
		}
	}()
	return l, nil
}

// retire stops l's batcher once its queued requests are answered, then closes its model.
func (l *loaded) retire() {
	l.batcher.close()
	l.model.Close()
}

// Reload opens the model file again and, if it opens, swaps it in for the model answering:
// requests queued before the swap are answered by the old model, later ones by the new. A file
// that is missing or does not open is an error, logged, and the old model goes on answering.
// Reloads run one at a time; SIGHUP in seqclf serve and POST /v2/repository/models/{name}/load
// call it.
func (s *Server) Reload() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if s.closing.Load() {
		return errors.New("serve: the server is shutting down")
	}
	start := time.Now()
	l, err := s.open()
	if err != nil {
		s.metrics.reloads.WithLabelValues("failed").Inc()
		s.log.Error("reload refused; the old model goes on answering", "file", s.path, "err", err)
		return err
	}
	old := s.cur.Swap(l)
	s.metrics.setModel(s.cfg.Name, l.kind, l.file)
	s.metrics.reloads.WithLabelValues("ok").Inc()
	s.log.Info("model reloaded", "name", s.cfg.Name, "file", l.file, "kind", l.kind,
		"classes", len(l.classes), "took", time.Since(start).Round(100*time.Microsecond))
	s.retired.Go(old.retire)
	return nil
}
