package schedule

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	// Embedded zone data: schedules name IANA zones and must work on hosts without
	// /usr/share/zoneinfo (minimal containers).
	_ "time/tzdata"
)

// Limits AWS applies to schedule expressions (scheduler.service-2.json and the Scheduler guide).
const (
	MaxExpressionLength = 256  // ScheduleExpression max length
	MaxTimezoneLength   = 50   // ScheduleExpressionTimezone max length
	MinYear             = 1970 // first year a cron year field may name
	MaxYear             = 2199 // last year a cron year field may name
)

// Kind is which of AWS's three expression forms an Expression is.
type Kind int

// The expression forms.
const (
	KindRate Kind = iota + 1 // rate(value unit): a fixed period
	KindCron                 // cron(six fields): wall-clock times in the time zone
	KindAt                   // at(yyyy-mm-ddThh:mm:ss): once; Scheduler only
)

// Expression is a parsed schedule expression bound to its time zone. The zero value is not
// valid; get one from Parse. It is an immutable value, safe to share.
type Expression struct {
	kind   Kind
	text   string
	loc    *time.Location
	period time.Duration // rate
	anchor time.Time     // rate: an instant on the grid; zero means "the after passed to Next"
	at     time.Time     // at
	cron   *cronSpec
}

// Option changes how Parse reads an expression.
type Option func(*options)

type options struct{ rule bool }

// ForRule parses as EventBridge PutRule does: cron() and rate() only (no at()), evaluated in
// UTC (rules have no time zone, so timezone must be "" or "UTC"), and errors carry the rules
// API's message.
func ForRule() Option { return func(o *options) { o.rule = true } }

// Parse parses an AWS schedule expression evaluated in timezone, an IANA name ("" means UTC,
// AWS's default ScheduleExpressionTimezone). Errors are *Error.
func Parse(expr, timezone string, opts ...Option) (Expression, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	bad := func(field, format string, args ...any) (Expression, error) {
		return Expression{}, newExprError(expr, o.rule, field, fmt.Sprintf(format, args...))
	}
	loc, err := loadZone(expr, timezone, o.rule)
	if err != nil {
		return Expression{}, err
	}
	if len(expr) > MaxExpressionLength {
		return bad("", "longer than %d characters", MaxExpressionLength)
	}
	kind, body, ok := split(expr)
	if !ok {
		return bad("", "want rate(value unit), cron(fields) or at(yyyy-mm-ddThh:mm:ss)")
	}
	e := Expression{kind: kind, text: expr, loc: loc}
	switch kind {
	case KindRate:
		e.period, err = parseRate(body)
	case KindCron:
		e.cron, err = parseCron(body)
	case KindAt:
		if o.rule {
			return bad("", "at() is for EventBridge Scheduler only; rules take cron() or rate()")
		}
		e.at, err = parseAt(body, loc)
	}
	if err != nil {
		var fe fieldError
		if !errors.As(err, &fe) {
			fe = fieldError{reason: err.Error()}
		}
		return bad(fe.field, "%s", fe.reason)
	}
	return e, nil
}

// split recognises the form's keyword and returns what the parentheses hold. The keyword is
// case-sensitive, as AWS's is.
func split(expr string) (Kind, string, bool) {
	for _, f := range []struct {
		kind Kind
		word string
	}{{KindRate, "rate("}, {KindCron, "cron("}, {KindAt, "at("}} {
		if strings.HasPrefix(expr, f.word) && strings.HasSuffix(expr, ")") {
			return f.kind, expr[len(f.word) : len(expr)-1], true
		}
	}
	return 0, "", false
}

// loadZone resolves an IANA zone name. "Local" and other names that LoadLocation accepts but
// are not zones (file paths) are refused: the host's zone must never leak into a schedule.
func loadZone(expr, name string, rule bool) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	bad := func(reason string) error {
		return &Error{Expression: expr, Field: "timezone", Reason: reason,
			msg: "Invalid ScheduleExpressionTimezone " + name}
	}
	if rule {
		return nil, bad("EventBridge rules are evaluated in UTC only")
	}
	if len(name) > MaxTimezoneLength {
		return nil, bad(fmt.Sprintf("longer than %d characters", MaxTimezoneLength))
	}
	if name == "Local" || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		return nil, bad("not an IANA time zone name")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, bad("unknown IANA time zone")
	}
	return loc, nil
}

// fieldError is a parse failure inside one part of an expression; Parse wraps it in *Error.
type fieldError struct{ field, reason string }

func (e fieldError) Error() string { return e.field + ": " + e.reason }

func fieldErr(field, format string, args ...any) error {
	return fieldError{field: field, reason: fmt.Sprintf(format, args...)}
}

var rateUnits = map[string]time.Duration{
	"minute": time.Minute, "minutes": time.Minute,
	"hour": time.Hour, "hours": time.Hour,
	"day": 24 * time.Hour, "days": 24 * time.Hour,
}

// parseRate reads "value unit". AWS requires the singular unit for 1 and the plural otherwise.
func parseRate(body string) (time.Duration, error) {
	parts := strings.Fields(body)
	if len(parts) != 2 {
		return 0, fieldErr("rate", "want rate(value unit), e.g. rate(5 minutes)")
	}
	value, unit := parts[0], parts[1]
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil || n <= 0 || strings.TrimLeft(value, "0123456789") != "" {
		return 0, fieldErr("value", "%q is not a positive integer", value)
	}
	per, ok := rateUnits[unit]
	if !ok {
		return 0, fieldErr("unit", "%q is not minute(s), hour(s) or day(s)", unit)
	}
	if singular := !strings.HasSuffix(unit, "s"); singular != (n == 1) {
		return 0, fieldErr("unit", "use the singular unit for a value of 1 and the plural otherwise")
	}
	// A period must fit a time.Duration (about 292 years); nothing longer is a useful rate.
	if n > math.MaxInt64/int64(per) {
		return 0, fieldErr("value", "%d %s is too long a period", n, unit)
	}
	return time.Duration(n) * per, nil
}

// parseAt reads the one-time form's wall-clock time in loc. A repeated wall time (fall-back)
// means its first occurrence, as for cron. A one-time schedule must still run once, so a wall
// time a spring-forward skips is read with the offset in force before the jump (02:30 EST is
// 03:30 EDT), as if the clock had not moved.
func parseAt(body string, loc *time.Location) (time.Time, error) {
	w, err := time.ParseInLocation("2006-01-02T15:04:05", body, time.UTC)
	if err != nil {
		return time.Time{}, fieldErr("at", "%q is not yyyy-mm-ddThh:mm:ss", body)
	}
	c := clock{w.Year(), int(w.Month()), w.Day(), w.Hour(), w.Minute()}
	sec := time.Duration(w.Second()) * time.Second
	if t, ok := resolve(c, loc); ok {
		return t.Add(sec), nil
	}
	_, before := w.Add(-36 * time.Hour).In(loc).Zone()
	return w.Add(-time.Duration(before) * time.Second), nil
}

// Kind says which form the expression is.
func (e Expression) Kind() Kind { return e.kind }

// String returns the expression as it was given.
func (e Expression) String() string { return e.text }

// Location is the time zone the expression is evaluated in.
func (e Expression) Location() *time.Location { return e.loc }

// Period is a rate expression's period (zero for other kinds).
func (e Expression) Period() time.Duration { return e.period }

// At is a one-time expression's instant (zero for other kinds).
func (e Expression) At() time.Time { return e.at }

// WithAnchor returns e with its rate grid anchored at t: fire times are t, t+period,
// t+2·period... AWS starts a rate schedule at its StartDate, or at creation when it has none;
// the caller passes that instant and keeps it across restarts. Other kinds ignore the anchor.
func (e Expression) WithAnchor(t time.Time) Expression {
	e.anchor = t
	return e
}

// Next returns the first fire time strictly after after, or false when there is none (an at()
// in the past, a cron whose years are over). A rate with no anchor is anchored at after, so its
// next fire is one period later ("a period after the last invocation").
func (e Expression) Next(after time.Time) (time.Time, bool) {
	switch e.kind {
	case KindRate:
		return e.nextRate(after), true
	case KindCron:
		return e.cron.next(after, e.loc)
	case KindAt:
		return e.at, e.at.After(after)
	}
	return time.Time{}, false
}

// nextRate finds the first grid point after after, in whole seconds plus the anchor's
// fraction so that far-apart instants cannot overflow a Duration.
func (e Expression) nextRate(after time.Time) time.Time {
	anchor := e.anchor
	if anchor.IsZero() {
		anchor = after
	}
	if anchor.After(after) {
		return anchor
	}
	step := int64(e.period / time.Second)
	k := (after.Unix() - anchor.Unix()) / step
	t := time.Unix(anchor.Unix()+k*step, int64(anchor.Nanosecond())).In(anchor.Location())
	for !t.After(after) {
		t = t.Add(e.period)
	}
	return t
}
