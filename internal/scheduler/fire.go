package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	sc "github.com/barge-run/barge/internal/awstypes/scheduler"
	"github.com/barge-run/barge/internal/store"
)

// Retry policy defaults, as Scheduler's.
const (
	DefaultMaxAge     = 24 * time.Hour
	DefaultMaxRetries = 185
	maxBackoff        = 5 * time.Minute
)

// Attempt is one occurrence's delivery, retried as its own work item (KindRetry) until it
// succeeds, runs out of attempts or of age; then it goes to DLQ, if any.
type Attempt struct {
	Send        Send          `json:"send"`
	Source      string        `json:"source"` // the schedule or rule ARN, for logs and the DLQ
	ExecutionID string        `json:"executionId"`
	Occurrence  time.Time     `json:"occurrence"`
	Retries     int           `json:"retries"` // done so far
	MaxRetries  int           `json:"maxRetries"`
	MaxAge      time.Duration `json:"maxAge"`
	DLQ         string        `json:"dlq,omitempty"`
}

// Run makes one delivery of a, at now: true when it is settled (delivered, or given up and
// sent to the DLQ), false when it is to be retried (the caller stores it via Later).
func (a *Attempt) Run(ctx context.Context, d *Delivery, scope string, now time.Time, log *slog.Logger) bool {
	if now.Sub(a.Occurrence) > a.MaxAge {
		a.deadLetter(ctx, d, scope, &DeliveryError{Code: "EventAgeExceeded", Err: errors.New("the event is older than MaximumEventAgeInSeconds")}, log)
		return true
	}
	err := d.Deliver(ctx, scope, a.Send)
	if err == nil {
		return true
	}
	if a.Retries >= a.MaxRetries {
		a.deadLetter(ctx, d, scope, err, log)
		return true
	}
	log.Info("schedules: delivery failed; retrying", "source", a.Source, "target", a.Send.Arn, "err", err)
	return false
}

// Later is when to try a again, one more retry having been used.
func (a *Attempt) Later(now time.Time) time.Time {
	a.Retries++
	return now.Add(min(time.Second<<min(a.Retries-1, 20), maxBackoff))
}

// deadLetter sends the event to the DLQ with Scheduler's error attributes, or drops it.
func (a *Attempt) deadLetter(ctx context.Context, d *Delivery, scope string, cause error, log *slog.Logger) {
	code := "InternalServerException"
	var de *DeliveryError
	if errors.As(cause, &de) {
		code = de.Code
	}
	if a.DLQ == "" {
		log.Warn("schedules: event dropped (no dead-letter queue)", "source", a.Source, "target", a.Send.Arn, "err", cause)
		return
	}
	msg := Send{Arn: a.DLQ, Input: a.Send.Input, Attributes: map[string]string{"ERROR_CODE": code, "ERROR_MESSAGE": cause.Error(),
		"EXECUTION_ID": a.ExecutionID, "RETRY_ATTEMPTS": itoa(a.Retries), "TARGET_ARN": a.Send.Arn}}
	if strings.HasSuffix(a.DLQ, ".fifo") {
		msg.GroupID, msg.DedupID = "dead-letters", a.ExecutionID+"-"+itoa(a.Retries)
	}
	if err := d.Deliver(ctx, scope, msg); err != nil {
		log.Warn("schedules: event dropped (dead-letter queue failed)", "source", a.Source, "dlq", a.DLQ, "err", err)
	}
}

// Deliver runs a first attempt at now and, if it is to be retried, stores it as a KindRetry
// item due at its next attempt.
func (a *Attempt) Deliver(ctx context.Context, st store.Store, d *Delivery, scope string, now time.Time, log *slog.Logger) {
	if a.Run(ctx, d, scope, now, log) {
		return
	}
	next := a.Later(now)
	body, _ := json.Marshal(a)
	if err := st.ResourceCreate(ctx, &store.Resource{Account: scope, Kind: KindRetry, Name: uuid.NewString(), Status: "RETRY",
		Body: body, CreatedAt: now, VisibleAt: next}); err != nil {
		log.Error("schedules: storing a retry", "source", a.Source, "err", err)
	}
}

// Retrier fires KindRetry items.
type Retrier struct {
	Delivery *Delivery
	Logger   *slog.Logger
}

// Fire implements Firer.
func (r *Retrier) Fire(ctx context.Context, item *store.Resource, now time.Time) Outcome {
	a, err := decode[Attempt](item.Body, "retry")
	if err != nil || a.Run(ctx, r.Delivery, item.Account, now, r.Logger) {
		return Outcome{Delete: true}
	}
	next := a.Later(now)
	body, _ := json.Marshal(a)
	return Outcome{Body: body, Next: next}
}

// fireSchedule delivers a due schedule's occurrence and moves it to the next one (or parks or
// deletes it when none is left).
func (s *Service) fireSchedule(ctx context.Context, item *store.Resource, now time.Time) Outcome {
	rec, err := decode[scheduleRecord](item.Body, "schedule")
	if err != nil {
		return Outcome{Body: item.Body, Next: Parked}
	}
	if rec.S.State == sc.ScheduleStateEnabled && !rec.Next.IsZero() && !rec.Next.After(now) {
		s.attempt(rec, rec.Next).Deliver(ctx, s.cfg.Store, s.cfg.Delivery, item.Account, now, s.cfg.Logger)
	}
	next := s.plan(rec, now)
	if next == Parked && rec.S.ActionAfterCompletion == sc.ActionAfterCompletionDelete {
		return Outcome{Delete: true}
	}
	body, _ := json.Marshal(rec)
	return Outcome{Body: body, Next: next}
}

// attempt is the delivery of rec's occurrence at t.
func (s *Service) attempt(rec *scheduleRecord, t time.Time) *Attempt {
	tg := rec.S.Target
	a := &Attempt{Source: rec.S.Arn, ExecutionID: uuid.NewString(), Occurrence: t, MaxRetries: DefaultMaxRetries, MaxAge: DefaultMaxAge}
	if rp := tg.RetryPolicy; rp != nil {
		if rp.MaximumRetryAttempts != nil {
			a.MaxRetries = int(*rp.MaximumRetryAttempts)
		}
		if rp.MaximumEventAgeInSeconds != nil {
			a.MaxAge = time.Duration(*rp.MaximumEventAgeInSeconds) * time.Second
		}
	}
	if tg.DeadLetterConfig != nil {
		a.DLQ = tg.DeadLetterConfig.Arn
	}
	input := strings.NewReplacer("<aws.scheduler.schedule-arn>", rec.S.Arn,
		"<aws.scheduler.scheduled-time>", t.UTC().Format(time.RFC3339),
		"<aws.scheduler.execution-id>", a.ExecutionID,
		"<aws.scheduler.attempt-number>", "1").Replace(tg.Input)
	a.Send = Send{Arn: tg.Arn, Input: input}
	if p := tg.SqsParameters; p != nil && p.MessageGroupId != "" {
		a.Send.GroupID, a.Send.DedupID = p.MessageGroupId, a.ExecutionID
	}
	return a
}
