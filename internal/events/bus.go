package events

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/barge-run/barge/internal/account"
	ew "github.com/barge-run/barge/internal/awstypes/events"
	"github.com/barge-run/barge/internal/eventfilter"
	"github.com/barge-run/barge/internal/store"
)

// Event is one event on an account's default bus: from PutEvents, or emitted by a barge
// service as AWS's services emit theirs ("Batch Job State Change" from aws.batch, "Step
// Functions Execution Status Change" from aws.states).
type Event struct {
	Source, DetailType string
	Detail             json.RawMessage // a JSON object
	Resources          []string
	Time               time.Time // zero: when published
}

// queuedEvent is an event waiting for the matcher, with its id and account scope.
type queuedEvent struct {
	scope, id string
	ev        Event
}

// Bounds of the event matcher.
const (
	eventQueue   = 8192            // events waiting to be matched; more are dropped (counted)
	rulesFresh   = 2 * time.Second // how long a listing of pattern rules is used
	rulesTimeout = 10 * time.Second
)

// Bus is where barge's services publish their events. It exists before the events service
// (the Batch engine starts first) and drops events until one is attached; Wants lets a
// publisher skip building an event nobody matches.
type Bus struct {
	svc     atomic.Pointer[Service]
	dropped atomic.Int64
}

// NewBus makes an empty bus.
func NewBus() *Bus { return &Bus{} }

// Wants reports whether any enabled rule with an event pattern exists, in any account (as of
// the last listing, at most a few seconds old): without one, events are not built.
func (b *Bus) Wants() bool {
	s := b.svc.Load()
	return s != nil && s.patterns.Load()
}

// Publish queues an event of a barge service for scope's rules; it never blocks: when the
// matcher is behind by more than its queue, the event is dropped and counted (AWS sends its
// services' events on a best-effort basis too).
func (b *Bus) Publish(scope, source, detailType string, resources []string, detail json.RawMessage) {
	s := b.svc.Load()
	if s == nil || !s.patterns.Load() {
		return
	}
	if !s.enqueue(queuedEvent{scope: scope, id: uuid.NewString(), ev: Event{Source: source, DetailType: detailType, Detail: detail,
		Resources: resources, Time: s.cfg.Engine.Now()}}) {
		b.dropped.Add(1)
	}
}

// Dropped is the number of events dropped because the matcher was behind.
func (b *Bus) Dropped() int64 { return b.dropped.Load() }

// patternRule is an enabled rule with an event pattern, compiled.
type patternRule struct {
	rec     ruleRecord
	pattern *eventfilter.Pattern
}

// matcher holds the pattern rules of every account, listed at most rulesFresh ago.
type matcher struct {
	mu     sync.Mutex
	at     time.Time
	byAcct map[string][]patternRule
}

// startMatcher runs the goroutine that matches queued events to rules until ctx ends.
func (s *Service) startMatcher(ctx context.Context) {
	s.queue = make(chan queuedEvent, eventQueue)
	s.refreshRules(ctx)
	go func() {
		tick := time.NewTicker(rulesFresh)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				s.refreshRules(ctx)
			case q := <-s.queue:
				s.match(ctx, q)
			}
		}
	}()
}

// enqueue hands q to the matcher without waiting; false when its queue is full.
func (s *Service) enqueue(q queuedEvent) bool {
	select {
	case s.queue <- q:
		return true
	default:
		return false
	}
}

// rulesChanged reads the rules again once the matcher runs (a rule was written here).
func (s *Service) rulesChanged() {
	if s.queue != nil {
		s.refreshRules(context.Background())
	}
}

// refreshRules lists every account's enabled pattern rules.
func (s *Service) refreshRules(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, rulesTimeout)
	defer cancel()
	rs, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{AllAccounts: true, Kind: KindRule})
	if err != nil {
		s.cfg.Logger.Warn("events: listing rules", "err", err)
		return
	}
	by := map[string][]patternRule{}
	for _, r := range rs {
		var rec ruleRecord
		if json.Unmarshal(r.Body, &rec) != nil || rec.Rule.EventPattern == "" || rec.Rule.State == ew.RuleStateDisabled {
			continue
		}
		p, err := eventfilter.Compile(rec.Rule.EventPattern)
		if err != nil {
			continue
		}
		by[r.Account] = append(by[r.Account], patternRule{rec: rec, pattern: p})
	}
	s.rules.mu.Lock()
	s.rules.at, s.rules.byAcct = time.Now(), by
	s.rules.mu.Unlock()
	s.patterns.Store(len(by) > 0)
}

// rulesOf is scope's pattern rules, listed again when the last listing is stale.
func (s *Service) rulesOf(ctx context.Context, scope string) []patternRule {
	s.rules.mu.Lock()
	stale := time.Since(s.rules.at) > rulesFresh
	s.rules.mu.Unlock()
	if stale {
		s.refreshRules(ctx)
	}
	s.rules.mu.Lock()
	defer s.rules.mu.Unlock()
	return s.rules.byAcct[scope]
}

// match sends an event to every target of each of its account's rules whose pattern it matches.
func (s *Service) match(ctx context.Context, q queuedEvent) {
	rules := s.rulesOf(ctx, q.scope)
	if len(rules) == 0 {
		return
	}
	event := s.envelope(q)
	v, err := eventfilter.DecodeEvent(event)
	if err != nil {
		return
	}
	now := s.cfg.Engine.Now()
	for i := range rules {
		if rules[i].pattern.MatchValue(v) {
			s.deliverEvent(ctx, q.scope, &rules[i].rec, event, q.ev.Time, now)
		}
	}
}

// envelope is the event as EventBridge hands it to targets.
func (s *Service) envelope(q queuedEvent) []byte {
	acct, region := account.SplitScope(q.scope, s.cfg.Region)
	resources := q.ev.Resources
	if resources == nil {
		resources = []string{}
	}
	detail := q.ev.Detail
	if len(detail) == 0 {
		detail = json.RawMessage(`{}`)
	}
	b, _ := json.Marshal(map[string]any{"version": "0", "id": q.id, "detail-type": q.ev.DetailType, "source": q.ev.Source,
		"account": acct, "time": q.ev.Time.UTC().Format(time.RFC3339), "region": region, "resources": resources, "detail": detail})
	return b
}
