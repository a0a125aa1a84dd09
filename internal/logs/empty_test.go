package logs

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// streamFiles lists the stream files of a group on disk.
func streamFiles(t *testing.T, s *Store, group string) []string {
	t.Helper()
	des, err := os.ReadDir(filepath.Join(s.dir, groupPath(acct, group)))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		if filepath.Ext(de.Name()) == fileSuffix {
			out = append(out, de.Name())
		}
	}
	return out
}

// TestReservedStreamIsAnEmptyStream: a stream opened for a job that prints nothing exists for
// every reader — listed with its creation time, read as empty, searched, refused as a new
// stream's name — and costs no file.
func TestReservedStreamIsAnEmptyStream(t *testing.T) {
	s, clk := newTestStore(t)
	clk.set(5000)
	l := s.Lazy(acct, "g", "job/default/1")
	l.Open()
	if files := streamFiles(t, s, "g"); len(files) != 0 {
		t.Fatalf("stream files %v for a stream with no output", files)
	}
	res, err := s.DescribeStreams(acct, DescribeStreamsParams{Group: "g"})
	if err != nil || len(res.Streams) != 1 || res.Streams[0].Name != "job/default/1" || res.Streams[0].CreationTime != 5000 ||
		res.Streams[0].StoredBytes != 0 || res.Streams[0].LastEventTimestamp != 0 {
		t.Fatalf("DescribeStreams = %+v, %v", res.Streams, err)
	}
	if res, err := s.DescribeStreams(acct, DescribeStreamsParams{Group: "g", Prefix: "other"}); err != nil || len(res.Streams) != 0 {
		t.Errorf("a prefix that does not match lists %+v, %v", res.Streams, err)
	}
	page, err := s.GetEvents(acct, GetEventsParams{Group: "g", Stream: "job/default/1"})
	if err != nil || len(page.Events) != 0 || page.NextForwardToken == "" {
		t.Fatalf("GetEvents = %+v, %v; want no events and a token", page, err)
	}
	if tail, err := s.Tail(acct, "g", "job/default/1", 100); err != nil || len(tail) != 0 {
		t.Errorf("Tail = %q, %v", tail, err)
	}
	if f, err := s.FilterEvents(acct, FilterParams{Group: "g"}); err != nil || len(f.Events) != 0 || !slices.Equal(f.Streams, []string{"job/default/1"}) {
		t.Errorf("FilterEvents = %+v, %v; want the stream searched, no events", f, err)
	}
	if err := s.CreateStream(acct, "g", "job/default/1"); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("CreateStream of a reserved stream: %v, want ErrAlreadyExists", err)
	}

	// Its first output makes the file, with the reservation's header: a token given before
	// reads on, and the creation time stays the container's start.
	clk.set(9000)
	w := l.Writer()
	w.Write([]byte("hello\n"))
	w.Close()
	if files := streamFiles(t, s, "g"); len(files) != 1 {
		t.Fatalf("stream files %v after output, want one", files)
	}
	next, err := s.GetEvents(acct, GetEventsParams{Group: "g", Stream: "job/default/1", NextToken: page.NextForwardToken})
	if err != nil || !slices.Equal(messages(next.Events), []string{"hello"}) {
		t.Fatalf("reading on from the empty stream's token: %+v, %v", next, err)
	}
	res, err = s.DescribeStreams(acct, DescribeStreamsParams{Group: "g"})
	if err != nil || len(res.Streams) != 1 || res.Streams[0].CreationTime != 5000 || res.Streams[0].LastEventTimestamp != 9000 {
		t.Fatalf("DescribeStreams after output = %+v, %v", res.Streams, err)
	}
}

// TestReservedStreamsSurviveRestartAndDelete: reservations and their deletions are durable, a
// torn last line of the index is ignored, and deleting a stream removes its reservation too.
func TestReservedStreamsSurviveRestartAndDelete(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{ms: 1000}
	s, err := Open(dir, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b", "c"} {
		s.Lazy(acct, "g", name).Open()
	}
	w := s.Lazy(acct, "g", "c").Writer() // c gets a file as well
	w.Write([]byte("x\n"))
	w.Close()
	if err := s.DeleteStream(acct, "g", "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStream(acct, "g", "c"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStream(acct, "g", "b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting a deleted reserved stream: %v, want ErrNotFound", err)
	}
	s.Close()
	// A crash in the middle of a reservation's line.
	idx, err := os.OpenFile(filepath.Join(dir, groupPath(acct, "g"), emptyIndexName), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	idx.WriteString(headerMagic + " created=1 id=torn account=")
	idx.Close()

	s, err = Open(dir, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.DescribeStreams(acct, DescribeStreamsParams{Group: "g"})
	var names []string
	for _, st := range res.Streams {
		names = append(names, st.Name)
	}
	if err != nil || !slices.Equal(names, []string{"a"}) {
		t.Fatalf("streams after a restart: %v, %v; want [a]", names, err)
	}
	if _, err := s.GetEvents(acct, GetEventsParams{Group: "g", Stream: "c"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("a deleted stream that had output and a reservation: %v, want ErrNotFound", err)
	}
	// PutLogEvents onto a reserved stream makes its file.
	clk.set(2000)
	if _, err := s.Put(acct, "g", "a", []InputEvent{{Timestamp: 1500, Message: "put"}}, 0, 1<<62); err != nil {
		t.Fatal(err)
	}
	if got := messages(readAll(t, s, "g", "a")); !slices.Equal(got, []string{"put"}) {
		t.Errorf("events after Put onto a reserved stream: %v", got)
	}
}

// TestReservedStreamsGoWithTheirGroupAndRetention: deleting the group removes its reservations,
// and a reservation older than the group's retention expires as an empty stream file would.
func TestReservedStreamsGoWithTheirGroupAndRetention(t *testing.T) {
	s, clk := newTestStore(t)
	if err := s.CreateGroup(acct, GroupInfo{Name: "g"}); err != nil {
		t.Fatal(err)
	}
	s.Lazy(acct, "g", "old").Open()
	day := (24 * time.Hour).Milliseconds()
	clk.set(1000 + 2*day)
	s.Lazy(acct, "g", "new").Open()
	if err := s.UpdateGroup(acct, "g", func(g *GroupInfo) { g.RetentionInDays = 1 }); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Expire(); err != nil || n != 1 {
		t.Fatalf("Expire deleted %d (%v), want the old reservation", n, err)
	}
	if res, _ := s.DescribeStreams(acct, DescribeStreamsParams{Group: "g"}); len(res.Streams) != 1 || res.Streams[0].Name != "new" {
		t.Errorf("streams after Expire: %+v", res.Streams)
	}
	if err := s.DeleteGroup(acct, "g"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateGroup(acct, GroupInfo{Name: "g"}); err != nil {
		t.Fatal(err)
	}
	if res, err := s.DescribeStreams(acct, DescribeStreamsParams{Group: "g"}); err != nil || len(res.Streams) != 0 {
		t.Errorf("a re-created group lists %+v, %v", res.Streams, err)
	}
}
