package scheduler

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/barge-run/barge/internal/awstypes"
	sc "github.com/barge-run/barge/internal/awstypes/scheduler"
	"github.com/barge-run/barge/internal/schedule"
	"github.com/barge-run/barge/internal/store"
)

var nameRE = regexp.MustCompile(`^[0-9a-zA-Z-_.]{1,64}$`)

// scheduleRecord is a schedule as stored.
type scheduleRecord struct {
	S sc.GetScheduleOutput `json:"s"`
	// Anchor is where a rate schedule's grid starts: its StartDate, else its creation.
	Anchor time.Time `json:"anchor"`
	// Next is the occurrence the item's VisibleAt stands for (zero: none left).
	Next time.Time `json:"next,omitzero"`
}

// spec is a schedule's checked timing.
type spec struct {
	expr   schedule.Expression
	bounds schedule.Bounds
	window schedule.FlexibleWindow
}

func (r *scheduleRecord) spec() (spec, error) {
	var sp spec
	var err error
	if sp.expr, err = schedule.Parse(r.S.ScheduleExpression, r.S.ScheduleExpressionTimezone); err != nil {
		return sp, validation("%s", msgOf(err))
	}
	sp.expr = sp.expr.WithAnchor(r.Anchor)
	if r.S.StartDate != nil {
		sp.bounds.Start = r.S.StartDate.Time
	}
	if r.S.EndDate != nil {
		sp.bounds.End = r.S.EndDate.Time
	}
	if err := sp.bounds.Validate(); err != nil {
		return sp, validation("%s", msgOf(err))
	}
	w := r.S.FlexibleTimeWindow
	if w == nil {
		return sp, validation("1 validation error detected: Value null at 'flexibleTimeWindow' failed to satisfy constraint: Member must not be null")
	}
	max := 0
	if w.MaximumWindowInMinutes != nil {
		max = int(*w.MaximumWindowInMinutes)
	}
	if sp.window, err = schedule.Window(string(w.Mode), max); err != nil {
		return sp, validation("%s", msgOf(err))
	}
	return sp, nil
}

func msgOf(err error) string {
	var se *schedule.Error
	if errors.As(err, &se) {
		return se.Message()
	}
	return err.Error()
}

// checkTarget validates a schedule's target.
func checkTarget(t *sc.Target) error {
	if t == nil || t.Arn == "" {
		return validation("1 validation error detected: Value null at 'target.arn' failed to satisfy constraint: Member must not be null")
	}
	if t.RoleArn == "" {
		return validation("1 validation error detected: Value null at 'target.roleArn' failed to satisfy constraint: Member must not be null")
	}
	if err := ValidTarget(t.Arn); err != nil {
		return validation("%v", err)
	}
	if rp := t.RetryPolicy; rp != nil {
		if a := rp.MaximumEventAgeInSeconds; a != nil && (*a < 60 || *a > 86400) {
			return validation("MaximumEventAgeInSeconds must be between 60 and 86400")
		}
		if n := rp.MaximumRetryAttempts; n != nil && (*n < 0 || *n > 185) {
			return validation("MaximumRetryAttempts must be between 0 and 185")
		}
	}
	if d := t.DeadLetterConfig; d != nil && d.Arn != "" && !strings.HasPrefix(d.Arn, "arn:aws:sqs:") {
		return validation("DeadLetterConfig Arn must be an SQS queue ARN")
	}
	return nil
}

// scheduleParams are the members Create and Update share.
type scheduleParams struct {
	group, name string
	in          sc.UpdateScheduleInput
}

// build checks the parameters and makes the record (created: the creation date to keep).
func (s *Service) build(p scheduleParams, scope string, created time.Time, now time.Time) (*scheduleRecord, error) {
	in := p.in
	if !nameRE.MatchString(p.name) {
		return nil, validation("1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$", p.name)
	}
	if in.ScheduleExpression == "" {
		return nil, validation("1 validation error detected: Value null at 'scheduleExpression' failed to satisfy constraint: Member must not be null")
	}
	if err := checkTarget(in.Target); err != nil {
		return nil, err
	}
	if in.State == "" {
		in.State = sc.ScheduleStateEnabled
	}
	if in.State != sc.ScheduleStateEnabled && in.State != sc.ScheduleStateDisabled {
		return nil, validation("State must be ENABLED or DISABLED")
	}
	if in.ActionAfterCompletion == "" {
		in.ActionAfterCompletion = sc.ActionAfterCompletionNone
	}
	if in.StartDate != nil && in.StartDate.Before(now.Add(-5*time.Minute)) {
		return nil, validation("The StartDate you specify cannot be earlier than 5 minutes prior to the current time.")
	}
	rec := &scheduleRecord{Anchor: created, S: sc.GetScheduleOutput{Name: p.name, GroupName: p.group, Arn: s.arn(scope, "schedule/"+p.group+"/"+p.name),
		ActionAfterCompletion: in.ActionAfterCompletion, Description: in.Description, StartDate: in.StartDate, EndDate: in.EndDate,
		FlexibleTimeWindow: in.FlexibleTimeWindow, KmsKeyArn: in.KmsKeyArn, ScheduleExpression: in.ScheduleExpression,
		ScheduleExpressionTimezone: in.ScheduleExpressionTimezone, State: in.State, Target: in.Target,
		CreationDate: awstypes.NewTimestamp(created), LastModificationDate: awstypes.NewTimestamp(now)}}
	if in.StartDate != nil {
		rec.Anchor = in.StartDate.Time
	}
	if _, err := rec.spec(); err != nil {
		return nil, err
	}
	return rec, nil
}

// plan sets the record's next occurrence after now and returns when to invoke it (Parked: none).
func (s *Service) plan(rec *scheduleRecord, now time.Time) time.Time {
	rec.Next = time.Time{}
	sp, err := rec.spec()
	if err != nil || rec.S.State != sc.ScheduleStateEnabled {
		return Parked
	}
	t, ok := sp.bounds.Next(sp.expr, now)
	if !ok {
		return Parked
	}
	rec.Next = t
	return sp.window.InvocationTime(t, lockedRand{s})
}

func (s *Service) groupOf(ctx context.Context, scope, group string) (string, error) {
	if group == "" {
		group = DefaultGroup
	}
	if _, err := s.getGroup(ctx, scope, group); err != nil {
		return "", err
	}
	return group, nil
}

// CreateSchedule implements the Scheduler operation.
func (s *Service) CreateSchedule(ctx context.Context, scope string, in *sc.CreateScheduleInput) (*sc.CreateScheduleOutput, error) {
	group, err := s.groupOf(ctx, scope, in.GroupName)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Engine.Now()
	rec, err := s.build(scheduleParams{group: group, name: in.Name, in: sc.UpdateScheduleInput{ActionAfterCompletion: in.ActionAfterCompletion,
		Description: in.Description, EndDate: in.EndDate, FlexibleTimeWindow: in.FlexibleTimeWindow, KmsKeyArn: in.KmsKeyArn,
		ScheduleExpression: in.ScheduleExpression, ScheduleExpressionTimezone: in.ScheduleExpressionTimezone, StartDate: in.StartDate,
		State: in.State, Target: in.Target}}, scope, now, now)
	if err != nil {
		return nil, err
	}
	visible := s.plan(rec, now)
	body, _ := json.Marshal(rec)
	err = s.cfg.Store.ResourceCreate(ctx, &store.Resource{Account: scope, Kind: KindSchedule, Name: group + "/" + in.Name, ARN: rec.S.Arn,
		Status: string(rec.S.State), Body: body, CreatedAt: now, VisibleAt: visible})
	if errors.Is(err, store.ErrConflict) {
		return nil, conflict("Schedule %s already exists.", in.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("create schedule: %w", err)
	}
	s.cfg.Engine.Poke()
	return &sc.CreateScheduleOutput{ScheduleArn: rec.S.Arn}, nil
}

func (s *Service) getSchedule(ctx context.Context, scope, group, name string) (*scheduleRecord, *store.Resource, error) {
	if group == "" {
		group = DefaultGroup
	}
	r, err := s.cfg.Store.ResourceGet(ctx, scope, KindSchedule, group+"/"+name, 0)
	if isNotFound(err) {
		return nil, nil, notFound("Schedule %s does not exist.", name)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read schedule %s: %w", name, err)
	}
	rec, err := decode[scheduleRecord](r.Body, "schedule")
	return rec, r, err
}

// GetSchedule implements the Scheduler operation.
func (s *Service) GetSchedule(ctx context.Context, scope string, in *sc.GetScheduleInput) (*sc.GetScheduleOutput, error) {
	rec, _, err := s.getSchedule(ctx, scope, in.GroupName, in.Name)
	if err != nil {
		return nil, err
	}
	return &rec.S, nil
}

// UpdateSchedule implements the Scheduler operation: every member is replaced, as on AWS; the
// next occurrence is computed anew from now.
func (s *Service) UpdateSchedule(ctx context.Context, scope string, in *sc.UpdateScheduleInput) (*sc.UpdateScheduleOutput, error) {
	for range 10 {
		old, res, err := s.getSchedule(ctx, scope, in.GroupName, in.Name)
		if err != nil {
			return nil, err
		}
		now := s.cfg.Engine.Now()
		rec, err := s.build(scheduleParams{group: old.S.GroupName, name: in.Name, in: *in}, scope, old.S.CreationDate.Time, now)
		if err != nil {
			return nil, err
		}
		if in.StartDate == nil && old.S.ScheduleExpression == rec.S.ScheduleExpression {
			rec.Anchor = old.Anchor
		}
		res.VisibleAt = s.plan(rec, now)
		res.Body, _ = json.Marshal(rec)
		res.Status, res.Owner, res.LeaseUntil = string(rec.S.State), "", time.Time{}
		err = s.cfg.Store.ResourceUpdate(ctx, res)
		if errors.Is(err, store.ErrStale) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("update schedule: %w", err)
		}
		s.cfg.Engine.Poke()
		return &sc.UpdateScheduleOutput{ScheduleArn: rec.S.Arn}, nil
	}
	return nil, conflict("Schedule %s is being changed; try again.", in.Name)
}

// DeleteSchedule implements the Scheduler operation.
func (s *Service) DeleteSchedule(ctx context.Context, scope string, in *sc.DeleteScheduleInput) (*sc.DeleteScheduleOutput, error) {
	_, res, err := s.getSchedule(ctx, scope, in.GroupName, in.Name)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Store.ResourceDelete(ctx, scope, KindSchedule, res.Name, 0); err != nil && !isNotFound(err) {
		return nil, fmt.Errorf("delete schedule: %w", err)
	}
	return &sc.DeleteScheduleOutput{}, nil
}

// ListSchedules implements the Scheduler operation: by group, name prefix and state, in name
// order, MaxResults a page (default and most 100).
func (s *Service) ListSchedules(ctx context.Context, scope string, in *sc.ListSchedulesInput) (*sc.ListSchedulesOutput, error) {
	limit, after, err := paging(in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	rs, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{Account: scope, Kind: KindSchedule, AfterName: after})
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	out := &sc.ListSchedulesOutput{Schedules: []sc.ScheduleSummary{}}
	for _, r := range rs {
		rec, err := decode[scheduleRecord](r.Body, "schedule")
		if err != nil {
			return nil, err
		}
		g := rec.S
		if (in.GroupName != "" && g.GroupName != in.GroupName) || !strings.HasPrefix(g.Name, in.NamePrefix) || (in.State != "" && g.State != in.State) {
			continue
		}
		if len(out.Schedules) == limit {
			out.NextToken = encodeToken(out.Schedules[limit-1].GroupName + "/" + out.Schedules[limit-1].Name)
			break
		}
		out.Schedules = append(out.Schedules, sc.ScheduleSummary{Arn: g.Arn, CreationDate: g.CreationDate, GroupName: g.GroupName,
			LastModificationDate: g.LastModificationDate, Name: g.Name, State: g.State, Target: &sc.TargetSummary{Arn: g.Target.Arn}})
	}
	return out, nil
}

func paging(max *int32, token string) (int, string, error) {
	limit := 100
	if max != nil {
		if *max < 1 || *max > 100 {
			return 0, "", validation("MaxResults must be between 1 and 100")
		}
		limit = int(*max)
	}
	after := ""
	if token != "" {
		b, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			return 0, "", validation("Invalid NextToken")
		}
		after = string(b)
	}
	return limit, after, nil
}

func encodeToken(after string) string { return base64.RawURLEncoding.EncodeToString([]byte(after)) }
