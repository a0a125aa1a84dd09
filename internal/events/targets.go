package events

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/barge-run/barge/internal/account"
	ew "github.com/barge-run/barge/internal/awstypes/events"
	"github.com/barge-run/barge/internal/scheduler"
	"github.com/barge-run/barge/internal/store"
)

// checkTarget validates one target of PutTargets; "" when it is fine, else an error code and
// message for FailedEntries.
func checkTarget(t ew.Target) (string, string) {
	switch {
	case t.Id == "" || len(t.Id) > 64:
		return "ValidationException", "Target Id must be 1 to 64 characters"
	case t.Arn == "":
		return "ValidationException", "Target Arn is required"
	case t.Input != "" && t.InputPath != "" || t.InputTransformer != nil && (t.Input != "" || t.InputPath != ""):
		return "ValidationException", "Only one of Input, InputPath, or InputTransformer must be provided."
	case t.InputTransformer != nil:
		return "ValidationException", "barge does not support InputTransformer yet"
	case t.Input != "" && !json.Valid([]byte(t.Input)):
		return "ValidationException", "Target Input is not valid JSON"
	}
	if err := scheduler.ValidTarget(t.Arn); err != nil || strings.HasPrefix(t.Arn, "arn:aws:scheduler:") {
		return "ValidationException", fmt.Sprintf("barge delivers rule events to Lambda functions and SQS queues only: %s", t.Arn)
	}
	return "", ""
}

// PutTargets implements the EventBridge operation: adds or replaces targets by Id, at most
// five per rule.
func (s *Service) PutTargets(ctx context.Context, scope string, in *ew.PutTargetsRequest) (*ew.PutTargetsResponse, error) {
	out := &ew.PutTargetsResponse{FailedEntries: []ew.PutTargetsResultEntry{}}
	err := s.change(ctx, scope, in.Rule, in.EventBusName, false, func(r *ruleRecord) error {
		out.FailedEntries = out.FailedEntries[:0]
		for _, t := range in.Targets {
			if code, msg := checkTarget(t); code != "" {
				out.FailedEntries = append(out.FailedEntries, ew.PutTargetsResultEntry{TargetId: t.Id, ErrorCode: code, ErrorMessage: msg})
				continue
			}
			i := slices.IndexFunc(r.Targets, func(o ew.Target) bool { return o.Id == t.Id })
			switch {
			case i >= 0:
				r.Targets[i] = t
			case len(r.Targets) >= maxTargetsByRule:
				return awsLimit()
			default:
				r.Targets = append(r.Targets, t)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	n := int32(len(out.FailedEntries))
	out.FailedEntryCount = &n
	return out, nil
}

// RemoveTargets implements the EventBridge operation.
func (s *Service) RemoveTargets(ctx context.Context, scope string, in *ew.RemoveTargetsRequest) (*ew.RemoveTargetsResponse, error) {
	err := s.change(ctx, scope, in.Rule, in.EventBusName, false, func(r *ruleRecord) error {
		r.Targets = slices.DeleteFunc(r.Targets, func(t ew.Target) bool { return slices.Contains(in.Ids, t.Id) })
		return nil
	})
	if err != nil {
		return nil, err
	}
	zero := int32(0)
	return &ew.RemoveTargetsResponse{FailedEntryCount: &zero, FailedEntries: []ew.RemoveTargetsResultEntry{}}, nil
}

// ListTargetsByRule implements the EventBridge operation.
func (s *Service) ListTargetsByRule(ctx context.Context, scope string, in *ew.ListTargetsByRuleRequest) (*ew.ListTargetsByRuleResponse, error) {
	rec, _, err := s.get(ctx, scope, in.Rule, in.EventBusName)
	if err != nil {
		return nil, err
	}
	return &ew.ListTargetsByRuleResponse{Targets: append([]ew.Target{}, rec.Targets...)}, nil
}

// ListRuleNamesByTarget implements the EventBridge operation.
func (s *Service) ListRuleNamesByTarget(ctx context.Context, scope string, in *ew.ListRuleNamesByTargetRequest) (*ew.ListRuleNamesByTargetResponse, error) {
	if err := checkBus(in.EventBusName); err != nil {
		return nil, err
	}
	limit, after, err := paging(in.Limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	rs, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{Account: scope, Kind: KindRule, AfterName: after})
	if err != nil {
		return nil, fmt.Errorf("list rules: %w", err)
	}
	out := &ew.ListRuleNamesByTargetResponse{RuleNames: []string{}}
	for _, r := range rs {
		var rec ruleRecord
		if json.Unmarshal(r.Body, &rec) != nil || !slices.ContainsFunc(rec.Targets, func(t ew.Target) bool { return t.Arn == in.TargetArn }) {
			continue
		}
		if len(out.RuleNames) == limit {
			out.NextToken = token(out.RuleNames[limit-1])
			break
		}
		out.RuleNames = append(out.RuleNames, r.Name)
	}
	return out, nil
}

// ruleOfARN is the rule name an ARN of scope names.
func (s *Service) ruleOfARN(scope, arn string) (string, error) {
	name, ok := strings.CutPrefix(arn, s.ruleARN(scope, ""))
	if !ok || name == "" {
		return "", notFound(arn)
	}
	return name, nil
}

// TagResource implements the EventBridge operation for rules.
func (s *Service) TagResource(ctx context.Context, scope string, in *ew.TagResourceRequest) (*struct{}, error) {
	name, err := s.ruleOfARN(scope, in.ResourceARN)
	if err != nil {
		return nil, err
	}
	return &struct{}{}, s.change(ctx, scope, name, "", false, func(r *ruleRecord) error {
		for _, t := range in.Tags {
			r.Tags = append(removeTags(r.Tags, []string{t.Key}), t)
		}
		return nil
	})
}

// UntagResource implements the EventBridge operation for rules.
func (s *Service) UntagResource(ctx context.Context, scope string, in *ew.UntagResourceRequest) (*struct{}, error) {
	name, err := s.ruleOfARN(scope, in.ResourceARN)
	if err != nil {
		return nil, err
	}
	return &struct{}{}, s.change(ctx, scope, name, "", false, func(r *ruleRecord) error {
		r.Tags = removeTags(r.Tags, in.TagKeys)
		return nil
	})
}

// ListTagsForResource implements the EventBridge operation for rules.
func (s *Service) ListTagsForResource(ctx context.Context, scope string, in *ew.ListTagsForResourceRequest) (*ew.ListTagsForResourceResponse, error) {
	name, err := s.ruleOfARN(scope, in.ResourceARN)
	if err != nil {
		return nil, err
	}
	rec, _, err := s.get(ctx, scope, name, "")
	if err != nil {
		return nil, err
	}
	return &ew.ListTagsForResourceResponse{Tags: append([]ew.Tag{}, rec.Tags...)}, nil
}

func removeTags(tags []ew.Tag, keys []string) []ew.Tag {
	return slices.DeleteFunc(slices.Clone(tags), func(t ew.Tag) bool { return slices.Contains(keys, t.Key) })
}

// fire sends a scheduled rule's event to each of its targets and moves it to the next
// occurrence.
func (s *Service) fire(ctx context.Context, item *store.Resource, now time.Time) scheduler.Outcome {
	var rec ruleRecord
	if err := json.Unmarshal(item.Body, &rec); err != nil {
		return scheduler.Outcome{Body: item.Body, Next: scheduler.Parked}
	}
	if rec.Rule.State != ew.RuleStateDisabled && !rec.Next.IsZero() && !rec.Next.After(now) {
		s.deliver(ctx, item.Account, &rec, rec.Next, now)
	}
	next := plan(&rec, now)
	body, _ := json.Marshal(rec)
	return scheduler.Outcome{Body: body, Next: next}
}

// deliver sends the Scheduled Event of occurrence t to every target.
func (s *Service) deliver(ctx context.Context, scope string, rec *ruleRecord, t, now time.Time) {
	acct, region := account.SplitScope(scope, s.cfg.Region)
	event, _ := json.Marshal(map[string]any{"version": "0", "id": uuid.NewString(), "detail-type": "Scheduled Event",
		"source": "aws.events", "account": acct, "time": t.UTC().Format(time.RFC3339), "region": region,
		"resources": []string{rec.Rule.Arn}, "detail": map[string]any{}})
	s.deliverEvent(ctx, scope, rec, event, t, now)
}

// deliverEvent sends an event to every target of rec (the event's time t), retrying as the
// target's RetryPolicy says and then sending it to its dead-letter queue.
func (s *Service) deliverEvent(ctx context.Context, scope string, rec *ruleRecord, event []byte, t, now time.Time) {
	for _, tg := range rec.Targets {
		input, err := inputOf(tg, event)
		if err != nil {
			s.cfg.Logger.Warn("events: target input", "rule", rec.Rule.Name, "target", tg.Id, "err", err)
			continue
		}
		a := &scheduler.Attempt{Source: rec.Rule.Arn, ExecutionID: uuid.NewString(), Occurrence: t,
			MaxRetries: scheduler.DefaultMaxRetries, MaxAge: scheduler.DefaultMaxAge, Send: scheduler.Send{Arn: tg.Arn, Input: input}}
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
		if p := tg.SqsParameters; p != nil && p.MessageGroupId != "" {
			a.Send.GroupID, a.Send.DedupID = p.MessageGroupId, a.ExecutionID
		}
		a.Deliver(ctx, s.cfg.Store, s.cfg.Delivery, scope, now, s.cfg.Logger)
	}
}
