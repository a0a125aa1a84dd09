package asl

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
)

// A run suspended after some transitions and resumed from its last
// checkpoint ends with the same output, and no completed task runs again.
func TestCheckpointResume(t *testing.T) {
	t.Parallel()
	def := `{"StartAt":"A","States":{
		"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"step":"A","v.$":"$.v"},"ResultSelector":{"v.$":"$.v"},"Assign":{"seen":"A"},"Next":"P"},
		"P":{"Type":"Parallel","Branches":[
			{"StartAt":"B1","States":{"B1":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"step":"B1"},"End":true}}},
			{"StartAt":"B2","States":{"B2":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"step":"B2"},"Next":"B3"},
				"B3":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"step":"B3"},"End":true}}}],
			"ResultPath":"$.par","Next":"W"},
		"W":{"Type":"Wait","Seconds":30,"Next":"C"},
		"C":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"step":"C","v.$":"$.v","seen.$":"$seen","par.$":"$.par"},"End":true}}}`
	d, err := Parse(def)
	if err != nil {
		t.Fatal(err)
	}
	// Reference: an uninterrupted run.
	ref := newHarness()
	want := ref.mustRun(t, def, `{"v":1}`)

	for _, stopAt := range []string{"B3", "C"} {
		h := newHarness()
		ctx, cancel := context.WithCancelCause(context.Background())
		var mu sync.Mutex
		var last json.RawMessage
		b1Done := make(chan struct{})
		var once sync.Once
		h.cfg.OnCheckpoint = func(cp json.RawMessage) {
			mu.Lock()
			defer mu.Unlock()
			last = append(json.RawMessage{}, cp...)
			var c Checkpoint
			if json.Unmarshal(cp, &c) == nil && len(c.Root.Children) > 0 && c.Root.Children[0].Done {
				once.Do(func() { close(b1Done) })
			}
		}
		completed := map[string]int{}
		h.on(lambdaInvoke, func(ctx context.Context, req TaskRequest) (json.RawMessage, error) {
			var in struct{ Step string }
			_ = json.Unmarshal(req.Input, &in)
			if in.Step == stopAt {
				if stopAt == "B3" {
					<-b1Done // stop once the other branch's completion is checkpointed
				}
				cancel(ErrSuspend) // the server shuts down while this task runs
				<-ctx.Done()
				return nil, ctx.Err()
			}
			mu.Lock()
			completed[in.Step]++
			mu.Unlock()
			return req.Input, nil
		})
		res := New(d, h.cfg).Start(ctx, testExec, json.RawMessage(`{"v":1}`))
		if res.Status != StatusSuspended {
			t.Fatalf("stop at %s: status %+v", stopAt, res)
		}
		for _, e := range h.sink.Types() {
			if e == "ExecutionAborted" {
				t.Errorf("a suspended run recorded ExecutionAborted")
			}
		}
		mu.Lock()
		cp := last
		mu.Unlock()

		// Resume on a "new server" whose tasks all succeed.
		h2 := newHarness()
		h2.on(lambdaInvoke, func(_ context.Context, req TaskRequest) (json.RawMessage, error) {
			var in struct{ Step string }
			_ = json.Unmarshal(req.Input, &in)
			mu.Lock()
			completed[in.Step]++
			mu.Unlock()
			return req.Input, nil
		})
		res2, err := New(d, h2.cfg).Resume(context.Background(), cp)
		if err != nil || res2.Status != StatusSucceeded {
			t.Fatalf("resume after %s: %+v %v", stopAt, res2, err)
		}
		jsonEq(t, string(res2.Output), want)
		for step, n := range completed {
			if n != 1 {
				t.Errorf("stop at %s: task %s completed %d times", stopAt, step, n)
			}
		}
		evs := h2.sink.Events()
		if len(evs) == 0 || evs[0].ID <= 1 {
			t.Errorf("resumed history restarts ids: %+v", evs)
		}
	}
}

// A wait interrupted by a restart waits only for what is left.
func TestCheckpointResumeWait(t *testing.T) {
	t.Parallel()
	d, _ := Parse(`{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":100,"End":true}}}`)
	h := newHarness()
	var last json.RawMessage
	ctx, cancel := context.WithCancelCause(context.Background())
	h.cfg.OnCheckpoint = func(cp json.RawMessage) {
		last = append(json.RawMessage{}, cp...)
		var c Checkpoint
		if json.Unmarshal(cp, &c) == nil && c.Root.WaitUntil != nil {
			cancel(ErrSuspend) // stop once the deadline is recorded
		}
	}
	if res := New(d, h.cfg).Start(ctx, testExec, json.RawMessage(`{}`)); res.Status != StatusSuspended {
		t.Fatalf("status %+v", res)
	}
	h2 := newHarness()
	h2.clock.Advance(40e9) // 40 s later
	res, err := New(d, h2.cfg).Resume(context.Background(), last)
	if err != nil || res.Status != StatusSucceeded {
		t.Fatalf("resume %+v %v", res, err)
	}
	if got := h2.clock.Sleeps(); len(got) != 1 || got[0] != 60e9 {
		t.Errorf("sleeps after resume %v, want [1m0s]", got)
	}
}
