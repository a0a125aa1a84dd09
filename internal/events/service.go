package events

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/barge-run/barge/internal/account"
	"github.com/barge-run/barge/internal/awserr"
	ew "github.com/barge-run/barge/internal/awstypes/events"
	"github.com/barge-run/barge/internal/eventfilter"
	"github.com/barge-run/barge/internal/schedule"
	"github.com/barge-run/barge/internal/scheduler"
	"github.com/barge-run/barge/internal/store"
)

// KindRule is a rule of the default event bus (name: the rule's name).
const KindRule store.Kind = "events-rule"

const (
	defaultBus       = "default"
	maxTargetsByRule = 5
)

// Config wires the service.
type Config struct {
	Store    store.Store
	Engine   *scheduler.Engine
	Delivery *scheduler.Delivery
	// Region is the server's default region (account.Scope).
	Region string
	Logger *slog.Logger
	// Bus is where barge's services publish their events; the service matches them (and
	// PutEvents' entries) to rules with an event pattern once started. nil: a bus of its own.
	Bus *Bus
}

// Service serves the EventBridge rule operations, fires scheduled rules and sends events to
// the rules whose pattern they match.
type Service struct {
	cfg      Config
	queue    chan queuedEvent // events waiting for the matcher (nil until Start)
	rules    matcher
	patterns atomic.Bool // some account has an enabled rule with an event pattern
	stop     context.CancelFunc
}

// New makes the service and registers rules with the engine.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Bus == nil {
		cfg.Bus = NewBus()
	}
	s := &Service{cfg: cfg}
	cfg.Engine.Register(KindRule, scheduler.FirerFunc(s.fire))
	return s
}

// Start begins matching events to rules: the bus's and PutEvents'.
func (s *Service) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.startMatcher(ctx)
	s.cfg.Bus.svc.Store(s)
}

// Stop ends the matching; events published after it are dropped.
func (s *Service) Stop() {
	s.cfg.Bus.svc.CompareAndSwap(s, nil)
	if s.stop != nil {
		s.stop()
	}
}

// ruleRecord is a rule as stored.
type ruleRecord struct {
	Rule    ew.DescribeRuleResponse `json:"rule"`
	Tags    []ew.Tag                `json:"tags,omitempty"`
	Targets []ew.Target             `json:"targets,omitempty"`
	// Anchor starts a rate rule's grid (its creation or last schedule change).
	Anchor time.Time `json:"anchor"`
	// Next is the occurrence the item's VisibleAt stands for (zero: none).
	Next time.Time `json:"next,omitzero"`
}

var nameRE = regexp.MustCompile(`^[\.\-_A-Za-z0-9]{1,64}$`)

func validation(format string, args ...any) *awserr.Error {
	return awserr.New(http.StatusBadRequest, "ValidationException", format, args...)
}

func notFound(name string) *awserr.Error {
	return awserr.New(http.StatusBadRequest, "ResourceNotFoundException", "Rule %s does not exist on EventBus default.", name)
}

func checkBus(bus string) error {
	if bus == "" || bus == defaultBus || strings.HasSuffix(bus, ":event-bus/default") {
		return nil
	}
	return awserr.New(http.StatusBadRequest, "ResourceNotFoundException", "Event bus %s does not exist.", bus)
}

func (s *Service) ruleARN(scope, name string) string {
	acct, region := account.SplitScope(scope, s.cfg.Region)
	return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", region, acct, name)
}

func (s *Service) get(ctx context.Context, scope, name, bus string) (*ruleRecord, *store.Resource, error) {
	if err := checkBus(bus); err != nil {
		return nil, nil, err
	}
	r, err := s.cfg.Store.ResourceGet(ctx, scope, KindRule, name, 0)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, notFound(name)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read rule %s: %w", name, err)
	}
	var rec ruleRecord
	if err := json.Unmarshal(r.Body, &rec); err != nil {
		return nil, nil, fmt.Errorf("decode rule %s: %w", name, err)
	}
	return &rec, r, nil
}

// plan sets the rule's next occurrence after now and returns its visibility.
func plan(rec *ruleRecord, now time.Time) time.Time {
	rec.Next = time.Time{}
	if rec.Rule.ScheduleExpression == "" || rec.Rule.State == ew.RuleStateDisabled {
		return scheduler.Parked
	}
	e, err := schedule.Parse(rec.Rule.ScheduleExpression, "", schedule.ForRule())
	if err != nil {
		return scheduler.Parked
	}
	t, ok := e.WithAnchor(rec.Anchor).Next(now)
	if !ok {
		return scheduler.Parked
	}
	rec.Next = t
	return t
}

// write stores rec over r (versioned), re-planning it when replan.
func (s *Service) write(ctx context.Context, r *store.Resource, rec *ruleRecord, replan bool) error {
	if replan {
		r.VisibleAt = plan(rec, s.cfg.Engine.Now())
		r.Owner, r.LeaseUntil = "", time.Time{}
	}
	r.Body, _ = json.Marshal(rec)
	r.Status = string(rec.Rule.State)
	if err := s.cfg.Store.ResourceUpdate(ctx, r); err != nil {
		return fmt.Errorf("write rule %s: %w", r.Name, err)
	}
	s.cfg.Engine.Poke()
	s.rulesChanged()
	return nil
}

// change applies f to a rule and writes it, reading again if another writer came first.
func (s *Service) change(ctx context.Context, scope, name, bus string, replan bool, f func(*ruleRecord) error) error {
	for range 10 {
		rec, r, err := s.get(ctx, scope, name, bus)
		if err != nil {
			return err
		}
		if err := f(rec); err != nil {
			return err
		}
		err = s.write(ctx, r, rec, replan)
		if !errors.Is(err, store.ErrStale) {
			return err
		}
	}
	return awserr.New(http.StatusConflict, "ConcurrentModificationException", "Rule %s is being changed; try again.", name)
}

// PutRule implements the EventBridge operation: creates or replaces a rule.
func (s *Service) PutRule(ctx context.Context, scope string, in *ew.PutRuleRequest) (*ew.PutRuleResponse, error) {
	if err := checkBus(in.EventBusName); err != nil {
		return nil, err
	}
	if !nameRE.MatchString(in.Name) {
		return nil, validation("1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+", in.Name)
	}
	if in.ScheduleExpression == "" && in.EventPattern == "" {
		return nil, validation("Parameter(s) ScheduleExpression or EventPattern must be specified.")
	}
	if in.ScheduleExpression != "" {
		if _, err := schedule.Parse(in.ScheduleExpression, "", schedule.ForRule()); err != nil {
			return nil, validation("Parameter ScheduleExpression is not valid.")
		}
	}
	if in.EventPattern != "" {
		if _, err := eventfilter.Compile(in.EventPattern); err != nil {
			return nil, awserr.New(http.StatusBadRequest, "InvalidEventPatternException", "Event pattern is not valid. Reason: %v", err)
		}
	}
	state := in.State
	switch state {
	case "":
		state = ew.RuleStateEnabled
	case ew.RuleStateEnabled, ew.RuleStateDisabled, ew.RuleStateEnabledWithAllCloudtrailManagementEvents:
	default:
		return nil, validation("1 validation error detected: Value '%s' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [DISABLED, ENABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]", state)
	}
	desc := ew.DescribeRuleResponse{Name: in.Name, Arn: s.ruleARN(scope, in.Name), EventPattern: in.EventPattern,
		ScheduleExpression: in.ScheduleExpression, State: state, Description: in.Description, RoleArn: in.RoleArn, EventBusName: defaultBus}
	desc.CreatedBy, _ = account.SplitScope(scope, s.cfg.Region)
	now := s.cfg.Engine.Now()
	rec := &ruleRecord{Rule: desc, Tags: in.Tags, Anchor: now}
	visible := plan(rec, now)
	body, _ := json.Marshal(rec)
	err := s.cfg.Store.ResourceCreate(ctx, &store.Resource{Account: scope, Kind: KindRule, Name: in.Name, ARN: desc.Arn,
		Status: string(state), Body: body, CreatedAt: now, VisibleAt: visible})
	if errors.Is(err, store.ErrConflict) {
		err = s.change(ctx, scope, in.Name, "", true, func(old *ruleRecord) error {
			if old.Rule.ScheduleExpression == desc.ScheduleExpression {
				rec.Anchor = old.Anchor
			}
			tags := old.Tags
			for _, t := range in.Tags {
				tags = append(removeTags(tags, []string{t.Key}), t)
			}
			*old = ruleRecord{Rule: desc, Tags: tags, Targets: old.Targets, Anchor: rec.Anchor}
			return nil
		})
	}
	if err != nil {
		return nil, err
	}
	s.cfg.Engine.Poke()
	s.rulesChanged()
	return &ew.PutRuleResponse{RuleArn: desc.Arn}, nil
}

// DescribeRule implements the EventBridge operation.
func (s *Service) DescribeRule(ctx context.Context, scope string, in *ew.DescribeRuleRequest) (*ew.DescribeRuleResponse, error) {
	rec, _, err := s.get(ctx, scope, in.Name, in.EventBusName)
	if err != nil {
		return nil, err
	}
	return &rec.Rule, nil
}

// DeleteRule implements the EventBridge operation: refused while the rule has targets; a rule
// that does not exist is deleted already.
func (s *Service) DeleteRule(ctx context.Context, scope string, in *ew.DeleteRuleRequest) (*struct{}, error) {
	rec, r, err := s.get(ctx, scope, in.Name, in.EventBusName)
	var ae *awserr.Error
	if errors.As(err, &ae) && ae.Code == "ResourceNotFoundException" && checkBus(in.EventBusName) == nil {
		return &struct{}{}, nil
	}
	if err != nil {
		return nil, err
	}
	if len(rec.Targets) > 0 {
		return nil, validation("Rule can't be deleted since it has targets.")
	}
	if err := s.cfg.Store.ResourceDelete(ctx, scope, KindRule, r.Name, 0); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("delete rule %s: %w", in.Name, err)
	}
	s.rulesChanged()
	return &struct{}{}, nil
}

// EnableRule implements the EventBridge operation.
func (s *Service) EnableRule(ctx context.Context, scope string, in *ew.EnableRuleRequest) (*struct{}, error) {
	return &struct{}{}, s.change(ctx, scope, in.Name, in.EventBusName, true, func(r *ruleRecord) error {
		if r.Rule.State == ew.RuleStateDisabled {
			r.Rule.State = ew.RuleStateEnabled
		}
		return nil
	})
}

// DisableRule implements the EventBridge operation.
func (s *Service) DisableRule(ctx context.Context, scope string, in *ew.DisableRuleRequest) (*struct{}, error) {
	return &struct{}{}, s.change(ctx, scope, in.Name, in.EventBusName, true, func(r *ruleRecord) error {
		r.Rule.State = ew.RuleStateDisabled
		return nil
	})
}

// ListRules implements the EventBridge operation: by name prefix, in name order.
func (s *Service) ListRules(ctx context.Context, scope string, in *ew.ListRulesRequest) (*ew.ListRulesResponse, error) {
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
	out := &ew.ListRulesResponse{Rules: []ew.Rule{}}
	for _, r := range rs {
		if !strings.HasPrefix(r.Name, in.NamePrefix) {
			continue
		}
		var rec ruleRecord
		if json.Unmarshal(r.Body, &rec) != nil {
			continue
		}
		if len(out.Rules) == limit {
			out.NextToken = token(out.Rules[limit-1].Name)
			break
		}
		d := rec.Rule
		out.Rules = append(out.Rules, ew.Rule{Name: d.Name, Arn: d.Arn, EventPattern: d.EventPattern, State: d.State, Description: d.Description,
			ScheduleExpression: d.ScheduleExpression, RoleArn: d.RoleArn, EventBusName: d.EventBusName})
	}
	return out, nil
}

func token(after string) string { return base64.RawURLEncoding.EncodeToString([]byte(after)) }

func paging(max *int32, next string) (int, string, error) {
	limit := 100
	if max != nil {
		if *max < 1 || *max > 100 {
			return 0, "", validation("Limit must be between 1 and 100")
		}
		limit = int(*max)
	}
	after := ""
	if next != "" {
		b, err := base64.RawURLEncoding.DecodeString(next)
		if err != nil {
			return 0, "", validation("Invalid NextToken")
		}
		after = string(b)
	}
	return limit, after, nil
}
