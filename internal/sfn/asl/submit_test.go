package asl

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
)

// Every Task attempt has its own AttemptID: Map iterations, Parallel branches, retries and a
// state entered again by a loop.
func TestAttemptIDsAreDistinct(t *testing.T) {
	t.Parallel()
	h := newHarness()
	const res = "arn:aws:states:::batch:submitJob.sync"
	failed := false
	h.on(res, func(_ context.Context, req TaskRequest) (json.RawMessage, error) {
		var in struct{ Flaky bool }
		json.Unmarshal(req.Input, &in)
		if in.Flaky && !failed {
			failed = true
			return nil, &Error{Name: "Boom"}
		}
		return []byte(`{}`), nil
	})
	def := `{"StartAt":"Init","States":{
	  "Init":{"Type":"Pass","Result":0,"ResultPath":"$.i","Next":"Par"},
	  "Par":{"Type":"Parallel","ResultPath":null,"Next":"Loop","Branches":[
	    {"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":1,"ItemProcessor":{"StartAt":"J","States":{"J":{"Type":"Task","Resource":"` + res + `","End":true}}},"End":true}}},
	    {"StartAt":"K","States":{"K":{"Type":"Task","Resource":"` + res + `","Parameters":{"Flaky":true},"Retry":[{"ErrorEquals":["Boom"],"IntervalSeconds":1}],"End":true}}}]},
	  "Loop":{"Type":"Task","Resource":"` + res + `","ResultPath":null,"Next":"Count"},
	  "Count":{"Type":"Pass","Parameters":{"i.$":"States.MathAdd($.i, 1)","items.$":"$.items"},"Next":"Again"},
	  "Again":{"Type":"Choice","Choices":[{"Variable":"$.i","NumericLessThan":2,"Next":"Loop"}],"Default":"Done"},
	  "Done":{"Type":"Succeed"}}}`
	h.mustRun(t, def, `{"items":[1,2]}`)
	seen := map[string]bool{}
	for _, c := range h.tasks.Calls() {
		if c.AttemptID == "" || seen[c.AttemptID] {
			t.Fatalf("attempt id %q repeated or empty among %d calls", c.AttemptID, len(h.tasks.Calls()))
		}
		seen[c.AttemptID] = true
	}
	if len(seen) != 2+2+2 { // two iterations, K twice (a retry), Loop twice
		t.Fatalf("%d attempts: %v", len(seen), seen)
	}
}

// What a Task attempt records with Submit comes back, with the same AttemptID, to the attempt
// resumed from a checkpoint, and a TaskSubmitted event carries it.
func TestSubmittedSurvivesResume(t *testing.T) {
	t.Parallel()
	def := `{"StartAt":"J","States":{"J":{"Type":"Task","Resource":"arn:aws:states:::batch:submitJob.sync","End":true}}}`
	d, err := Parse(def)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness()
	var mu sync.Mutex
	var last json.RawMessage
	h.cfg.OnCheckpoint = func(cp json.RawMessage) {
		mu.Lock()
		defer mu.Unlock()
		last = append(json.RawMessage{}, cp...)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	var firstID string
	h.on("arn:aws:states:::batch:submitJob.sync", func(ctx context.Context, req TaskRequest) (json.RawMessage, error) {
		if req.Submitted != nil {
			t.Errorf("a fresh attempt got Submitted %s", req.Submitted)
		}
		firstID = req.AttemptID
		req.Submit(json.RawMessage(`{"JobId":"j-1"}`))
		cancel(ErrSuspend)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	if res := New(d, h.cfg).Start(ctx, testExec, json.RawMessage(`{}`)); res.Status != StatusSuspended {
		t.Fatalf("first run: %+v", res)
	}
	if n := count(h.sink.Types(), "TaskSubmitted"); n != 1 {
		t.Fatalf("%d TaskSubmitted events", n)
	}
	h2 := newHarness()
	h2.on("arn:aws:states:::batch:submitJob.sync", func(_ context.Context, req TaskRequest) (json.RawMessage, error) {
		if string(req.Submitted) != `{"JobId":"j-1"}` || req.AttemptID != firstID {
			t.Errorf("resumed attempt: submitted %s id %q, want %q", req.Submitted, req.AttemptID, firstID)
		}
		return []byte(`{"done":true}`), nil
	})
	mu.Lock()
	cp := last
	mu.Unlock()
	res, err := New(d, h2.cfg).Resume(context.Background(), cp)
	if err != nil || res.Status != StatusSucceeded {
		t.Fatalf("resumed: %+v %v", res, err)
	}
}

func count(types []string, typ string) int {
	n := 0
	for _, t := range types {
		if t == typ {
			n++
		}
	}
	return n
}
