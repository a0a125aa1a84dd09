package schedule

import (
	"fmt"
	"time"
)

// FlexibleTimeWindow modes and limits (scheduler.service-2.json).
const (
	ModeOff          = "OFF"
	ModeFlexible     = "FLEXIBLE"
	MinWindowMinutes = 1
	MaxWindowMinutes = 1440
)

// FlexibleWindow is a schedule's FlexibleTimeWindow: with FLEXIBLE, each invocation lands at a
// random point within the window after its scheduled time, which spreads the load of many
// schedules due at once. The zero value is OFF.
type FlexibleWindow struct {
	max time.Duration // zero when OFF
}

// Rand is the random source a FlexibleWindow draws from; *math/rand/v2.Rand satisfies it. The
// caller injects it (seeded) so invocation times are reproducible in tests and simulations.
type Rand interface {
	Int64N(n int64) int64
}

// Window validates a FlexibleTimeWindow. FLEXIBLE needs MaximumWindowInMinutes in 1-1440; OFF
// ignores it (pass 0 when it is absent).
func Window(mode string, maxMinutes int) (FlexibleWindow, error) {
	bad := func(field, reason string) (FlexibleWindow, error) {
		return FlexibleWindow{}, &Error{Expression: mode, Field: field, Reason: reason, msg: reason + "."}
	}
	switch mode {
	case ModeOff:
		return FlexibleWindow{}, nil
	case ModeFlexible:
		if maxMinutes < MinWindowMinutes || maxMinutes > MaxWindowMinutes {
			return bad("MaximumWindowInMinutes", fmt.Sprintf(
				"MaximumWindowInMinutes must be %d-%d when Mode is FLEXIBLE", MinWindowMinutes, MaxWindowMinutes))
		}
		return FlexibleWindow{max: time.Duration(maxMinutes) * time.Minute}, nil
	}
	return bad("Mode", "Mode must be OFF or FLEXIBLE")
}

// Max is the window's length (zero when OFF).
func (w FlexibleWindow) Max() time.Duration { return w.max }

// InvocationTime is when to invoke for a fire time t: t itself when OFF, else a whole second
// drawn uniformly from [t, t+max). r may be nil when OFF.
func (w FlexibleWindow) InvocationTime(t time.Time, r Rand) time.Time {
	if w.max == 0 {
		return t
	}
	return t.Add(time.Duration(r.Int64N(int64(w.max/time.Second))) * time.Second)
}

// Bounds are a schedule's StartDate and EndDate; a zero time means no bound. Start is
// inclusive ("after which the schedule can begin invoking"), End exclusive ("before which").
type Bounds struct {
	Start, End time.Time
}

// Validate rejects an EndDate that is not after the StartDate.
func (b Bounds) Validate() error {
	if !b.Start.IsZero() && !b.End.IsZero() && !b.End.After(b.Start) {
		return &Error{Expression: b.End.UTC().Format(time.RFC3339), Field: "EndDate",
			Reason: "EndDate must be after StartDate", msg: "EndDate must be after StartDate."}
	}
	return nil
}

// Next is e.Next(after) kept within the bounds: no fire before Start or at or after End. A rate
// without an anchor is anchored at Start, where AWS starts it. One-time schedules ignore both
// bounds, as AWS does.
func (b Bounds) Next(e Expression, after time.Time) (time.Time, bool) {
	if e.kind == KindAt {
		return e.Next(after)
	}
	if !b.Start.IsZero() {
		if e.kind == KindRate && e.anchor.IsZero() {
			e = e.WithAnchor(b.Start)
		}
		if after.Before(b.Start) {
			after = b.Start.Add(-time.Nanosecond) // so that Start itself may fire
		}
	}
	t, ok := e.Next(after)
	if !ok || (!b.End.IsZero() && !t.Before(b.End)) {
		return time.Time{}, false
	}
	return t, true
}
