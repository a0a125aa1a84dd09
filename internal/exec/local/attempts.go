package local

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"

	bexec "github.com/barge-run/barge/internal/exec"
)

// keyed is the executor's registry of attempts started with a key: a second Start of the same
// key takes back the attempt instead of starting another, and List and Attach find them. Local
// attempts die with the server (their processes get SIGKILL when it goes), so after a restart the
// registry is empty and the engine records every attempt it had as lost.
type keyed struct {
	mu    sync.Mutex
	slots map[string]*slot
}

// slot is one key's attempt: being started until ready closes, then proc (or err).
type slot struct {
	ready chan struct{}
	proc  *process
	err   error
}

// claim returns key's slot and whether the caller must start it (it is new).
func (k *keyed) claim(key string) (*slot, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s, ok := k.slots[key]; ok {
		return s, false
	}
	if k.slots == nil {
		k.slots = map[string]*slot{}
	}
	s := &slot{ready: make(chan struct{})}
	k.slots[key] = s
	return s, true
}

// settle records how starting key's slot went; a failed start frees the key.
func (k *keyed) settle(key string, s *slot, p *process, err error) {
	s.proc, s.err = p, err
	close(s.ready)
	if err != nil {
		k.forget(key, s)
		return
	}
	go func() {
		<-p.exited
		k.forget(key, s)
	}()
}

func (k *keyed) forget(key string, s *slot) {
	k.mu.Lock()
	if k.slots[key] == s {
		delete(k.slots, key)
	}
	k.mu.Unlock()
}

// startKeyed is Start for a spec with a key: at most one attempt per key at a time.
func (e *Executor) startKeyed(ctx context.Context, spec bexec.Spec) (bexec.Process, error) {
	s, fresh := e.keys.claim(spec.Key)
	if !fresh {
		select {
		case <-s.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if s.err != nil {
			return nil, s.err
		}
		return s.proc, nil
	}
	p, err := e.start(ctx, spec)
	e.keys.settle(spec.Key, s, p, err)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// List implements exec.Executor: the keyed attempts this process started that still run.
func (e *Executor) List(context.Context) ([]string, error) {
	e.keys.mu.Lock()
	defer e.keys.mu.Unlock()
	out := make([]string, 0, len(e.keys.slots))
	for k := range e.keys.slots {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, nil
}

// Attach implements exec.Executor. A local attempt keeps writing to the writers it started with:
// its pipes end in this process, which is the only one that can attach to it.
func (e *Executor) Attach(ctx context.Context, key string, _, _ io.Writer) (bexec.Process, error) {
	e.keys.mu.Lock()
	s, ok := e.keys.slots[key]
	e.keys.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("attach %s: %w", key, bexec.ErrNotFound)
	}
	select {
	case <-s.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if s.err != nil {
		return nil, fmt.Errorf("attach %s: %w", key, bexec.ErrNotFound)
	}
	return s.proc, nil
}

// checkNetwork refuses a spec whose network this executor cannot give.
func (e *Executor) checkNetwork(n bexec.Network) error {
	own := e.opts.Sandbox != nil && e.opts.Sandbox.IsolatesNetwork()
	switch {
	case n == bexec.NetworkPrivate && !own:
		return fmt.Errorf("network %s: this host's attempts share its network (barge server --job-network)", n)
	case n == bexec.NetworkHost && own:
		return fmt.Errorf("network %s: this host gives every attempt a network of its own (barge server --job-network host shares the host's)", n)
	case n != bexec.NetworkDefault && n != bexec.NetworkPrivate && n != bexec.NetworkHost:
		return fmt.Errorf("network %q: unknown", n)
	}
	return nil
}
