package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	sw "github.com/barge-run/barge/internal/awstypes/sfn"
	"github.com/barge-run/barge/internal/sfn/asl"
	"github.com/barge-run/barge/internal/store"
)

// execRecord is an execution as stored (and, for EXPRESS, as held in memory).
type execRecord struct {
	ARN          string              `json:"arn"`
	Name         string              `json:"name"`
	MachineARN   string              `json:"machineArn"`
	MachineName  string              `json:"machineName"`
	VersionARN   string              `json:"versionArn,omitempty"`
	AliasARN     string              `json:"aliasArn,omitempty"`
	Type         sw.StateMachineType `json:"type"`
	Definition   string              `json:"definition"`
	RoleArn      string              `json:"roleArn"`
	RevisionID   string              `json:"revisionId,omitempty"`
	Status       sw.ExecutionStatus  `json:"status"`
	Input        string              `json:"input"`
	Output       *string             `json:"output,omitempty"`
	Error        string              `json:"error,omitempty"`
	Cause        string              `json:"cause,omitempty"`
	Start        time.Time           `json:"start"`
	Stop         time.Time           `json:"stop,omitzero"`
	RedriveCount int                 `json:"redriveCount,omitempty"`
	RedriveDate  time.Time           `json:"redriveDate,omitzero"`
	TraceHeader  string              `json:"traceHeader,omitempty"`
	// Checkpoint is the last checkpoint of an execution that ended unsuccessfully: what
	// RedriveExecution resumes.
	Checkpoint json.RawMessage `json:"checkpoint,omitempty"`
}

// runRecord is the body of an sfn-run work item.
type runRecord struct {
	Checkpoint json.RawMessage `json:"checkpoint,omitempty"`
	Stop       *stopRequest    `json:"stop,omitempty"`
}

// encode is json.Marshal(rec) without re-validating the checkpoint, which can be large (the
// interpreter encoded it).
func (rec runRecord) encode() []byte {
	rest, _ := json.Marshal(runRecord{Stop: rec.Stop}) // {} or {"stop":{...}}
	if rec.Checkpoint == nil {
		return rest
	}
	b := make([]byte, 0, len(`{"checkpoint":,`)+len(rec.Checkpoint)+len(rest))
	b = append(append(b, `{"checkpoint":`...), rec.Checkpoint...)
	if len(rest) > 2 {
		b = append(b, ',')
	}
	return append(b, rest[1:]...)
}

// stopRequest is an acknowledged StopExecution the run's owner must apply.
type stopRequest struct {
	Error string `json:"error,omitempty"`
	Cause string `json:"cause,omitempty"`
}

var (
	errStopped     = errors.New("sfn: execution stopped")
	errLost        = errors.New("sfn: run claimed by another server")
	errWaitSuspend = fmt.Errorf("sfn: suspended until it wakes: %w", asl.ErrSuspend)
	errExpressTime = errors.New("sfn: express execution ran past 5 minutes")
)

// liveRun is an execution running on this server.
type liveRun struct {
	s     *Service
	scope string
	key   string // the execution's name in the store: "<machine>:<execution>"
	exec  *execRecord
	def   *asl.Definition

	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{}
	result asl.Result

	// ckpts encodes the run's checkpoint when the writer writes it (STANDARD runs only: an
	// EXPRESS run takes none).
	ckpts *asl.Checkpoints

	mu        sync.Mutex
	events    []asl.HistoryEvent // recorded, not yet written
	stopReq   *stopRequest
	wake      time.Time // set when suspended for a wait
	dirty     chan struct{}
	flushNow  chan chan struct{} // asks the writer to write at once (and close the channel sent)
	item      *store.Resource    // the sfn-run item as last written (writer only)
	nextChunk int                // next history chunk number (writer only)
	history   []asl.HistoryEvent

	// Writer only: the checkpoint taken but not yet written (its write failed), when the next
	// one may be written (see checkpointRate), whether a checkpoint waits for that, the
	// decoded body of item, and what maybeSuspendForWait found in it.
	unwritten json.RawMessage
	cpNext    time.Time
	cpDue     bool
	rec       runRecord
	recOf     *store.Resource
	probed    *store.Resource
	probeWake time.Time
	probeOK   bool
}

func runKey(scope, key string) string { return scope + "|" + key }

func newLiveRun(s *Service, scope, key string, exec *execRecord, def *asl.Definition) *liveRun {
	ctx, cancel := context.WithCancelCause(context.Background())
	r := &liveRun{s: s, scope: scope, key: key, exec: exec, def: def, ctx: ctx, cancel: cancel,
		done: make(chan struct{}), dirty: make(chan struct{}, 1), flushNow: make(chan chan struct{}), nextChunk: 1}
	if exec.Type != sw.StateMachineTypeExpress {
		r.ckpts = &asl.Checkpoints{OnChange: r.changed}
	}
	return r
}

// Record implements asl.EventSink.
func (r *liveRun) Record(ev asl.HistoryEvent) {
	if ev.Type == "ExecutionAborted" {
		if st := r.stopRequested(); st != nil {
			ev.ExecutionAbortedEventDetails = &asl.ErrorDetails{Error: st.Error, Cause: st.Cause}
		}
	}
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

// changed tells the writer that the run made progress. The interpreter calls it with its lock
// held.
func (r *liveRun) changed() {
	select {
	case r.dirty <- struct{}{}:
	default:
	}
}

func (r *liveRun) stopRequested() *stopRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopReq
}

// stop aborts the run with StopExecution's error and cause.
func (r *liveRun) stop(req stopRequest) {
	r.mu.Lock()
	if r.stopReq == nil {
		r.stopReq = &req
	}
	r.mu.Unlock()
	r.cancel(errStopped)
}

// suspend stops the run without ending the execution (the server is stopping).
func (r *liveRun) suspend() { r.cancel(asl.ErrSuspend) }

func (r *liveRun) interpreter() *asl.Interpreter {
	return asl.New(r.def, asl.Config{Tasks: &taskRunner{s: r.s, scope: r.scope, run: r}, Events: r, Checkpoints: r.ckpts})
}

func (r *liveRun) aslExecution() asl.Execution {
	return asl.Execution{ARN: r.exec.ARN, Name: r.exec.Name, RoleARN: r.exec.RoleArn, StateMachineARN: r.exec.MachineARN,
		StateMachineName: r.exec.MachineName, StartTime: r.exec.Start, RedriveCount: r.exec.RedriveCount}
}

// runExpress runs an EXPRESS execution in memory to its end.
func (r *liveRun) runExpress(input string) asl.Result {
	ctx, cancel := context.WithTimeoutCause(r.ctx, 5*time.Minute, errExpressTime)
	defer cancel()
	res := r.interpreter().Start(ctx, r.aslExecution(), json.RawMessage(input))
	if res.Status == asl.StatusAborted && errors.Is(context.Cause(ctx), errExpressTime) {
		res = asl.Result{Status: asl.StatusTimedOut, Error: asl.ErrTimeout, Cause: "The execution ran past the 5 minutes of an EXPRESS execution"}
	}
	r.mu.Lock()
	r.history = append(r.history, r.events...)
	r.events = nil
	r.mu.Unlock()
	r.result = res
	close(r.done)
	return res
}

// runStandard runs (or resumes, from checkpoint cp) a STANDARD execution, persisting its
// history and checkpoints, and records how it ended.
func (r *liveRun) runStandard(cp json.RawMessage) {
	defer close(r.done)
	defer r.s.forget(r)
	writerDone, writerExited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(writerExited)
		r.writer(writerDone)
	}()
	var res asl.Result
	if cp == nil {
		res = r.interpreter().Start(r.ctx, r.aslExecution(), json.RawMessage(r.exec.Input))
	} else {
		var err error
		if res, err = r.interpreter().Resume(r.ctx, cp); err != nil {
			res = asl.Result{Status: asl.StatusFailed, Error: asl.ErrRuntime, Cause: fmt.Sprintf("cannot resume: %v", err)}
		}
	}
	close(writerDone)
	<-writerExited
	r.result = res
	if err := r.finish(res); err != nil && !errors.Is(err, errLost) {
		r.s.log.Error("recording the end of an execution", "execution", r.exec.ARN, "err", err)
	}
}

// flushDelay is how long the writer gathers progress before writing it.
const flushDelay = 10 * time.Millisecond

// checkpointRate bounds the bytes of checkpoints a run writes per second: a large checkpoint
// (a Map of many items) is written less often than every flush, while history is written at
// every flush. A crash loses at most the progress since the last checkpoint written (the
// history past it is dropped on resume); a Task that starts outside work, and the run's end,
// write the checkpoint at once whatever its size.
const checkpointRate = 8 << 20

// flushMode says what a flush writes besides the pending history.
type flushMode int

const (
	flushProgress flushMode = iota // the checkpoint, if it changed and checkpointRate allows
	flushLease                     // that, and the run item at any rate, renewing its lease
	flushAll                       // the newest checkpoint and the run item
)

// writer writes the run's history and checkpoints as they come, renewing its lease.
func (r *liveRun) writer(done chan struct{}) {
	tick := time.NewTicker(r.s.cfg.LeaseTTL / 3)
	defer tick.Stop()
	deferred := time.NewTimer(time.Hour)
	deferred.Stop()
	defer deferred.Stop()
	for {
		var ack chan struct{}
		mode := flushProgress
		select {
		case <-done:
			return
		case ack = <-r.flushNow:
		case <-deferred.C:
		case <-r.dirty:
			// Gather what the next few milliseconds bring into one write; a run that ends
			// meanwhile writes it all at its end.
			select {
			case <-done:
				return
			case ack = <-r.flushNow:
			case <-time.After(flushDelay):
			}
		case <-tick.C:
			mode = flushLease
		}
		if ack != nil {
			mode = flushAll
		}
		err := r.flush(r.s.cfg.Holder, time.Time{}, mode)
		if ack != nil {
			close(ack)
		}
		if r.cpDue {
			deferred.Reset(time.Until(r.cpNext))
		}
		if err != nil {
			if !errors.Is(err, errLost) {
				r.s.log.Error("writing an execution's progress", "execution", r.exec.ARN, "err", err)
			}
			continue
		}
		r.maybeSuspendForWait()
	}
}

// persist writes the run's progress now, without the writer's usual gathering delay: a Task
// that started outside work (a job, a child execution) records it before waiting on it, so
// that a crash right after forgets it for as short a time as possible. STANDARD runs only.
func (r *liveRun) persist(ctx context.Context) {
	if r.exec.Type == sw.StateMachineTypeExpress {
		return
	}
	ack := make(chan struct{})
	select {
	case r.flushNow <- ack:
	case <-ctx.Done():
		return
	}
	select {
	case <-ack:
	case <-ctx.Done():
	}
}

// flush writes pending events as a history chunk, then (as mode says) the newest checkpoint to
// the run item held by owner ("" releases it, visible at visibleAt).
func (r *liveRun) flush(owner string, visibleAt time.Time, mode flushMode) error {
	// The checkpoint first: the events it covers are all recorded by then, so the chunk below
	// holds every one of them (and maybe later ones, dropped if a crash comes before the next
	// checkpoint is written).
	var cp json.RawMessage
	r.cpDue = false
	if mode == flushAll || !now().Before(r.cpNext) {
		cp = r.ckpts.Snapshot()
	} else {
		r.cpDue = r.ckpts.Pending()
	}
	if cp == nil {
		cp = r.unwritten
	}
	r.unwritten = nil
	r.mu.Lock()
	events := r.events
	r.events = nil
	r.mu.Unlock()
	ctx := context.Background()
	if len(events) > 0 {
		if err := r.writeChunk(ctx, events); err != nil {
			r.mu.Lock()
			r.events = append(events, r.events...)
			r.mu.Unlock()
			r.unwritten = cp
			return err
		}
	}
	if cp == nil && mode == flushProgress {
		return nil
	}
	if err := r.writeItem(ctx, cp, owner, visibleAt); err != nil {
		r.unwritten = cp
		return err
	}
	if cp != nil {
		r.cpNext = now().Add(time.Duration(len(cp)) * time.Second / checkpointRate)
	}
	return nil
}

// record is the decoded body of the run item.
func (r *liveRun) record() (runRecord, error) {
	if r.recOf != r.item {
		var rec runRecord
		if err := json.Unmarshal(r.item.Body, &rec); err != nil {
			return runRecord{}, err
		}
		r.rec, r.recOf = rec, r.item
	}
	return r.rec, nil
}

func (r *liveRun) writeChunk(ctx context.Context, events []asl.HistoryEvent) error {
	body, err := json.Marshal(events)
	if err != nil {
		return fmt.Errorf("encode history of %s: %w", r.exec.ARN, err)
	}
	res := &store.Resource{Account: r.scope, Kind: kindHistory, Name: r.key, Revision: r.nextChunk, Body: body, CreatedAt: now()}
	if err := r.s.cfg.Store.ResourceCreate(ctx, res); err != nil {
		return fmt.Errorf("write history of %s: %w", r.exec.ARN, err)
	}
	r.nextChunk++
	return nil
}

// writeItem writes the run item, if it is still this server's: a stop requested meanwhile
// stops the run, another owner means the run was lost.
func (r *liveRun) writeItem(ctx context.Context, cp json.RawMessage, owner string, visibleAt time.Time) error {
	for {
		rec, err := r.record()
		if err != nil {
			return fmt.Errorf("decode run of %s: %w", r.exec.ARN, err)
		}
		if cp != nil {
			rec.Checkpoint = cp
		}
		item := *r.item
		item.Body = rec.encode()
		item.Owner = owner
		item.LeaseUntil = time.Time{}
		if owner != "" {
			item.LeaseUntil = now().Add(r.s.cfg.LeaseTTL)
		} else {
			item.VisibleAt = visibleAt
		}
		err = r.s.cfg.Store.ResourceUpdate(ctx, &item)
		if err == nil {
			r.item = &item
			r.rec, r.recOf = rec, r.item
			return nil
		}
		if !errors.Is(err, store.ErrStale) && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("write run of %s: %w", r.exec.ARN, err)
		}
		cur, gerr := r.s.cfg.Store.ResourceGet(ctx, r.scope, kindRun, r.key, 0)
		if gerr != nil || cur.Owner != r.s.cfg.Holder {
			r.cancel(errLost)
			return errLost
		}
		r.item = cur
		var stored runRecord
		if json.Unmarshal(cur.Body, &stored) == nil && stored.Stop != nil {
			r.stop(*stored.Stop)
			// A run left for later with a stop on it is due at once: otherwise the stop, stored
			// while this run was being suspended, would wait for the run's wake-up.
			visibleAt = now()
		}
	}
}

// finish records how the run ended: the execution's end, or the run left for later.
func (r *liveRun) finish(res asl.Result) error {
	cause := context.Cause(r.ctx)
	st := r.stopRequested()
	switch {
	case errors.Is(cause, errLost):
		return errLost
	case res.Status == asl.StatusSuspended && st != nil:
		if err := r.flush(r.s.cfg.Holder, time.Time{}, flushAll); err != nil {
			return err
		}
		return r.abort(context.Background(), *st)
	case res.Status == asl.StatusAborted && st != nil:
		res.Error, res.Cause = st.Error, st.Cause
	case res.Status == asl.StatusSuspended && errors.Is(cause, errWaitSuspend):
		r.mu.Lock()
		wake := r.wake
		r.mu.Unlock()
		return r.flush("", wake, flushAll)
	case res.Status == asl.StatusSuspended:
		return r.flush("", now(), flushAll)
	}
	if err := r.flush(r.s.cfg.Holder, time.Time{}, flushAll); err != nil {
		return err
	}
	return r.s.recordEnd(context.Background(), r.scope, r.key, r.exec, res, r.lastCheckpoint(), r.item)
}

func (r *liveRun) lastCheckpoint() json.RawMessage {
	var rec runRecord
	if r.item != nil {
		json.Unmarshal(r.item.Body, &rec)
	}
	return rec.Checkpoint
}

// recordEnd writes an execution's final status and deletes its run item.
func (s *Service) recordEnd(ctx context.Context, scope, key string, exec *execRecord, res asl.Result, cp json.RawMessage, item *store.Resource) error {
	exec.Status = sw.ExecutionStatus(res.Status)
	exec.Stop = now()
	exec.Error, exec.Cause, exec.Output, exec.Checkpoint = res.Error, res.Cause, nil, nil
	if res.Status == asl.StatusSucceeded {
		out := string(res.Output)
		exec.Output = &out
	} else {
		exec.Checkpoint = cp
	}
	body, _ := json.Marshal(exec)
	er := &store.Resource{Account: scope, Kind: kindExecution, Name: key, ARN: exec.ARN, Status: string(exec.Status), Body: body}
	if err := s.cfg.Store.ResourceUpdate(ctx, er); err != nil {
		return fmt.Errorf("record the end of %s: %w", exec.ARN, err)
	}
	s.publishStatus(scope, exec)
	if item != nil {
		if err := s.cfg.Store.ResourceDeleteVersion(ctx, item); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("delete the run of %s: %w", exec.ARN, err)
		}
	}
	return nil
}
