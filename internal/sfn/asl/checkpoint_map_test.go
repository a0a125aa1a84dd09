package asl

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// mapDef is a Map of a single Task over its input array.
const mapDef = `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":%d,"End":true,
	"ItemProcessor":{"StartAt":"F","States":{"F":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
		"Parameters":{"n.$":"$"},"ResultSelector":{"twice.$":"$.twice"},"End":true}}}}}}`

// double is the fake function of mapDef's Task: {"n":n} -> {"twice":2n}.
func double(_ context.Context, req TaskRequest) (json.RawMessage, error) {
	var in struct{ N int }
	if err := json.Unmarshal(req.Input, &in); err != nil {
		return nil, err
	}
	return json.RawMessage(fmt.Sprintf(`{"twice":%d}`, 2*in.N)), nil
}

func itemsJSON(n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprint(i)
	}
	return "[" + strings.Join(s, ",") + "]"
}

func doubledJSON(n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf(`{"twice":%d}`, 2*i)
	}
	return "[" + strings.Join(s, ",") + "]"
}

// sameCheckpoint checks that two encoded checkpoints resume the same: they decode to the same
// Checkpoint.
func sameCheckpoint(t *testing.T, got, want []byte) {
	t.Helper()
	g, err1 := decodeCheckpoint(got)
	w, err2 := decodeCheckpoint(want)
	if err1 != nil || err2 != nil {
		t.Fatalf("decode: %v, %v", err1, err2)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Errorf("checkpoint differs from json.Marshal's:\ngot  %.2000s\nwant %.2000s", gb, wb)
	}
}

// The checkpoint work per transition does not grow with the number of finished Map
// iterations. With Config.Checkpoints nothing is encoded until a snapshot is asked for; a
// snapshot taken at every item encodes afresh only what changed, so the bytes freshly encoded
// per snapshot are about the same for 100 and 1,000 items. Every checkpoint, also those that
// Config.OnCheckpoint gets after each transition, decodes to what json.Marshal gives.
func TestCheckpointMapWorkPerTransition(t *testing.T) {
	t.Parallel()
	d, err := Parse(fmt.Sprintf(mapDef, 1)) // one iteration at a time: the same work at each step
	if err != nil {
		t.Fatal(err)
	}
	freshPerSnapshot := map[int]float64{}
	for _, n := range []int{100, 1000} {
		// Lazy, and no snapshot asked for: changes are signalled, nothing is encoded.
		h := newHarness()
		h.on(lambdaInvoke, double)
		var changes atomic.Int64
		ck := &Checkpoints{OnChange: func() { changes.Add(1) }}
		h.cfg.Checkpoints = ck
		res := New(d, h.cfg).Start(context.Background(), testExec, json.RawMessage(itemsJSON(n)))
		if res.Status != StatusSucceeded {
			t.Fatalf("n=%d: %+v", n, res)
		}
		jsonEq(t, string(res.Output), doubledJSON(n))
		if st := ck.r.stats; st.snapshots != 0 || st.encodedBytes != 0 {
			t.Errorf("n=%d: %d checkpoints (%d bytes) encoded that nobody asked for", n, st.snapshots, st.encodedBytes)
		}
		if got := changes.Load(); got < int64(4*n) {
			t.Errorf("n=%d: %d changes signalled, want one per transition (at least %d)", n, got, 4*n)
		}
		if ck.Snapshot() == nil || ck.Snapshot() != nil {
			t.Errorf("n=%d: Snapshot should give the checkpoint once, then nil until it changes", n)
		}

		// A snapshot at every item, checked against json.Marshal now and then.
		h = newHarness()
		ck = &Checkpoints{}
		h.cfg.Checkpoints = ck
		var snaps int
		h.on(lambdaInvoke, func(ctx context.Context, req TaskRequest) (json.RawMessage, error) {
			cp := ck.Snapshot()
			if cp == nil {
				t.Errorf("n=%d: no snapshot after a transition", n)
			}
			if snaps++; snaps%(n/10) == 1 {
				ck.r.mu.Lock() // the only iteration running waits here: the state is as encoded
				want, err := json.Marshal(ck.r.cp)
				ck.r.mu.Unlock()
				if err != nil {
					t.Fatal(err)
				}
				sameCheckpoint(t, cp, want)
			}
			return double(ctx, req)
		})
		res = New(d, h.cfg).Start(context.Background(), testExec, json.RawMessage(itemsJSON(n)))
		if res.Status != StatusSucceeded {
			t.Fatalf("n=%d: %+v", n, res)
		}
		st := ck.r.stats
		if st.snapshots != n {
			t.Fatalf("n=%d: %d snapshots", n, st.snapshots)
		}
		freshPerSnapshot[n] = float64(st.encodedBytes) / float64(st.snapshots)
	}
	t.Logf("bytes freshly encoded per snapshot: %v", freshPerSnapshot)
	if freshPerSnapshot[1000] > 1.5*freshPerSnapshot[100] {
		t.Errorf("checkpoint work grows with the finished iterations: %.0f bytes per snapshot for 100 items, %.0f for 1000",
			freshPerSnapshot[100], freshPerSnapshot[1000])
	}

	// After every transition (OnCheckpoint), each checkpoint checked.
	h := newHarness()
	h.on(lambdaInvoke, double)
	ck := &Checkpoints{}
	h.cfg.Checkpoints = ck
	calls := 0
	h.cfg.OnCheckpoint = func(cp json.RawMessage) {
		calls++
		want, err := json.Marshal(ck.r.cp) // called with the lock held
		if err != nil {
			t.Fatal(err)
		}
		sameCheckpoint(t, cp, want)
	}
	d4, err := Parse(fmt.Sprintf(mapDef, 4))
	if err != nil {
		t.Fatal(err)
	}
	res := New(d4, h.cfg).Start(context.Background(), testExec, json.RawMessage(itemsJSON(50)))
	if res.Status != StatusSucceeded || calls < 200 {
		t.Fatalf("%+v after %d checkpoints", res, calls)
	}
	jsonEq(t, string(res.Output), doubledJSON(50))
}

// A Map resumed from a checkpoint taken midway (the run going on after it, as a server killed
// after writing it would have) finishes with every item's output exactly once: in its output,
// in the history up to the checkpoint plus the resumed history, and without running again a
// task whose iteration the checkpoint records as done.
func TestCheckpointMapResume(t *testing.T) {
	t.Parallel()
	const n = 300
	d, err := Parse(fmt.Sprintf(mapDef, 8))
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness()
	ck := &Checkpoints{}
	h.cfg.Checkpoints = ck
	ctx, cancel := context.WithCancelCause(context.Background())
	var (
		mu       sync.Mutex
		finished int
		cp       json.RawMessage
	)
	h.on(lambdaInvoke, func(ctx context.Context, req TaskRequest) (json.RawMessage, error) {
		mu.Lock()
		finished++
		k := finished
		mu.Unlock()
		switch {
		case k == n/2:
			cp = ck.Snapshot() // the last checkpoint written before the crash
		case k > n/2+20:
			cancel(ErrSuspend) // the crash; the run went on for a while meanwhile
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return double(ctx, req)
	})
	if res := New(d, h.cfg).Start(ctx, testExec, json.RawMessage(itemsJSON(n))); res.Status != StatusSuspended {
		t.Fatalf("first run: %+v", res)
	}
	if cp == nil {
		t.Fatal("no checkpoint taken")
	}
	c, err := decodeCheckpoint(cp)
	if err != nil {
		t.Fatal(err)
	}
	done := map[int]bool{}
	for _, ch := range c.Root.Children {
		if ch.Done {
			done[ch.Index] = true
			if ch.Input != nil || ch.State != "" || ch.Vars != nil {
				t.Errorf("finished iteration %d is not compact: %+v", ch.Index, ch)
			}
		}
	}
	if len(done) == 0 || len(done) >= n {
		t.Fatalf("%d iterations done in the checkpoint", len(done))
	}
	// History as the store keeps it: events up to the checkpoint's last one.
	succeeded := map[int]int{}
	for _, ev := range h.sink.Events() {
		if ev.ID <= c.LastEventID && ev.MapIterationSucceededEventDetails != nil {
			succeeded[ev.MapIterationSucceededEventDetails.Index]++
		}
	}

	h2 := newHarness()
	var rerun []int
	h2.on(lambdaInvoke, func(ctx context.Context, req TaskRequest) (json.RawMessage, error) {
		var in struct{ N int }
		json.Unmarshal(req.Input, &in)
		mu.Lock()
		if done[in.N] {
			rerun = append(rerun, in.N)
		}
		mu.Unlock()
		return double(ctx, req)
	})
	res, err := New(d, h2.cfg).Resume(context.Background(), cp)
	if err != nil || res.Status != StatusSucceeded {
		t.Fatalf("resume: %+v %v", res, err)
	}
	jsonEq(t, string(res.Output), doubledJSON(n))
	if len(rerun) > 0 {
		t.Errorf("iterations done in the checkpoint ran again: %v", rerun)
	}
	for _, ev := range h2.sink.Events() {
		if ev.ID <= c.LastEventID {
			t.Fatalf("resumed history reuses id %d", ev.ID)
		}
		if ev.MapIterationSucceededEventDetails != nil {
			succeeded[ev.MapIterationSucceededEventDetails.Index]++
		}
	}
	for i := range n {
		if succeeded[i] != 1 {
			t.Errorf("iteration %d succeeded %d times in the history", i, succeeded[i])
		}
	}
}
