package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/barge-run/barge/internal/store"
)

// Parked is the visibility of an item with nothing due: never claimed until written again.
var Parked = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// claimTTL is how long a claimed item is its server's: far longer than a delivery, which is an
// in-process call that queues work (an asynchronous invoke, a send, a job submission).
const claimTTL = time.Minute

// Outcome is what firing a due item leaves: deleted, or written back with Body, visible at
// Next (Parked: nothing more due).
type Outcome struct {
	Delete bool
	Body   []byte
	Next   time.Time
}

// Firer fires the due items of one kind.
type Firer interface {
	// Fire delivers what item owes at now and says what becomes of it.
	Fire(ctx context.Context, item *store.Resource, now time.Time) Outcome
}

// EngineConfig wires an engine.
type EngineConfig struct {
	Store store.Store
	// Holder names this server in its claims ("" is "local").
	Holder string
	// Now is the clock (nil: time.Now); tests inject a fake one and call RunDue.
	Now func() time.Time
	// Tick is how often the loop looks for due items (0: 1 s).
	Tick   time.Duration
	Logger *slog.Logger
}

// Engine claims and fires due items of the kinds registered with it.
type Engine struct {
	cfg   EngineConfig
	mu    sync.Mutex
	kinds map[store.Kind]Firer
	order []store.Kind
	wake  chan struct{}
	quit  chan struct{}
	done  chan struct{}
}

// NewEngine makes an engine; Register the kinds, then Start.
func NewEngine(cfg EngineConfig) *Engine {
	if cfg.Holder == "" {
		cfg.Holder = "local"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Engine{cfg: cfg, kinds: map[store.Kind]Firer{}, wake: make(chan struct{}, 1)}
}

// Now is the engine's clock.
func (e *Engine) Now() time.Time { return e.cfg.Now() }

// Register makes the engine fire items of kind with f.
func (e *Engine) Register(kind store.Kind, f Firer) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.kinds[kind]; !ok {
		e.order = append(e.order, kind)
	}
	e.kinds[kind] = f
}

// Poke makes the loop look at once (an item was written due soon).
func (e *Engine) Poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Start releases the claims a previous run of this server left and runs the loop.
func (e *Engine) Start() {
	e.quit, e.done = make(chan struct{}), make(chan struct{})
	e.releaseOwn(context.Background())
	go e.loop()
}

// Stop ends the loop after the firing in progress.
func (e *Engine) Stop() {
	if e.quit == nil {
		return
	}
	close(e.quit)
	<-e.done
}

func (e *Engine) loop() {
	defer close(e.done)
	t := time.NewTicker(e.cfg.Tick)
	defer t.Stop()
	for {
		e.RunDue(context.Background())
		select {
		case <-e.quit:
			return
		case <-e.wake:
		case <-t.C:
		}
	}
}

// releaseOwn frees claims this server held before it stopped, so their items fire now rather
// than when the claims lapse.
func (e *Engine) releaseOwn(ctx context.Context) {
	now := e.cfg.Now()
	for _, kind := range e.kindsOf() {
		rs, err := e.cfg.Store.ResourceList(ctx, &store.ResourceListParams{AllAccounts: true, Kind: kind})
		if err != nil {
			continue
		}
		for _, r := range rs {
			if r.Owner == e.cfg.Holder && r.LeaseUntil.After(now) {
				r.Owner, r.LeaseUntil = "", time.Time{}
				e.cfg.Store.ResourceUpdate(ctx, r)
			}
		}
	}
}

func (e *Engine) kindsOf() []store.Kind {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]store.Kind(nil), e.order...)
}

// RunDue claims every item due at the engine's now, fires each and writes its outcome; it
// returns how many it fired.
func (e *Engine) RunDue(ctx context.Context) int {
	fired := 0
	for _, kind := range e.kindsOf() {
		e.mu.Lock()
		f := e.kinds[kind]
		e.mu.Unlock()
		for {
			now := e.cfg.Now()
			rs, err := e.cfg.Store.ResourceClaim(ctx, &store.ClaimParams{Kind: kind, Owner: e.cfg.Holder, Now: now, Until: now.Add(claimTTL), Limit: 50})
			if err != nil {
				e.cfg.Logger.Warn("schedules: claiming due items", "kind", kind, "err", err)
				break
			}
			for _, r := range rs {
				e.settle(ctx, r, f.Fire(ctx, r, now))
				fired++
			}
			if len(rs) < 50 {
				break
			}
		}
	}
	return fired
}

// settle writes an outcome, conditional on the claim: an item changed meanwhile (updated or
// deleted through the API) keeps the change.
func (e *Engine) settle(ctx context.Context, r *store.Resource, o Outcome) {
	var err error
	if o.Delete {
		err = e.cfg.Store.ResourceDeleteVersion(ctx, r)
	} else {
		r.Body, r.Owner, r.LeaseUntil, r.VisibleAt = o.Body, "", time.Time{}, o.Next
		err = e.cfg.Store.ResourceUpdate(ctx, r)
	}
	if err != nil && !errors.Is(err, store.ErrStale) && !errors.Is(err, store.ErrNotFound) {
		e.cfg.Logger.Warn("schedules: writing a fired item", "name", r.Name, "err", err)
	}
}
