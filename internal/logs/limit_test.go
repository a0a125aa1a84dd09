package logs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogLimit: a stream stops at the store's limit with one event saying so; what was written
// before is kept, what comes after is dropped without an error to the writer (the process goes
// on), and the file stays near the limit.
func TestLogLimit(t *testing.T) {
	s, clk := newTestStore(t)
	const limit = 2000
	s.SetLimit(limit)
	writeStream(t, s, clk, "g", "s", 500, func(i int) int64 { return 1000 }, func(i int) string { return strings.Repeat("x", 40) })
	evs := readAll(t, s, "g", "s")
	if len(evs) < 10 || len(evs) > 60 {
		t.Fatalf("%d events kept of 500 with a %d-byte limit", len(evs), limit)
	}
	last := evs[len(evs)-1].Message
	if !strings.Contains(last, "reached its limit of 2000 bytes") {
		t.Fatalf("the last event does not say the log was truncated: %q", last)
	}
	for _, e := range evs[:len(evs)-1] {
		if e.Message != strings.Repeat("x", 40) {
			t.Fatalf("a kept event changed: %q", e.Message)
		}
	}
	var size int64
	filepath.Walk(s.dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			size += fi.Size()
		}
		return nil
	})
	if size > limit+200 {
		t.Errorf("the stream's files hold %d bytes, limit %d", size, limit)
	}

	// Without a limit the same output is kept whole.
	s.SetLimit(0)
	writeStream(t, s, clk, "g", "unbounded", 500, func(i int) int64 { return 1000 }, func(i int) string { return strings.Repeat("x", 40) })
	if n := len(readAll(t, s, "g", "unbounded")); n != 500 {
		t.Errorf("without a limit: %d events of 500", n)
	}
}
