package fn_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/barge-run/barge/internal/fn"
	"github.com/barge-run/barge/internal/lambda"
	"github.com/barge-run/barge/internal/store/sqlite"
)

// TestReservedConcurrencyAcrossServers: two pools on one store (two servers) run no more of a
// function at once than its reserved concurrency between them; the second is throttled while
// the first holds the whole limit, and gets its turn once the first's invocations ended and it
// gave its idle share back.
func TestReservedConcurrencyAcrossServers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "barge.db")
	pool := func(holder string) *fn.Pool {
		db, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return fn.NewPoolForTest(t, fn.Config{Shares: lambda.NewShares(db, holder, 2*time.Second, nil), ShareRenew: 50 * time.Millisecond})
	}
	first, second := pool("server-a"), pool("server-b")
	spec := fn.EchoSpecForTest("shared")
	spec.ReservedConcurrency = 2
	ctx := context.Background()

	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := first.Invoke(ctx, spec, []byte(`{"sleepMs":1500}`)); err != nil {
				t.Error(err)
			}
		})
	}
	for deadline := time.Now().Add(10 * time.Second); first.Instances(spec) < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first server never ran two invocations")
		}
	}
	_, err := second.Invoke(ctx, spec, []byte(`{}`))
	var te *fn.ThrottledError
	if !errors.As(err, &te) || te.Reason != "ReservedFunctionConcurrentInvocationLimitExceeded" {
		t.Fatalf("the second server while the first runs the limit: %v, want throttled", err)
	}
	wg.Wait()
	// The first's next renewal sees the second waiting and gives back what it does not use.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		_, err := second.Invoke(ctx, spec, []byte(`{}`))
		if err == nil {
			break
		}
		if !errors.Is(err, fn.ErrThrottled) || time.Now().After(deadline) {
			t.Fatalf("the second server after the first went idle: %v", err)
		}
	}
}

// TestProvisionedConcurrencyAcrossServers: servers told of the same provisioned concurrency
// config keep that many instances warm between them, not that many each; when the server that
// keeps them goes away, another takes them up once its share expired.
func TestProvisionedConcurrencyAcrossServers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "barge.db")
	pool := func(holder string) *fn.Pool {
		db, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return fn.NewPoolForTest(t, fn.Config{Shares: lambda.NewShares(db, holder, time.Second, nil), ShareRenew: 50 * time.Millisecond})
	}
	first, second := pool("server-a"), pool("server-b")
	spec := fn.EchoSpecForTest("warm")
	spec.Version = "1"
	first.Provision(spec, 3)
	second.Provision(spec, 3)
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s (first %d, second %d)", what, first.Ready(spec), second.Ready(spec))
			}
		}
	}
	waitUntil("three warm instances", func() bool { return first.Ready(spec)+second.Ready(spec) == 3 })
	if n := second.Instances(spec); n != 0 {
		t.Fatalf("the second server keeps %d instances while the first keeps them all", n)
	}
	first.Close()
	waitUntil("the second server to take them up", func() bool { return second.Ready(spec) == 3 })
}
