package fn

import (
	"context"

	"github.com/google/uuid"
)

// Provision keeps n instances of fn's version warm (provisioned concurrency): it starts the
// missing ones in the background, and idle ones are not stopped while there are no more than n.
// n = 0 ends it. Provisioned instances still serve one invocation at a time and count against
// the concurrency limits only while they are busy.
func (p *Pool) Provision(fn FunctionSpec, n int) {
	if p.cfg.Shares != nil {
		n = p.provisionShare(fn, n)
	}
	p.provisionHere(fn, n)
}

// provisionHere keeps n instances of fn's version warm on this server.
func (p *Pool) provisionHere(fn FunctionSpec, n int) {
	key := keyOf(&fn)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	vs := p.versions[key]
	if vs == nil {
		vs = &versionState{}
		p.versions[key] = vs
	}
	vs.provisioned = n
	missing := n - vs.count
	vs.count += max(missing, 0) // the slots the new instances take
	p.mu.Unlock()
	for range missing {
		go p.provisionOne(fn, key)
	}
}

// provisionOne starts one provisioned instance (its slot already counted) and leaves it idle.
func (p *Pool) provisionOne(fn FunctionSpec, key instanceKey) {
	res := Result{RequestID: uuid.NewString(), ExecutedVersion: fn.Version, ColdStart: true}
	inst, _, err := p.start(context.Background(), &fn, key, &res)
	switch {
	case inst == nil:
		p.mu.Lock()
		p.dropSlot(key)
		p.mu.Unlock()
	case err == nil:
		p.mu.Lock()
		p.park(key, inst, true)
	}
}
