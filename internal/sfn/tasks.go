package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/barge-run/barge/internal/awserr"
	lw "github.com/barge-run/barge/internal/awstypes/lambda"
	"github.com/barge-run/barge/internal/sfn/asl"
)

// taskRunner runs an execution's Task states against barge's services, in the scope of the
// state machine.
type taskRunner struct {
	s     *Service
	scope string
	run   *liveRun
}

// served reports whether barge runs a Task resource: activities, Lambda (a function ARN or
// lambda:invoke), Batch submitJob (.sync too), SQS sendMessage, Step Functions startExecution
// (.sync and .sync:2 too); any with .waitForTaskToken.
func served(res asl.Resource) bool {
	switch {
	case res.Kind == asl.KindActivity, res.Kind == asl.KindLambdaFunction:
		return true
	case res.Kind != asl.KindService:
		return false
	case res.Service == "lambda" && res.Action == "invoke", res.Service == "sqs" && res.Action == "sendMessage":
		return res.Pattern != asl.PatternRunJob
	case res.Service == "batch" && res.Action == "submitJob", res.Service == "states" && res.Action == "startExecution":
		return true
	}
	return false
}

// Run implements asl.TaskRunner.
func (t *taskRunner) Run(ctx context.Context, req asl.TaskRequest) (json.RawMessage, error) {
	res := req.Resource
	if res.Kind == asl.KindActivity {
		return t.activity(ctx, req)
	}
	if !served(res) {
		return nil, &asl.Error{Name: asl.ErrTaskFailed, Cause: fmt.Sprintf("The resource %s is not supported by barge", res.ARN)}
	}
	var call func(context.Context, asl.TaskRequest) (json.RawMessage, error)
	switch {
	case res.Kind == asl.KindLambdaFunction:
		call = t.lambdaFunction
	case res.Service == "lambda":
		call = t.lambdaInvoke
	case res.Service == "batch":
		call = t.batchSubmit
	case res.Service == "sqs":
		call = t.sqsSend
	case res.Service == "states":
		call = t.startExecution
	}
	if res.Pattern == asl.PatternWaitForTaskToken {
		return t.withToken(ctx, req, call)
	}
	return call(ctx, req)
}

// abandoned reports whether a Task whose context is done was given up — its execution
// stopped, its TimeoutSeconds passed, a sibling branch failed — rather than interrupted by
// the server stopping or losing the run, after which the resumed Task re-attaches to its work.
func (t *taskRunner) abandoned(ctx context.Context) bool {
	if ctx.Err() == nil {
		return false
	}
	if t.run != nil {
		if c := context.Cause(t.run.ctx); errors.Is(c, asl.ErrSuspend) || errors.Is(c, errLost) {
			return false
		}
	}
	return true
}

// persist writes the execution's progress at once (see liveRun.persist).
func (t *taskRunner) persist(ctx context.Context) {
	if t.run != nil {
		t.run.persist(ctx)
	}
}

// withToken calls an integration with a task token and waits for SendTaskSuccess or
// SendTaskFailure with it.
func (t *taskRunner) withToken(ctx context.Context, req asl.TaskRequest, call func(context.Context, asl.TaskRequest) (json.RawMessage, error)) (json.RawMessage, error) {
	p := t.s.addToken(t.scope, req)
	defer t.s.dropToken(req.TaskToken)
	if _, err := call(ctx, req); err != nil {
		return nil, err
	}
	select {
	case r := <-p.result:
		return r.output, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// serviceError names a failed call of barge's service as Step Functions does: the service's
// prefix and the error's code (Lambda.ResourceNotFoundException).
func serviceError(prefix string, err error) error {
	var ae *awserr.Error
	if errors.As(err, &ae) {
		return &asl.Error{Name: prefix + "." + ae.Code, Cause: ae.Message}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &asl.Error{Name: prefix + ".SdkClientException", Cause: err.Error()}
}

// invokeLambda invokes a function and turns a function error into the task's error: its
// errorType (States.TaskFailed without one), the error payload as the cause.
func (t *taskRunner) invokeLambda(ctx context.Context, fn, qualifier string, payload []byte) (*lw.InvocationResponse, error) {
	if t.s.cfg.Lambda == nil {
		return nil, &asl.Error{Name: "Lambda.ServiceException", Cause: "barge serves no Lambda here"}
	}
	out, err := t.s.cfg.Lambda.Invoke(ctx, t.scope, &lw.InvocationRequest{FunctionName: fn, Qualifier: qualifier, Payload: payload})
	if err != nil {
		return nil, serviceError("Lambda", err)
	}
	if out.FunctionError != "" {
		var fe struct {
			ErrorType string `json:"errorType"`
		}
		json.Unmarshal(out.Payload, &fe)
		name := fe.ErrorType
		if name == "" {
			name = asl.ErrTaskFailed
		}
		return nil, &asl.Error{Name: name, Cause: string(out.Payload)}
	}
	return out, nil
}

// lambdaFunction runs a bare function ARN: the function's output is the result.
func (t *taskRunner) lambdaFunction(ctx context.Context, req asl.TaskRequest) (json.RawMessage, error) {
	out, err := t.invokeLambda(ctx, req.Resource.ARN, "", req.Input)
	if err != nil {
		return nil, err
	}
	return payloadJSON(out.Payload), nil
}

// lambdaInvoke runs arn:aws:states:::lambda:invoke: the result is Invoke's response with the
// function's output under Payload.
func (t *taskRunner) lambdaInvoke(ctx context.Context, req asl.TaskRequest) (json.RawMessage, error) {
	var p struct {
		FunctionName string
		Qualifier    string
		Payload      json.RawMessage
	}
	if err := json.Unmarshal(req.Input, &p); err != nil || p.FunctionName == "" {
		return nil, &asl.Error{Name: asl.ErrTaskFailed, Cause: "lambda:invoke needs the parameter FunctionName"}
	}
	payload := []byte(p.Payload)
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	out, err := t.invokeLambda(ctx, p.FunctionName, p.Qualifier, payload)
	if err != nil {
		return nil, err
	}
	version := out.ExecutedVersion
	if version == "" {
		version = "$LATEST"
	}
	headers := map[string]any{"Content-Type": "application/json", "X-Amz-Executed-Version": version}
	result := map[string]any{
		"ExecutedVersion":     version,
		"Payload":             payloadJSON(out.Payload),
		"StatusCode":          http.StatusOK,
		"SdkHttpMetadata":     map[string]any{"AllHttpHeaders": headers, "HttpHeaders": headers, "HttpStatusCode": http.StatusOK},
		"SdkResponseMetadata": map[string]any{"RequestId": ""},
	}
	return json.Marshal(result)
}

// payloadJSON is a function's output as JSON: as it is when it is JSON, else as a string.
func payloadJSON(b []byte) json.RawMessage {
	if len(strings.TrimSpace(string(b))) == 0 {
		return json.RawMessage("null")
	}
	if json.Valid(b) {
		return b
	}
	s, _ := json.Marshal(string(b))
	return s
}

// recase renames an object's keys, recursively, with first (upper- or lower-casing their first
// letter), except inside the members named in keep (user maps such as Parameters and Tags).
func recase(v any, first func(rune) rune, keep map[string]bool) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			nk := k
			if r, n := utf8.DecodeRuneInString(k); n > 0 {
				nk = string(first(r)) + k[n:]
			}
			if keep[strings.ToLower(k)] {
				out[nk] = val
			} else {
				out[nk] = recase(val, first, keep)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = recase(e, first, keep)
		}
		return out
	}
	return v
}

var userMaps = map[string]bool{"parameters": true, "tags": true}

// toWire turns Step Functions' PascalCase parameters into a service's camelCase request.
func toWire(in json.RawMessage, out any) error {
	var v any
	if err := json.Unmarshal(in, &v); err != nil {
		return err
	}
	b, _ := json.Marshal(recase(v, unicode.ToLower, userMaps))
	return json.Unmarshal(b, out)
}

// fromWire turns a service's camelCase response into the PascalCase result Step Functions
// gives.
func fromWire(resp any) (json.RawMessage, error) {
	b, err := json.Marshal(resp)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return json.Marshal(recase(v, unicode.ToUpper, userMaps))
}
