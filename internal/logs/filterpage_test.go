package logs

import (
	"fmt"
	"slices"
	"testing"
)

// TestFilterPagesEveryEventOnce: paging FilterEvents through three streams whose events
// interleave in time (some at equal timestamps), with small pages and a pattern, returns every
// match exactly once, in time order, whatever the page size.
func TestFilterPagesEveryEventOnce(t *testing.T) {
	s, clk := newTestStore(t)
	if err := s.CreateGroup(acct, GroupInfo{Name: "g"}); err != nil {
		t.Fatal(err)
	}
	var want []string
	for k, name := range []string{"a", "b", "c"} {
		writeStream(t, s, clk, "g", name, 50, func(i int) int64 { return 10_000 + int64(i*3+k%2) }, func(i int) string {
			return fmt.Sprintf("%s-%02d %s", name, i, map[bool]string{true: "hit", false: "miss"}[i%3 != 0])
		})
	}
	match, err := CompilePattern("hit")
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.FilterEvents(acct, FilterParams{Group: "g", Match: match})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all.Events {
		want = append(want, e.Message)
	}
	if len(want) != 3*33 {
		t.Fatalf("%d matches in one page, want %d", len(want), 3*33)
	}
	for _, limit := range []int{1, 2, 7, 40} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			var got []string
			p := FilterParams{Group: "g", Match: match, Limit: limit}
			for pages := 0; ; pages++ {
				if pages > len(want)+1 {
					t.Fatal("paging does not end")
				}
				res, err := s.FilterEvents(acct, p)
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Events) > limit {
					t.Fatalf("a page of %d events, limit %d", len(res.Events), limit)
				}
				for _, e := range res.Events {
					got = append(got, e.Message)
				}
				if res.NextToken == "" {
					break
				}
				p.NextToken = res.NextToken
			}
			if !slices.Equal(got, want) {
				t.Fatalf("paged %d events, want %d in the one-page order:\n got %v\nwant %v", len(got), len(want), got, want)
			}
		})
	}
}
