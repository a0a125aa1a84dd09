package sfn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/barge-run/barge/internal/awserr"
	sw "github.com/barge-run/barge/internal/awstypes/sfn"
	"github.com/barge-run/barge/internal/sfn/asl"
)

// childNamespace seeds the names barge gives nested executions started without a Name.
var childNamespace = uuid.MustParse("6f1d8a52-3c3e-4b8e-9a57-0d6c2f5e9b41")

// startExecution runs arn:aws:states:::states:startExecution: StartExecution of another state
// machine in the caller's scope. Without .sync its result is StartExecution's answer
// ({ExecutionArn, StartDate}); with .sync (and .sync:2) it waits for the child to end and its
// result is the child as DescribeExecution gives it (Input and Output as JSON strings, or with
// .sync:2 as JSON values). A child that does not succeed fails the state with
// States.TaskFailed, the cause being that description.
//
// A child started without a Name is named after the parent execution and the Task attempt, so
// that the attempt run again after a restart starts the same child (StartExecution is
// idempotent by name); a .sync attempt also records the child it started (TaskSubmitted) and
// re-attaches to it.
func (t *taskRunner) startExecution(ctx context.Context, req asl.TaskRequest) (json.RawMessage, error) {
	var p struct {
		StateMachineArn string
		Input           json.RawMessage
		Name            string
	}
	if err := json.Unmarshal(req.Input, &p); err != nil || p.StateMachineArn == "" {
		return nil, &asl.Error{Name: asl.ErrTaskFailed, Cause: "states:startExecution needs the parameter StateMachineArn"}
	}
	sync := req.Resource.Pattern == asl.PatternRunJob
	sync2 := sync && strings.HasSuffix(req.Resource.ARN, ".sync:2")
	if sync && len(req.Submitted) > 0 {
		var sub struct{ ExecutionArn string }
		if json.Unmarshal(req.Submitted, &sub) == nil && sub.ExecutionArn != "" {
			return t.waitChild(ctx, req, sub.ExecutionArn, sync2)
		}
	}
	input, err := childInput(p.Input)
	if err != nil {
		return nil, &asl.Error{Name: asl.ErrTaskFailed, Cause: fmt.Sprintf("states:startExecution Input: %v", err)}
	}
	name, derived := p.Name, p.Name == ""
	if derived {
		name = uuid.NewSHA1(childNamespace, []byte(req.ExecutionARN+"\n"+req.AttemptID)).String()
	}
	src, err := t.s.resolve(ctx, t.scope, p.StateMachineArn)
	if err != nil {
		return nil, sfnError(err)
	}
	if sync && src.typ == sw.StateMachineTypeExpress {
		return t.syncExpressChild(ctx, p.StateMachineArn, name, input, sync2)
	}
	arn, start, err := t.startChild(ctx, src, p.StateMachineArn, name, input, derived)
	if err != nil {
		return nil, err
	}
	started, _ := json.Marshal(map[string]any{"ExecutionArn": arn, "StartDate": start.UnixMilli()})
	if !sync {
		return started, nil
	}
	req.Submit(started)
	t.persist(ctx)
	return t.waitChild(ctx, req, arn, sync2)
}

// startChild starts the child execution and answers its ARN and start. A child named by barge
// that exists already was started by this same attempt before a restart: it is the child.
func (t *taskRunner) startChild(ctx context.Context, src *source, machineArn, name, input string, derived bool) (string, time.Time, error) {
	out, err := t.s.StartExecution(ctx, t.scope, &sw.StartExecutionInput{StateMachineArn: machineArn, Name: name, Input: input})
	if err == nil {
		return out.ExecutionArn, out.StartDate.Time, nil
	}
	var ae *awserr.Error
	if derived && errors.As(err, &ae) && ae.Code == "ExecutionAlreadyExists" {
		if e, _, gerr := t.s.getExecution(ctx, t.scope, src.name+":"+name); gerr == nil && e.Input == input {
			return e.ARN, e.Start, nil
		}
	}
	return "", time.Time{}, sfnError(err)
}

// childInput is StartExecution's input from the Input parameter: a JSON string as it is, any
// other value as its JSON text, none as "{}".
func childInput(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "{}", nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		return s, nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return "", err
	}
	return b.String(), nil
}

// waitChild waits for a STANDARD child execution to end. A Task given up meanwhile (see
// abandoned) stops the child, as Step Functions does for .sync.
func (t *taskRunner) waitChild(ctx context.Context, req asl.TaskRequest, arn string, sync2 bool) (json.RawMessage, error) {
	out, err := t.pollChild(ctx, arn, sync2)
	if t.abandoned(ctx) {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		cause := fmt.Sprintf("The state %s of %s stopped waiting for this execution", req.StateName, req.ExecutionARN)
		if _, serr := t.s.StopExecution(sctx, t.scope, &sw.StopExecutionInput{ExecutionArn: arn, Cause: cause}); serr != nil {
			t.s.log.Warn("stopping the child of a stopped Task", "execution", arn, "err", serr)
		}
	}
	return out, err
}

// pollChild waits for a STANDARD child execution to end: at once when it runs on this server,
// else by reading it every PollInterval.
func (t *taskRunner) pollChild(ctx context.Context, arn string, sync2 bool) (json.RawMessage, error) {
	tick := time.NewTicker(t.s.cfg.PollInterval)
	defer tick.Stop()
	for {
		e, key, err := t.s.executionOf(ctx, t.scope, arn)
		if err != nil {
			return nil, sfnError(err)
		}
		if e.Status != sw.ExecutionStatusRunning {
			return childResult(e, sync2)
		}
		t.s.mu.Lock()
		live := t.s.runs[runKey(t.scope, key)]
		t.s.mu.Unlock()
		var done chan struct{}
		if live != nil {
			done = live.done
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-done:
		case <-tick.C:
		}
	}
}

// syncExpressChild runs an EXPRESS child to its end (StartSyncExecution): it keeps no record
// to re-attach to, so a restart runs the attempt again, as EXPRESS is at-least-once.
func (t *taskRunner) syncExpressChild(ctx context.Context, machineArn, name, input string, sync2 bool) (json.RawMessage, error) {
	out, err := t.s.StartSyncExecution(ctx, t.scope, &sw.StartSyncExecutionInput{StateMachineArn: machineArn, Name: name, Input: input})
	if err != nil {
		return nil, sfnError(err)
	}
	e := &execRecord{ARN: out.ExecutionArn, MachineARN: out.StateMachineArn, Name: out.Name, Status: sw.ExecutionStatus(out.Status),
		Input: out.Input, Error: out.Error, Cause: out.Cause, Start: out.StartDate.Time, Stop: out.StopDate.Time}
	if out.Status == sw.SyncExecutionStatusSucceeded {
		o := out.Output
		e.Output = &o
	}
	return childResult(e, sync2)
}

// childResult is a finished child as a .sync Task gives it: DescribeExecution's answer in
// Step Functions' PascalCase, dates in epoch milliseconds; a child that did not succeed fails
// the Task with States.TaskFailed and that answer as the cause.
func childResult(e *execRecord, sync2 bool) (json.RawMessage, error) {
	included := map[string]any{"Included": true}
	d := map[string]any{"ExecutionArn": e.ARN, "StateMachineArn": e.MachineARN, "Name": e.Name, "Status": string(e.Status),
		"StartDate": e.Start.UnixMilli(), "Input": e.Input, "InputDetails": included}
	if !e.Stop.IsZero() {
		d["StopDate"] = e.Stop.UnixMilli()
	}
	if e.Output != nil {
		d["Output"], d["OutputDetails"] = *e.Output, included
	}
	if e.Error != "" {
		d["Error"] = e.Error
	}
	if e.Cause != "" {
		d["Cause"] = e.Cause
	}
	if sync2 {
		for _, k := range []string{"Input", "Output"} {
			if s, ok := d[k].(string); ok {
				var v any
				if json.Unmarshal([]byte(s), &v) == nil {
					d[k] = v
				}
			}
		}
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	if e.Status != sw.ExecutionStatusSucceeded {
		return nil, &asl.Error{Name: asl.ErrTaskFailed, Cause: string(b)}
	}
	return b, nil
}

// sfnError names a failed call of the Step Functions API as Step Functions names it in a
// Task: StepFunctions.<Code>Exception (StepFunctions.StateMachineDoesNotExistException).
func sfnError(err error) error {
	var ae *awserr.Error
	if errors.As(err, &ae) {
		code := ae.Code
		if !strings.HasSuffix(code, "Exception") {
			code += "Exception"
		}
		return &asl.Error{Name: "StepFunctions." + code, Cause: ae.Message}
	}
	return serviceError("StepFunctions", err)
}
