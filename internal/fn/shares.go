package fn

import (
	"context"
	"strings"
	"time"
)

// Concurrency limits shared by several servers. Reserved and account concurrency are limits on
// what all servers invoking functions on one store run together; each server may run only its
// share of a limit, recorded in the store (Shares), and asks for more when its share is used up.
// A lone server's first invocation takes the whole limit in one store write, and keeps it with
// a renewal every few seconds: nothing is written per invocation.

// Share keys: the account-wide limit and a function's reserved concurrency.
const shareAccount = "account"

func shareFunction(name string) string { return "function/" + name }

// Shares records how a limit is divided between the servers sharing a store. Another server's
// share counts until its renewals stop for a lease period, so a server that died gives its
// share back by itself.
type Shares interface {
	// Grow raises this server's share of limit under key toward want, as far as the other
	// servers' shares leave room (a server left short is recorded as waiting), and returns the
	// share now recorded.
	Grow(ctx context.Context, account, key string, limit, want int) (int, error)
	// Renew records this server's share of key as n for another lease period (0 gives it up)
	// and reports whether another server waits for room.
	Renew(ctx context.Context, account, key string, n int) (contended bool, err error)
}

// shareProvisioned is the key of a version's provisioned concurrency: the servers divide its
// instances, so that together they keep as many warm as configured.
func shareProvisioned(name, version string) string { return "provisioned/" + name + ":" + version }

// provisionRequest is a provisioned concurrency config as this server was told of it.
type provisionRequest struct {
	fn FunctionSpec
	n  int
}

// provisionShare records that n instances of fn's version are to be kept warm across the
// servers, and returns how many of them this server keeps (the rest are others').
func (p *Pool) provisionShare(fn FunctionSpec, n int) int {
	k := shareKey{fn.Account, shareProvisioned(fn.Name, fn.Version)}
	ctx := context.Background()
	if n <= 0 {
		p.mu.Lock()
		delete(p.provisioned, k)
		delete(p.shares, k)
		p.mu.Unlock()
		p.cfg.Shares.Renew(ctx, k.account, k.key, 0)
		return 0
	}
	p.mu.Lock()
	p.provisioned[k] = provisionRequest{fn: fn, n: n}
	p.mu.Unlock()
	got, err := p.cfg.Shares.Grow(ctx, k.account, k.key, n, n)
	if err != nil {
		got = 0 // retried at the next renewal
	}
	p.mu.Lock()
	p.shares[k] = got
	p.mu.Unlock()
	return got
}

// regrowProvisioned takes up the provisioned instances no server keeps (one that kept them
// died, and its share expired).
func (p *Pool) regrowProvisioned() {
	p.mu.Lock()
	var short []provisionRequest
	for k, req := range p.provisioned {
		if p.shares[k] < req.n {
			short = append(short, req)
		}
	}
	p.mu.Unlock()
	for _, req := range short {
		before := p.sharesOf(req.fn)
		if got := p.provisionShare(req.fn, req.n); got > before {
			p.provisionHere(req.fn, got)
		}
	}
}

func (p *Pool) sharesOf(fn FunctionSpec) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.shares[shareKey{fn.Account, shareProvisioned(fn.Name, fn.Version)}]
}

// shareKey is one limit's key in one account.
type shareKey struct{ account, key string }

// shareOf is how much of limit this server may use for k (p.mu held): all of it without Shares.
func (p *Pool) shareOf(k shareKey, limit int) int {
	if p.cfg.Shares == nil {
		return limit
	}
	return min(p.shares[k], limit)
}

// admit reserves a concurrency slot for one invocation of fn, or says why it is throttled. When
// only this server's share is used up, it asks for a bigger one once before throttling.
func (p *Pool) admit(ctx context.Context, fn *FunctionSpec) error {
	fk := fnKey{fn.Account, fn.Name}
	acct, fnShare := shareKey{fn.Account, shareAccount}, shareKey{fn.Account, shareFunction(fn.Name)}
	reserved, limit := fn.ReservedConcurrency, p.cfg.AccountConcurrency
	for grown := false; ; grown = true {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return ErrClosed
		}
		fnShort := reserved > 0 && p.busyFn[fk] >= p.shareOf(fnShare, reserved)
		acctShort := p.busyAcct[fn.Account] >= p.shareOf(acct, limit)
		if !fnShort && !acctShort {
			p.busyFn[fk]++
			p.busyAcct[fn.Account]++
			p.mu.Unlock()
			return nil
		}
		// At the limit itself, or still short after asking: throttled, as Lambda does.
		fnFull, acctFull := reserved > 0 && p.busyFn[fk] >= reserved, p.busyAcct[fn.Account] >= limit
		p.mu.Unlock()
		switch {
		case fnShort && (fnFull || grown):
			return &ThrottledError{Reason: "ReservedFunctionConcurrentInvocationLimitExceeded", Limit: reserved}
		case acctShort && (acctFull || grown):
			return &ThrottledError{Reason: "ConcurrentInvocationLimitExceeded", Limit: limit}
		}
		if fnShort {
			p.grow(ctx, fnShare, reserved)
		}
		if acctShort {
			p.grow(ctx, acct, limit)
		}
	}
}

// grow asks the store for all of limit under k (what others hold stays theirs).
func (p *Pool) grow(ctx context.Context, k shareKey, limit int) {
	n, err := p.cfg.Shares.Grow(ctx, k.account, k.key, limit, limit)
	if err != nil {
		return // the share stays as it was: invocations past it are throttled
	}
	p.mu.Lock()
	p.shares[k] = n
	p.mu.Unlock()
}

// renewShares keeps this server's shares alive in the store, and gives back what it does not
// use while another server waits for room.
func (p *Pool) renewShares(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
		}
		p.mu.Lock()
		keys := make([]shareKey, 0, len(p.shares))
		for k := range p.shares {
			keys = append(keys, k)
		}
		p.mu.Unlock()
		for _, k := range keys {
			p.renewShare(k)
		}
		p.regrowProvisioned()
	}
}

// renewShare renews one share; when contended it shrinks to what is in use first, so the store
// never records less than this server runs.
func (p *Pool) renewShare(k shareKey) {
	p.mu.Lock()
	n := p.shares[k]
	p.mu.Unlock()
	contended, err := p.cfg.Shares.Renew(context.Background(), k.account, k.key, n)
	if strings.HasPrefix(k.key, "provisioned/") {
		return // kept warm whether or not they are busy: never given back while configured
	}
	if err != nil || !contended {
		if n == 0 && err == nil {
			p.mu.Lock()
			if p.shares[k] == 0 {
				delete(p.shares, k)
			}
			p.mu.Unlock()
		}
		return
	}
	p.mu.Lock()
	used := p.busyAcct[k.account]
	if k.key != shareAccount {
		used = p.busyFn[fnKey{k.account, k.key[len("function/"):]}]
	}
	if used < p.shares[k] {
		p.shares[k] = used
	}
	n = p.shares[k]
	p.mu.Unlock()
	p.cfg.Shares.Renew(context.Background(), k.account, k.key, n)
}

// releaseShares gives every share back (the pool closed), so other servers need not wait for
// them to expire.
func (p *Pool) releaseShares() {
	if p.cfg.Shares == nil {
		return
	}
	p.mu.Lock()
	keys := make([]shareKey, 0, len(p.shares))
	for k := range p.shares {
		keys = append(keys, k)
	}
	clear(p.shares)
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, k := range keys {
		p.cfg.Shares.Renew(ctx, k.account, k.key, 0)
	}
}
