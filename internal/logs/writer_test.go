package logs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestWriterLines(t *testing.T) {
	rep := strings.Repeat
	max := MaxMessageBytes
	tests := []struct {
		name        string
		writes      []string
		beforeClose []string // events stored before Close, if checked
		want        []string // events after Close
	}{
		{"one line", []string{"hello\n"}, []string{"hello"}, []string{"hello"}},
		{"several lines in one write", []string{"a\nb\nc\n"}, nil, []string{"a", "b", "c"}},
		{"line across writes", []string{"hel", "lo\nwor", "ld\n"}, nil, []string{"hello", "world"}},
		{"partial line waits for close", []string{"a\nb"}, []string{"a"}, []string{"a", "b"}},
		{"nothing complete", []string{"abc"}, []string{}, []string{"abc"}},
		{"crlf keeps the cr", []string{"a\r\nb\r\n"}, nil, []string{"a\r", "b\r"}},
		{"lone cr is not a line end", []string{"a\rb\n"}, nil, []string{"a\rb"}},
		{"crlf split across writes", []string{"a\r", "\nb\r", "\n"}, nil, []string{"a\r", "b\r"}},
		{"empty lines", []string{"\n\nx\n"}, nil, []string{"", "", "x"}},
		{"one byte at a time", strings.Split("ab\ncd\ne", ""), []string{"ab", "cd"}, []string{"ab", "cd", "e"}},
		{"empty writes", []string{"", "a", "", "\n", ""}, nil, []string{"a"}},
		{"tabs and nul kept", []string{"a\tb\x00c\n"}, nil, []string{"a\tb\x00c"}},
		{"line of exactly max bytes", []string{rep("x", max) + "\n"}, nil, []string{rep("x", max)}},
		{"long line split", []string{rep("x", max+10) + "\n"}, nil, []string{rep("x", max), rep("x", 10)}},
		{"very long line split", []string{rep("x", 2*max+1) + "\n"}, nil, []string{rep("x", max), rep("x", max), "x"}},
		{"long line across writes", []string{rep("y", 100000), rep("y", 100000), rep("y", 100000), "\nz\n"},
			nil, []string{rep("y", max), rep("y", 300000-max), "z"}},
		{"long partial stored before its newline", []string{rep("x", max+1)}, []string{rep("x", max)}, []string{rep("x", max), "x"}},
		{"partial then long line", []string{"ab", rep("x", max) + "\n"}, nil, []string{"ab" + rep("x", max-2), "xx"}},
		{"split keeps utf-8 characters whole", []string{rep("x", max-1) + "é" + "z\n"}, nil, []string{rep("x", max-1), "éz"}},
		{"split of 4-byte character", []string{rep("x", max-2) + "😀\n"}, nil, []string{rep("x", max-2), "😀"}},
		{"non-utf-8 cut anywhere", []string{rep("\x80", max+1) + "\n"}, nil, []string{rep("\x80", max), "\x80"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestStore(t)
			w, err := s.Create(acct, "g", "s")
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tt.writes {
				n, err := w.Write([]byte(p))
				if err != nil || n != len(p) {
					t.Fatalf("Write(%d bytes) = %d, %v", len(p), n, err)
				}
			}
			if tt.beforeClose != nil {
				if got := messages(readAll(t, s, "g", "s")); !slices.Equal(got, tt.beforeClose) {
					t.Errorf("before Close: events %s, want %s", short(got), short(tt.beforeClose))
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if got := messages(readAll(t, s, "g", "s")); !slices.Equal(got, tt.want) {
				t.Errorf("events %s, want %s", short(got), short(tt.want))
			}
		})
	}
}

func TestWriterTimestamps(t *testing.T) {
	s, clk := newTestStore(t)
	type op struct {
		clock int64 // 0 leaves the clock alone
		write string
		close bool
	}
	ops := []op{
		{clock: 1000, write: "a\n"},
		{write: "b"},
		{clock: 2000, write: "\n"},   // b completes now
		{clock: 1500, write: "c\n"},  // clock went back: not before b
		{clock: 3000, write: "d\ne"}, // d now; e still partial
		{clock: 4000, close: true},   // e completes at close
	}
	want := []Event{{1000, 1000, "a"}, {2000, 2000, "b"}, {2000, 2000, "c"}, {3000, 3000, "d"}, {4000, 4000, "e"}}
	w, err := s.Create(acct, "g", "s")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range ops {
		if o.clock != 0 {
			clk.set(o.clock)
		}
		if o.close {
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		} else if _, err := w.Write([]byte(o.write)); err != nil {
			t.Fatal(err)
		}
	}
	if got := readAll(t, s, "g", "s"); !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}

	// A restarted server with a slow clock still continues the order.
	dir := s.root.Name()
	s2, err := Open(dir, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	clk.set(500)
	w, err = s2.Create(acct, "g", "s")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("f\n"))
	w.Close()
	got := readAll(t, s2, "g", "s")
	if last := got[len(got)-1]; last != (Event{4000, 4000, "f"}) {
		t.Errorf("after restart: last event %v, want f at 4000", last)
	}
}

func TestWriterSiblingsConcurrent(t *testing.T) {
	s, _ := newTestStore(t)
	out, err := s.Create(acct, "/aws/batch/job", "job/default/1")
	if err != nil {
		t.Fatal(err)
	}
	errw := out.Sibling()
	const lines = 2000
	var wg sync.WaitGroup
	for _, tc := range []struct {
		w      *Writer
		prefix string
	}{{out, "stdout"}, {errw, "stderr"}} {
		wg.Go(func() {
			var text strings.Builder
			for i := range lines {
				fmt.Fprintf(&text, "%s line %04d %s\n", tc.prefix, i, strings.Repeat("x", i%50))
			}
			b := []byte(text.String())
			// Awkward chunk sizes, so lines are split across writes
			// while the other writer is writing.
			for i, n := 0, 1; len(b) > 0; i++ {
				n = min([]int{1, 3, 7, 64, 200}[i%5], len(b))
				if _, err := tc.w.Write(b[:n]); err != nil {
					t.Error(err)
					return
				}
				b = b[n:]
			}
			if err := tc.w.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	next := map[string]int{}
	for _, e := range readAll(t, s, "/aws/batch/job", "job/default/1") {
		var prefix string
		var i int
		if _, err := fmt.Sscanf(e.Message, "%s line %d", &prefix, &i); err != nil {
			t.Fatalf("mangled event %q", e.Message)
		}
		if want := fmt.Sprintf("%s line %04d %s", prefix, i, strings.Repeat("x", i%50)); e.Message != want || i != next[prefix] {
			t.Fatalf("event %q, want %s line %d", e.Message, prefix, next[prefix])
		}
		next[prefix]++
	}
	if next["stdout"] != lines || next["stderr"] != lines {
		t.Errorf("got %v lines, want %d each", next, lines)
	}

	// The last Close closed the stream.
	if len(s.active) != 0 {
		t.Errorf("stream still open after all writers closed")
	}
	late := out.Sibling()
	if _, err := late.Write([]byte("x\n")); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Write on sibling of closed stream: %v, want ErrClosed", err)
	}
	if _, err := out.Write([]byte("x\n")); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Write after Close: %v, want ErrClosed", err)
	}
	if err := out.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCreateSharesOpenStream(t *testing.T) {
	s, _ := newTestStore(t)
	w1, err := s.Create(acct, "g", "s")
	if err != nil {
		t.Fatal(err)
	}
	w2, err := s.Create(acct, "g", "s")
	if err != nil {
		t.Fatal(err)
	}
	w1.Write([]byte("one\ntw"))
	w2.Write([]byte("three\n"))
	w1.Close()
	w2.Write([]byte("four\n")) // still open through w2
	w2.Close()
	want := []string{"one", "three", "tw", "four"} // w1.Close stores its partial line
	if got := messages(readAll(t, s, "g", "s")); !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

// A kill -9 of the server loses nothing but incomplete lines: every
// completed line is already in the file when Write returns.
func TestWriterNoUserSpaceBuffering(t *testing.T) {
	s, _ := newTestStore(t)
	w, err := s.Create(acct, "g", "s")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Write([]byte("a\nb\npartial"))

	// Another store on the same directory plays the restarted server.
	s2, err := Open(s.root.Name(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got, want := messages(readAll(t, s2, "g", "s")), []string{"a", "b"}; !slices.Equal(got, want) {
		t.Errorf("events after simulated crash %q, want %q", got, want)
	}
}

func TestCrashRecovery(t *testing.T) {
	tests := []struct {
		name    string
		garbage string // appended to the file behind the store's back
		want    []string
	}{
		{"torn record at end", "1700\t1700\tpart", []string{"a", "b", "c"}},
		{"torn timestamp at end", "17", []string{"a", "b", "c"}},
		{"damaged line", "garbage\n", []string{"a", "b", "c"}},
		{"zeros from a power loss", "\x00\x00\x00\x00", []string{"a", "b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clk := newTestStore(t)
			writeStream(t, s, clk, "g", "s", 2, func(int) int64 { return 1000 }, func(i int) string { return "ab"[i : i+1] })
			path := filepath.Join(s.root.Name(), streamPath(acct, "g", "s"))
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(tt.garbage)
			f.Close()

			// Readers skip the damage, and a writer after the
			// restart does not glue its first line onto it.
			if got := messages(readAll(t, s, "g", "s")); !slices.Equal(got, tt.want[:2]) {
				t.Errorf("events %q, want %q", got, tt.want[:2])
			}
			w, err := s.Create(acct, "g", "s")
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte("c\n"))
			w.Close()
			if got := messages(readAll(t, s, "g", "s")); !slices.Equal(got, tt.want) {
				t.Errorf("events after new write %q, want %q", got, tt.want)
			}
			tail, err := s.Tail(acct, "g", "s", 100)
			if err != nil || string(tail) != "a\nb\nc\n" {
				t.Errorf("Tail = %q, %v", tail, err)
			}
		})
	}
}

func TestSplitPoint(t *testing.T) {
	for _, tt := range []struct {
		suffix string // placed to straddle byte MaxMessageBytes
		at     int    // where it starts
		want   int
	}{
		{"ab", MaxMessageBytes - 1, MaxMessageBytes},
		{"é", MaxMessageBytes - 1, MaxMessageBytes - 1},
		{"€", MaxMessageBytes - 2, MaxMessageBytes - 2},
		{"€", MaxMessageBytes - 1, MaxMessageBytes - 1},
		{"😀", MaxMessageBytes - 3, MaxMessageBytes - 3},
		{"\x80\x80\x80\x80\x80", MaxMessageBytes - 3, MaxMessageBytes},
	} {
		b := []byte(strings.Repeat("x", tt.at) + tt.suffix + "yyyy")
		if got := splitPoint(b); got != tt.want {
			t.Errorf("splitPoint with %q at %d = %d, want %d", tt.suffix, tt.at, got, tt.want)
		}
	}
}

// TestCreateFileWays: a new stream's file appears whole (header and all) whether the filesystem
// makes unnamed files or not, an existing one is never replaced, and no temporary file is left.
func TestCreateFileWays(t *testing.T) {
	ways := []struct {
		name   string
		create func(dir, path string, hdr []byte) (*os.File, error)
	}{
		{"unnamed file linked", createLinked},
		{"named file renamed", createRenamed},
	}
	for _, way := range ways {
		t.Run(way.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "s")
			hdr := header{created: 1000, id: "abc", account: acct, group: "g", stream: "s"}
			f, err := way.create(dir, path, hdr.encode())
			if errors.Is(err, errNoTmpfile) {
				t.Skip("this filesystem has no O_TMPFILE")
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write([]byte("more")); err != nil {
				t.Fatal(err)
			}
			f.Close()
			got, err := os.ReadFile(path)
			if want := string(hdr.encode()) + "more"; err != nil || string(got) != want {
				t.Fatalf("file holds %q (%v), want %q", got, err, want)
			}
			if _, err := way.create(dir, path, []byte("other")); !errors.Is(err, fs.ErrExist) {
				t.Errorf("creating over an existing stream: %v, want fs.ErrExist", err)
			}
			if got2, _ := os.ReadFile(path); string(got2) != string(got) {
				t.Errorf("the existing stream changed to %q", got2)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("directory holds %d entries, want the stream alone", len(entries))
			}
		})
	}
}
