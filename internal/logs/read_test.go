package logs

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestGetEventsPaging(t *testing.T) {
	s, clk := newTestStore(t)
	const n = 25
	writeStream(t, s, clk, "g", "s", n, func(i int) int64 { return 1000 + int64(i) }, func(i int) string { return fmt.Sprintf("m%02d", i) })

	// Each step reads with a token from the previous step's result:
	// 'f' its NextForwardToken, 'b' its NextBackwardToken, 0 none.
	type step struct {
		token byte
		head  bool
		limit int
		from  int // want messages m<from> up to m<to>
		to    int
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"newest by default", []step{{to: n}}},
		{"newest page", []step{{limit: 10, from: 15, to: 25}}},
		{"head page", []step{{head: true, limit: 10, from: 0, to: 10}}},
		{"limit above maximum", []step{{head: true, limit: 20000, to: n}}},
		{"forward to the end and stay there", []step{
			{head: true, limit: 10, from: 0, to: 10},
			{token: 'f', limit: 10, from: 10, to: 20},
			{token: 'f', limit: 10, from: 20, to: 25},
			{token: 'f', limit: 10, from: 25, to: 25},
			{token: 'f', limit: 10, from: 25, to: 25},
		}},
		{"backward to the start and stay there", []step{
			{limit: 10, from: 15, to: 25},
			{token: 'b', limit: 10, from: 5, to: 15},
			{token: 'b', limit: 10, from: 0, to: 5},
			{token: 'b', limit: 10, from: 0, to: 0},
			{token: 'b', limit: 10, from: 0, to: 0},
		}},
		{"back and forth", []step{
			{head: true, limit: 10, from: 0, to: 10},
			{token: 'f', limit: 5, from: 10, to: 15},
			{token: 'b', limit: 3, from: 7, to: 10},
			{token: 'f', limit: 4, from: 10, to: 14},
			{token: 'b', limit: 100, from: 0, to: 10},
		}},
		{"forward token from the newest page", []step{
			{limit: 5, from: 20, to: 25},
			{token: 'f', from: 25, to: 25},
		}},
		{"head flag ignored with a token", []step{
			{limit: 5, from: 20, to: 25},
			{token: 'b', head: true, limit: 5, from: 15, to: 20},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var prev GetEventsResult
			for i, st := range tt.steps {
				p := GetEventsParams{Group: "g", Stream: "s", Limit: st.limit, StartFromHead: st.head}
				switch st.token {
				case 'f':
					p.NextToken = prev.NextForwardToken
				case 'b':
					p.NextToken = prev.NextBackwardToken
				}
				res, err := s.GetEvents(acct, p)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				want := msgRange("m%02d", st.from, st.to)
				if got := messages(res.Events); !slices.Equal(got, want) {
					t.Fatalf("step %d: events %q, want %q", i, got, want)
				}
				if res.Events == nil {
					t.Errorf("step %d: Events is nil, want empty", i)
				}
				if len(res.Events) == 0 && st.token == 'f' && res.NextForwardToken != p.NextToken {
					t.Errorf("step %d: forward read at the end moved the token %s -> %s", i, p.NextToken, res.NextForwardToken)
				}
				if len(res.Events) == 0 && st.token == 'b' && res.NextBackwardToken != p.NextToken {
					t.Errorf("step %d: backward read at the start moved the token %s -> %s", i, p.NextToken, res.NextBackwardToken)
				}
				for _, tok := range []string{res.NextForwardToken, res.NextBackwardToken} {
					if len(tok) != tokenLen || strings.Trim(tok[2:], "0123456789") != "" {
						t.Errorf("step %d: token %q not in CloudWatch form", i, tok)
					}
				}
				if res.NextForwardToken[0] != 'f' || res.NextBackwardToken[0] != 'b' {
					t.Errorf("step %d: tokens %q, %q have wrong directions", i, res.NextForwardToken, res.NextBackwardToken)
				}
				prev = res
			}
		})
	}
}

// A follower keeps reading with the forward token; new events show up
// after the writer appends them.
func TestGetEventsFollow(t *testing.T) {
	s, clk := newTestStore(t)
	w, err := s.Create(acct, "g", "s")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	read := func(tok string) GetEventsResult {
		t.Helper()
		res, err := s.GetEvents(acct, GetEventsParams{Group: "g", Stream: "s", NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := read("")
	if len(res.Events) != 0 {
		t.Fatalf("empty stream returned %v", res.Events)
	}
	tok := res.NextForwardToken
	steps := []struct {
		write string
		want  []string
	}{
		{"", nil},
		{"a\nb\n", []string{"a", "b"}},
		{"par", nil},
		{"tial\n", []string{"partial"}},
		{"", nil},
		{"c\n", []string{"c"}},
	}
	for i, st := range steps {
		clk.set(int64(2000 + i))
		w.Write([]byte(st.write))
		res := read(tok)
		if got := messages(res.Events); !slices.Equal(got, st.want) {
			t.Fatalf("step %d: events %q, want %q", i, got, st.want)
		}
		if len(st.want) == 0 && res.NextForwardToken != tok {
			t.Errorf("step %d: token moved without events", i)
		}
		tok = res.NextForwardToken
	}
}

func TestGetEventsTimeFilter(t *testing.T) {
	s, clk := newTestStore(t)
	// Enough events that time bounds are found by bisection, four to a
	// millisecond so equal timestamps straddle the bounds.
	const n = 20000
	ts := func(i int) int64 { return 10000 + int64(i/4) }
	msg := func(i int) string { return fmt.Sprintf("e%05d %s", i, strings.Repeat("-", i%40)) }
	writeStream(t, s, clk, "g", "s", n, ts, msg)
	if size := s.mustReaderEnd(t, "g", "s"); size < 8*seekLinear {
		t.Fatalf("stream of %d bytes too small to exercise bisection", size)
	}

	ptr := func(v int64) *int64 { return &v }
	tests := []struct {
		name       string
		start, end *int64
	}{
		{"start only", ptr(11000), nil},
		{"end only", nil, ptr(12000)},
		{"both", ptr(10500), ptr(13333)},
		{"narrow", ptr(12345), ptr(12346)},
		{"start before everything", ptr(0), nil},
		{"end after everything", nil, ptr(1 << 50)},
		{"start after everything", ptr(1 << 50), nil},
		{"end before everything", nil, ptr(5)},
		{"empty window", ptr(12000), ptr(12000)},
		{"inverted window", ptr(13000), ptr(12000)},
		{"first millisecond", ptr(10000), ptr(10001)},
		{"last millisecond", ptr(10000 + n/4 - 1), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []string
			for i := range n {
				if (tt.start == nil || ts(i) >= *tt.start) && (tt.end == nil || ts(i) < *tt.end) {
					want = append(want, msg(i))
				}
			}
			p := GetEventsParams{Group: "g", Stream: "s", StartTime: tt.start, EndTime: tt.end, Limit: 777}

			// Newest page, then backward to the start.
			var back []string
			for pages := 0; ; pages++ {
				res, err := s.GetEvents(acct, p)
				if err != nil {
					t.Fatal(err)
				}
				if pages == 0 {
					if got, w := messages(res.Events), want[max(0, len(want)-777):]; !slices.Equal(got, w) {
						t.Fatalf("newest page: %d events %s, want %d %s", len(got), short(got[:min(3, len(got))]), len(w), short(w[:min(3, len(w))]))
					}
				}
				if len(res.Events) == 0 {
					break
				}
				back = append(messages(res.Events), back...)
				p.NextToken = res.NextBackwardToken
			}
			if !slices.Equal(back, want) {
				t.Errorf("backward: %d events, want %d", len(back), len(want))
			}

			// From the head forward to the end.
			p.NextToken, p.StartFromHead = "", true
			var fwd []string
			for {
				res, err := s.GetEvents(acct, p)
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Events) == 0 {
					break
				}
				fwd = append(fwd, messages(res.Events)...)
				p.NextToken = res.NextForwardToken
			}
			if !slices.Equal(fwd, want) {
				t.Errorf("forward: %d events, want %d", len(fwd), len(want))
			}
		})
	}
}

func (s *Store) mustReaderEnd(t *testing.T, group, stream string) int64 {
	t.Helper()
	r, err := s.openReader(acct, group, stream)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return r.end
}

func TestGetEventsByteLimit(t *testing.T) {
	s, clk := newTestStore(t)
	const n = 25
	big := func(i int) string { return fmt.Sprintf("%02d", i) + strings.Repeat("x", 100000-2) }
	writeStream(t, s, clk, "g", "s", n, func(i int) int64 { return 1000 }, big)
	// 10 events of 100,000 bytes plus 26 each fit in 1 MB; 11 do not.
	tests := []struct {
		name     string
		p        GetEventsParams
		from, to int
	}{
		{"head", GetEventsParams{StartFromHead: true}, 0, 10},
		{"newest", GetEventsParams{}, 15, 25},
		{"limit below the byte cap", GetEventsParams{StartFromHead: true, Limit: 3}, 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.Group, tt.p.Stream = "g", "s"
			res, err := s.GetEvents(acct, tt.p)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for i := tt.from; i < tt.to; i++ {
				want = append(want, big(i))
			}
			if got := messages(res.Events); !slices.Equal(got, want) {
				t.Errorf("events %s, want %s", short(got), short(want))
			}
		})
	}
	// And paging still reaches everything.
	if got := len(readAll(t, s, "g", "s")); got != n {
		t.Errorf("paged %d events, want %d", got, n)
	}
}

func TestTail(t *testing.T) {
	s, clk := newTestStore(t)
	writeStream(t, s, clk, "g", "s", 3, func(int) int64 { return 1000 }, func(i int) string { return strings.Repeat("abc"[i:i+1], i+1) })
	writeStream(t, s, clk, "g", "empty", 0, nil, nil)
	writeStream(t, s, clk, "g", "big", 20000, func(int) int64 { return 1000 }, func(i int) string { return fmt.Sprintf("line %d", i) })
	var bigText strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&bigText, "line %d\n", i)
	}
	tests := []struct {
		stream string
		max    int
		want   string
	}{
		{"s", 100, "a\nbb\nccc\n"},
		{"s", 9, "a\nbb\nccc\n"},
		{"s", 5, "\nccc\n"},
		{"s", 4, "ccc\n"},
		{"s", 1, "\n"},
		{"s", 0, ""},
		{"empty", 4096, ""},
		{"big", 4096, bigText.String()[bigText.Len()-4096:]},
	}
	for _, tt := range tests {
		got, err := s.Tail(acct, "g", tt.stream, tt.max)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("Tail(%s, %d) = %q, want %q", tt.stream, tt.max, short([]string{string(got)}), short([]string{tt.want}))
		}
	}
}

func TestNotFound(t *testing.T) {
	s, clk := newTestStore(t)
	writeStream(t, s, clk, "/aws/batch/job", "exists", 1, func(int) int64 { return 1 }, func(int) string { return "x" })
	tests := []struct {
		name    string
		account string
		group   string
		stream  string
		mention string
	}{
		{"missing stream", acct, "/aws/batch/job", "nope/default/1", `"nope/default/1"`},
		{"missing group", acct, "/aws/lambda/fn", "exists", `"/aws/lambda/fn"`},
		{"other account", "999999999999", "/aws/batch/job", "exists", `"/aws/batch/job"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := func(op string, err error) {
				t.Helper()
				if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), tt.mention) {
					t.Errorf("%s: error %v, want ErrNotFound mentioning %s", op, err, tt.mention)
				}
			}
			_, err := s.GetEvents(tt.account, GetEventsParams{Group: tt.group, Stream: tt.stream})
			check("GetEvents", err)
			_, err = s.Tail(tt.account, tt.group, tt.stream, 10)
			check("Tail", err)
			check("DeleteStream", s.DeleteStream(tt.account, tt.group, tt.stream))
			if tt.name != "missing stream" {
				_, err = s.DescribeStreams(tt.account, DescribeStreamsParams{Group: tt.group})
				check("DescribeStreams", err)
			}
		})
	}
}

func TestInvalidToken(t *testing.T) {
	s, clk := newTestStore(t)
	writeStream(t, s, clk, "g", "s", 10, func(i int) int64 { return 1000 }, func(i int) string { return fmt.Sprint("event ", i) })
	writeStream(t, s, clk, "g", "other", 10, func(i int) int64 { return 1000 }, func(i int) string { return fmt.Sprint("event ", i) })
	res, err := s.GetEvents(acct, GetEventsParams{Group: "g", Stream: "s", StartFromHead: true, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	good := res.NextForwardToken
	other, err := s.GetEvents(acct, GetEventsParams{Group: "g", Stream: "other", StartFromHead: true, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.openReader(acct, "g", "s")
	if err != nil {
		t.Fatal(err)
	}
	id, end := r.hdr.id, r.end
	r.Close()

	flip := []byte(good)
	flip[10] = '0' + (flip[10]-'0'+1)%10
	tests := []struct{ name, token string }{
		{"garbage", "garbage"},
		{"short", "f/123"},
		{"unknown direction", "x" + good[1:]},
		{"letters", good[:len(good)-1] + "a"},
		{"tampered", string(flip)},
		{"other stream", other.NextForwardToken},
		{"mid-record offset", makeToken(id, 'f', end-3)},
		{"before the first record", makeToken(id, 'f', 5)},
		{"past the end", makeToken(id, 'f', end+100)},
		{"describe token", "n/cw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.GetEvents(acct, GetEventsParams{Group: "g", Stream: "s", NextToken: tt.token})
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("GetEvents with %q: %v, want ErrInvalidToken", tt.token, err)
			}
		})
	}
	if _, err := s.GetEvents(acct, GetEventsParams{Group: "g", Stream: "s", NextToken: good}); err != nil {
		t.Errorf("valid token rejected: %v", err)
	}

	// A token does not survive its stream being deleted and re-created.
	if err := s.DeleteStream(acct, "g", "s"); err != nil {
		t.Fatal(err)
	}
	writeStream(t, s, clk, "g", "s", 10, func(i int) int64 { return 1000 }, func(i int) string { return fmt.Sprint("event ", i) })
	if _, err := s.GetEvents(acct, GetEventsParams{Group: "g", Stream: "s", NextToken: good}); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("token of deleted stream: %v, want ErrInvalidToken", err)
	}
}

func TestDeleteStream(t *testing.T) {
	s, clk := newTestStore(t)
	w, err := s.Create(acct, "g", "s")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("before\n"))
	if err := s.DeleteStream(acct, "g", "s"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetEvents(acct, GetEventsParams{Group: "g", Stream: "s"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetEvents after delete: %v, want ErrNotFound", err)
	}
	// The job writing to it does not notice.
	if _, err := w.Write([]byte("after\n")); err != nil {
		t.Errorf("Write after delete: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close after delete: %v", err)
	}
	if _, err := s.GetEvents(acct, GetEventsParams{Group: "g", Stream: "s"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetEvents after writer closed: %v, want ErrNotFound", err)
	}
	// The group remains, and the name can be used again.
	res, err := s.DescribeStreams(acct, DescribeStreamsParams{Group: "g"})
	if err != nil || len(res.Streams) != 0 {
		t.Errorf("DescribeStreams = %v, %v; want no streams", res, err)
	}
	writeStream(t, s, clk, "g", "s", 1, func(int) int64 { return 5 }, func(int) string { return "new" })
	if got := messages(readAll(t, s, "g", "s")); !slices.Equal(got, []string{"new"}) {
		t.Errorf("re-created stream has %q", got)
	}
}

// Readers running while a writer appends see whole events in order, and
// eventually all of them.
func TestReadDuringWrites(t *testing.T) {
	s, clk := newTestStore(t)
	const n = 5000
	line := func(i int) string { return fmt.Sprintf("line %05d %s", i, strings.Repeat("z", i%97)) }
	w, err := s.Create(acct, "g", "s")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		var text strings.Builder
		for i := range n {
			text.WriteString(line(i) + "\n")
		}
		b := []byte(text.String())
		for i := 0; len(b) > 0; i++ {
			k := min(37+i%300, len(b))
			clk.set(int64(1000 + i))
			if _, err := w.Write(b[:k]); err != nil {
				t.Error(err)
				return
			}
			b = b[k:]
		}
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	})
	// A follower paging forward.
	wg.Go(func() {
		p := GetEventsParams{Group: "g", Stream: "s", StartFromHead: true, Limit: 100}
		next := 0
		for next < n {
			writerDone := false
			select {
			case <-done:
				writerDone = true
			default:
			}
			res, err := s.GetEvents(acct, p)
			if err != nil {
				t.Error(err)
				return
			}
			if len(res.Events) == 0 && writerDone {
				t.Errorf("follower stopped at %d of %d events", next, n)
				return
			}
			for _, e := range res.Events {
				if e.Message != line(next) {
					t.Errorf("follower: event %q, want %q", e.Message, line(next))
					return
				}
				next++
			}
			p.NextToken = res.NextForwardToken
		}
	})
	// Readers of the newest events, the tail and the listing.
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			res, err := s.GetEvents(acct, GetEventsParams{Group: "g", Stream: "s", Limit: 50})
			if err != nil {
				t.Error(err)
				return
			}
			var first int
			for k, e := range res.Events {
				var i int
				fmt.Sscanf(e.Message, "line %d", &i)
				if k == 0 {
					first = i
				}
				if e.Message != line(first+k) {
					t.Errorf("newest page: event %q out of place", e.Message)
					return
				}
			}
			if _, err := s.Tail(acct, "g", "s", 4096); err != nil {
				t.Error(err)
				return
			}
			if _, err := s.DescribeStreams(acct, DescribeStreamsParams{Group: "g"}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
}
