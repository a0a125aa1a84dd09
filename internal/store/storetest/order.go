package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/barge-run/barge/internal/store"
)

// Listing and paging that hold with several writers and on any database: names sort bytewise
// (a database whose default collation is a locale's must list with a bytewise one, or pages
// would skip or repeat names), and paging through jobs with one handle while another inserts
// yields every job that was there when the listing began exactly once.

func testBytewiseOrder(t *testing.T, pair func(*testing.T) (store.Store, store.Store)) {
	ctx := context.Background()
	a, b := pair(t)
	names := []string{"zeta", "Zeta", "_under", "a-1", "a_1", "A1", "é-accent", "10", "9", "a"}
	for _, n := range names {
		if err := a.ResourceCreate(ctx, &store.Resource{Account: "x", Kind: store.KindJobQueue, Name: n, Status: "VALID", Body: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	want := slices.Clone(names)
	slices.Sort(want) // Go compares strings bytewise
	var got []string
	p := &store.ResourceListParams{Account: "x", Kind: store.KindJobQueue, Limit: 3}
	for {
		rs, err := b.ResourceList(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			got = append(got, r.Name)
		}
		if len(rs) < p.Limit {
			break
		}
		p.AfterName, p.AfterRevision = rs[len(rs)-1].Name, rs[len(rs)-1].Revision
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged in 3s: %q; want bytewise %q", got, want)
	}
}

func testPagingWhileWriting(t *testing.T, pair func(*testing.T) (store.Store, store.Store)) {
	ctx := context.Background()
	a, b := pair(t)
	job := func(i int) *store.Job {
		return &store.Job{Account: "x", ID: fmt.Sprintf("job-%04d", i), Name: "j", Queue: "q", Status: "SUBMITTED", CreatedAt: int64(i), Body: []byte(`{}`)}
	}
	const before = 200
	for i := range before {
		if err := a.JobInsertMany(ctx, []*store.Job{job(i)}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := before; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := a.JobInsertMany(ctx, []*store.Job{job(i)}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	seen := map[string]int{}
	p := &store.JobListParams{Account: "x", Limit: 7}
	for {
		jobs, err := b.JobList(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			seen[j.ID]++
		}
		if len(jobs) < p.Limit || len(seen) > 4*before {
			break
		}
		p.AfterSeq = jobs[len(jobs)-1].Seq
	}
	close(stop)
	wg.Wait()
	for i := range before {
		if n := seen[job(i).ID]; n != 1 {
			t.Fatalf("%s, there before the listing began, listed %d times", job(i).ID, n)
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s listed %d times", id, n)
		}
	}
}
