package logs

import (
	"testing"
	"time"
)

func TestRetention(t *testing.T) {
	s, clk := newTestStore(t)
	if err := s.CreateGroup(acct, GroupInfo{Name: "g"}); err != nil {
		t.Fatal(err)
	}
	writeStream(t, s, clk, "g", "old", 2, func(i int) int64 { return 1000 + int64(i) }, func(i int) string { return "old" })
	day := (24 * time.Hour).Milliseconds()
	writeStream(t, s, clk, "g", "new", 1, func(int) int64 { return 1000 + 2*day }, func(int) string { return "new" })
	if err := s.UpdateGroup(acct, "g", func(g *GroupInfo) { g.RetentionInDays = 1 }); err != nil {
		t.Fatal(err)
	}
	clk.set(1000 + 2*day + 10)
	if got := readAll(t, s, "g", "old"); len(got) != 0 {
		t.Errorf("events older than the retention are read: %v", got)
	}
	if res, err := s.FilterEvents(acct, FilterParams{Group: "g"}); err != nil || len(res.Events) != 1 || res.Events[0].Message != "new" {
		t.Errorf("FilterEvents past the retention: %v %+v", err, res)
	}
	n, err := s.Expire()
	if err != nil || n != 1 {
		t.Fatalf("Expire deleted %d streams (%v), want 1", n, err)
	}
	if res, _ := s.DescribeStreams(acct, DescribeStreamsParams{Group: "g"}); len(res.Streams) != 1 || res.Streams[0].Name != "new" {
		t.Errorf("streams after Expire: %+v", res.Streams)
	}
}
