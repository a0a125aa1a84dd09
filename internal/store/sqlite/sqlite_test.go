package sqlite_test

import (
	"context"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/barge-run/barge/internal/store"
	"github.com/barge-run/barge/internal/store/sqlite"
	"github.com/barge-run/barge/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Exercise(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(filepath.Join(t.TempDir(), "barge.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "barge.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.JobInsertMany(ctx, []*store.Job{{Account: "a", ID: "j", Queue: "q", Status: "RUNNING", Body: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.JobListUnfinished(ctx)
	if err != nil || len(got) != 1 || got[0].Status != "RUNNING" {
		t.Fatalf("after reopen: %v %v", got, err)
	}
}

// benchStore opens a store in a new file, closed with the benchmark.
func benchStore(b *testing.B) *sqlite.Store {
	s, err := sqlite.Open(filepath.Join(b.TempDir(), "barge.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkJobInsertParallel(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	body := make([]byte, 1500)
	for i := range body {
		body[i] = 'x'
	}
	b.SetParallelism(16)
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			j := &store.Job{Account: "a", ID: "j" + strconv.FormatInt(n.Add(1), 10), Queue: "q", Status: "SUBMITTED", Body: body}
			if err := s.JobInsertMany(ctx, []*store.Job{j}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestSharedDatabase runs the multi-writer conformance tests with two handles on one file, as
// two servers would have; the handles open at the same time, so their migrations race too.
func TestSharedDatabase(t *testing.T) {
	storetest.ExerciseShared(t, func(t *testing.T) (store.Store, store.Store) {
		path := filepath.Join(t.TempDir(), "barge.db")
		var handles [2]*sqlite.Store
		var errs [2]error
		var wg sync.WaitGroup
		for i := range handles {
			wg.Add(1)
			go func() { defer wg.Done(); handles[i], errs[i] = sqlite.Open(path) }()
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("opening one database twice at once: %v %v", errs[0], errs[1])
		}
		return handles[0], handles[1]
	})
}

// BenchmarkJobWriteBatch is the engine's commit for an array on a few slots: a child's STARTING
// (its row inserted), the previous child's end and the parent's counts, bodies the size of a short
// job's record, fenced by the leader's lease.
func BenchmarkJobWriteBatch(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	l, err := s.LeaseAcquire(ctx, "leader", "a", time.Now(), time.Minute)
	if err != nil || l == nil {
		b.Fatalf("lease: %v %v", l, err)
	}
	db := s.Fenced(*l)
	body := make([]byte, 1600)
	for i := range body {
		body[i] = 'x'
	}
	// The array's parent, updated with each commit (its children's counts), a child inserted
	// at its STARTING and the one before it ending.
	parent := &store.Job{Account: "a", ID: "p", Queue: "q", Status: "PENDING", Body: body}
	if err := db.JobWriteMany(ctx, []*store.Job{parent}, nil); err != nil {
		b.Fatal(err)
	}
	var prev *store.Job
	b.ResetTimer()
	for i := range b.N {
		next := &store.Job{Account: "a", ID: "p:" + strconv.Itoa(i), Queue: "q", Status: "STARTING", ArrayParent: "p", Body: body}
		ups := []*store.Job{parent}
		if prev != nil {
			prev.Status = "SUCCEEDED"
			ups = append(ups, prev)
		}
		if err := db.JobWriteMany(ctx, []*store.Job{next}, ups); err != nil {
			b.Fatal(err)
		}
		prev = next
	}
}
