package asl

import (
	"encoding/json"
	"fmt"
	"time"
)

// Checkpoint is everything needed to continue an execution after a
// restart: the execution's identity and the progress of every running
// (sub-)machine. The interpreter hands one, JSON-encoded, to
// Config.OnCheckpoint after each state transition; Resume continues from it.
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
// branch or a Map iteration.
type Frame struct {
	State       string         `json:"state"`             // current state
	Input       any            `json:"input"`             // raw input of the current state
	Entered     bool           `json:"entered,omitempty"` // its StateEntered event was recorded
	EnteredTime time.Time      `json:"enteredTime"`
	Vars        map[string]any `json:"vars,omitempty"` // variables of this scope
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
}

// snapshotLocked encodes the current checkpoint. Callers hold r.mu.
func (r *run) snapshotLocked() json.RawMessage {
	b, err := json.Marshal(r.cp)
	if err != nil {
		// Values are decoded JSON, so this cannot happen; a checkpoint
		// that cannot be written is skipped rather than crashing the run.
		return nil
	}
	return b
}

// update applies fn to the run state under the lock and then hands a
// checkpoint to the caller's hook, so that every persisted checkpoint is a
// consistent cut even while branches run concurrently.
func (r *run) update(fn func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn()
	if r.onCheckpoint != nil && !r.testing {
		if b := r.snapshotLocked(); b != nil {
			r.onCheckpoint(b)
		}
	}
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
