package asl

import (
	"context"
	"time"
)

// Clock is the interpreter's only source of time: Wait states, retry
// backoff, and task and execution timeouts all go through it, so a test can
// substitute a clock that it controls.
type Clock interface {
	Now() time.Time
	// Sleep returns after d, or earlier with ctx's error when ctx is done.
	Sleep(ctx context.Context, d time.Duration) error
	// WithTimeout returns a context that is cancelled with cause once d has
	// passed on this clock.
	WithTimeout(ctx context.Context, d time.Duration, cause error) (context.Context, context.CancelFunc)
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// Sleep waits for d or until ctx is done.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WithTimeout is context.WithTimeoutCause.
func (RealClock) WithTimeout(ctx context.Context, d time.Duration, cause error) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, d, cause)
}
