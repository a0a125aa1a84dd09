package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// runTask runs a Task state: its data flow around one call of the
// TaskRunner.
func (r *run) runTask(ctx context.Context, st *State, fr *Frame, sc *scope) (stateResult, error) {
	res, err := ParseResource(st.Resource)
	if err != nil {
		return stateResult{}, newError(ErrRuntime, "%v", err)
	}
	var extra map[string]any
	token := ""
	if res.Pattern == PatternWaitForTaskToken {
		token = r.rand.uuid()
		extra = map[string]any{"Task": map[string]any{"Token": token}}
	}
	return r.pipeline(ctx, st, fr, sc, extra, func(ctx context.Context, in any) (any, error) {
		req, err := r.taskRequest(st, fr, sc, res, token, in)
		if err != nil {
			return nil, err
		}
		return r.invoke(ctx, fr, req)
	})
}

// taskRequest resolves the timeouts and credentials of one attempt.
func (r *run) taskRequest(st *State, fr *Frame, sc *scope, res Resource, token string, in any) (TaskRequest, error) {
	req := TaskRequest{
		ExecutionARN: r.cp.Execution.ARN, StateName: st.Name, Resource: res,
		Input: json.RawMessage(mustJSON(in)), TaskToken: token, RetryCount: fr.RetryCount,
		AttemptID: r.attemptID(sc),
	}
	r.mu.Lock()
	req.Submitted = fr.Submitted
	r.mu.Unlock()
	req.Submit = func(output json.RawMessage) { r.submitted(fr, res, output) }
	var err error
	if req.TimeoutSeconds, err = r.resolveInt(st, fr, sc, st.TimeoutSeconds, st.TimeoutSecondsPath, "TimeoutSeconds", fr.Input, 0); err != nil {
		return req, err
	}
	if req.HeartbeatSeconds, err = r.resolveInt(st, fr, sc, st.HeartbeatSeconds, st.HeartbeatSecondsPath, "HeartbeatSeconds", fr.Input, 0); err != nil {
		return req, err
	}
	if st.Credentials.Set {
		var creds any
		if st.jsonata() {
			creds, err = evalJSONataTemplate(st.Credentials.Value, "Credentials", r.jsonataEnv(r.statesVar(fr, st, nil), sc))
		} else {
			creds, err = evalParams(st.Credentials.Value, r.pathEnv(fr.Input, fr, st, sc, nil), "Credentials")
		}
		if err != nil {
			return req, err
		}
		req.Credentials = json.RawMessage(mustJSON(creds))
	}
	return req, nil
}

// attemptID locates the Task attempt of the innermost thread of sc (see
// TaskRequest.AttemptID): "r<redrives>" then, from the top level down, each
// thread's "<index>:<state>.<step>.<retries>".
func (r *run) attemptID(sc *scope) string {
	var segs []string
	for c := sc; c != nil; c = c.up {
		f := c.frame
		segs = append(segs, fmt.Sprintf("%d:%s.%d.%d", f.Index, f.State, f.Step, f.RetryCount))
	}
	slices.Reverse(segs)
	return fmt.Sprintf("r%d/%s", r.cp.Execution.RedriveCount, strings.Join(segs, "/"))
}

// submitted records a Task's submission (TaskRequest.Submit): a
// TaskSubmitted event and, in the checkpoint, the output to re-attach to.
func (r *run) submitted(fr *Frame, res Resource, output json.RawMessage) {
	v, err := decodeJSON(output)
	if err != nil {
		return
	}
	out := mustJSON(v)
	r.update(func() {
		fr.Submitted = json.RawMessage(out)
		typ, name := res.HistoryResource()
		r.emitLocked(fr, "TaskSubmitted", func(ev *HistoryEvent) {
			ev.TaskSubmittedEventDetails = &TaskOutputDetails{ResourceType: typ, Resource: name, Output: out}
		})
	})
}

// invoke calls the TaskRunner, recording the task's history events.
func (r *run) invoke(ctx context.Context, fr *Frame, req TaskRequest) (any, error) {
	ev := r.taskEvents(fr, req)
	ev.scheduled()
	ev.started()
	out, err := r.callRunner(ctx, req)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		var serr *Error
		if !errors.As(err, &serr) {
			serr = &Error{Name: ErrTaskFailed, Cause: err.Error()}
		}
		ev.failed(serr)
		return nil, serr
	}
	v, derr := decodeJSON(out)
	if derr != nil {
		serr := newError(ErrTaskFailed, "The task result is not valid JSON: %v", derr)
		ev.failed(serr)
		return nil, serr
	}
	if serr := checkSize(v, "task result"); serr != nil {
		ev.failed(serr)
		return nil, serr
	}
	ev.succeeded(mustJSON(v))
	return v, nil
}

// callRunner runs the task under its TimeoutSeconds and HeartbeatSeconds,
// measured on the interpreter's clock.
func (r *run) callRunner(ctx context.Context, req TaskRequest) (json.RawMessage, error) {
	if r.tasks == nil {
		return nil, newError(ErrRuntime, "no TaskRunner is configured")
	}
	tctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	runCtx := tctx
	if req.TimeoutSeconds > 0 {
		var stop context.CancelFunc
		runCtx, stop = r.clock.WithTimeout(tctx, time.Duration(req.TimeoutSeconds)*time.Second, errTaskTimeout)
		defer stop()
	}
	disarm := r.armHeartbeat(runCtx, cancel, &req)
	out, err := r.tasks.Run(runCtx, req)
	disarm()
	cause := context.Cause(runCtx)
	cancel(nil)
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(cause, errTaskTimeout):
		return nil, newError(ErrTimeout, "The task did not complete within %d seconds", req.TimeoutSeconds)
	case errors.Is(cause, errHeartbeatTimeout):
		return nil, newError(ErrHeartbeatTimeout, "The task sent no heartbeat for %d seconds", req.HeartbeatSeconds)
	}
	return out, err
}

// armHeartbeat makes req.Heartbeat restart a HeartbeatSeconds timer that
// cancels the task when it fires. The timer is re-armed synchronously in
// the caller of Heartbeat, so a heartbeat is never lost to scheduling.
// The returned function disarms it.
func (r *run) armHeartbeat(ctx context.Context, cancel context.CancelCauseFunc, req *TaskRequest) func() {
	if req.HeartbeatSeconds <= 0 {
		req.Heartbeat = func() {}
		return func() {}
	}
	hb := time.Duration(req.HeartbeatSeconds) * time.Second
	var mu sync.Mutex
	var stop context.CancelFunc
	arm := func(again bool) {
		mu.Lock()
		defer mu.Unlock()
		if stop != nil {
			stop()
		}
		if !again {
			stop = nil
			return
		}
		hctx, s := r.clock.WithTimeout(ctx, hb, errHeartbeatTimeout)
		stop = s
		context.AfterFunc(hctx, func() {
			if errors.Is(context.Cause(hctx), errHeartbeatTimeout) {
				cancel(errHeartbeatTimeout)
			}
		})
	}
	arm(true)
	req.Heartbeat = func() { arm(true) }
	return func() { arm(false) }
}

// taskEventSet records a task's events with the family of names its
// resource kind uses: Lambda functions, activities or service integrations.
type taskEventSet struct {
	r   *run
	fr  *Frame
	req TaskRequest
}

func (r *run) taskEvents(fr *Frame, req TaskRequest) taskEventSet {
	return taskEventSet{r: r, fr: fr, req: req}
}

func (t taskEventSet) family() string {
	switch t.req.Resource.Kind {
	case KindLambdaFunction:
		return "LambdaFunction"
	case KindActivity:
		return "Activity"
	}
	return "Task"
}

func (t taskEventSet) emit(suffix string, fill func(ev *HistoryEvent)) {
	t.r.update(func() { t.r.emitLocked(t.fr, t.family()+suffix, fill) })
}

func (t taskEventSet) scheduled() {
	req := t.req
	creds := credentialsOf(req.Credentials)
	t.emit("Scheduled", func(ev *HistoryEvent) {
		switch req.Resource.Kind {
		case KindLambdaFunction:
			ev.LambdaFunctionScheduledEventDetails = &LambdaFunctionScheduledEventDetails{
				Resource: req.Resource.ARN, Input: string(req.Input), TimeoutInSeconds: int64(req.TimeoutSeconds), TaskCredentials: creds}
		case KindActivity:
			ev.ActivityScheduledEventDetails = &ActivityScheduledEventDetails{
				Resource: req.Resource.ARN, Input: string(req.Input), TimeoutInSeconds: int64(req.TimeoutSeconds),
				HeartbeatInSeconds: int64(req.HeartbeatSeconds)}
		default:
			typ, res := req.Resource.HistoryResource()
			ev.TaskScheduledEventDetails = &TaskScheduledEventDetails{
				ResourceType: typ, Resource: res, Region: t.region(), Parameters: string(req.Input),
				TimeoutInSeconds: int64(req.TimeoutSeconds), HeartbeatInSeconds: int64(req.HeartbeatSeconds), TaskCredentials: creds}
		}
	})
}

func (t taskEventSet) started() {
	t.emit("Started", func(ev *HistoryEvent) {
		switch t.req.Resource.Kind {
		case KindLambdaFunction:
		case KindActivity:
			ev.ActivityStartedEventDetails = &ActivityStartedEventDetails{}
		default:
			typ, res := t.req.Resource.HistoryResource()
			ev.TaskStartedEventDetails = &TaskResourceDetails{ResourceType: typ, Resource: res}
		}
	})
}

func (t taskEventSet) succeeded(output string) {
	t.emit("Succeeded", func(ev *HistoryEvent) {
		switch t.req.Resource.Kind {
		case KindLambdaFunction:
			ev.LambdaFunctionSucceededEventDetails = &OutputDetails{Output: output}
		case KindActivity:
			ev.ActivitySucceededEventDetails = &OutputDetails{Output: output}
		default:
			typ, res := t.req.Resource.HistoryResource()
			ev.TaskSucceededEventDetails = &TaskOutputDetails{ResourceType: typ, Resource: res, Output: output}
		}
	})
}

func (t taskEventSet) failed(e *Error) {
	suffix := "Failed"
	if e.Name == ErrTimeout || e.Name == ErrHeartbeatTimeout {
		suffix = "TimedOut"
	}
	t.emit(suffix, func(ev *HistoryEvent) {
		d := &ErrorDetails{Error: e.Name, Cause: e.Cause}
		typ, res := t.req.Resource.HistoryResource()
		td := &TaskErrorDetails{ResourceType: typ, Resource: res, Error: e.Name, Cause: e.Cause}
		switch {
		case t.req.Resource.Kind == KindLambdaFunction && suffix == "Failed":
			ev.LambdaFunctionFailedEventDetails = d
		case t.req.Resource.Kind == KindLambdaFunction:
			ev.LambdaFunctionTimedOutEventDetails = d
		case t.req.Resource.Kind == KindActivity && suffix == "Failed":
			ev.ActivityFailedEventDetails = d
		case t.req.Resource.Kind == KindActivity:
			ev.ActivityTimedOutEventDetails = d
		case suffix == "Failed":
			ev.TaskFailedEventDetails = td
		default:
			ev.TaskTimedOutEventDetails = td
		}
	})
}

// region is the resource's region, else the execution's.
func (t taskEventSet) region() string {
	if t.req.Resource.Region != "" {
		return t.req.Resource.Region
	}
	if parts := strings.Split(t.r.cp.Execution.ARN, ":"); len(parts) > 3 {
		return parts[3]
	}
	return ""
}

// credentialsOf extracts the role from a Credentials object.
func credentialsOf(raw json.RawMessage) *TaskCredentials {
	if len(raw) == 0 {
		return nil
	}
	var c struct{ RoleArn string }
	if json.Unmarshal(raw, &c) != nil || c.RoleArn == "" {
		return nil
	}
	return &TaskCredentials{RoleArn: c.RoleArn}
}
