package esm

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/barge-run/barge/internal/account"
	"github.com/barge-run/barge/internal/awstypes"
	lw "github.com/barge-run/barge/internal/awstypes/lambda"
	sw "github.com/barge-run/barge/internal/awstypes/sqs"
	"github.com/barge-run/barge/internal/eventfilter"
	"github.com/barge-run/barge/internal/store"
)

// Limits of SQS mappings, from the Lambda API reference.
const (
	defaultBatchSize = 10
	maxBatchSize     = 10000
	maxFifoBatchSize = 10
	maxWindow        = 300
	minConcurrency   = 2
	maxConcurrency   = 1000
	// DefaultConcurrency is how many pollers a mapping without ScalingConfig runs at most.
	DefaultConcurrency = 10
)

// settings are the tunables Create and Update share.
type settings struct {
	BatchSize     *int32
	Window        *int32
	Filter        *lw.FilterCriteria
	ResponseTypes []lw.FunctionResponseType
	Scaling       *lw.ScalingConfig
}

// check validates settings against an SQS source (fifo: a FIFO queue), with Lambda's
// messages, and fills the defaults into c.
func (st settings) apply(c *lw.EventSourceMappingConfiguration, fifo bool) error {
	if st.BatchSize != nil {
		c.BatchSize = st.BatchSize
	}
	if st.Window != nil {
		c.MaximumBatchingWindowInSeconds = st.Window
	}
	if c.BatchSize == nil {
		c.BatchSize = ptr(int32(defaultBatchSize))
	}
	if c.MaximumBatchingWindowInSeconds == nil {
		c.MaximumBatchingWindowInSeconds = ptr(int32(0))
	}
	b, w := *c.BatchSize, *c.MaximumBatchingWindowInSeconds
	switch {
	case b < 1 || b > maxBatchSize:
		return invalid("1 validation error detected: Value '%d' at 'batchSize' failed to satisfy constraint: Member must have value less than or equal to %d", b, maxBatchSize)
	case fifo && b > maxFifoBatchSize:
		return invalid("BatchSize must be less than or equal to %d for FIFO queues.", maxFifoBatchSize)
	case w < 0 || w > maxWindow:
		return invalid("1 validation error detected: Value '%d' at 'maximumBatchingWindowInSeconds' failed to satisfy constraint: Member must have value less than or equal to %d", w, maxWindow)
	case fifo && w > 0:
		return invalid("Batching window is not supported for FIFO queues")
	case b > 10 && w == 0:
		return invalid("Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10")
	}
	if st.ResponseTypes != nil {
		for _, t := range st.ResponseTypes {
			if t != lw.FunctionResponseTypeReportBatchItemFailures {
				return invalid("1 validation error detected: Value '[%s]' at 'functionResponseTypes' failed to satisfy constraint: Member must satisfy enum value set: [ReportBatchItemFailures]", t)
			}
		}
		c.FunctionResponseTypes = st.ResponseTypes
	}
	if st.Scaling != nil {
		if m := st.Scaling.MaximumConcurrency; m != nil && (*m < minConcurrency || *m > maxConcurrency) {
			return invalid("1 validation error detected: Value '%d' at 'scalingConfig.maximumConcurrency' failed to satisfy constraint: Member must have value between %d and %d", *m, minConcurrency, maxConcurrency)
		}
		c.ScalingConfig = st.Scaling
		if st.Scaling.MaximumConcurrency == nil {
			c.ScalingConfig = nil
		}
	}
	if st.Filter != nil {
		if err := checkFilter(st.Filter); err != nil {
			return err
		}
		c.FilterCriteria = st.Filter
		if len(st.Filter.Filters) == 0 {
			c.FilterCriteria = nil
		}
	}
	return nil
}

func checkFilter(f *lw.FilterCriteria) error {
	if len(f.Filters) > eventfilter.DefaultMaxFilters {
		return invalid("The number of filters exceeds the limit of %d", eventfilter.DefaultMaxFilters)
	}
	patterns := make([]string, len(f.Filters))
	for i, p := range f.Filters {
		patterns[i] = p.Pattern
	}
	if _, err := eventfilter.CompileCriteria(patterns); err != nil {
		return invalid("Invalid filter pattern definition. (%v)", err)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// CreateEventSourceMapping implements the Lambda operation for SQS sources.
func (s *Service) CreateEventSourceMapping(ctx context.Context, scope string, in *lw.CreateEventSourceMappingRequest) (*lw.EventSourceMappingConfiguration, error) {
	if in.EventSourceArn == "" {
		return nil, invalid("EventSourceArn is required for SQS event source mappings")
	}
	if in.FunctionName == "" {
		return nil, invalid("FunctionName is required")
	}
	if in.StartingPosition != "" {
		return nil, invalid("StartingPosition is not valid for SQS event sources.")
	}
	url, _, err := s.queueOf(scope, in.EventSourceArn)
	if err != nil {
		return nil, err
	}
	attrs, err := s.queueAttributes(ctx, scope, url)
	if err != nil {
		return nil, err
	}
	fifo := attrs["FifoQueue"] == "true"
	fc, err := s.cfg.Functions.GetFunctionConfiguration(ctx, scope, &lw.GetFunctionConfigurationRequest{FunctionName: in.FunctionName})
	if err != nil {
		return nil, err
	}
	vis, _ := strconv.Atoi(attrs["VisibilityTimeout"])
	if fc.Timeout != nil && int(*fc.Timeout) > vis {
		return nil, invalid("Queue visibility timeout: %d seconds is less than Function timeout: %d seconds", vis, *fc.Timeout)
	}
	fnARN := qualifiedARN(fc.FunctionArn, in.FunctionName)
	id := uuid.NewString()
	acct, region := account.SplitScope(scope, s.cfg.Region)
	rec := &record{Function: fnARN, Tags: in.Tags, Fifo: fifo, Want: in.Enabled == nil || *in.Enabled}
	rec.Config = lw.EventSourceMappingConfiguration{UUID: id, EventSourceArn: in.EventSourceArn, FunctionArn: fnARN,
		LastModified: awstypes.NewTimestamp(time.Now()), State: StateCreating, StateTransitionReason: reasonUser,
		EventSourceMappingArn: fmt.Sprintf("arn:aws:lambda:%s:%s:event-source-mapping:%s", region, acct, id)}
	st := settings{in.BatchSize, in.MaximumBatchingWindowInSeconds, in.FilterCriteria, in.FunctionResponseTypes, in.ScalingConfig}
	if err := st.apply(&rec.Config, fifo); err != nil {
		return nil, err
	}
	if err := s.checkDuplicate(ctx, scope, in.EventSourceArn, fnARN); err != nil {
		return nil, err
	}
	body, err := marshal(rec)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Store.ResourceCreate(ctx, &store.Resource{Account: scope, Kind: KindMapping, Name: id, ARN: rec.Config.EventSourceMappingArn,
		Status: rec.Config.State, Body: body, CreatedAt: time.Now()}); err != nil {
		return nil, fmt.Errorf("create event source mapping: %w", err)
	}
	s.poke()
	return rec.view(), nil
}

const reasonUser = "USER_INITIATED"

// qualifiedARN is the function's ARN with the qualifier the caller named, if any.
func qualifiedARN(arn, given string) string {
	name := given
	if strings.HasPrefix(given, "arn:") {
		parts := strings.Split(given, ":")
		if len(parts) > 7 {
			return arn + ":" + parts[7]
		}
		return arn
	}
	if _, q, ok := strings.Cut(name, ":"); ok && !strings.Contains(q, ":") {
		return arn + ":" + q
	}
	return arn
}

func (s *Service) queueAttributes(ctx context.Context, scope, url string) (map[string]string, error) {
	out, err := s.cfg.Queues.GetQueueAttributes(ctx, scope, &sw.GetQueueAttributesRequest{QueueUrl: url, AttributeNames: []sw.QueueAttributeName{"All"}})
	if err != nil {
		return nil, invalid("Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not exist or you do not have access to it.")
	}
	return out.Attributes, nil
}

// checkDuplicate refuses a second mapping of one queue to one function, as Lambda does.
func (s *Service) checkDuplicate(ctx context.Context, scope, source, fnARN string) error {
	all, err := s.list(ctx, scope)
	if err != nil {
		return err
	}
	for _, r := range all {
		if r.Config.EventSourceArn == source && r.Config.FunctionArn == fnARN {
			return userErr(http.StatusConflict, "ResourceConflictException",
				"An event source mapping with SQS arn (\" %s \") and function (\" %s \") already exists. Please update or delete the existing mapping with UUID %s",
				source, fnARN, r.Config.UUID)
		}
	}
	return nil
}

// list reads every mapping of scope, by UUID.
func (s *Service) list(ctx context.Context, scope string) ([]*record, error) {
	rs, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{Account: scope, Kind: KindMapping})
	if err != nil {
		return nil, fmt.Errorf("list event source mappings: %w", err)
	}
	out := make([]*record, 0, len(rs))
	for _, r := range rs {
		rec, err := unmarshal(r.Body)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// GetEventSourceMapping implements the Lambda operation.
func (s *Service) GetEventSourceMapping(ctx context.Context, scope string, in *lw.GetEventSourceMappingRequest) (*lw.EventSourceMappingConfiguration, error) {
	rec, _, err := s.get(ctx, scope, in.UUID)
	if err != nil {
		return nil, err
	}
	return rec.view(), nil
}

// UpdateEventSourceMapping implements the Lambda operation: the mapping reports Updating (or
// Enabling, Disabling) until the pollers took the change.
func (s *Service) UpdateEventSourceMapping(ctx context.Context, scope string, in *lw.UpdateEventSourceMappingRequest) (*lw.EventSourceMappingConfiguration, error) {
	return s.change(ctx, scope, in.UUID, "update", func(rec *record) (bool, error) {
		if st := rec.Config.State; st != StateEnabled && st != StateDisabled {
			return false, userErr(http.StatusConflict, "ResourceInUseException",
				"Cannot update the event source mapping because it is in use. (state %s)", st)
		}
		if in.FunctionName != "" {
			fc, err := s.cfg.Functions.GetFunctionConfiguration(ctx, scope, &lw.GetFunctionConfigurationRequest{FunctionName: in.FunctionName})
			if err != nil {
				return false, err
			}
			rec.Function = qualifiedARN(fc.FunctionArn, in.FunctionName)
			rec.Config.FunctionArn = rec.Function
		}
		st := settings{in.BatchSize, in.MaximumBatchingWindowInSeconds, in.FilterCriteria, in.FunctionResponseTypes, in.ScalingConfig}
		if err := st.apply(&rec.Config, rec.Fifo); err != nil {
			return false, err
		}
		rec.Config.State = StateUpdating
		if in.Enabled != nil && *in.Enabled != rec.Want {
			rec.Want = *in.Enabled
			rec.Config.State = map[bool]string{true: StateEnabling, false: StateDisabling}[rec.Want]
		}
		rec.Config.LastModified = awstypes.NewTimestamp(time.Now())
		rec.Config.StateTransitionReason = reasonUser
		return true, nil
	})
}

// DeleteEventSourceMapping implements the Lambda operation: the mapping reports Deleting until
// its pollers stopped, then is gone.
func (s *Service) DeleteEventSourceMapping(ctx context.Context, scope string, in *lw.DeleteEventSourceMappingRequest) (*lw.EventSourceMappingConfiguration, error) {
	return s.change(ctx, scope, in.UUID, "delete", func(rec *record) (bool, error) {
		if rec.Config.State == StateDeleting {
			return false, nil
		}
		rec.Config.State = StateDeleting
		rec.Config.LastModified = awstypes.NewTimestamp(time.Now())
		return true, nil
	})
}

// change reads a mapping, lets edit change it (false: nothing to write) and writes it back if no
// one wrote it meanwhile, reading it again otherwise; the pollers are told of a change.
func (s *Service) change(ctx context.Context, scope, uuid, what string, edit func(*record) (bool, error)) (*lw.EventSourceMappingConfiguration, error) {
	for range 10 {
		rec, res, err := s.get(ctx, scope, uuid)
		if err != nil {
			return nil, err
		}
		write, err := edit(rec)
		if err != nil {
			return nil, err
		}
		if !write {
			return rec.view(), nil
		}
		err = s.put(ctx, res, rec)
		if errors.Is(err, store.ErrStale) {
			continue
		}
		if err != nil {
			return nil, err
		}
		s.poke()
		return rec.view(), nil
	}
	return nil, fmt.Errorf("%s event source mapping %s: %w", what, uuid, store.ErrStale)
}

// ListEventSourceMappings implements the Lambda operation: by function and/or source, in UUID
// order, MaxItems a page (default and most 100), Marker the last UUID of the previous page.
func (s *Service) ListEventSourceMappings(ctx context.Context, scope string, in *lw.ListEventSourceMappingsRequest) (*lw.ListEventSourceMappingsResponse, error) {
	limit := 100
	if in.MaxItems != nil {
		if *in.MaxItems < 1 || *in.MaxItems > 10000 {
			return nil, invalid("1 validation error detected: Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 10000", *in.MaxItems)
		}
		limit = min(int(*in.MaxItems), 100)
	}
	after := ""
	if in.Marker != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.Marker)
		if err != nil {
			return nil, invalid("Invalid Marker: %s", in.Marker)
		}
		after = string(b)
	}
	fnARN := ""
	if in.FunctionName != "" {
		fc, err := s.cfg.Functions.GetFunctionConfiguration(ctx, scope, &lw.GetFunctionConfigurationRequest{FunctionName: in.FunctionName})
		if err != nil {
			return nil, err
		}
		fnARN = qualifiedARN(fc.FunctionArn, in.FunctionName)
	}
	all, err := s.list(ctx, scope)
	if err != nil {
		return nil, err
	}
	out := &lw.ListEventSourceMappingsResponse{EventSourceMappings: []lw.EventSourceMappingConfiguration{}}
	for _, r := range all {
		switch {
		case r.Config.UUID <= after:
		case in.EventSourceArn != "" && r.Config.EventSourceArn != in.EventSourceArn:
		case fnARN != "" && r.Config.FunctionArn != fnARN:
		default:
			if len(out.EventSourceMappings) == limit {
				out.NextMarker = base64.RawURLEncoding.EncodeToString([]byte(out.EventSourceMappings[limit-1].UUID))
				return out, nil
			}
			out.EventSourceMappings = append(out.EventSourceMappings, *r.view())
		}
	}
	return out, nil
}

// mappingsOf lists every mapping of every scope, with its resource.
func (s *Service) mappingsOf(ctx context.Context) ([]*store.Resource, error) {
	rs, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{AllAccounts: true, Kind: KindMapping})
	if err != nil {
		return nil, fmt.Errorf("list event source mappings: %w", err)
	}
	slices.SortFunc(rs, func(a, b *store.Resource) int { return strings.Compare(a.Name, b.Name) })
	return rs, nil
}
