package api

import (
	"fmt"
	"testing"
	"time"

	lw "github.com/barge-run/barge/internal/awstypes/logs"
	"github.com/barge-run/barge/internal/logs"
)

// TestLiveTailPoll: a Live Tail session sees only what is stored after it starts, once, oldest
// first; more than 500 matching events in one update are sampled down to 500 and marked so; a
// stream deleted and made again is read from its start; streams the request leaves out are
// never read.
func TestLiveTailPoll(t *testing.T) {
	const acct = "000000000000"
	store, err := logs.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	s := &Server{cfg: Config{Logs: store, Region: "us-east-1"}}
	if err := store.CreateGroup(acct, logs.GroupInfo{Name: "g"}); err != nil {
		t.Fatal(err)
	}
	put := func(stream string, msgs ...string) {
		t.Helper()
		var events []logs.InputEvent
		for _, m := range msgs {
			events = append(events, logs.InputEvent{Timestamp: time.Now().UnixMilli(), Message: m})
		}
		if _, err := store.Put(acct, "g", stream, events, 0, time.Now().Add(time.Hour).UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range []string{"app", "skipped"} {
		if err := store.CreateStream(acct, "g", st); err != nil {
			t.Fatal(err)
		}
	}
	put("app", "ERROR before the session")
	lt, err := s.newLiveTail(acct, &lw.StartLiveTailRequest{LogGroupIdentifiers: []string{"g"}, LogStreamNames: []string{"app"}, LogEventFilterPattern: "ERROR"})
	if err == nil {
		err = lt.prime()
	}
	if err != nil {
		t.Fatal(err)
	}
	poll := func() ([]string, bool) {
		t.Helper()
		u, err := lt.poll()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range u.SessionResults {
			got = append(got, e.Message)
		}
		return got, *u.SessionMetadata.Sampled
	}
	if got, sampled := poll(); len(got) != 0 || sampled {
		t.Errorf("the first poll: %q (sampled %v), want nothing", got, sampled)
	}
	var many []string
	for i := range 600 {
		many = append(many, fmt.Sprintf("ERROR %03d", i), "INFO")
	}
	put("app", many...)
	put("skipped", "ERROR elsewhere")
	got, sampled := poll()
	if len(got) != maxLiveTailResults || !sampled || got[0] != "ERROR 000" || got[len(got)-1] <= got[len(got)-2] {
		t.Errorf("600 matching events: %d delivered (sampled %v), first %q; want 500, sampled, oldest first", len(got), sampled, got[:min(1, len(got))])
	}
	if got, _ := poll(); len(got) != 0 {
		t.Errorf("a poll with nothing new: %q", got)
	}
	if err := store.DeleteStream(acct, "g", "app"); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateStream(acct, "g", "app"); err != nil {
		t.Fatal(err)
	}
	put("app", "ERROR again")
	if got, _ := poll(); fmt.Sprint(got) != "[ERROR again]" {
		t.Errorf("after the stream was made again: %q", got)
	}
}
