package esm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/barge-run/barge/internal/store"
)

// Slot leases: a claimed slot is its server's for slotTTL, renewed every slotTTL/3.
const (
	slotTTL = 30 * time.Second
	// maxLocalPollers bounds the pollers one server runs, whatever the mappings ask.
	maxLocalPollers = 2000
)

// parked is the visibility of a slot no poller needs now: never claimable until woken.
var parked = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// slotBody is a slot's stored body.
type slotBody struct {
	Mapping string `json:"mapping"`
	Index   int    `json:"index"`
}

func slotName(uuid string, i int) string { return uuid + "#" + strconv.Itoa(i) }

// poller is one running poller of this server: the slot it claimed and how to stop it.
type poller struct {
	scope, mapping string
	index          int
	cancel         context.CancelFunc

	mu   sync.Mutex // guards slot: the renewer and the poll loop both write it
	slot *store.Resource
}

// Start releases the slots this server held before a restart and runs the manager.
func (s *Service) Start() {
	s.quit, s.done = make(chan struct{}), make(chan struct{})
	s.releaseOwn(context.Background())
	go s.loop()
}

// stopGrace is how long Stop waits for in-flight invocations; a batch still running then is
// left to come back after its visibility timeout, as when a server dies.
const stopGrace = 5 * time.Second

// Stop ends every poller (in-flight invocations get stopGrace to finish) and gives their slots
// up so another server, or this one restarted, takes them at once.
func (s *Service) Stop() {
	if s.quit == nil {
		return
	}
	close(s.quit)
	<-s.done
	s.mu.Lock()
	for _, p := range s.pollers {
		p.cancel()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.log.Warn("event source mappings: stopping with invocations in flight; their batches return after the visibility timeout")
	}
}

// poke makes the manager look at once (a mapping changed, a slot was woken).
func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Service) loop() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	for {
		ctx := context.Background()
		if err := s.reconcile(ctx); err != nil {
			s.log.Warn("event source mappings: reconcile", "err", err)
		}
		if err := s.claim(ctx); err != nil {
			s.log.Warn("event source mappings: claiming poller slots", "err", err)
		}
		select {
		case <-s.quit:
			return
		case <-s.wake:
		case <-t.C:
		}
	}
}

// releaseOwn frees the slots a previous run of this server held: their pollers died with it.
func (s *Service) releaseOwn(ctx context.Context) {
	rs, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{AllAccounts: true, Kind: KindSlot})
	if err != nil {
		return
	}
	now := time.Now()
	for _, r := range rs {
		if r.Owner == s.cfg.Holder && r.LeaseUntil.After(now) {
			r.Owner, r.LeaseUntil = "", time.Time{}
			s.cfg.Store.ResourceUpdate(ctx, r)
		}
	}
}

// reconcile settles every mapping's transitional state (slots made or removed first) and
// stops this server's pollers of mappings that no longer poll.
func (s *Service) reconcile(ctx context.Context) error {
	rs, err := s.mappingsOf(ctx)
	if err != nil {
		return err
	}
	live := map[string]bool{}
	for _, res := range rs {
		rec, err := unmarshal(res.Body)
		if err != nil {
			continue
		}
		if rec.polling() {
			live[rec.Config.UUID] = true
		}
		if err := s.settle(ctx, res, rec); err != nil && !errors.Is(err, store.ErrStale) {
			s.log.Warn("event source mapping: settling", "uuid", res.Name, "err", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pollers {
		if !live[p.mapping] {
			p.cancel()
		}
	}
	return nil
}

// settle moves a transitional mapping to where it is going.
func (s *Service) settle(ctx context.Context, res *store.Resource, rec *record) error {
	switch rec.Config.State {
	case StateEnabled, StateDisabled:
		return nil
	case StateDeleting:
		if err := s.setSlots(ctx, res.Account, rec.Config.UUID, 0); err != nil {
			return err
		}
		if err := s.cfg.Store.ResourceDeleteVersion(ctx, res); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("delete event source mapping %s: %w", res.Name, err)
		}
		return nil
	}
	n := 0
	if rec.Want {
		n = DefaultConcurrency
		if sc := rec.Config.ScalingConfig; sc != nil && sc.MaximumConcurrency != nil {
			n = int(*sc.MaximumConcurrency)
		}
	}
	if err := s.setSlots(ctx, res.Account, rec.Config.UUID, n); err != nil {
		return err
	}
	rec.Config.State = rec.settled()
	return s.put(ctx, res, rec)
}

// setSlots makes a mapping's slots 0..n-1 exist (slot 0 claimable, the others parked) and
// removes the rest.
func (s *Service) setSlots(ctx context.Context, scope, uuid string, n int) error {
	rs, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{Account: scope, Kind: KindSlot})
	if err != nil {
		return fmt.Errorf("list poller slots: %w", err)
	}
	have := map[int]bool{}
	for _, r := range rs {
		idx, ok := strings.CutPrefix(r.Name, uuid+"#")
		if !ok {
			continue
		}
		i, _ := strconv.Atoi(idx)
		if i >= n {
			if err := s.cfg.Store.ResourceDelete(ctx, scope, KindSlot, r.Name, 0); err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("delete poller slot %s: %w", r.Name, err)
			}
			continue
		}
		have[i] = true
	}
	now := time.Now()
	for i := range n {
		if have[i] {
			continue
		}
		body, _ := json.Marshal(slotBody{Mapping: uuid, Index: i})
		visible := parked
		if i == 0 {
			visible = now
		}
		err := s.cfg.Store.ResourceCreate(ctx, &store.Resource{Account: scope, Kind: KindSlot, Name: slotName(uuid, i), Body: body,
			Status: "SLOT", CreatedAt: now, VisibleAt: visible})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("create poller slot %s: %w", slotName(uuid, i), err)
		}
	}
	return nil
}

// claim takes claimable slots for this server and starts their pollers.
func (s *Service) claim(ctx context.Context) error {
	s.mu.Lock()
	free := maxLocalPollers - len(s.pollers)
	s.mu.Unlock()
	for free > 0 {
		now := time.Now()
		rs, err := s.cfg.Store.ResourceClaim(ctx, &store.ClaimParams{Kind: KindSlot, Owner: s.cfg.Holder, Now: now,
			Until: now.Add(slotTTL), Limit: min(free, 100)})
		if err != nil {
			return err
		}
		for _, r := range rs {
			var b slotBody
			if json.Unmarshal(r.Body, &b) != nil {
				s.cfg.Store.ResourceDelete(ctx, r.Account, KindSlot, r.Name, 0)
				continue
			}
			s.startPoller(r, b)
		}
		free -= len(rs)
		if len(rs) < 100 {
			return nil
		}
	}
	return nil
}

func (s *Service) startPoller(r *store.Resource, b slotBody) {
	ctx, cancel := context.WithCancel(context.Background())
	p := &poller{scope: r.Account, mapping: b.Mapping, index: b.Index, cancel: cancel, slot: r}
	s.mu.Lock()
	select {
	case <-s.quit:
		s.mu.Unlock()
		cancel()
		s.release(p)
		return
	default:
	}
	s.pollers[r.Name] = p
	s.wg.Add(2)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		s.renew(ctx, p)
	}()
	go func() {
		defer s.wg.Done()
		defer cancel()
		s.run(ctx, p)
		s.mu.Lock()
		delete(s.pollers, r.Name)
		s.mu.Unlock()
	}()
}

// renew keeps a poller's claim on its slot; when the slot is gone or another server holds it
// now, the poller stops.
func (s *Service) renew(ctx context.Context, p *poller) {
	t := time.NewTicker(slotTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.mu.Lock()
		p.slot.LeaseUntil = time.Now().Add(slotTTL)
		err := s.cfg.Store.ResourceUpdate(context.Background(), p.slot)
		p.mu.Unlock()
		if err != nil {
			s.log.Info("event source mapping: poller slot lost", "slot", p.slot.Name, "err", err)
			p.cancel()
			return
		}
	}
}

// release gives a slot's claim up, keeping its visibility.
func (s *Service) release(p *poller) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.slot.Owner, p.slot.LeaseUntil = "", time.Time{}
	s.cfg.Store.ResourceUpdate(context.Background(), p.slot)
}

// park gives the slot up until a poller wakes it; false when it cannot (it was woken again
// meanwhile, so this poller goes on).
func (s *Service) park(p *poller) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.slot.Owner, p.slot.LeaseUntil, p.slot.VisibleAt = "", time.Time{}, parked
	err := s.cfg.Store.ResourceUpdate(context.Background(), p.slot)
	return err == nil || errors.Is(err, store.ErrNotFound)
}

// wakeNext makes the slot after p's claimable, unless it runs or is claimable already.
func (s *Service) wakeNext(p *poller) {
	ctx := context.Background()
	r, err := s.cfg.Store.ResourceGet(ctx, p.scope, KindSlot, slotName(p.mapping, p.index+1), 0)
	if err != nil {
		return
	}
	now := time.Now()
	if r.LeaseUntil.After(now) || !r.VisibleAt.After(now) {
		return
	}
	r.VisibleAt = now
	if s.cfg.Store.ResourceUpdate(ctx, r) == nil {
		s.poke()
	}
}
