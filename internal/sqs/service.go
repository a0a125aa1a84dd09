package sqs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/barge-run/barge/internal/account"
	"github.com/barge-run/barge/internal/store"
)

// Config wires the service.
type Config struct {
	Store store.Store
	// Region is the server's default region: the region of scopes without one (account.Scope).
	Region string
	// Now is the clock (nil: time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// LookEvery, when positive, bounds how long a long poll waits without looking at the store
	// again: with several servers on one store a send on another server wakes no waiter here.
	// 0: waiters wake on this server's sends and on their own timers only.
	LookEvery time.Duration
}

// Service is the SQS domain service. Its methods take the caller's scope key (account.Scope)
// and act only on that scope's queues.
type Service struct {
	cfg     Config
	waiters waiters

	mu      sync.Mutex
	deleted map[string]time.Time // scope/name → when the queue was deleted (QueueDeletedRecently)
	moves   map[string]context.CancelFunc

	stop chan struct{}
	wg   sync.WaitGroup

	// The queues' counts of the last scrape (metrics.go).
	statsMu sync.Mutex
	stats   []queueStat
	statsAt time.Time
}

// New makes the service; Start resumes message move tasks.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{cfg: cfg, deleted: map[string]time.Time{}, moves: map[string]context.CancelFunc{}, stop: make(chan struct{})}
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

type endpointKey struct{}

// WithEndpoint tells the service the URL clients reach it at (http://host:port), from which it
// builds queue URLs: <endpoint>/<account id>/<queue name>.
func WithEndpoint(ctx context.Context, endpoint string) context.Context {
	return context.WithValue(ctx, endpointKey{}, strings.TrimSuffix(endpoint, "/"))
}

func endpointOf(ctx context.Context) string {
	if e, ok := ctx.Value(endpointKey{}).(string); ok && e != "" {
		return e
	}
	return "http://127.0.0.1:7700"
}

// queueRecord is a queue as stored (the resource's body).
type queueRecord struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Attributes map[string]string `json:"attributes"`
	Tags       map[string]string `json:"tags,omitempty"`
	Created    int64             `json:"created"`  // s
	Modified   int64             `json:"modified"` // s
	PurgedAt   int64             `json:"purgedAt,omitempty"`
}

// queue is a queue of one scope, read from the store.
type queue struct {
	scope string
	rec   queueRecord
	res   *store.Resource
}

func (q *queue) fifo() bool { return q.rec.Attributes[attrFifoQueue] == "true" }

func (q *queue) intAttr(name string) int {
	var n int
	fmt.Sscan(q.rec.Attributes[name], &n)
	return n
}

func (s *Service) arn(scope, name string) string {
	acct, region := account.SplitScope(scope, s.cfg.Region)
	return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", region, acct, name)
}

func (s *Service) queueURL(ctx context.Context, scope, name string) string {
	acct, _ := account.SplitScope(scope, s.cfg.Region)
	return endpointOf(ctx) + "/" + acct + "/" + name
}

// getQueue reads a queue of scope by name.
func (s *Service) getQueue(ctx context.Context, scope, name string) (*queue, error) {
	r, err := s.cfg.Store.ResourceGet(ctx, scope, store.KindSQSQueue, name, 0)
	if errors.Is(err, store.ErrNotFound) {
		return nil, queueDoesNotExist()
	}
	if err != nil {
		return nil, fmt.Errorf("read queue %s: %w", name, err)
	}
	q := &queue{scope: scope, res: r}
	if err := json.Unmarshal(r.Body, &q.rec); err != nil {
		return nil, fmt.Errorf("decode queue %s: %w", name, err)
	}
	return q, nil
}

// resolve finds the queue a QueueUrl names: <endpoint>/<account>/<name>, whatever the endpoint
// (clients reach barge by many names). Another account's queue does not exist for the caller.
func (s *Service) resolve(ctx context.Context, scope, queueURL string) (*queue, error) {
	if queueURL == "" {
		return nil, missingParameter("QueueUrl")
	}
	path := queueURL
	if u, err := url.Parse(queueURL); err == nil && u.Host != "" {
		path = u.Path
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	acct, _ := account.SplitScope(scope, s.cfg.Region)
	switch {
	case len(parts) == 2 && parts[0] == acct:
		return s.getQueue(ctx, scope, parts[1])
	case len(parts) == 1 && parts[0] != "" && !strings.Contains(queueURL, "://"):
		return s.getQueue(ctx, scope, parts[0]) // a bare name, as some tools send
	}
	return nil, queueDoesNotExist()
}

// resolveARN finds a queue of scope by its ARN.
func (s *Service) resolveARN(ctx context.Context, scope, arn string) (*queue, error) {
	i := strings.LastIndex(arn, ":")
	if !strings.HasPrefix(arn, "arn:") || i < 0 || arn[:i+1] != s.arn(scope, "") {
		return nil, queueDoesNotExist()
	}
	return s.getQueue(ctx, scope, arn[i+1:])
}

// save writes a queue's record back, if nobody changed it since it was read.
func (s *Service) save(ctx context.Context, q *queue) error {
	body, err := json.Marshal(q.rec)
	if err != nil {
		return fmt.Errorf("encode queue %s: %w", q.rec.Name, err)
	}
	q.res.Body = body
	if err := s.cfg.Store.ResourceUpdate(ctx, q.res); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return queueDoesNotExist()
		}
		return fmt.Errorf("write queue %s: %w", q.rec.Name, err)
	}
	return nil
}

// update applies change to the queue's record and saves it, reading it again if another writer
// got there first.
func (s *Service) update(ctx context.Context, q *queue, change func(*queue) error) error {
	for range 10 {
		if err := change(q); err != nil {
			return err
		}
		err := s.save(ctx, q)
		if !errors.Is(err, store.ErrStale) {
			return err
		}
		if q, err = s.getQueue(ctx, q.scope, q.rec.Name); err != nil {
			return err
		}
	}
	return fmt.Errorf("update queue %s: %w", q.rec.Name, store.ErrStale)
}

// Start resumes the message move tasks a previous run left running.
func (s *Service) Start(ctx context.Context) error { return s.resumeMoves(ctx) }

// Stop ends the move tasks' goroutines (their state stays stored: Start resumes them).
func (s *Service) Stop() {
	s.mu.Lock()
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// waiters wakes receivers long-polling a queue (by queue id) when a message may have become
// receivable there.
type waiters struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

// ch is closed at the next wake of queue: take it before looking, so no wake is missed.
func (w *waiters) ch(queue string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = map[string]chan struct{}{}
	}
	c, ok := w.m[queue]
	if !ok {
		c = make(chan struct{})
		w.m[queue] = c
	}
	return c
}

func (w *waiters) wake(queue string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c, ok := w.m[queue]; ok {
		close(c)
		delete(w.m, queue)
	}
}
