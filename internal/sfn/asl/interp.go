package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Execution identifies one run of a state machine; it feeds the context
// object ($$ / $states.context) and the ExecutionStarted event.
type Execution struct {
	ARN              string    `json:"arn"`
	Name             string    `json:"name"`
	RoleARN          string    `json:"roleArn,omitempty"`
	StateMachineARN  string    `json:"stateMachineArn"`
	StateMachineName string    `json:"stateMachineName"`
	StartTime        time.Time `json:"startTime"`
	RedriveCount     int       `json:"redriveCount,omitempty"`
}

// Config holds what the interpreter needs from outside.
type Config struct {
	Tasks  TaskRunner // runs Task states; required if the machine has any
	Clock  Clock      // nil: RealClock
	Events EventSink  // nil: history is not recorded
	// OnCheckpoint receives a JSON-encoded Checkpoint after every state
	// transition (and when a wait or retry backoff starts). It is called
	// with the interpreter's lock held and must not call back into it.
	// Encoding a checkpoint costs in proportion to its size (a Map's every
	// iteration): a consumer that writes checkpoints now and then should
	// use Checkpoints instead.
	OnCheckpoint func(checkpoint json.RawMessage)
	// Checkpoints, if set, is told of each change of the checkpoint and
	// encodes it only when its Snapshot is called.
	Checkpoints *Checkpoints
	// Rand drives retry jitter, States.MathRandom, States.UUID, $random,
	// $uuid and task tokens; nil seeds one from crypto/rand.
	Rand rand.Source
	// OnChildRun is told when a distributed Map child run starts and ends.
	OnChildRun func(ChildRun)
}

// ChildRun reports a distributed Map child execution.
type ChildRun struct {
	MapState string          `json:"mapState"`
	Index    int             `json:"index"`
	Status   string          `json:"status"` // RUNNING, SUCCEEDED, FAILED, ABORTED
	Input    json.RawMessage `json:"input"`
	Output   json.RawMessage `json:"output,omitempty"`
	Error    string          `json:"error,omitempty"`
	Cause    string          `json:"cause,omitempty"`
}

// Execution statuses, as DescribeExecution reports them, plus Suspended for
// a run stopped with ErrSuspend that a Resume will continue.
const (
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
	StatusTimedOut  = "TIMED_OUT"
	StatusAborted   = "ABORTED"
	StatusSuspended = "SUSPENDED"
)

// ErrSuspend, as the cause of cancelling the context given to Start or
// Resume (context.WithCancelCause), stops the run without ending the
// execution: no ExecutionAborted event is recorded and the last checkpoint
// stays valid for Resume. Any other cancellation aborts the execution.
var ErrSuspend = errors.New("asl: execution suspended")

var (
	errExecutionTimeout = errors.New("asl: execution timed out")
	errTaskTimeout      = errors.New("asl: task timed out")
	errHeartbeatTimeout = errors.New("asl: task heartbeat timed out")
)

// Result is how an execution ended.
type Result struct {
	Status string
	Output json.RawMessage // SUCCEEDED only
	Error  string
	Cause  string
}

// Interpreter runs executions of one definition. It is safe for concurrent
// use; each Start or Resume is an independent run.
type Interpreter struct {
	def *Definition
	cfg Config
}

// New returns an interpreter for def.
func New(def *Definition, cfg Config) *Interpreter {
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	return &Interpreter{def: def, cfg: cfg}
}

// run is the state of one execution.
type run struct {
	def          *Definition
	tasks        TaskRunner
	clock        Clock
	events       EventSink
	onCheckpoint func(json.RawMessage)
	onChildRun   func(ChildRun)
	rand         *randSource
	testing      bool        // TestState: no waits, retries reported not run
	insp         *Inspection // TestState inspection data, nil otherwise
	ckpts        *Checkpoints

	mu sync.Mutex // guards cp (frames, event ids), event emission and what follows
	cp Checkpoint
	// dirty: cp changed since the last Checkpoints.Snapshot.
	dirty bool
	// cpHead is the encoded start of the checkpoint, up to lastEventId's
	// value (the execution and its input never change during a run);
	// cpSize the size of the last encoded checkpoint.
	cpHead []byte
	cpSize int
	stats  checkpointStats
}

func (it *Interpreter) newRun() *run {
	return &run{
		def: it.def, tasks: it.cfg.Tasks, clock: it.cfg.Clock, events: it.cfg.Events,
		onCheckpoint: it.cfg.OnCheckpoint, onChildRun: it.cfg.OnChildRun, ckpts: it.cfg.Checkpoints,
		rand: newRandSource(it.cfg.Rand),
	}
}

// attach makes r the run that Config.Checkpoints snapshots.
func (r *run) attach() {
	if r.ckpts != nil {
		r.ckpts.attach(r)
	}
}

// Start runs a new execution to its end (or until ctx is done).
func (it *Interpreter) Start(ctx context.Context, exec Execution, input json.RawMessage) Result {
	r := it.newRun()
	if exec.StartTime.IsZero() {
		exec.StartTime = r.clock.Now()
	}
	in, err := decodeJSON(input)
	if err != nil {
		return Result{Status: StatusFailed, Error: ErrRuntime, Cause: fmt.Sprintf("invalid execution input: %v", err)}
	}
	r.cp = Checkpoint{Execution: exec, Input: in, Root: &Frame{State: it.def.StartAt, Input: in}}
	r.attach()
	r.update(func() {
		r.emitLocked(nil, "ExecutionStarted", func(ev *HistoryEvent) {
			ev.ExecutionStartedEventDetails = &ExecutionStartedEventDetails{Input: mustJSON(in), RoleArn: exec.RoleARN}
		})
	})
	return r.execute(ctx)
}

// Resume continues an execution from a checkpoint produced by
// Config.OnCheckpoint.
func (it *Interpreter) Resume(ctx context.Context, checkpoint json.RawMessage) (Result, error) {
	cp, err := decodeCheckpoint(checkpoint)
	if err != nil {
		return Result{}, err
	}
	r := it.newRun()
	r.cp = *cp
	r.attach()
	return r.execute(ctx), nil
}

// execute runs the top-level machine and records how the execution ended.
func (r *run) execute(ctx context.Context) Result {
	if r.def.TimeoutSeconds > 0 {
		deadline := r.cp.Execution.StartTime.Add(time.Duration(r.def.TimeoutSeconds) * time.Second)
		var cancel context.CancelFunc
		ctx, cancel = r.clock.WithTimeout(ctx, deadline.Sub(r.clock.Now()), errExecutionTimeout)
		defer cancel()
	}
	root := r.cp.Root
	out, err := r.runMachine(ctx, &r.def.Machine, root, &scope{frame: root})
	var res Result
	var serr *Error
	switch {
	case err == nil:
		b, _ := marshalJSON(out)
		res = Result{Status: StatusSucceeded, Output: b}
		r.update(func() {
			r.emitLocked(root, "ExecutionSucceeded", func(ev *HistoryEvent) {
				ev.ExecutionSucceededEventDetails = &OutputDetails{Output: string(b)}
			})
		})
	case errors.As(err, &serr):
		res = Result{Status: StatusFailed, Error: serr.Name, Cause: serr.Cause}
		r.update(func() {
			r.emitLocked(root, "ExecutionFailed", func(ev *HistoryEvent) {
				ev.ExecutionFailedEventDetails = &ErrorDetails{Error: serr.Name, Cause: serr.Cause}
			})
		})
	case errors.Is(context.Cause(ctx), errExecutionTimeout):
		res = Result{Status: StatusTimedOut, Error: ErrTimeout, Cause: "The execution timed out"}
		r.update(func() {
			r.emitLocked(root, "ExecutionTimedOut", func(ev *HistoryEvent) {
				ev.ExecutionTimedOutEventDetails = &ErrorDetails{Error: ErrTimeout, Cause: res.Cause}
			})
		})
	case errors.Is(context.Cause(ctx), ErrSuspend):
		res = Result{Status: StatusSuspended}
	default:
		res = Result{Status: StatusAborted}
		r.update(func() {
			r.emitLocked(root, "ExecutionAborted", func(ev *HistoryEvent) {
				ev.ExecutionAbortedEventDetails = &ErrorDetails{}
			})
		})
	}
	return res
}

// scope is a variable scope: a frame's own variables and, read-only, those
// of the enclosing scopes.
type scope struct {
	frame  *Frame
	parent *scope
	// up is the enclosing thread's scope even where variables are not
	// inherited (distributed Map children): it locates a Task attempt.
	up *scope
}

func (s *scope) lookup(name string) (any, bool) {
	for c := s; c != nil; c = c.parent {
		if v, ok := c.frame.Vars[name]; ok {
			return v, true
		}
	}
	return nil, false
}

// all flattens the visible variables, inner scopes shadowing outer ones.
func (s *scope) all() map[string]any {
	out := map[string]any{}
	var chain []*scope
	for c := s; c != nil; c = c.parent {
		chain = append(chain, c)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		for k, v := range chain[i].frame.Vars {
			out[k] = v
		}
	}
	return out
}

// stateResult is how a state ended when it did not fail.
type stateResult struct {
	next     string
	end      bool
	output   any
	assigned map[string]any // variables to set as the state exits
}

// runMachine runs states from fr.State until the machine ends. It returns
// the machine's output, an *Error when the machine failed, or the context's
// error when it was stopped.
func (r *run) runMachine(ctx context.Context, m *Machine, fr *Frame, sc *scope) (any, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		st := m.States[fr.State]
		if st == nil {
			return nil, newError(ErrRuntime, "state %q does not exist", fr.State)
		}
		if !fr.Entered {
			r.enterState(fr, st)
		}
		res, err := r.execState(ctx, st, fr, sc)
		if err != nil {
			return nil, err
		}
		r.exitState(fr, st, res)
		if res.end {
			return res.output, nil
		}
		r.update(func() {
			fr.State, fr.Input, fr.inEnc, fr.Entered = res.next, res.output, nil, false
			fr.Retries, fr.RetryCount, fr.WaitUntil, fr.Children = nil, 0, nil, nil
			fr.Step++
			fr.Submitted = nil
		})
	}
}

func (r *run) enterState(fr *Frame, st *State) {
	r.update(func() {
		fr.Entered, fr.EnteredTime = true, r.clock.Now()
		b, err := marshalJSON(fr.Input)
		in := string(b)
		if err != nil {
			in = mustJSON(fr.Input)
		} else if fr.inEnc == nil && (r.ckpts != nil || r.onCheckpoint != nil) {
			fr.inEnc = b // the checkpoint's encoding of the input, too
		}
		r.emitLocked(fr, st.Type+"StateEntered", func(ev *HistoryEvent) {
			ev.StateEnteredEventDetails = &StateEnteredEventDetails{Name: st.Name, Input: in}
		})
	})
}

// exitState commits the state's variable assignments and records its exit.
func (r *run) exitState(fr *Frame, st *State, res stateResult) {
	r.update(func() {
		var assigned map[string]string
		if len(res.assigned) > 0 {
			vars := make(map[string]any, len(fr.Vars)+len(res.assigned))
			for k, v := range fr.Vars {
				vars[k] = v
			}
			assigned = map[string]string{}
			for k, v := range res.assigned {
				vars[k] = v
				assigned[k] = mustJSON(v)
			}
			fr.Vars = vars
		}
		if st.Type == TypeFail {
			return
		}
		r.emitLocked(fr, st.Type+"StateExited", func(ev *HistoryEvent) {
			ev.StateExitedEventDetails = &StateExitedEventDetails{Name: st.Name, Output: mustJSON(res.output), AssignedVariables: assigned}
			if assigned != nil {
				ev.StateExitedEventDetails.AssignedVariablesDetails = &Truncation{}
			}
		})
	})
}
