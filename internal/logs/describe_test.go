package logs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestDescribeStreams(t *testing.T) {
	s, clk := newTestStore(t)
	// name -> the times of its events (the stream is created at the first)
	streams := []struct {
		name  string
		times []int64
	}{
		{"job-b/default/2", []int64{3000, 3500}},
		{"job-a/default/1", []int64{1000, 6000}},
		{"other/default/3", []int64{2000}},
		{"job-a/default/10", []int64{4000, 5000}},
		{"job-c/default/4", nil}, // created at 7000, no events
	}
	for _, st := range streams {
		if st.times == nil {
			clk.set(7000)
			w, err := s.Create(acct, "/aws/batch/job", st.name)
			if err != nil {
				t.Fatal(err)
			}
			w.Close()
			continue
		}
		writeStream(t, s, clk, "/aws/batch/job", st.name, len(st.times), func(i int) int64 { return st.times[i] }, func(int) string { return "0123456789" })
	}
	byName := []string{"job-a/default/1", "job-a/default/10", "job-b/default/2", "job-c/default/4", "other/default/3"}
	byTime := []string{"job-c/default/4", "other/default/3", "job-b/default/2", "job-a/default/10", "job-a/default/1"}
	reversed := func(s []string) []string { s = slices.Clone(s); slices.Reverse(s); return s }

	tests := []struct {
		name string
		p    DescribeStreamsParams
		want []string
	}{
		{"by name", DescribeStreamsParams{}, byName},
		{"by name explicitly", DescribeStreamsParams{OrderBy: OrderByLogStreamName}, byName},
		{"by name descending", DescribeStreamsParams{Descending: true}, reversed(byName)},
		{"prefix", DescribeStreamsParams{Prefix: "job-a/"}, byName[:2]},
		{"prefix descending", DescribeStreamsParams{Prefix: "job-", Descending: true}, reversed(byName[:4])},
		{"prefix matching nothing", DescribeStreamsParams{Prefix: "zzz"}, nil},
		{"by last event time", DescribeStreamsParams{OrderBy: OrderByLastEventTime}, byTime},
		{"by last event time descending", DescribeStreamsParams{OrderBy: OrderByLastEventTime, Descending: true}, reversed(byTime)},
		{"by last event time with prefix", DescribeStreamsParams{OrderBy: OrderByLastEventTime, Prefix: "job-a"}, byTime[3:]},
	}
	for _, tt := range tests {
		for _, limit := range []int{0, 1, 2, 50} {
			t.Run(fmt.Sprintf("%s/limit=%d", tt.name, limit), func(t *testing.T) {
				p := tt.p
				p.Group, p.Limit = "/aws/batch/job", limit
				var got []string
				for pages := 1; ; pages++ {
					res, err := s.DescribeStreams(acct, p)
					if err != nil {
						t.Fatal(err)
					}
					if limit > 0 && len(res.Streams) > limit {
						t.Fatalf("limit %d: page of %d", limit, len(res.Streams))
					}
					for _, st := range res.Streams {
						got = append(got, st.Name)
					}
					if res.NextToken == "" {
						break
					}
					if pages > 10 {
						t.Fatal("paging does not end")
					}
					p.NextToken = res.NextToken
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("limit %d: streams %q, want %q", limit, got, tt.want)
				}
			})
		}
	}

	res, err := s.DescribeStreams(acct, DescribeStreamsParams{Group: "/aws/batch/job", Prefix: "job-"})
	if err != nil {
		t.Fatal(err)
	}
	want := []StreamInfo{
		{Name: "job-a/default/1", CreationTime: 1000, FirstEventTimestamp: 1000, LastEventTimestamp: 6000, LastIngestionTime: 6000, StoredBytes: 2 * int64(len("1000\t1000\t0123456789\n"))},
		{Name: "job-a/default/10", CreationTime: 4000, FirstEventTimestamp: 4000, LastEventTimestamp: 5000, LastIngestionTime: 5000, StoredBytes: 2 * int64(len("1000\t1000\t0123456789\n"))},
		{Name: "job-b/default/2", CreationTime: 3000, FirstEventTimestamp: 3000, LastEventTimestamp: 3500, LastIngestionTime: 3500, StoredBytes: 2 * int64(len("1000\t1000\t0123456789\n"))},
		{Name: "job-c/default/4", CreationTime: 7000},
	}
	if !slices.Equal(res.Streams, want) {
		t.Errorf("streams\n%+v\nwant\n%+v", res.Streams, want)
	}
}

func TestDescribeStreamsErrors(t *testing.T) {
	s, clk := newTestStore(t)
	writeStream(t, s, clk, "g", "s", 1, func(int) int64 { return 1 }, func(int) string { return "x" })
	byName, err := s.DescribeStreams(acct, DescribeStreamsParams{Group: "g", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	writeStream(t, s, clk, "g", "t", 1, func(int) int64 { return 1 }, func(int) string { return "x" })
	byName, err = s.DescribeStreams(acct, DescribeStreamsParams{Group: "g", Limit: 1})
	if err != nil || byName.NextToken == "" {
		t.Fatalf("DescribeStreams = %v, %v; want a next token", byName, err)
	}
	tests := []struct {
		name string
		p    DescribeStreamsParams
		want error
	}{
		{"missing group", DescribeStreamsParams{Group: "nope"}, ErrNotFound},
		{"bad order", DescribeStreamsParams{Group: "g", OrderBy: "Size"}, ErrInvalidParameter},
		{"garbage token", DescribeStreamsParams{Group: "g", NextToken: "zzz"}, ErrInvalidToken},
		{"bad base64", DescribeStreamsParams{Group: "g", NextToken: "n/!!"}, ErrInvalidToken},
		{"name token in time order", DescribeStreamsParams{Group: "g", OrderBy: OrderByLastEventTime, NextToken: byName.NextToken}, ErrInvalidToken},
		{"event token", DescribeStreamsParams{Group: "g", NextToken: "f/000000000000000000000000000000"}, ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.DescribeStreams(acct, tt.p); !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestPathEscaping(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "store")
	s, err := Open(dir, (&fakeClock{ms: 1}).now)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	long := strings.Repeat("Long/Name.", 60)
	names := []struct{ account, group, stream string }{
		{acct, "/aws/batch/job", "hello/default/7f3c2a"},
		{acct, "/aws/lambda/MyFunction", "2024/01/01/[$LATEST]abcdef"},
		{"..", "..", ".."},
		{".", ".", "."},
		{acct, "../../..", "../../../etc/passwd"},
		{"/", "/etc", "/etc/passwd"},
		{acct, "g", "a\x00b"},
		{acct, "g\x00", "s"},
		{"", "", ""},
		{acct, "g", "Case"},
		{acct, "g", "case"},
		{acct, "g", "CASE"},
		{acct, "g", "%2F"},
		{acct, "g", "/"},
		{acct, "g", "%"},
		{acct, "g", "~"},
		{acct, "g", "s.log"},
		{acct, "g", ".tmp-x"},
		{acct, "g", `c:\windows\system32`},
		{acct, long, long},
		{acct, long, long + "x"},
		{acct, "g", long},
	}
	for i, n := range names {
		w, err := s.Create(n.account, n.group, n.stream)
		if err != nil {
			t.Fatalf("Create(%q, %q, %q): %v", n.account, n.group, n.stream, err)
		}
		w.Write([]byte{byte('A' + i), '\n'})
		w.Close()
	}
	// Every name got its own stream.
	for i, n := range names {
		res, err := s.GetEvents(n.account, GetEventsParams{Group: n.group, Stream: n.stream})
		if err != nil {
			t.Fatalf("GetEvents(%q, %q, %q): %v", n.account, n.group, n.stream, err)
		}
		if got := messages(res.Events); len(got) != 1 || got[0] != string(rune('A'+i)) {
			t.Errorf("stream %q %q %q holds %q", n.account, n.group, n.stream, got)
		}
	}
	// Listings give back the names as created, hashed ones included.
	res, err := s.DescribeStreams(acct, DescribeStreamsParams{Group: long})
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{res.Streams[0].Name, res.Streams[1].Name}; !slices.Equal(got, []string{long, long + "x"}) {
		t.Errorf("streams of long group: %q", got)
	}
	res, err = s.DescribeStreams(acct, DescribeStreamsParams{Group: "g", Prefix: "~"})
	if err != nil || len(res.Streams) != 1 || res.Streams[0].Name != "~" {
		t.Errorf("DescribeStreams prefix ~ = %+v, %v", res, err)
	}
	// Nothing was written outside dir, and every file name is tame.
	if entries, _ := os.ReadDir(parent); len(entries) != 1 || entries[0].Name() != "store" {
		t.Errorf("entries beside the store: %v", entries)
	}
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Error(err)
			return nil
		}
		if path == dir {
			return nil
		}
		name := d.Name()
		if len(name) > maxEscaped+len(fileSuffix) || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789-_%ABCDEF~.") != "" ||
			strings.HasPrefix(name, ".") || (strings.Contains(name, ".") && !strings.HasSuffix(name, fileSuffix)) {
			t.Errorf("unexpected file name %q", path)
		}
		if d.Type()&fs.ModeType != 0 && !d.IsDir() {
			t.Errorf("%s is not a regular file", path)
		}
		return nil
	})
	// Deleting with a traversal name deletes only its own stream.
	if err := s.DeleteStream(acct, "../../..", "../../../etc/passwd"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetEvents(acct, GetEventsParams{Group: "/aws/batch/job", Stream: "hello/default/7f3c2a"}); err != nil {
		t.Errorf("other stream gone: %v", err)
	}
}

func TestEscapeName(t *testing.T) {
	seen := map[string]string{}
	for _, name := range []string{"", "a", "A", "%", "%41", "~", ".", "..", "/", "a/b", "a%2Fb", "\x00", "\xff", "é", "job-1_x", strings.Repeat("x", 300), strings.Repeat("x", 301)} {
		e := escapeName(name)
		if prev, dup := seen[e]; dup {
			t.Errorf("%q and %q both escape to %q", prev, name, e)
		}
		seen[e] = name
		if got, ok := unescapeName(e); ok && got != name {
			t.Errorf("unescape(escape(%q)) = %q", name, got)
		} else if !ok && !strings.HasPrefix(e, "~") {
			t.Errorf("escape(%q) = %q does not unescape", name, e)
		}
	}
	for _, bad := range []string{"%4", "%zz", "%4a", "A", "a.b", "a/b", "~abc"} {
		if got, ok := unescapeName(bad); ok {
			t.Errorf("unescapeName(%q) = %q, want failure", bad, got)
		}
	}
}
