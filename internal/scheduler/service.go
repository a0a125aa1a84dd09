package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/barge-run/barge/internal/account"
	"github.com/barge-run/barge/internal/awserr"
	"github.com/barge-run/barge/internal/schedule"
	"github.com/barge-run/barge/internal/store"
)

// Store kinds of this package.
const (
	// KindSchedule is a schedule (name: "<group>/<name>"), a work item due at its next
	// invocation.
	KindSchedule store.Kind = "scheduler-schedule"
	// KindGroup is a schedule group (name: its name).
	KindGroup store.Kind = "scheduler-group"
	// KindRetry is a failed delivery waiting for its next attempt (name: a UUID).
	KindRetry store.Kind = "scheduler-retry"
)

// DefaultGroup is the group every account has.
const DefaultGroup = "default"

// Config wires the service.
type Config struct {
	Store    store.Store
	Engine   *Engine
	Delivery *Delivery
	// Region is the server's default region (account.Scope).
	Region string
	// Rand places invocations within flexible time windows (nil: a random source).
	Rand   schedule.Rand
	Logger *slog.Logger
}

// Service serves the EventBridge Scheduler operations and fires schedules and retries.
type Service struct {
	cfg    Config
	randMu sync.Mutex
}

// New makes the service and registers its kinds with the engine.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	s := &Service{cfg: cfg}
	cfg.Engine.Register(KindSchedule, FirerFunc(s.fireSchedule))
	cfg.Engine.Register(KindRetry, &Retrier{Delivery: cfg.Delivery, Logger: cfg.Logger})
	return s
}

// FirerFunc adapts a function to Firer.
type FirerFunc func(ctx context.Context, item *store.Resource, now time.Time) Outcome

// Fire implements Firer.
func (f FirerFunc) Fire(ctx context.Context, item *store.Resource, now time.Time) Outcome {
	return f(ctx, item, now)
}

func validation(format string, args ...any) *awserr.Error {
	return awserr.New(http.StatusBadRequest, "ValidationException", format, args...)
}

func notFound(format string, args ...any) *awserr.Error {
	return awserr.New(http.StatusNotFound, "ResourceNotFoundException", format, args...)
}

func conflict(format string, args ...any) *awserr.Error {
	return awserr.New(http.StatusConflict, "ConflictException", format, args...)
}

func (s *Service) arn(scope, resource string) string {
	acct, region := account.SplitScope(scope, s.cfg.Region)
	return fmt.Sprintf("arn:aws:scheduler:%s:%s:%s", region, acct, resource)
}

func (s *Service) randInt(n int64) int64 {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	return s.cfg.Rand.Int64N(n)
}

// lockedRand serialises the injected source for FlexibleWindow.
type lockedRand struct{ s *Service }

func (r lockedRand) Int64N(n int64) int64 { return r.s.randInt(n) }

func decode[T any](b []byte, what string) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", what, err)
	}
	return v, nil
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
