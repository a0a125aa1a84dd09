package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/barge-run/barge/internal/store"
)

// exerciseMessages checks the message verbs (SQS): claims, visibility, FIFO groups, dead
// letters, deduplication, retention, purges and moves.
// exerciseMessages checks the message verbs (SQS): claims, visibility, FIFO groups, dead
// letters, deduplication, retention, purges and moves.
func exerciseMessages(t *testing.T, fresh func(*testing.T) store.Store) {
	t.Run("MessageVisibility", func(t *testing.T) { testMessageVisibility(t, fresh(t)) })
	t.Run("MessageFIFOGroups", func(t *testing.T) { testMessageFIFOGroups(t, fresh(t)) })
	t.Run("MessageDeadLetter", func(t *testing.T) { testMessageDeadLetter(t, fresh(t)) })
	t.Run("MessageDedupRetentionPurge", func(t *testing.T) { testMessageDedupRetentionPurge(t, fresh(t)) })
	t.Run("MessageConcurrentReceivers", func(t *testing.T) { testMessageConcurrentReceivers(t, fresh(t)) })
}

// msgT0 is the messages suite's clock: every time is relative to it.
var msgT0 = time.UnixMilli(1_700_000_000_000).UTC()

// sendMessages stores ms in queue at msgT0 (visible then unless they say otherwise).
func sendMessages(t *testing.T, s store.Store, queue string, ms ...*store.Message) {
	t.Helper()
	for _, m := range ms {
		m.Queue = queue
		if m.SentAt.IsZero() {
			m.SentAt, m.VisibleAt = msgT0, msgT0
		}
	}
	must(t, s.MessageInsertMany(context.Background(), &store.MessageInsertParams{Messages: ms, Now: msgT0, DedupUntil: msgT0.Add(5 * time.Minute)}))
}

func receiveMessages(t *testing.T, s store.Store, p store.MessageReceiveParams) *store.MessageReceiveResult {
	t.Helper()
	res, err := s.MessageReceive(context.Background(), &p)
	must(t, err)
	return res
}

func msgIDs(ms []*store.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func testMessageVisibility(t *testing.T, s store.Store) {
	ctx := context.Background()
	sendMessages(t, s, "q", &store.Message{ID: "a", Body: []byte("A")}, &store.Message{ID: "b", Body: []byte("B")},
		&store.Message{ID: "late", SentAt: msgT0, VisibleAt: msgT0.Add(time.Minute)})
	res := receiveMessages(t, s, store.MessageReceiveParams{Queue: "q", Now: msgT0, Until: msgT0.Add(30 * time.Second), Limit: 10})
	if got := msgIDs(res.Messages); !slices.Equal(got, []string{"a", "b"}) || string(res.Messages[0].Body) != "A" {
		t.Fatalf("first receive: %v", got)
	}
	if !res.NextVisible.Equal(msgT0.Add(30 * time.Second)) {
		t.Errorf("NextVisible = %v, want the claim's end", res.NextVisible)
	}
	st, err := s.MessageStats(ctx, "q", msgT0, time.Time{})
	must(t, err)
	if st.Visible != 0 || st.InFlight != 2 || st.Delayed != 1 || !st.OldestSent.Equal(msgT0) {
		t.Errorf("stats %+v", st)
	}
	if res := receiveMessages(t, s, store.MessageReceiveParams{Queue: "q", Now: msgT0.Add(time.Second), Until: msgT0.Add(time.Hour)}); len(res.Messages) != 0 {
		t.Fatalf("claimed messages delivered again: %v", msgIDs(res.Messages))
	}
	a := res.Messages[0]
	// After the claim ends, a is received again with a new receipt; the old one is stale.
	res2 := receiveMessages(t, s, store.MessageReceiveParams{Queue: "q", Now: msgT0.Add(31 * time.Second), Until: msgT0.Add(time.Hour), Limit: 1})
	if len(res2.Messages) != 1 || res2.Messages[0].ID != "a" || res2.Messages[0].ReceiveCount != 2 ||
		res2.Messages[0].Receipt == a.Receipt || !res2.Messages[0].FirstReceiveAt.Equal(msgT0) {
		t.Fatalf("second receive: %+v", res2.Messages)
	}
	changes := []*store.MessageChange{
		{ID: "a", Receipt: a.Receipt, Delete: true},
		{ID: "b", Receipt: res.Messages[1].Receipt, VisibleAt: msgT0.Add(2 * time.Hour)},
		{ID: "late", Receipt: "", VisibleAt: msgT0},
		{ID: "gone", Receipt: "x", Delete: true},
	}
	must(t, s.MessageChangeMany(ctx, &store.MessageChangeParams{Queue: "q", Now: msgT0.Add(29 * time.Second), Changes: changes}))
	for i, want := range []error{store.ErrStale, nil, store.ErrNotInFlight, store.ErrNotFound} {
		if !errors.Is(changes[i].Err, want) || (want == nil && changes[i].Err != nil) {
			t.Errorf("change %d: %v, want %v", i, changes[i].Err, want)
		}
	}
	del := []*store.MessageChange{{ID: "a", Receipt: res2.Messages[0].Receipt, Delete: true}}
	must(t, s.MessageChangeMany(ctx, &store.MessageChangeParams{Queue: "q", Now: msgT0.Add(33 * time.Second), Changes: del}))
	if del[0].Err != nil {
		t.Fatalf("delete with the latest receipt: %v", del[0].Err)
	}
	st, _ = s.MessageStats(ctx, "q", msgT0.Add(90*time.Minute), time.Time{})
	if st.Visible != 1 || st.InFlight != 1 || st.Delayed != 0 {
		t.Errorf("stats after changes %+v", st)
	}
}

func testMessageFIFOGroups(t *testing.T, s store.Store) {
	ctx := context.Background()
	var ms []*store.Message
	for i := range 6 {
		ms = append(ms, &store.Message{ID: fmt.Sprint(i), Group: []string{"g1", "g2"}[i%2]})
	}
	sendMessages(t, s, "f", ms...)
	fifo := store.MessageReceiveParams{Queue: "f", Now: msgT0, Until: msgT0.Add(time.Minute), Limit: 2, FIFO: true}
	res := receiveMessages(t, s, fifo)
	if got := msgIDs(res.Messages); !slices.Equal(got, []string{"0", "1"}) {
		t.Fatalf("first FIFO receive %v", got)
	}
	// Both groups have a message in flight: nothing else is delivered from them.
	if res := receiveMessages(t, s, fifo); len(res.Messages) != 0 {
		t.Fatalf("delivered %v while their groups are in flight", msgIDs(res.Messages))
	}
	ch := []*store.MessageChange{{ID: "0", Receipt: res.Messages[0].Receipt, Delete: true}}
	must(t, s.MessageChangeMany(ctx, &store.MessageChangeParams{Queue: "f", Now: msgT0, Changes: ch}))
	fifo.Limit = 10
	if got := msgIDs(receiveMessages(t, s, fifo).Messages); !slices.Equal(got, []string{"2", "4"}) {
		t.Fatalf("after deleting g1's head: %v, want g1's rest in order", got)
	}
}

func testMessageDeadLetter(t *testing.T, s store.Store) {
	ctx := context.Background()
	sendMessages(t, s, "src", &store.Message{ID: "m"})
	p := store.MessageReceiveParams{Queue: "src", Now: msgT0, Limit: 1, MaxReceives: 2, DeadLetter: "dlq"}
	for i := range 2 {
		p.Now = msgT0.Add(time.Duration(i) * time.Minute)
		p.Until = p.Now.Add(time.Second)
		if res := receiveMessages(t, s, p); len(res.Messages) != 1 {
			t.Fatalf("receive %d: %v", i+1, res.Messages)
		}
	}
	p.Now = msgT0.Add(3 * time.Minute)
	if res := receiveMessages(t, s, p); len(res.Messages) != 0 || res.Moved != 1 {
		t.Fatalf("third receive: %d messages, moved %d; want it moved", len(res.Messages), res.Moved)
	}
	res := receiveMessages(t, s, store.MessageReceiveParams{Queue: "dlq", Now: p.Now, Until: p.Now})
	if len(res.Messages) != 1 || res.Messages[0].Source != "src" || res.Messages[0].ReceiveCount != 1 {
		t.Fatalf("dead letter: %+v", res.Messages)
	}
	n, err := s.MessageMove(ctx, &store.MessageMoveParams{From: "dlq", Now: p.Now.Add(time.Second), Limit: 10})
	must(t, err)
	if n != 1 {
		t.Fatalf("moved %d back", n)
	}
	if res := receiveMessages(t, s, store.MessageReceiveParams{Queue: "src", Now: p.Now.Add(time.Second), Until: p.Now}); len(res.Messages) != 1 {
		t.Fatalf("not back in its source: %+v", res.Messages)
	}
}

func testMessageDedupRetentionPurge(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := &store.Message{ID: "a", DedupKey: "k"}, &store.Message{ID: "b", DedupKey: "k"}
	sendMessages(t, s, "d", a, b)
	if a.Duplicate || !b.Duplicate || b.ID != "a" || b.Seq != a.Seq {
		t.Fatalf("dedup: a %+v b %+v", a, b)
	}
	late := &store.Message{ID: "c", DedupKey: "k", Queue: "d", SentAt: msgT0.Add(6 * time.Minute), VisibleAt: msgT0.Add(6 * time.Minute)}
	must(t, s.MessageInsertMany(ctx, &store.MessageInsertParams{Messages: []*store.Message{late}, Now: late.SentAt, DedupUntil: late.SentAt.Add(5 * time.Minute)}))
	if late.Duplicate || late.Seq <= a.Seq {
		t.Fatalf("after the window: %+v", late)
	}
	res := receiveMessages(t, s, store.MessageReceiveParams{Queue: "d", Now: msgT0.Add(7 * time.Minute), Until: msgT0.Add(7 * time.Minute), Limit: 10,
		RetainAfter: msgT0.Add(time.Minute)})
	if got := msgIDs(res.Messages); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("expired message delivered: %v", got)
	}
	n, err := s.MessagePurge(ctx, &store.MessagePurgeParams{Queue: "d", Dedup: true})
	must(t, err)
	if n != 1 {
		t.Fatalf("purged %d", n)
	}
}

func testMessageConcurrentReceivers(t *testing.T, s store.Store) {
	ctx := context.Background()
	var ms []*store.Message
	for i := range 200 {
		ms = append(ms, &store.Message{ID: fmt.Sprint(i)})
	}
	sendMessages(t, s, "c", ms...)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				res, err := s.MessageReceive(ctx, &store.MessageReceiveParams{Queue: "c", Now: msgT0, Until: msgT0.Add(time.Hour), Limit: 7})
				if err != nil || len(res.Messages) == 0 {
					return
				}
				mu.Lock()
				for _, m := range res.Messages {
					seen[m.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 200 {
		t.Fatalf("received %d distinct messages, want 200", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("message %s delivered %d times inside its visibility timeout", id, n)
		}
	}
}
