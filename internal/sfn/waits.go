package sfn

import (
	"bytes"
	"encoding/json"
	"time"
)

// cpFrame is the part of an asl checkpoint frame that says whether it waits.
type cpFrame struct {
	WaitUntil *time.Time `json:"waitUntil"`
	Children  []*cpFrame `json:"children"`
	Done      bool       `json:"done"`
}

// cpProbe reads what a checkpoint says about waiting.
type cpProbe struct {
	Execution struct {
		StartTime time.Time `json:"startTime"`
	} `json:"execution"`
	Root *cpFrame `json:"root"`
}

// wakeOf returns when a frame can next make progress if all it runs waits (a Wait state or a
// retry backoff), or false when some part of it is working.
func wakeOf(f *cpFrame) (time.Time, bool) {
	if f == nil {
		return time.Time{}, false
	}
	if len(f.Children) > 0 {
		var wake time.Time
		waiting := false
		for _, c := range f.Children {
			if c == nil || c.Done {
				continue
			}
			w, ok := wakeOf(c)
			if !ok {
				return time.Time{}, false
			}
			if !waiting || w.Before(wake) {
				wake = w
			}
			waiting = true
		}
		return wake, waiting
	}
	if f.WaitUntil == nil {
		return time.Time{}, false
	}
	return *f.WaitUntil, true
}

// maybeSuspendForWait suspends the run when its newest written checkpoint has every branch
// waiting for longer than SuspendAfter: its run item is then left unowned, visible when it
// wakes (or its execution times out), for any server to claim.
func (r *liveRun) maybeSuspendForWait() {
	if r.item == nil {
		return
	}
	if r.probed != r.item {
		// Probe each written item once: a large checkpoint is costly to decode.
		r.probed, r.probeOK = r.item, false
		rec, err := r.record()
		var p cpProbe
		if err != nil || !bytes.Contains(rec.Checkpoint, []byte(`"waitUntil"`)) || json.Unmarshal(rec.Checkpoint, &p) != nil {
			return
		}
		wake, ok := wakeOf(p.Root)
		if !ok {
			return
		}
		if r.def.TimeoutSeconds > 0 {
			if deadline := p.Execution.StartTime.Add(time.Duration(r.def.TimeoutSeconds) * time.Second); deadline.Before(wake) {
				wake = deadline
			}
		}
		r.probeWake, r.probeOK = wake, true
	}
	wake := r.probeWake
	if !r.probeOK || time.Until(wake) <= r.s.cfg.SuspendAfter {
		return
	}
	// Progress not written yet (the interpreter's lock is taken before r.mu, never inside it).
	pending := r.unwritten != nil || r.ckpts.Pending()
	r.mu.Lock()
	pending = pending || len(r.events) > 0
	if !pending {
		r.wake = wake
	}
	r.mu.Unlock()
	if !pending {
		r.cancel(errWaitSuspend)
	}
}
