package batch

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/barge-run/barge/internal/store"
)

// Several servers on one store: the one holding the engine's lease runs the engine; the others
// answer every API call (recording what needs the engine, see intents.go) and try for the lease
// a third of its life apart, so that when the leader dies another takes over within seconds.
// A deposed engine stops (lease.go) and its server goes back to trying.

// leadership is the service's state of the competition for the lease.
type leadership struct {
	mu       sync.Mutex
	stopping bool
	quit     chan struct{} // closed by Stop
}

// eng is the current engine (running or not).
func (s *Service) eng() *engine { return s.current.Load() }

// Leader reports whether this server runs the engine now.
func (s *Service) Leader() bool {
	e := s.eng()
	return e.active.Load() && e.looping.Load() && !e.stopped()
}

// Start rebuilds the engine's state from the store (recovering jobs that were running when the
// previous leader died) and starts it, when this server can take the engine's lease; while
// another server holds it, this one serves the API and keeps trying. It returns an error only
// when the store fails.
func (s *Service) Start(ctx context.Context) error {
	s.leading.quit = make(chan struct{})
	err := s.eng().start(ctx)
	switch {
	case err == nil:
		s.log.Info("this server runs the engine", "holder", s.cfg.Holder)
		go s.watch(s.eng())
	case errors.Is(err, store.ErrLeaseHeld):
		s.log.Info("another server runs the engine: this one serves the API and stands by", "err", err)
		go s.standBy()
	default:
		return err
	}
	return nil
}

// standBy tries for the lease until it gets it or the service stops.
func (s *Service) standBy() {
	t := time.NewTicker(max(s.cfg.LeaseTTL/3, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-s.leading.quit:
			return
		case <-t.C:
		}
		s.leading.mu.Lock()
		if s.leading.stopping {
			s.leading.mu.Unlock()
			return
		}
		e := newEngine(s)
		err := e.start(context.Background())
		if err == nil {
			s.current.Store(e)
		}
		s.leading.mu.Unlock()
		switch {
		case err == nil:
			s.log.Info("took the engine over", "holder", s.cfg.Holder)
			s.watch(e)
			return
		case !errors.Is(err, store.ErrLeaseHeld):
			s.log.Warn("taking the engine over failed", "err", err)
		}
	}
}

// watch waits for a running engine to end; deposed (not stopped by Stop), the server stands by.
func (s *Service) watch(e *engine) {
	<-e.done
	s.leading.mu.Lock()
	defer s.leading.mu.Unlock()
	if s.leading.stopping {
		return
	}
	s.current.Store(newEngine(s))
	go s.standBy()
}

// Stop stops the engine if it runs here: running attempts are killed and recorded as lost at the
// next start (attempts of an executor whose attempts outlive the server are left running).
func (s *Service) Stop() {
	s.leading.mu.Lock()
	if !s.leading.stopping && s.leading.quit != nil {
		close(s.leading.quit)
	}
	s.leading.stopping = true
	e := s.eng()
	s.leading.mu.Unlock()
	e.shutdownAndWait()
}
