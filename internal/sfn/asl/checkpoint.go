package asl

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Checkpoint is everything needed to continue an execution after a
// restart: the execution's identity and the progress of every running
// (sub-)machine. The interpreter hands one, JSON-encoded, to
// Config.OnCheckpoint after each state transition, or to whoever asks
// Config.Checkpoints for a snapshot; Resume continues from it.
//
// Resuming re-runs the state that was in progress when the checkpoint was
// taken (a Task that had not completed runs again), but never a state that
// had completed: its transition is what produced the checkpoint. History
// events with ids above LastEventID were not covered by the checkpoint and
// should be dropped by the store before resuming.
type Checkpoint struct {
	Execution   Execution `json:"execution"`
	Input       any       `json:"input"`
	LastEventID int64     `json:"lastEventId"`
	Root        *Frame    `json:"root"`
}

// Frame is the progress of one machine run: the top level, a Parallel
// branch or a Map iteration. A branch or iteration that succeeded keeps
// only what its parent needs (Index, Done, Output, Prev).
type Frame struct {
	State       string         `json:"state,omitempty"`      // current state
	Input       any            `json:"input"`                // raw input of the current state
	Entered     bool           `json:"entered,omitempty"`    // its StateEntered event was recorded
	EnteredTime time.Time      `json:"enteredTime,omitzero"` //
	Vars        map[string]any `json:"vars,omitempty"`       // variables of this scope
	Retries     []int          `json:"retries,omitempty"`
	RetryCount  int            `json:"retryCount,omitempty"`
	// Step counts the transitions this thread made: with the state's name
	// and the retry count it tells apart each entry of a state (loops).
	Step int `json:"step,omitempty"`
	// Submitted is what the Task attempt in progress recorded with
	// TaskRequest.Submit (a job it submitted): a resumed attempt re-attaches
	// to it. Cleared by a retry and a transition.
	Submitted json.RawMessage `json:"submitted,omitempty"`
	// WaitUntil is the end of a Wait state or retry backoff in progress, so
	// that a resumed wait does not start over.
	WaitUntil *time.Time `json:"waitUntil,omitempty"`
	// Children are the branches or iterations of the Parallel or Map state
	// in progress, each with its own progress.
	Children []*Frame `json:"children,omitempty"`
	Index    int      `json:"index,omitempty"`
	Started  bool     `json:"started,omitempty"` // MapIterationStarted recorded
	Done     bool     `json:"done,omitempty"`
	Output   any      `json:"output,omitempty"`
	Err      *Error   `json:"error,omitempty"`
	Prev     int64    `json:"prev"`               // last history event of this thread
	Detached bool     `json:"detached,omitempty"` // distributed Map child: no history in the parent

	// inEnc, when set, is the encoding of Input (cleared whenever Input
	// changes); enc, when set, is the encoding of the whole frame of a
	// branch or iteration that did not start yet or is done, which does
	// not change until it starts (cleared then) or ever after. Both spare
	// re-encoding unchanged parts of the checkpoint.
	inEnc []byte
	enc   []byte
	// doneEnc is the encoding of Children[:doneN], all done, comma-joined,
	// while Children[0] is doneOf (a new Children starts afresh): a Map's
	// finished iterations are copied in one piece.
	doneEnc []byte
	doneN   int
	doneOf  *Frame
}

// frameJSON is Frame with the fields that the checkpoint encoder splices
// in itself (Input, Children) left out; a Frame converts to it.
type frameJSON struct {
	State       string          `json:"state,omitempty"`
	Input       any             `json:"-"`
	Entered     bool            `json:"entered,omitempty"`
	EnteredTime time.Time       `json:"enteredTime,omitzero"`
	Vars        map[string]any  `json:"vars,omitempty"`
	Retries     []int           `json:"retries,omitempty"`
	RetryCount  int             `json:"retryCount,omitempty"`
	Step        int             `json:"step,omitempty"`
	Submitted   json.RawMessage `json:"submitted,omitempty"`
	WaitUntil   *time.Time      `json:"waitUntil,omitempty"`
	Children    []*Frame        `json:"-"`
	Index       int             `json:"index,omitempty"`
	Started     bool            `json:"started,omitempty"`
	Done        bool            `json:"done,omitempty"`
	Output      any             `json:"output,omitempty"`
	Err         *Error          `json:"error,omitempty"`
	Prev        int64           `json:"prev"`
	Detached    bool            `json:"detached,omitempty"`
	inEnc       []byte
	enc         []byte
	doneEnc     []byte
	doneN       int
	doneOf      *Frame
}

// Checkpoints hands out a run's checkpoint when its consumer asks for it,
// rather than encoding it after every transition as Config.OnCheckpoint
// does: a consumer that writes checkpoints every so often pays for one
// encoding per write. It serves one run at a time (the latest Start or
// Resume of the interpreter it is configured on).
type Checkpoints struct {
	// OnChange, if set, is called after each change of the checkpoint (each
	// state transition, and when a wait or retry backoff starts), with the
	// interpreter's lock held: it must be quick and must not call back into
	// the interpreter or Checkpoints.
	OnChange func()

	mu sync.Mutex
	r  *run
}

func (c *Checkpoints) attach(r *run) {
	c.mu.Lock()
	c.r = r
	c.mu.Unlock()
}

func (c *Checkpoints) run() *run {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.r
}

// Snapshot returns the JSON-encoded checkpoint of the run as it is now, or
// nil when the run has not started or the checkpoint has not changed since
// the previous Snapshot (or c is nil). Every history event with an id up to the
// snapshot's LastEventID has been given to the EventSink before Snapshot
// returns.
func (c *Checkpoints) Snapshot() json.RawMessage {
	r := c.run()
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.dirty {
		return nil
	}
	b := r.snapshotLocked()
	if b != nil {
		r.dirty = false
	}
	return b
}

// Pending tells whether the checkpoint changed since the previous Snapshot.
func (c *Checkpoints) Pending() bool {
	r := c.run()
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dirty
}

// snapshotLocked encodes the current checkpoint. Callers hold r.mu.
func (r *run) snapshotLocked() json.RawMessage {
	b, err := r.encodeCheckpointLocked()
	if err != nil {
		// Values are decoded JSON, so this cannot happen; a checkpoint
		// that cannot be written is skipped rather than crashing the run.
		return nil
	}
	return b
}

// encodeCheckpointLocked encodes r.cp as json.Marshal would (bar the order
// of a frame's fields), reusing the encodings of what did not change: the
// execution and its input, each frame's input, and finished frames.
func (r *run) encodeCheckpointLocked() ([]byte, error) {
	if r.cpHead == nil {
		ex, err := json.Marshal(r.cp.Execution)
		if err != nil {
			return nil, err
		}
		in, err := marshalJSON(r.cp.Input)
		if err != nil {
			return nil, err
		}
		head := append([]byte(`{"execution":`), ex...)
		head = append(append(head, `,"input":`...), in...)
		r.cpHead = append(head, `,"lastEventId":`...)
		r.stats.encodedBytes += int64(len(r.cpHead))
	}
	buf := make([]byte, 0, r.cpSize+64)
	buf = append(buf, r.cpHead...)
	buf = strconv.AppendInt(buf, r.cp.LastEventID, 10)
	buf = append(buf, `,"root":`...)
	var err error
	if r.cp.Root == nil {
		buf = append(buf, "null"...)
	} else if buf, err = r.appendFrame(buf, r.cp.Root, false); err != nil {
		return nil, err
	}
	buf = append(buf, '}')
	r.cpSize = len(buf)
	r.stats.snapshots++
	return buf, nil
}

// appendFrame appends the encoding of f, a branch or iteration if child,
// to buf.
func (r *run) appendFrame(buf []byte, f *Frame, child bool) ([]byte, error) {
	settled := child && (f.Done || !f.Started)
	if settled && f.enc != nil {
		return append(buf, f.enc...), nil
	}
	start := len(buf)
	if f.inEnc == nil {
		in, err := marshalJSON(f.Input)
		if err != nil {
			return nil, err
		}
		f.inEnc = in
		r.stats.encodedBytes += int64(len(in))
	}
	b, err := json.Marshal(frameJSON(*f))
	if err != nil {
		return nil, err
	}
	r.stats.encodedBytes += int64(len(b))
	// b is an object with at least "prev": drop its closing brace and
	// append the spliced fields.
	buf = append(buf, b[:len(b)-1]...)
	if string(f.inEnc) != "null" { // absent decodes to null too
		buf = append(buf, `,"input":`...)
		buf = append(buf, f.inEnc...)
	}
	if len(f.Children) > 0 {
		if f.doneOf != f.Children[0] {
			f.doneEnc, f.doneN, f.doneOf = nil, 0, f.Children[0]
		}
		for f.doneN < len(f.Children) && f.Children[f.doneN] != nil && f.Children[f.doneN].Done {
			c := f.Children[f.doneN]
			if f.doneN > 0 {
				f.doneEnc = append(f.doneEnc, ',')
			}
			if f.doneEnc, err = r.appendFrame(f.doneEnc, c, true); err != nil {
				f.doneEnc, f.doneN, f.doneOf = nil, 0, nil
				return nil, err
			}
			c.enc = nil // kept in doneEnc
			f.doneN++
		}
		buf = append(buf, `,"children":[`...)
		buf = append(buf, f.doneEnc...)
		for i := f.doneN; i < len(f.Children); i++ {
			if i > 0 {
				buf = append(buf, ',')
			}
			c := f.Children[i]
			if c == nil {
				buf = append(buf, "null"...)
				continue
			}
			if buf, err = r.appendFrame(buf, c, true); err != nil {
				return nil, err
			}
		}
		buf = append(buf, ']')
	}
	buf = append(buf, '}')
	if settled {
		f.enc = append([]byte(nil), buf[start:]...)
	}
	return buf, nil
}

// checkpointStats counts checkpoint work, for tests.
type checkpointStats struct {
	snapshots    int   // checkpoints encoded
	encodedBytes int64 // bytes freshly encoded (not reused from a cache)
}

// update applies fn to the run state under the lock and then marks the
// checkpoint changed: Config.Checkpoints is told, and Config.OnCheckpoint
// is handed the encoded checkpoint, so that every persisted checkpoint is a
// consistent cut even while branches run concurrently.
func (r *run) update(fn func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn()
	if r.testing {
		return
	}
	if r.ckpts != nil {
		r.dirty = true
		if r.ckpts.OnChange != nil {
			r.ckpts.OnChange()
		}
	}
	if r.onCheckpoint != nil {
		if b := r.snapshotLocked(); b != nil {
			r.onCheckpoint(b)
		}
	}
}

// finishFrame marks a branch or iteration done and drops what its parent no
// longer needs from a successful one, keeping the checkpoint compact.
// Callers hold r.mu.
func finishFrame(ch *Frame, out any, err *Error) {
	ch.Done, ch.Output, ch.Err, ch.enc = true, out, err, nil
	if err != nil {
		return // a redrive runs a failed one again from its state and input
	}
	ch.State, ch.Input, ch.inEnc, ch.Entered, ch.EnteredTime = "", nil, nil, false, time.Time{}
	ch.Vars, ch.Retries, ch.RetryCount, ch.Step, ch.Started = nil, nil, 0, 0, false
	ch.Submitted, ch.WaitUntil, ch.Children = nil, nil, nil
}

func decodeCheckpoint(data []byte) (*Checkpoint, error) {
	var cp Checkpoint
	if err := json.Unmarshal(data, &cp); err != nil {
		return nil, fmt.Errorf("decode checkpoint: %w", err)
	}
	if cp.Root == nil {
		return nil, fmt.Errorf("decode checkpoint: no root frame")
	}
	normalizeFrame(cp.Root)
	cp.Input = normalize(cp.Input)
	return &cp, nil
}

// normalizeFrame turns decoded numbers and containers into plain values.
func normalizeFrame(f *Frame) {
	f.Input = normalize(f.Input)
	f.Output = normalize(f.Output)
	for k, v := range f.Vars {
		f.Vars[k] = normalize(v)
	}
	for _, c := range f.Children {
		normalizeFrame(c)
	}
}
