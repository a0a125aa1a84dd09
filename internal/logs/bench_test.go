package logs

import (
	"fmt"
	"strconv"
	"testing"
)

const benchLines = 100000

func benchLine(i int) []byte {
	return fmt.Appendf(nil, "2024-05-01T12:00:00Z INFO step %06d done\n", i)
}

// BenchmarkWrite100kLines writes 100k short lines, one Write each, as a
// line-buffered program's output arrives.
func BenchmarkWrite100kLines(b *testing.B) {
	s, err := Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	lines := make([][]byte, benchLines)
	for i := range lines {
		lines[i] = benchLine(i)
	}
	b.SetBytes(int64(benchLines * len(lines[0])))
	n := 0
	for b.Loop() {
		n++
		w, err := s.Create(acct, "/aws/batch/job", "bench/default/"+strconv.Itoa(n))
		if err != nil {
			b.Fatal(err)
		}
		for _, l := range lines {
			if _, err := w.Write(l); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchLines), "ns/line")
}

func benchStream(b *testing.B, lines int) *Store {
	s, err := Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	w, err := s.Create(acct, "g", "s")
	if err != nil {
		b.Fatal(err)
	}
	for i := range lines {
		w.Write(benchLine(i))
	}
	w.Close()
	return s
}

// BenchmarkGetEventsPaging reads a 100k-event stream from the head to the
// end with default-sized pages (10,000 events each).
func BenchmarkGetEventsPaging(b *testing.B) {
	s := benchStream(b, benchLines)
	b.SetBytes(int64(benchLines * len(benchLine(0))))
	for b.Loop() {
		p := GetEventsParams{Group: "g", Stream: "s", StartFromHead: true}
		got := 0
		for {
			res, err := s.GetEvents(acct, p)
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Events) == 0 {
				break
			}
			got += len(res.Events)
			p.NextToken = res.NextForwardToken
		}
		if got != benchLines {
			b.Fatalf("read %d events", got)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchLines), "ns/event")
}

// BenchmarkGetEventsPage reads one 100-event page of a 1M-event stream:
// the newest page, a page continuing from a token in the middle, and the
// page at a start time, which all cost the same whatever the stream's size.
func BenchmarkGetEventsPage(b *testing.B) {
	const n = 1000000
	clk := &fakeClock{}
	s, err := Open(b.TempDir(), clk.now)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	w, err := s.Create(acct, "g", "s")
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		clk.set(int64(i))
		w.Write(benchLine(i))
	}
	w.Close()
	mid, err := s.GetEvents(acct, GetEventsParams{Group: "g", Stream: "s", StartTime: ptrTo(int64(n / 2)), StartFromHead: true, Limit: 1})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		p    GetEventsParams
	}{
		{"newest", GetEventsParams{Limit: 100}},
		{"token", GetEventsParams{Limit: 100, NextToken: mid.NextForwardToken}},
		{"start-time", GetEventsParams{Limit: 100, StartFromHead: true, StartTime: ptrTo(int64(n / 3))}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			bc.p.Group, bc.p.Stream = "g", "s"
			for b.Loop() {
				res, err := s.GetEvents(acct, bc.p)
				if err != nil || len(res.Events) != 100 {
					b.Fatalf("%d events, %v", len(res.Events), err)
				}
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }
