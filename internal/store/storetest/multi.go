package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/barge-run/barge/internal/store"
)

// ExerciseShared runs the conformance tests of the verbs several servers on one database rely
// on — leases and fencing, claims, versions, concurrent creation, listing order and paging under
// concurrent writes — against two handles that open
// (open returns both, on one fresh database; the suite closes them).
func ExerciseShared(t *testing.T, open func(t *testing.T) (a, b store.Store)) {
	pair := func(t *testing.T) (store.Store, store.Store) {
		a, b := open(t)
		t.Cleanup(func() { a.Close(); b.Close() })
		return a, b
	}
	t.Run("LeaseAndFence", func(t *testing.T) { testLeaseAndFence(t, pair) })
	t.Run("Claims", func(t *testing.T) { testClaims(t, pair) })
	t.Run("Versions", func(t *testing.T) { testVersions(t, pair) })
	t.Run("ConcurrentCreate", func(t *testing.T) { testConcurrentCreate(t, pair) })
	t.Run("BytewiseOrder", func(t *testing.T) { testBytewiseOrder(t, pair) })
	t.Run("PagingWhileWriting", func(t *testing.T) { testPagingWhileWriting(t, pair) })
}

var t0 = time.UnixMilli(1_800_000_000_000).UTC()

func testLeaseAndFence(t *testing.T, pair func(*testing.T) (store.Store, store.Store)) {
	ctx := context.Background()
	a, b := pair(t)
	la, err := a.LeaseAcquire(ctx, "engine", "server-a", t0, 10*time.Second)
	if err != nil || la.Generation != 1 || la.Holder != "server-a" {
		t.Fatalf("first acquire: %+v %v", la, err)
	}
	if _, err := b.LeaseAcquire(ctx, "engine", "server-b", t0.Add(5*time.Second), 10*time.Second); !errors.Is(err, store.ErrLeaseHeld) {
		t.Fatalf("acquire of a held lease: %v, want ErrLeaseHeld", err)
	}
	renewed, err := a.LeaseAcquire(ctx, "engine", "server-a", t0.Add(5*time.Second), 10*time.Second)
	if err != nil || renewed.Generation != 1 || !renewed.Expires.Equal(t0.Add(15*time.Second)) {
		t.Fatalf("renewal: %+v %v", renewed, err)
	}
	fa := a.Fenced(*renewed)
	job := &store.Job{Account: "x", ID: "j1", Queue: "q", Status: "SUBMITTED", Body: []byte(`{}`)}
	must(t, fa.JobInsertMany(ctx, []*store.Job{job}))

	// a stops renewing; b takes the lease once it expired; a's fenced writes now fail.
	lb, err := b.LeaseAcquire(ctx, "engine", "server-b", t0.Add(16*time.Second), 10*time.Second)
	if err != nil || lb.Generation != 2 || lb.Holder != "server-b" {
		t.Fatalf("acquire after expiry: %+v %v", lb, err)
	}
	job.Status = "RUNNING"
	if err := fa.JobUpdateMany(ctx, []*store.Job{job}); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("a deposed holder's write: %v, want ErrFenced", err)
	}
	if err := fa.ResourceCreate(ctx, &store.Resource{Account: "x", Kind: store.KindJobQueue, Name: "late", Body: []byte(`{}`)}); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("a deposed holder's resource write: %v, want ErrFenced", err)
	}
	got, err := b.JobGetMany(ctx, "x", []string{"j1"})
	if err != nil || len(got) != 1 || got[0].Status != "SUBMITTED" {
		t.Fatalf("the fenced write must not have landed: %+v %v", got, err)
	}
	job.Status = "RUNNABLE"
	must(t, b.Fenced(*lb).JobUpdateMany(ctx, []*store.Job{job}))
	must(t, b.LeaseRelease(ctx, lb))
	again, err := a.LeaseAcquire(ctx, "engine", "server-a", t0.Add(17*time.Second), 10*time.Second)
	if err != nil || again.Generation != 3 {
		t.Fatalf("acquire after release: %+v %v", again, err)
	}
}

func testClaims(t *testing.T, pair func(*testing.T) (store.Store, store.Store)) {
	ctx := context.Background()
	a, b := pair(t)
	const n = 40
	for i := range n {
		must(t, a.ResourceCreate(ctx, &store.Resource{Account: "x", Kind: "work", Name: fmt.Sprintf("w%02d", i), Body: []byte(`{}`),
			VisibleAt: t0.Add(time.Duration(i) * time.Millisecond)}))
	}
	must(t, a.ResourceCreate(ctx, &store.Resource{Account: "x", Kind: "work", Name: "later", Body: []byte(`{}`), VisibleAt: t0.Add(time.Hour)}))
	now, until := t0.Add(time.Second), t0.Add(time.Minute)
	var mu sync.Mutex
	owners := map[string]string{}
	var wg sync.WaitGroup
	for _, h := range []struct {
		s     store.Store
		owner string
	}{{a, "a"}, {b, "b"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := h.s.ResourceClaim(ctx, &store.ClaimParams{Kind: "work", Owner: h.owner, Now: now, Until: until, Limit: 3})
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, r := range got {
					if prev, dup := owners[r.Name]; dup {
						t.Errorf("%s claimed by %s and %s", r.Name, prev, h.owner)
					}
					if r.Owner != h.owner || !r.LeaseUntil.Equal(until) {
						t.Errorf("claimed %s: owner %q until %v", r.Name, r.Owner, r.LeaseUntil)
					}
					owners[r.Name] = h.owner
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(owners) != n {
		t.Fatalf("%d items claimed, want %d (the one visible later must wait)", len(owners), n)
	}
	// A claim that expired is claimable again; one done is deleted by its version.
	got, err := b.ResourceClaim(ctx, &store.ClaimParams{Kind: "work", Owner: "b", Now: until.Add(time.Millisecond), Until: until.Add(time.Minute), Limit: 1})
	if err != nil || len(got) != 1 || got[0].Name != "w00" {
		t.Fatalf("reclaim after expiry: %+v %v", got, err)
	}
	stale := *got[0]
	stale.Version--
	if err := a.ResourceDeleteVersion(ctx, &stale); !errors.Is(err, store.ErrStale) {
		t.Fatalf("delete by an old version: %v, want ErrStale", err)
	}
	must(t, b.ResourceDeleteVersion(ctx, got[0]))
}

func testVersions(t *testing.T, pair func(*testing.T) (store.Store, store.Store)) {
	ctx := context.Background()
	a, b := pair(t)
	must(t, a.ResourceCreate(ctx, &store.Resource{Account: "x", Kind: store.KindJobQueue, Name: "q", Status: "VALID", Body: []byte(`{"p":1}`)}))
	ra, err := a.ResourceGet(ctx, "x", store.KindJobQueue, "q", 0)
	must(t, err)
	rb, err := b.ResourceGet(ctx, "x", store.KindJobQueue, "q", 0)
	must(t, err)
	if ra.Version != 1 || rb.Version != 1 {
		t.Fatalf("versions after create: %d %d", ra.Version, rb.Version)
	}
	ra.Body, rb.Body = []byte(`{"p":2}`), []byte(`{"p":3}`)
	must(t, a.ResourceUpdate(ctx, ra))
	if ra.Version != 2 {
		t.Fatalf("version after update: %d", ra.Version)
	}
	if err := b.ResourceUpdate(ctx, rb); !errors.Is(err, store.ErrStale) {
		t.Fatalf("update from a stale read: %v, want ErrStale", err)
	}
	got, _ := b.ResourceGet(ctx, "x", store.KindJobQueue, "q", 0)
	if string(got.Body) != `{"p":2}` {
		t.Fatalf("the stale update landed: %s", got.Body)
	}
	rb.Version = 0 // unconditional
	must(t, b.ResourceUpdate(ctx, rb))
	if rb.Version != 3 {
		t.Fatalf("version after an unconditional update: %d", rb.Version)
	}
	missing := &store.Resource{Account: "x", Kind: store.KindJobQueue, Name: "gone", Version: 1}
	if err := a.ResourceUpdate(ctx, missing); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("versioned update of a missing resource: %v, want ErrNotFound", err)
	}
}

// testConcurrentCreate: servers creating the same defaults at once: exactly one create wins,
// the others get ErrConflict and nothing is duplicated.
func testConcurrentCreate(t *testing.T, pair func(*testing.T) (store.Store, store.Store)) {
	ctx := context.Background()
	a, b := pair(t)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.ResourceCreate(ctx, &store.Resource{Account: "x", Kind: store.KindComputeEnvironment, Name: "default", Status: "VALID", Body: []byte(`{}`)})
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrConflict):
			t.Fatalf("concurrent create: %v", err)
		}
	}
	rs, err := b.ResourceList(ctx, &store.ResourceListParams{Account: "x", Kind: store.KindComputeEnvironment})
	if wins != 1 || err != nil || len(rs) != 1 {
		t.Fatalf("%d creates won, %d resources listed (%v); want 1 and 1", wins, len(rs), err)
	}
}
