package lambda

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/barge-run/barge/internal/store/sqlite"
)

// twoServers opens one SQLite file twice, as two servers on one database would, with a clock
// the test moves.
func twoServers(t *testing.T) (a, b *Shares, advance func(time.Duration)) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "barge.db")
	var mu sync.Mutex
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	open := func(holder string) *Shares {
		db, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return NewShares(db, holder, 10*time.Second, clock)
	}
	return open("server-a"), open("server-b"), func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
}

// TestSharesDivideALimit: two servers never hold more than the limit together; one left short
// is seen waiting by the other, which gives back what it does not use; a server that stops
// renewing frees its share after the lease period.
func TestSharesDivideALimit(t *testing.T) {
	a, b, advance := twoServers(t)
	ctx := context.Background()
	const acct, key = "111122223333", "function/f"
	steps := []struct {
		name      string
		do        func() (int, error)
		want      int
		contended bool
	}{
		{"a takes the whole limit", func() (int, error) { return a.Grow(ctx, acct, key, 10, 10) }, 10, false},
		{"b gets nothing", func() (int, error) { return b.Grow(ctx, acct, key, 10, 10) }, 0, false},
		{"a sees b waiting and keeps 3", func() (int, error) {
			c, err := a.Renew(ctx, acct, key, 3)
			return map[bool]int{true: 1}[c], err
		}, 1, false},
		{"b gets the 7 a gave back", func() (int, error) { return b.Grow(ctx, acct, key, 10, 10) }, 7, false},
		{"a cannot grow past the limit", func() (int, error) { return a.Grow(ctx, acct, key, 10, 10) }, 3, false},
		{"a lowered limit leaves a nothing new", func() (int, error) { return a.Grow(ctx, acct, key, 8, 8) }, 1, false},
	}
	for _, s := range steps {
		got, err := s.do()
		if err != nil || got != s.want {
			t.Fatalf("%s: got %d, %v; want %d", s.name, got, err, s.want)
		}
	}
	// b stops renewing (it died): after the lease period a may take everything.
	advance(11 * time.Second)
	if got, err := a.Grow(ctx, acct, key, 10, 10); err != nil || got != 10 {
		t.Fatalf("after b's share expired a got %d, %v; want 10", got, err)
	}
}

// TestSharesConcurrentGrows: servers growing their shares at once never hold more than the
// limit between them.
func TestSharesConcurrentGrows(t *testing.T) {
	a, b, _ := twoServers(t)
	ctx := context.Background()
	for i := range 20 {
		limit := 5 + i%7
		key := "function/f" + string(rune('a'+i))
		var got [2]int
		var wg sync.WaitGroup
		for j, s := range []*Shares{a, b} {
			wg.Go(func() {
				n, err := s.Grow(ctx, "111122223333", key, limit, limit)
				if err != nil {
					t.Error(err)
				}
				got[j] = n
			})
		}
		wg.Wait()
		if got[0]+got[1] != limit {
			t.Fatalf("limit %d: shares %v", limit, got)
		}
	}
}
