package lambda

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/barge-run/barge/internal/awstypes"
	lw "github.com/barge-run/barge/internal/awstypes/lambda"
	"github.com/barge-run/barge/internal/store"
)

// KindEventConfig holds a function's asynchronous invocation settings (name: the function).
const KindEventConfig store.Kind = "function-event-config"

// KindDelivery records a destination delivery barge cannot make itself (an SQS queue, SNS topic
// or event bus ARN): the invocation record AWS would have sent.
const KindDelivery store.Kind = "lambda-destination-record"

// PutFunctionEventInvokeConfig implements the Lambda operation: retries (0–2), maximum event age
// (60–21,600 s) and destinations for asynchronous invocations of the function.
func (s *Service) PutFunctionEventInvokeConfig(ctx context.Context, account string, in *lw.PutFunctionEventInvokeConfigRequest) (*lw.FunctionEventInvokeConfig, error) {
	rec, err := s.latest(ctx, account, in.FunctionName)
	if err != nil {
		return nil, err
	}
	if n := in.MaximumRetryAttempts; n != nil && (*n < 0 || *n > 2) {
		return nil, invalid("MaximumRetryAttempts must be between 0 and 2, got %d", *n)
	}
	if n := in.MaximumEventAgeInSeconds; n != nil && (*n < 60 || *n > 21600) {
		return nil, invalid("MaximumEventAgeInSeconds must be between 60 and 21600, got %d", *n)
	}
	if d := in.DestinationConfig; d != nil {
		for _, dest := range []string{destOf(d.OnSuccess), destOfFailure(d.OnFailure)} {
			if dest != "" && !strings.HasPrefix(dest, "arn:") {
				return nil, invalid("DestinationConfig: %q is not an ARN", dest)
			}
		}
	}
	cfg := lw.FunctionEventInvokeConfig{LastModified: awstypes.NewTimestamp(time.Now()), FunctionArn: rec.Config.FunctionArn,
		MaximumRetryAttempts: in.MaximumRetryAttempts, MaximumEventAgeInSeconds: in.MaximumEventAgeInSeconds, DestinationConfig: in.DestinationConfig}
	body, _ := json.Marshal(cfg)
	r := &store.Resource{Account: account, Kind: KindEventConfig, Name: rec.Config.FunctionName, Status: "Active", Body: body, CreatedAt: time.Now()}
	if err := s.cfg.Store.ResourceUpdate(ctx, r); err != nil {
		if err := s.cfg.Store.ResourceCreate(ctx, r); err != nil {
			return nil, invalid("storing the configuration failed: %v", err)
		}
	}
	return &cfg, nil
}

// UpdateFunctionEventInvokeConfig implements the Lambda operation: Put, but the members not given
// keep their values.
func (s *Service) UpdateFunctionEventInvokeConfig(ctx context.Context, account string, in *lw.UpdateFunctionEventInvokeConfigRequest) (*lw.FunctionEventInvokeConfig, error) {
	rec, err := s.latest(ctx, account, in.FunctionName)
	if err != nil {
		return nil, err
	}
	put := &lw.PutFunctionEventInvokeConfigRequest{FunctionName: in.FunctionName, Qualifier: in.Qualifier,
		MaximumRetryAttempts: in.MaximumRetryAttempts, MaximumEventAgeInSeconds: in.MaximumEventAgeInSeconds, DestinationConfig: in.DestinationConfig}
	if old := s.eventConfig(ctx, account, rec.Config.FunctionName); old != nil {
		if put.MaximumRetryAttempts == nil {
			put.MaximumRetryAttempts = old.MaximumRetryAttempts
		}
		if put.MaximumEventAgeInSeconds == nil {
			put.MaximumEventAgeInSeconds = old.MaximumEventAgeInSeconds
		}
		if put.DestinationConfig == nil {
			put.DestinationConfig = old.DestinationConfig
		}
	}
	return s.PutFunctionEventInvokeConfig(ctx, account, put)
}

// ListFunctionEventInvokeConfigs implements the Lambda operation: barge keeps one configuration
// per function (its unqualified one).
func (s *Service) ListFunctionEventInvokeConfigs(ctx context.Context, account string, in *lw.ListFunctionEventInvokeConfigsRequest) (*lw.ListFunctionEventInvokeConfigsResponse, error) {
	rec, err := s.latest(ctx, account, in.FunctionName)
	if err != nil {
		return nil, err
	}
	out := &lw.ListFunctionEventInvokeConfigsResponse{FunctionEventInvokeConfigs: []lw.FunctionEventInvokeConfig{}}
	if cfg := s.eventConfig(ctx, account, rec.Config.FunctionName); cfg != nil {
		out.FunctionEventInvokeConfigs = append(out.FunctionEventInvokeConfigs, *cfg)
	}
	return out, nil
}

// GetFunctionEventInvokeConfig implements the Lambda operation.
func (s *Service) GetFunctionEventInvokeConfig(ctx context.Context, account string, in *lw.GetFunctionEventInvokeConfigRequest) (*lw.FunctionEventInvokeConfig, error) {
	rec, err := s.latest(ctx, account, in.FunctionName)
	if err != nil {
		return nil, err
	}
	cfg := s.eventConfig(ctx, account, rec.Config.FunctionName)
	if cfg == nil {
		return nil, userErr(404, "ResourceNotFoundException", "The function %s doesn't have an EventInvokeConfig", rec.Config.FunctionArn)
	}
	return cfg, nil
}

// DeleteFunctionEventInvokeConfig implements the Lambda operation.
func (s *Service) DeleteFunctionEventInvokeConfig(ctx context.Context, account string, in *lw.DeleteFunctionEventInvokeConfigRequest) (*Empty, error) {
	rec, err := s.latest(ctx, account, in.FunctionName)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Store.ResourceDelete(ctx, account, KindEventConfig, rec.Config.FunctionName, 0); err != nil {
		return nil, userErr(404, "ResourceNotFoundException", "The function %s doesn't have an EventInvokeConfig", rec.Config.FunctionArn)
	}
	return &Empty{}, nil
}

func (s *Service) eventConfig(ctx context.Context, account, name string) *lw.FunctionEventInvokeConfig {
	r, err := s.cfg.Store.ResourceGet(ctx, account, KindEventConfig, name, 0)
	if err != nil {
		return nil
	}
	var cfg lw.FunctionEventInvokeConfig
	if json.Unmarshal(r.Body, &cfg) != nil {
		return nil
	}
	return &cfg
}

func destOf(o *lw.OnSuccess) string {
	if o == nil {
		return ""
	}
	return o.Destination
}

func destOfFailure(o *lw.OnFailure) string {
	if o == nil {
		return ""
	}
	return o.Destination
}

// deliver sends the invocation record of a finished asynchronous event to its destination: a
// Lambda function of this account and region gets it as an asynchronous event, as in AWS; any
// other destination is recorded in the store (barge has no SQS, SNS or EventBridge).
func (s *Service) deliver(ctx context.Context, ev asyncEvent, id, condition, dest string, status int, version, functionError string, response []byte) {
	if dest == "" {
		return
	}
	record := map[string]any{
		"version":   "1.0",
		"timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"requestContext": map[string]any{
			"requestId": id, "functionArn": s.arn(ev.Account, ev.Function), "condition": condition,
			"approximateInvokeCount": ev.Attempts,
		},
		"requestPayload":  json.RawMessage(ev.Payload),
		"responseContext": map[string]any{"statusCode": status, "executedVersion": version, "functionError": functionError},
	}
	if json.Valid(response) {
		record["responsePayload"] = json.RawMessage(response)
	}
	body, _ := json.Marshal(record)
	prefix := s.arn(ev.Account, "")
	if target, ok := strings.CutPrefix(dest, prefix); ok {
		if _, err := s.enqueue(ctx, ev.Account, target, body); err == nil {
			return
		}
	}
	s.cfg.Store.ResourceCreate(ctx, &store.Resource{Account: ev.Account, Kind: KindDelivery, Name: id + ":" + condition, ARN: dest,
		Status: condition, Body: body, CreatedAt: time.Now()})
}

// KindDeadLetter is the store kind of events sent to a function's dead-letter queue: barge has
// no SQS or SNS, so each is kept here as the message AWS would send (the event, with the
// RequestID, ErrorCode and ErrorMessage attributes), under the target ARN.
const KindDeadLetter store.Kind = "lambda-dead-letter"

// checkDeadLetter validates DeadLetterConfig: an SQS queue or SNS topic ARN, as in AWS; an empty
// TargetArn removes it.
func checkDeadLetter(d *lw.DeadLetterConfig) error {
	if d == nil || d.TargetArn == "" {
		return nil
	}
	if !strings.HasPrefix(d.TargetArn, "arn:aws:sqs:") && !strings.HasPrefix(d.TargetArn, "arn:aws:sns:") {
		return invalid("DeadLetterConfig.TargetArn: %q is not an SQS queue or SNS topic ARN", d.TargetArn)
	}
	return nil
}

// deadLetter keeps a failed event for the function's dead-letter queue, if it has one.
func (s *Service) deadLetter(ctx context.Context, ev asyncEvent, id, errorCode, errorMessage string) {
	rec, err := s.get(ctx, ev.Account, ev.Function, "")
	if err != nil || rec.Config.DeadLetterConfig == nil || rec.Config.DeadLetterConfig.TargetArn == "" {
		return
	}
	if len(errorMessage) > 1024 {
		errorMessage = errorMessage[:1024]
	}
	msg, _ := json.Marshal(map[string]any{
		"body":              json.RawMessage(ev.Payload),
		"messageAttributes": map[string]string{"RequestID": id, "ErrorCode": errorCode, "ErrorMessage": errorMessage},
	})
	s.cfg.Store.ResourceCreate(ctx, &store.Resource{Account: ev.Account, Kind: KindDeadLetter, Name: id,
		ARN: rec.Config.DeadLetterConfig.TargetArn, Status: errorCode, Body: msg, CreatedAt: time.Now()})
}
