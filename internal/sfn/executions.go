package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/barge-run/barge/internal/awstypes"
	sw "github.com/barge-run/barge/internal/awstypes/sfn"
	"github.com/barge-run/barge/internal/sfn/asl"
	"github.com/barge-run/barge/internal/store"
)

// source is what an execution runs: a machine's current definition, a version, or the
// version an alias picked.
type source struct {
	name, machineARN, definition, roleArn, revisionID string
	typ                                               sw.StateMachineType
	versionARN, aliasARN                              string
}

// resolve reads what a state machine, version or alias ARN runs.
func (s *Service) resolve(ctx context.Context, scope, arn string) (*source, error) {
	t, err := s.parseMachineARN(scope, arn)
	if err != nil {
		return nil, err
	}
	rec, _, err := s.getMachine(ctx, scope, t.name)
	if err != nil {
		return nil, err
	}
	src := &source{name: t.name, machineARN: rec.ARN, definition: rec.Definition, roleArn: rec.RoleArn,
		revisionID: rec.RevisionID, typ: rec.Type}
	version := t.version
	if t.alias != "" {
		a, _, err := s.getAlias(ctx, scope, t.name, t.alias)
		if err != nil {
			return nil, err
		}
		src.aliasARN = a.ARN
		vt, err := s.parseMachineARN(scope, pickVersion(a.Routing))
		if err != nil {
			return nil, err
		}
		version = vt.version
	}
	if version > 0 {
		v, err := s.getVersion(ctx, scope, t.name, version)
		if err != nil {
			return nil, err
		}
		src.definition, src.roleArn, src.revisionID, src.typ, src.versionARN = v.Definition, v.RoleArn, v.RevisionID, v.Type, v.ARN
	}
	return src, nil
}

// newExecution checks StartExecution's arguments and makes the record of a new execution.
func (s *Service) newExecution(scope string, src *source, name, input, trace string) (*execRecord, *asl.Definition, error) {
	if name == "" {
		name = uuid.NewString()
	}
	if err := checkName(name); err != nil {
		return nil, nil, err
	}
	if input == "" {
		input = "{}"
	}
	if !json.Valid([]byte(input)) {
		return nil, nil, apiErr("InvalidExecutionInput", "Invalid execution input: '%s'", input)
	}
	if len(input) > 256*1024 {
		return nil, nil, apiErr("InvalidExecutionInput", "The execution input exceeds the 262144 bytes Step Functions allows")
	}
	def, err := asl.Parse(src.definition)
	if err != nil {
		return nil, nil, fmt.Errorf("parse stored definition of %s: %w", src.machineARN, err)
	}
	e := &execRecord{Name: name, MachineARN: src.machineARN, MachineName: src.name, VersionARN: src.versionARN,
		AliasARN: src.aliasARN, Type: src.typ, Definition: src.definition, RoleArn: src.roleArn, RevisionID: src.revisionID,
		Status: sw.ExecutionStatusRunning, Input: input, Start: now(), TraceHeader: trace}
	if src.typ == sw.StateMachineTypeExpress {
		e.ARN = s.arnOf(scope, "express:"+src.name+":"+name+":"+uuid.NewString())
	} else {
		e.ARN = s.arnOf(scope, "execution:"+src.name+":"+name)
	}
	return e, def, nil
}

// StartExecution starts an execution. Started again with the same name and input while the
// first runs, it answers the first's ARN, as AWS does; otherwise a name is used once.
func (s *Service) StartExecution(ctx context.Context, scope string, in *sw.StartExecutionInput) (*sw.StartExecutionOutput, error) {
	src, err := s.resolve(ctx, scope, in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	exec, def, err := s.newExecution(scope, src, in.Name, in.Input, in.TraceHeader)
	if err != nil {
		return nil, err
	}
	if exec.Type == sw.StateMachineTypeExpress {
		r := newLiveRun(s, scope, src.name+":"+exec.Name, exec, def)
		s.mu.Lock()
		s.express[exec.ARN] = r
		s.mu.Unlock()
		go func() {
			r.runExpress(exec.Input)
			s.forget(r)
		}()
		return &sw.StartExecutionOutput{ExecutionArn: exec.ARN, StartDate: awstypes.NewTimestamp(exec.Start)}, nil
	}
	r, err := s.createStandard(ctx, scope, exec, def)
	if err != nil {
		return nil, err
	}
	if r.exec != exec { // the same request again
		return &sw.StartExecutionOutput{ExecutionArn: r.exec.ARN, StartDate: awstypes.NewTimestamp(r.exec.Start)}, nil
	}
	s.launch(r, nil)
	return &sw.StartExecutionOutput{ExecutionArn: exec.ARN, StartDate: awstypes.NewTimestamp(exec.Start)}, nil
}

// createStandard stores a new STANDARD execution and its run item (held by this server)
// together. A repeated start of a running execution with the same input returns a run holding
// the existing record, not started.
func (s *Service) createStandard(ctx context.Context, scope string, exec *execRecord, def *asl.Definition) (*liveRun, error) {
	key := exec.MachineName + ":" + exec.Name
	t := now()
	item := &store.Resource{Account: scope, Kind: kindRun, Name: key, ARN: exec.ARN, Status: "RUNNING", Body: []byte("{}"),
		CreatedAt: t, Owner: s.cfg.Holder, VisibleAt: t, LeaseUntil: t.Add(s.cfg.LeaseTTL)}
	body, _ := json.Marshal(exec)
	// One durable write for both (the first state waits for it): an execution is never recorded
	// RUNNING without its run item, and a name taken creates neither.
	err := s.cfg.Store.ResourceCreateAll(ctx, []*store.Resource{item, {Account: scope, Kind: kindExecution, Name: key, ARN: exec.ARN,
		Status: string(exec.Status), Body: body, CreatedAt: t}})
	if errors.Is(err, store.ErrConflict) {
		return s.sameExecution(ctx, scope, key, exec)
	}
	if err != nil {
		return nil, fmt.Errorf("create execution %s: %w", exec.ARN, err)
	}
	r := newLiveRun(s, scope, key, exec, def)
	r.item = item
	s.publishStatus(scope, exec)
	return r, nil
}

// sameExecution answers a start whose name is taken: the running execution if its input is
// the same, else ExecutionAlreadyExists.
func (s *Service) sameExecution(ctx context.Context, scope, key string, exec *execRecord) (*liveRun, error) {
	old, _, err := s.getExecution(ctx, scope, key)
	if err == nil && old.Status == sw.ExecutionStatusRunning && old.Input == exec.Input && old.MachineARN == exec.MachineARN {
		return &liveRun{exec: old}, nil
	}
	return nil, apiErr("ExecutionAlreadyExists", "Execution Already Exists: '%s'", exec.ARN)
}

// launch runs a stored STANDARD execution on this server.
func (s *Service) launch(r *liveRun, cp json.RawMessage) {
	if !s.track(r) {
		return // stopping: the run item is claimed again after a restart
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		r.runStandard(cp)
	}()
}

// StartSyncExecution runs an EXPRESS execution to its end and answers its outcome.
func (s *Service) StartSyncExecution(ctx context.Context, scope string, in *sw.StartSyncExecutionInput) (*sw.StartSyncExecutionOutput, error) {
	src, err := s.resolve(ctx, scope, in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	if src.typ != sw.StateMachineTypeExpress {
		return nil, apiErr("StateMachineTypeNotSupported", "This operation is not supported by STANDARD state machines")
	}
	exec, def, err := s.newExecution(scope, src, in.Name, in.Input, in.TraceHeader)
	if err != nil {
		return nil, err
	}
	r := newLiveRun(s, scope, src.name+":"+exec.Name, exec, def)
	s.mu.Lock()
	s.express[exec.ARN] = r
	s.mu.Unlock()
	stopOnCancel := context.AfterFunc(ctx, func() { r.stop(stopRequest{}) })
	res := r.runExpress(exec.Input)
	stopOnCancel()
	s.forget(r)
	end := now()
	ms, mem := max(int64(end.Sub(exec.Start)/time.Millisecond), 100), int64(64)
	out := &sw.StartSyncExecutionOutput{ExecutionArn: exec.ARN, StateMachineArn: src.machineARN, Name: exec.Name,
		StartDate: awstypes.NewTimestamp(exec.Start), StopDate: awstypes.NewTimestamp(end), Status: sw.SyncExecutionStatus(res.Status),
		Error: res.Error, Cause: res.Cause, Input: exec.Input, InputDetails: included(), TraceHeader: exec.TraceHeader,
		BillingDetails: &sw.BillingDetails{BilledDurationInMilliseconds: &ms, BilledMemoryUsedInMB: &mem}}
	if res.Status == asl.StatusSucceeded {
		out.Output, out.OutputDetails = string(res.Output), included()
	}
	if res.Status == asl.StatusAborted {
		out.Status = sw.SyncExecutionStatusFailed
	}
	return out, nil
}

func included() *sw.CloudWatchEventsExecutionDataDetails {
	t := true
	return &sw.CloudWatchEventsExecutionDataDetails{Included: &t}
}

// getExecution reads an execution record by its key ("<machine>:<execution>").
func (s *Service) getExecution(ctx context.Context, scope, key string) (*execRecord, *store.Resource, error) {
	r, err := s.cfg.Store.ResourceGet(ctx, scope, kindExecution, key, 0)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, executionDoesNotExist(s.arnOf(scope, "execution:"+key))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read execution %s: %w", key, err)
	}
	var e execRecord
	if err := json.Unmarshal(r.Body, &e); err != nil {
		return nil, nil, fmt.Errorf("decode execution %s: %w", key, err)
	}
	return &e, r, nil
}

// executionOf reads the execution an ARN names: a stored STANDARD one, or an EXPRESS one
// still running here.
func (s *Service) executionOf(ctx context.Context, scope, arn string) (*execRecord, string, error) {
	if arn == "" {
		return nil, "", missing("executionArn")
	}
	if p, err := s.parseARN(scope, arn, "express", executionDoesNotExist); err == nil {
		s.mu.Lock()
		r := s.express[arn]
		s.mu.Unlock()
		if r == nil || len(p.parts) != 3 {
			return nil, "", executionDoesNotExist(arn)
		}
		return r.exec, "", nil
	}
	p, err := s.parseARN(scope, arn, "execution", executionDoesNotExist)
	if err != nil {
		return nil, "", err
	}
	if len(p.parts) != 2 {
		return nil, "", invalidArn(arn)
	}
	key := p.parts[0] + ":" + p.parts[1]
	e, _, err := s.getExecution(ctx, scope, key)
	return e, key, err
}
