package asl

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// TaskRunner runs the resource of a Task state. The interpreter owns
// everything around the call (paths, retries, timeouts, history); the runner
// only performs the work. A failure returned as *Error keeps its name for
// Retry and Catch; any other error is reported as States.TaskFailed. The
// runner must return when ctx is done (timeouts and stops cancel it).
type TaskRunner interface {
	Run(ctx context.Context, req TaskRequest) (json.RawMessage, error)
}

// TaskRunnerFunc adapts a function to TaskRunner.
type TaskRunnerFunc func(ctx context.Context, req TaskRequest) (json.RawMessage, error)

// Run calls f.
func (f TaskRunnerFunc) Run(ctx context.Context, req TaskRequest) (json.RawMessage, error) {
	return f(ctx, req)
}

// TaskRequest is one attempt of a Task state.
type TaskRequest struct {
	ExecutionARN     string
	StateName        string
	Resource         Resource
	Input            json.RawMessage // the effective parameters (Parameters or Arguments)
	Credentials      json.RawMessage // the state's Credentials field, if any
	TimeoutSeconds   int             // 0: no timeout
	HeartbeatSeconds int             // 0: no heartbeat required
	TaskToken        string          // set for .waitForTaskToken and activities
	RetryCount       int             // retries made so far for this state
	// AttemptID names this attempt uniquely and stably within the
	// execution: the path of the state through the Parallel branches and Map
	// iterations that contain it, how many transitions each of those
	// threads had made, their retry counts and the redrive count. A resumed
	// run asks for the same attempt with the same id, so a runner may
	// derive idempotency keys (a child execution's name) from it.
	AttemptID string
	// Submitted is what this attempt recorded with Submit before the run
	// was interrupted (a restart): the runner should re-attach to the work
	// it names (a job, a child execution) rather than start it again. Nil
	// for a fresh attempt.
	Submitted json.RawMessage
	// Submit records that the work of a long-running integration (.sync)
	// was started, with its output (what starting it answered): a
	// TaskSubmitted history event, and the output kept in the checkpoint so
	// that a resumed attempt finds it as Submitted. Always non-nil.
	Submit func(output json.RawMessage)
	// Heartbeat records that the task is alive, resetting the
	// HeartbeatSeconds timer. Always non-nil.
	Heartbeat func()
}

// IntegrationPattern is how Step Functions waits for a service integration.
type IntegrationPattern string

// Integration patterns, named after the resource ARN suffix that selects them.
const (
	PatternRequestResponse  IntegrationPattern = "REQUEST_RESPONSE"
	PatternRunJob           IntegrationPattern = "RUN_JOB"             // ".sync"
	PatternWaitForTaskToken IntegrationPattern = "WAIT_FOR_TASK_TOKEN" // ".waitForTaskToken"
)

// ResourceKind classifies a Task resource ARN.
type ResourceKind string

// Resource kinds.
const (
	KindLambdaFunction ResourceKind = "lambda-function" // arn:aws:lambda:...:function:name
	KindService        ResourceKind = "service"         // arn:aws:states:::lambda:invoke
	KindSDK            ResourceKind = "aws-sdk"         // arn:aws:states:::aws-sdk:s3:getObject
	KindActivity       ResourceKind = "activity"        // arn:aws:states:region:acct:activity:name
)

// Resource is a classified Task resource ARN.
type Resource struct {
	ARN     string
	Kind    ResourceKind
	Service string // "lambda", "batch", "aws-sdk:s3"; "lambda" for a bare function
	Action  string // "invoke", "submitJob", "getObject"; the function or activity name otherwise
	Pattern IntegrationPattern
	Region  string
	Account string
}

// HistoryResource returns the (resourceType, resource) pair history events
// show, e.g. ("batch", "submitJob.sync").
func (r Resource) HistoryResource() (string, string) {
	suffix := ""
	switch r.Pattern {
	case PatternRunJob:
		suffix = ".sync"
		if strings.HasSuffix(r.ARN, ".sync:2") {
			suffix = ".sync:2"
		}
	case PatternWaitForTaskToken:
		suffix = ".waitForTaskToken"
	}
	return r.Service, r.Action + suffix
}

// ParseResource classifies a Task resource ARN.
func ParseResource(arn string) (Resource, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" || parts[1] == "" {
		return Resource{}, fmt.Errorf("%q is not an ARN", arn)
	}
	r := Resource{ARN: arn, Region: parts[3], Account: parts[4], Pattern: PatternRequestResponse}
	rest := parts[5]
	switch parts[2] {
	case "lambda":
		fn, ok := strings.CutPrefix(rest, "function:")
		if !ok || fn == "" {
			return Resource{}, fmt.Errorf("%q is not a Lambda function ARN", arn)
		}
		r.Kind, r.Service, r.Action = KindLambdaFunction, "lambda", fn
		return r, nil
	case "states":
	default:
		return Resource{}, fmt.Errorf("%q is not a Step Functions resource", arn)
	}
	if name, ok := strings.CutPrefix(rest, "activity:"); ok && name != "" {
		r.Kind, r.Service, r.Action, r.Pattern = KindActivity, "activity", name, PatternWaitForTaskToken
		return r, nil
	}
	action := rest
	switch {
	case strings.HasSuffix(action, ".sync:2"):
		r.Pattern, action = PatternRunJob, strings.TrimSuffix(action, ".sync:2")
	case strings.HasSuffix(action, ".sync"):
		r.Pattern, action = PatternRunJob, strings.TrimSuffix(action, ".sync")
	case strings.HasSuffix(action, ".waitForTaskToken"):
		r.Pattern, action = PatternWaitForTaskToken, strings.TrimSuffix(action, ".waitForTaskToken")
	}
	i := strings.LastIndex(action, ":")
	if i <= 0 || i == len(action)-1 {
		return Resource{}, fmt.Errorf("%q names no service action", arn)
	}
	r.Service, r.Action = action[:i], action[i+1:]
	r.Kind = KindService
	if strings.HasPrefix(r.Service, "aws-sdk:") {
		r.Kind = KindSDK
	} else if strings.Contains(r.Service, ":") {
		return Resource{}, fmt.Errorf("%q names no service action", arn)
	}
	return r, nil
}
