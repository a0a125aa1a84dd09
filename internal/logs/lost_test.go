package logs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// breakWrites makes the stream's writes fail (as a full disk would) until the returned func
// mends them.
func breakWrites(t *testing.T, w *Writer) (mend func()) {
	t.Helper()
	st := w.st
	st.mu.Lock()
	defer st.mu.Unlock()
	good := st.f
	ro, err := os.Open(good.Name())
	if err != nil {
		t.Fatal(err)
	}
	st.f = ro
	return func() {
		st.mu.Lock()
		defer st.mu.Unlock()
		st.f = good
		ro.Close()
	}
}

func TestLostOutputSaidOnceWritesWork(t *testing.T) {
	s, _ := newTestStore(t)
	w, err := s.Create(acct, "g", "s")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("a\n"))
	mend := breakWrites(t, w)
	for _, line := range []string{"bb\n", "ccc\n"} {
		if n, err := w.Write([]byte(line)); err != nil || n != len(line) {
			t.Fatalf("a write the disk cannot take: %d, %v (want it counted, not failed)", n, err)
		}
	}
	mend()
	w.Write([]byte("d\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := messages(readAll(t, s, "g", "s"))
	if len(got) != 3 || got[0] != "a" || got[2] != "d" || !strings.HasPrefix(got[1], "barge: 5 bytes of output could not be stored and are lost") {
		t.Fatalf("events %q", got)
	}
}

func TestLostOutputUnsaidAtClose(t *testing.T) {
	s, _ := newTestStore(t)
	w, err := s.Create(acct, "g", "s")
	if err != nil {
		t.Fatal(err)
	}
	mend := breakWrites(t, w)
	defer mend()
	w.Write([]byte("never stored\n"))
	var le *LostError
	if err := w.Close(); !errors.As(err, &le) || le.Bytes != int64(len("never stored")) {
		t.Fatalf("closing with output neither stored nor said: %v", err)
	}
}

func TestLazyRetriesCreate(t *testing.T) {
	s, clk := newTestStore(t)
	// A file where the group's directory must go: creating the stream fails.
	blocker := filepath.Join(s.dir, escapeName(acct), escapeName("g"))
	if err := os.MkdirAll(filepath.Dir(blocker), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	l := s.Lazy(acct, "g", "s")
	out, errw := l.Writer(), l.Writer()
	out.Write([]byte("lost-1\n"))
	os.Remove(blocker)
	errw.Write([]byte("lost-22\n")) // within retryCreate of the failure: not tried again
	clk.set(clk.now().Add(retryCreate).UnixMilli())
	out.Write([]byte("kept\n"))
	out.Close()
	errw.Close()
	if le := l.Lost(); le != nil {
		t.Fatalf("lost output unreported: %v", le)
	}
	got := messages(readAll(t, s, "g", "s"))
	if len(got) != 2 || got[1] != "kept" || !strings.HasPrefix(got[0], "barge: 15 bytes of output could not be stored") {
		t.Fatalf("events %q", got)
	}

	// Never created at all: Lost says so.
	os.WriteFile(filepath.Join(s.dir, escapeName(acct), escapeName("h")), nil, 0o644)
	never := s.Lazy(acct, "h", "s")
	w := never.Writer()
	w.Write([]byte("x\n"))
	w.Close()
	if le := never.Lost(); le == nil || le.Bytes != 2 {
		t.Fatalf("a stream never created: Lost %v", le)
	}
}
