package logs

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

const acct = "123456789012"

// fakeClock is the store's clock in tests, so timestamps are exact.
type fakeClock struct {
	mu sync.Mutex
	ms int64
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.UnixMilli(c.ms)
}

func (c *fakeClock) set(ms int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ms = ms
}

func newTestStore(t testing.TB) (*Store, *fakeClock) {
	t.Helper()
	clk := &fakeClock{ms: 1000}
	s, err := Open(t.TempDir(), clk.now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clk
}

// writeStream creates a stream and writes one line per message, moving the
// clock to ts(i) before line i.
func writeStream(t testing.TB, s *Store, clk *fakeClock, group, stream string, n int, ts func(int) int64, msg func(int) string) {
	t.Helper()
	if n > 0 {
		clk.set(ts(0)) // the stream is created with its first event
	}
	w, err := s.Create(acct, group, stream)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		clk.set(ts(i))
		if _, err := w.Write([]byte(msg(i) + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// readAll pages forward from the head and returns every event.
func readAll(t testing.TB, s *Store, group, stream string) []Event {
	t.Helper()
	var all []Event
	p := GetEventsParams{Group: group, Stream: stream, StartFromHead: true}
	for {
		res, err := s.GetEvents(acct, p)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, res.Events...)
		if len(res.Events) == 0 {
			return all
		}
		p.NextToken = res.NextForwardToken
	}
}

func messages(evs []Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Message
	}
	return out
}

func msgRange(format string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf(format, i))
	}
	return out
}

// short abbreviates long messages in failure output.
func short(ss []string) string {
	var b strings.Builder
	b.WriteString("[")
	for i, s := range ss {
		if i > 0 {
			b.WriteString(" ")
		}
		if len(s) > 20 {
			fmt.Fprintf(&b, "%q...(%d bytes)", s[:10], len(s))
		} else {
			fmt.Fprintf(&b, "%q", s)
		}
	}
	b.WriteString("]")
	return b.String()
}
