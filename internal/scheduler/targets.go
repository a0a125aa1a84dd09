package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/barge-run/barge/internal/account"
	"github.com/barge-run/barge/internal/awserr"
	bw "github.com/barge-run/barge/internal/awstypes/batch"
	lw "github.com/barge-run/barge/internal/awstypes/lambda"
	fw "github.com/barge-run/barge/internal/awstypes/sfn"
	sw "github.com/barge-run/barge/internal/awstypes/sqs"
)

// Functions is what targets need of Lambda (lambda.Service).
type Functions interface {
	Invoke(ctx context.Context, account string, in *lw.InvocationRequest) (*lw.InvocationResponse, error)
}

// Queues is what targets need of SQS (sqs.Service).
type Queues interface {
	SendMessage(ctx context.Context, scope string, in *sw.SendMessageRequest) (*sw.SendMessageResult, error)
}

// Jobs is what targets need of Batch (batch.Service).
type Jobs interface {
	SubmitJob(ctx context.Context, account string, in *bw.SubmitJobRequest) (*bw.SubmitJobResponse, error)
}

// Workflows is what targets need of Step Functions (sfn.Service).
type Workflows interface {
	StartExecution(ctx context.Context, scope string, in *fw.StartExecutionInput) (*fw.StartExecutionOutput, error)
}

// Delivery calls targets in-process: a Lambda function, an SQS queue, a state machine, or a
// universal target.
type Delivery struct {
	Functions Functions
	Queues    Queues
	Jobs      Jobs
	Workflows Workflows // nil: state machines are not targets
	// Region is the server's default region (account.Scope).
	Region string
}

// Universal targets barge serves.
const (
	BatchSubmitJob = "arn:aws:scheduler:::aws-sdk:batch:submitJob"
	SQSSendMessage = "arn:aws:scheduler:::aws-sdk:sqs:sendMessage"
)

// Send is one delivery: to Arn in scope, with Input; GroupID and DedupID for FIFO queues.
type Send struct {
	Arn, Input       string
	GroupID, DedupID string
	// Attributes are message attributes for an SQS target (a dead-letter queue's error details).
	Attributes map[string]string
}

// DeliveryError is a failed delivery, with Scheduler's error code for the dead-letter queue.
type DeliveryError struct {
	Code string
	Err  error
}

func (e *DeliveryError) Error() string { return e.Code + ": " + e.Err.Error() }
func (e *DeliveryError) Unwrap() error { return e.Err }

func failed(code string, err error) error { return &DeliveryError{Code: code, Err: err} }

// Deliver calls the target.
func (d *Delivery) Deliver(ctx context.Context, scope string, s Send) error {
	switch {
	case s.Arn == BatchSubmitJob:
		var in bw.SubmitJobRequest
		if err := json.Unmarshal([]byte(s.Input), &in); err != nil {
			return failed("ValidationException", fmt.Errorf("the Input is not a SubmitJob request: %w", err))
		}
		if _, err := d.Jobs.SubmitJob(ctx, scope, &in); err != nil {
			return failed(codeOf(err), err)
		}
		return nil
	case s.Arn == SQSSendMessage:
		var in sw.SendMessageRequest
		if err := json.Unmarshal([]byte(s.Input), &in); err != nil {
			return failed("ValidationException", fmt.Errorf("the Input is not a SendMessage request: %w", err))
		}
		if _, err := d.Queues.SendMessage(ctx, scope, &in); err != nil {
			return failed(codeOf(err), err)
		}
		return nil
	}
	parts := strings.SplitN(s.Arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return failed("ValidationException", fmt.Errorf("unsupported target %s", s.Arn))
	}
	acct, _ := account.SplitScope(scope, d.Region)
	switch parts[2] {
	case "lambda":
		payload := s.Input
		if strings.TrimSpace(payload) == "" {
			payload = "{}"
		}
		if _, err := d.Functions.Invoke(ctx, scope, &lw.InvocationRequest{FunctionName: s.Arn, InvocationType: lw.InvocationTypeEvent, Payload: []byte(payload)}); err != nil {
			return failed(codeOf(err), err)
		}
		return nil
	case "sqs":
		if parts[4] != acct {
			return failed("AccessDeniedException", fmt.Errorf("queue %s belongs to another account", s.Arn))
		}
		in := &sw.SendMessageRequest{QueueUrl: "/" + parts[4] + "/" + parts[5], MessageBody: s.Input,
			MessageGroupId: s.GroupID}
		if s.GroupID != "" {
			in.MessageDeduplicationId = s.DedupID
		}
		if len(s.Attributes) > 0 {
			in.MessageAttributes = map[string]sw.MessageAttributeValue{}
			for k, v := range s.Attributes {
				in.MessageAttributes[k] = sw.MessageAttributeValue{DataType: "String", StringValue: v}
			}
		}
		if in.MessageBody == "" {
			in.MessageBody = "{}"
		}
		if _, err := d.Queues.SendMessage(ctx, scope, in); err != nil {
			return failed(codeOf(err), err)
		}
		return nil
	case "states":
		if d.Workflows == nil {
			break
		}
		input := s.Input
		if strings.TrimSpace(input) == "" {
			input = "{}"
		}
		if _, err := d.Workflows.StartExecution(ctx, scope, &fw.StartExecutionInput{StateMachineArn: s.Arn, Input: input}); err != nil {
			return failed(codeOf(err), err)
		}
		return nil
	}
	return failed("ValidationException", fmt.Errorf("barge cannot deliver to %s targets yet", parts[2]))
}

func codeOf(err error) string {
	if e := awserr.As(err); e != nil && e.Code != "" {
		return e.Code
	}
	return "InternalServerException"
}

// ValidTarget checks a target ARN is one barge can deliver to.
func ValidTarget(arn string) error {
	if arn == BatchSubmitJob || arn == SQSSendMessage {
		return nil
	}
	parts := strings.Split(arn, ":")
	if len(parts) < 6 || parts[0] != "arn" {
		return fmt.Errorf("invalid target ARN %q", arn)
	}
	switch parts[2] {
	case "lambda", "sqs", "states":
		return nil
	}
	return fmt.Errorf("barge cannot deliver to %s targets yet (Lambda functions, SQS queues, Step Functions state machines, %s, %s)", parts[2], BatchSubmitJob, SQSSendMessage)
}

// itoa is strconv.Itoa for attributes.
func itoa(n int) string { return strconv.Itoa(n) }
