package local

import (
	"context"
	"errors"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	bexec "github.com/barge-run/barge/internal/exec"
)

// TestKeyedAttempts: an attempt started with a key is started once however often (and however
// concurrently) Start is called with that key; List and Attach find it while it runs, and not
// once it was waited on to its end.
func TestKeyedAttempts(t *testing.T) {
	e := New()
	ctx := context.Background()
	var out syncBuf
	spec := bexec.Spec{Key: "bj-one-1", Command: []string{"sh", "-c", "echo started; exec sleep 60"}, Dir: t.TempDir(), Stdout: &out}
	procs := make([]bexec.Process, 8)
	var wg sync.WaitGroup
	for i := range procs {
		wg.Go(func() {
			p, err := e.Start(ctx, spec)
			if err != nil {
				t.Error(err)
			}
			procs[i] = p
		})
	}
	wg.Wait()
	for _, p := range procs[1:] {
		if p != procs[0] {
			t.Fatal("the same key started more than one attempt")
		}
	}
	if keys, _ := e.List(ctx); !slices.Equal(keys, []string{"bj-one-1"}) {
		t.Fatalf("List: %v", keys)
	}
	p, err := e.Attach(ctx, "bj-one-1", nil, nil)
	if err != nil || p != procs[0] {
		t.Fatalf("Attach: %v %v", p, err)
	}
	if _, err := e.Attach(ctx, "bj-other-1", nil, nil); !errors.Is(err, bexec.ErrNotFound) {
		t.Fatalf("Attach of an unknown key: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Second); out.String() == ""; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the attempt never wrote")
		}
	}
	p.Stop(time.Minute)
	// Two waiters (the one that started it and the one that took it back) see one exit.
	exits := make(chan bexec.Exit, 2)
	go func() { exits <- p.Wait() }()
	go func() { exits <- procs[0].Wait() }()
	a, b := <-exits, <-exits
	if a != b || a.Signal != syscall.SIGTERM {
		t.Fatalf("exits %+v and %+v", a, b)
	}
	if out.String() != "started\n" {
		t.Fatalf("output %q: started more than once?", out.String())
	}
	waitGone := time.Now().Add(5 * time.Second)
	for keys, _ := e.List(ctx); len(keys) != 0; keys, _ = e.List(ctx) {
		if time.Now().After(waitGone) {
			t.Fatalf("still listed after its end: %v", keys)
		}
		time.Sleep(time.Millisecond)
	}
	// The key is free again: a new attempt under it starts.
	p2, err := e.Start(ctx, bexec.Spec{Key: "bj-one-1", Command: []string{"true"}, Dir: t.TempDir()})
	if err != nil || p2 == p {
		t.Fatalf("restart under a freed key: %v", err)
	}
	p2.Wait()
}

// TestNetworkRefusedWhenNotGiven: an executor without a network of each attempt's own refuses
// an attempt that needs one, naming it, rather than running it on the host's.
func TestNetworkRefusedWhenNotGiven(t *testing.T) {
	e := New()
	for _, c := range []struct {
		n  bexec.Network
		ok bool
	}{{bexec.NetworkDefault, true}, {bexec.NetworkHost, true}, {bexec.NetworkPrivate, false}, {"bridge", false}} {
		p, err := e.Start(context.Background(), bexec.Spec{Command: []string{"true"}, Dir: t.TempDir(), Network: c.n})
		if (err == nil) != c.ok {
			t.Fatalf("network %q: %v", c.n, err)
		}
		if p != nil {
			p.Wait()
		}
	}
}
