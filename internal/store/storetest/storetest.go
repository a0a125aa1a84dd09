// Package storetest is the conformance suite every store.Store driver must pass.
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

// Exercise runs the conformance suite against stores made by open. Each subtest gets a fresh
// store from open, which the suite closes.
func Exercise(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	fresh := func(t *testing.T) store.Store {
		s := open(t)
		t.Cleanup(func() { s.Close() })
		return s
	}
	exerciseMessages(t, fresh) // messages.go

	t.Run("ResourceCRUD", func(t *testing.T) {
		s := fresh(t)
		r := &store.Resource{Account: "a", Kind: store.KindJobQueue, Name: "q", ARN: "arn:q", Status: "VALID", Body: []byte(`{"x":1}`), CreatedAt: time.UnixMilli(1000).UTC()}
		must(t, s.ResourceCreate(ctx, r))
		if err := s.ResourceCreate(ctx, r); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second create: got %v, want ErrConflict", err)
		}
		got, err := s.ResourceGet(ctx, "a", store.KindJobQueue, "q", 0)
		must(t, err)
		if got.ARN != "arn:q" || string(got.Body) != `{"x":1}` || !got.CreatedAt.Equal(r.CreatedAt) {
			t.Fatalf("get: %+v", got)
		}
		if _, err := s.ResourceGet(ctx, "other", store.KindJobQueue, "q", 0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("other account must not see the queue: %v", err)
		}
		r.Status, r.Body = "INVALID", []byte(`{"x":2}`)
		must(t, s.ResourceUpdate(ctx, r))
		got, _ = s.ResourceGet(ctx, "a", store.KindJobQueue, "q", 0)
		if got.Status != "INVALID" || string(got.Body) != `{"x":2}` {
			t.Fatalf("after update: %+v", got)
		}
		must(t, s.ResourceDelete(ctx, "a", store.KindJobQueue, "q", 0))
		if err := s.ResourceDelete(ctx, "a", store.KindJobQueue, "q", 0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		if err := s.ResourceUpdate(ctx, r); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update deleted: %v", err)
		}
	})

	t.Run("ResourceCreateAll", func(t *testing.T) {
		s := fresh(t)
		res := func(name string) *store.Resource {
			return &store.Resource{Account: "a", Kind: store.KindJobQueue, Name: name, Status: "VALID", Body: []byte(`{}`), CreatedAt: time.UnixMilli(1000).UTC()}
		}
		must(t, s.ResourceCreateAll(ctx, []*store.Resource{res("one"), res("two")}))
		// One of them exists: neither is created, even while other writes share the commit.
		errs := make(chan error, 2)
		go func() { errs <- s.ResourceCreateAll(ctx, []*store.Resource{res("three"), res("two")}) }()
		go func() { errs <- s.ResourceCreate(ctx, res("four")) }()
		first, second := <-errs, <-errs
		if !errors.Is(first, store.ErrConflict) && !errors.Is(second, store.ErrConflict) {
			t.Fatalf("creating an existing resource among others: %v, %v; want ErrConflict", first, second)
		}
		if _, err := s.ResourceGet(ctx, "a", store.KindJobQueue, "three", 0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the batch with a conflict created its other resource: %v", err)
		}
		for _, name := range []string{"one", "two", "four"} {
			if _, err := s.ResourceGet(ctx, "a", store.KindJobQueue, name, 0); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	})

	t.Run("Revisions", func(t *testing.T) {
		s := fresh(t)
		var wg sync.WaitGroup
		revs := make([]int, 20)
		for i := range revs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := &store.Resource{Account: "a", Kind: store.KindJobDefinition, Name: "d", Status: "ACTIVE", CreatedAt: time.Now()}
				err := s.ResourceCreateNextRevision(ctx, r, func(rev int) (string, []byte) {
					return fmt.Sprintf("arn:d:%d", rev), []byte(fmt.Sprintf(`{"revision":%d}`, rev))
				})
				if err != nil {
					t.Error(err)
				}
				revs[i] = r.Revision
			}()
		}
		wg.Wait()
		seen := map[int]bool{}
		for _, r := range revs {
			if r < 1 || r > 20 || seen[r] {
				t.Fatalf("revisions not unique 1..20: %v", revs)
			}
			seen[r] = true
		}
		list, err := s.ResourceList(ctx, &store.ResourceListParams{Account: "a", Kind: store.KindJobDefinition})
		must(t, err)
		if len(list) != 20 || list[0].Revision != 1 || list[19].Revision != 20 || list[4].ARN != "arn:d:5" {
			t.Fatalf("list: %d items", len(list))
		}
		page, err := s.ResourceList(ctx, &store.ResourceListParams{Account: "a", Kind: store.KindJobDefinition, AfterName: "d", AfterRevision: 18, Limit: 5})
		must(t, err)
		if len(page) != 2 || page[0].Revision != 19 {
			t.Fatalf("page after 18: %d items", len(page))
		}
		must(t, s.ResourceDelete(ctx, "a", store.KindJobDefinition, "d", 0))
		list, _ = s.ResourceList(ctx, &store.ResourceListParams{Account: "a", Kind: store.KindJobDefinition})
		if len(list) != 0 {
			t.Fatalf("delete all revisions left %d", len(list))
		}
	})

	t.Run("ResourceListFilters", func(t *testing.T) {
		s := fresh(t)
		for _, n := range []string{"c", "a", "b"} {
			must(t, s.ResourceCreate(ctx, &store.Resource{Account: "x", Kind: store.KindComputeEnvironment, Name: n, Status: "VALID", Body: []byte("{}")}))
		}
		must(t, s.ResourceCreate(ctx, &store.Resource{Account: "x", Kind: store.KindJobQueue, Name: "a", Status: "VALID", Body: []byte("{}")}))
		list, err := s.ResourceList(ctx, &store.ResourceListParams{Account: "x", Kind: store.KindComputeEnvironment, Names: []string{"c", "a", "zz"}})
		must(t, err)
		if len(list) != 2 || list[0].Name != "a" || list[1].Name != "c" {
			t.Fatalf("names filter: %v", names(list))
		}
		must(t, s.ResourceCreate(ctx, &store.Resource{Account: "y", Kind: store.KindComputeEnvironment, Name: "a", Status: "VALID", Body: []byte("{}")}))
		all, err := s.ResourceList(ctx, &store.ResourceListParams{AllAccounts: true, Kind: store.KindComputeEnvironment})
		must(t, err)
		if len(all) != 4 {
			t.Fatalf("all accounts: %d resources, want 4", len(all))
		}
	})

	t.Run("Jobs", func(t *testing.T) {
		s := fresh(t)
		var jobs []*store.Job
		for i := 0; i < 10; i++ {
			jobs = append(jobs, &store.Job{Account: "a", ID: fmt.Sprintf("j%d", i), Name: fmt.Sprintf("Name-%d", i), Queue: "q", Status: "SUBMITTED", CreatedAt: int64(1000 + i), Body: []byte(`{}`)})
		}
		jobs[9].Account = "b"
		must(t, s.JobInsertMany(ctx, jobs))
		for i := 1; i < len(jobs); i++ {
			if jobs[i].Seq <= jobs[i-1].Seq {
				t.Fatalf("seq not increasing")
			}
		}
		if err := s.JobInsertMany(ctx, []*store.Job{{Account: "a", ID: "j1", Body: []byte(`{}`)}}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate id: %v", err)
		}
		got, err := s.JobGetMany(ctx, "a", []string{"j1", "j9", "nope"})
		must(t, err)
		if len(got) != 1 || got[0].ID != "j1" {
			t.Fatalf("get many across accounts: %v", got)
		}
		jobs[2].Status, jobs[2].Body = "SUCCEEDED", []byte(`{"s":1}`)
		jobs[3].Status = "FAILED"
		jobs[4].Status = "RUNNING"
		must(t, s.JobUpdateMany(ctx, jobs[2:5]))
		if err := s.JobUpdateMany(ctx, []*store.Job{{Account: "b", ID: "j1"}}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update in wrong account: %v", err)
		}
		got, _ = s.JobGetMany(ctx, "a", []string{"j2"})
		if got[0].Status != "SUCCEEDED" || string(got[0].Body) != `{"s":1}` {
			t.Fatalf("after update: %+v", got[0])
		}
		cases := []struct {
			name string
			p    store.JobListParams
			want []string
		}{
			{"by status", store.JobListParams{Account: "a", Queue: "q", Statuses: []string{"RUNNING", "FAILED"}}, []string{"j3", "j4"}},
			{"all in queue", store.JobListParams{Account: "a", Queue: "q"}, []string{"j0", "j1", "j2", "j3", "j4", "j5", "j6", "j7", "j8"}},
			{"paged", store.JobListParams{Account: "a", Queue: "q", AfterSeq: jobs[6].Seq, Limit: 1}, []string{"j7"}},
			{"name exact any case", store.JobListParams{Account: "a", NameExact: "name-5"}, []string{"j5"}},
			{"name prefix", store.JobListParams{Account: "a", NamePrefix: "NAME-"}, []string{"j0", "j1", "j2", "j3", "j4", "j5", "j6", "j7", "j8"}},
			{"created window", store.JobListParams{Account: "a", CreatedAfter: 1002, CreatedBefore: 1005}, []string{"j3", "j4"}},
			{"other account", store.JobListParams{Account: "b"}, []string{"j9"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				list, err := s.JobList(ctx, &c.p)
				must(t, err)
				if fmt.Sprint(ids(list)) != fmt.Sprint(c.want) {
					t.Fatalf("got %v want %v", ids(list), c.want)
				}
			})
		}
		unfinished, err := s.JobListUnfinished(ctx)
		must(t, err)
		if len(unfinished) != 8 {
			t.Fatalf("unfinished: %v", ids(unfinished))
		}
	})

	t.Run("ArrayChildren", func(t *testing.T) {
		s := fresh(t)
		jobs := []*store.Job{{Account: "a", ID: "p", Queue: "q", Status: "PENDING", Body: []byte("{}")}}
		for i := 0; i < 3; i++ {
			jobs = append(jobs, &store.Job{Account: "a", ID: fmt.Sprintf("p:%d", i), Queue: "q", Status: "RUNNABLE", ArrayParent: "p", Body: []byte("{}")})
		}
		must(t, s.JobInsertMany(ctx, jobs))
		list, err := s.JobList(ctx, &store.JobListParams{Account: "a", ArrayParent: "p", Statuses: []string{"RUNNABLE"}})
		must(t, err)
		if fmt.Sprint(ids(list)) != "[p:0 p:1 p:2]" {
			t.Fatalf("children: %v", ids(list))
		}
		top, err := s.JobList(ctx, &store.JobListParams{Account: "a", Queue: "q", TopLevel: true})
		must(t, err)
		if fmt.Sprint(ids(top)) != "[p]" {
			t.Fatalf("top level: %v", ids(top))
		}
		// Insert and update in one transaction; a failing insert undoes the update.
		jobs[0].Status = "SUCCEEDED"
		child := &store.Job{Account: "a", ID: "p:3", Queue: "q", Status: "STARTING", ArrayParent: "p", Body: []byte("{}")}
		must(t, s.JobWriteMany(ctx, []*store.Job{child}, []*store.Job{jobs[0]}))
		if child.Seq == 0 {
			t.Fatal("insert did not set Seq")
		}
		jobs[0].Status = "FAILED"
		dup := &store.Job{Account: "a", ID: "p:3", Queue: "q", Status: "STARTING", ArrayParent: "p", Body: []byte("{}")}
		if err := s.JobWriteMany(ctx, []*store.Job{dup}, []*store.Job{jobs[0]}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate insert: %v", err)
		}
		got, _ := s.JobGetMany(ctx, "a", []string{"p"})
		if got[0].Status != "SUCCEEDED" {
			t.Fatalf("failed write changed the parent: %s", got[0].Status)
		}
	})

	t.Run("ConcurrentWritesAllDurable", func(t *testing.T) {
		s := fresh(t)
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 50; i++ {
					j := &store.Job{Account: "a", ID: fmt.Sprintf("w%d-%d", w, i), Queue: "q", Status: "SUBMITTED", Body: []byte("{}")}
					if err := s.JobInsertMany(ctx, []*store.Job{j}); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		list, err := s.JobList(ctx, &store.JobListParams{Account: "a"})
		must(t, err)
		if len(list) != 400 {
			t.Fatalf("got %d jobs, want 400", len(list))
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ids(jobs []*store.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

func names(rs []*store.Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Name
	}
	return out
}
