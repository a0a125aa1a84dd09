//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Sandboxes prepared ahead of their jobs. A short job's start was mostly the sandbox's making
// (bounded space, cgroup, zygote clone into fresh namespaces, the mounts of its plan), serial with
// the job's slot. For the sandboxes that can be made before their job is known — on the host's
// filesystem, with a bounded space, no volumes, no ulimits, not privileged, no NAT — the pool makes a few
// of each shape (tenant, limits, space bound, listeners) while the slots' current jobs run: each
// is cloned and runs its plan up to a hold ('H' in nsinit.c), where it waits for the rest (the
// job's directory, credentials and command). A job that finds one of its shape ready sends that
// rest; the sandbox runs it up to the exec and waits there for one more byte ('G'), which barge
// writes once the job's Config.Gate opens (the engine's STARTING durable), so the rest of the
// plan overlaps the commit.
//
// Isolation is the cold start's: a prepared sandbox has its own fresh namespaces, cgroup and space,
// exactly as a cold start makes them, and is handed to one job only (taken out of the pool
// under its lock); it is never given back. Unused ones are killed and released when their shape
// goes idle or is pushed out by newer shapes, and when the Sandbox closes.

// Pool bounds: prepared sandboxes per shape, shapes kept, and how long a shape's sandboxes wait
// unused before they are released.
const (
	DefaultPoolDepth = 2
	poolShapes       = 4
	poolIdle         = 2 * time.Minute
	// poolNice is the priority sandboxes are prepared at: below the jobs running meanwhile.
	poolNice = 10
	// poolSettle is how long a refill waits after a job's start while its shape has another
	// sandbox ready: see refillAfterStart.
	poolSettle = 10 * time.Millisecond
)

// Output is a prepared sandbox's standard output and error: the read ends, and barge's own
// write ends (the sandbox has its copies).
type Output struct{ OutR, OutW, ErrR, ErrW *os.File }

func (o Output) close() {
	for _, f := range []*os.File{o.OutR, o.OutW, o.ErrR, o.ErrW} {
		if f != nil {
			f.Close()
		}
	}
}

// readySandbox is one prepared sandbox, held before its command.
type readySandbox struct {
	p    *Proc
	pr   *prepared
	out  Output
	goW  *os.File // the rest of the plan goes here
	errR *os.File // EOF once the command is exec'd, else why not
	// gateW releases the exec once the rest of the plan is done (one byte; closed without one,
	// the sandbox exits unused); gate is its descriptor's index in the sandbox ('G').
	gateW *os.File
	gate  string
}

// shapePool is one shape's prepared sandboxes.
type shapePool struct {
	ready    []*readySandbox
	inflight int
	last     time.Time // last start of this shape
	failed   time.Time // last failed preparation: none for a while after
	cfg      Config    // what a preparation of this shape is given
}

// pool holds the prepared sandboxes of a Sandbox.
type pool struct {
	mu     sync.Mutex
	depth  int
	settle time.Duration // poolSettle, but for tests
	shapes map[string]*shapePool
	closed bool
	wg     sync.WaitGroup // preparations and discards under way
	sweep  *time.Timer    // lets go of idle shapes when nothing starts any more
	// counts, for tests and Stats
	prepared, used, discarded int
}

// PoolStats counts what the pool did.
type PoolStats struct {
	Prepared, Used, Discarded, Ready int
}

// PoolStats says how many sandboxes were prepared, used by a job and discarded unused, and how
// many are ready now.
func (s *Sandbox) PoolStats() PoolStats {
	s.pool.mu.Lock()
	defer s.pool.mu.Unlock()
	st := PoolStats{Prepared: s.pool.prepared, Used: s.pool.used, Discarded: s.pool.discarded}
	for _, sp := range s.pool.shapes {
		st.Ready += len(sp.ready)
	}
	return st
}

// shapeOf is the pool key of cfg's sandbox, or false when it cannot be prepared ahead of its job.
func (s *Sandbox) shapeOf(cfg Config) (string, bool) {
	// With NAT a namespace's pasta may die while it waits in the zygote's pool, which makes it
	// again before handing it out; a prepared sandbox would keep a dead one: not prepared.
	if s.pool.depth <= 0 || s.disk == nil || s.zygote.pasta != "" || cfg.RootFS != "" || cfg.DirReadOnly || cfg.Privileged ||
		len(cfg.Mounts) > 0 || len(cfg.Ulimits) > 0 || cfg.Dir == "" {
		return "", false
	}
	var base uint32
	if !s.opts.HostUsers {
		base = s.tenants.rangeOf(cfg.Tenant)
	}
	return fmt.Sprintf("%d|%d|%d|%d|%d|%s", base, cfg.MilliVCPU, cfg.MemoryMiB, cfg.DiskBytes, cfg.ShmMiB,
		strings.Join(cfg.Listen, ",")), true
}

// shapeConfig is what a preparation of cfg's shape is given: none of the job's own fields.
func shapeConfig(cfg Config) Config {
	return Config{ID: "pool", Argv: []string{"-"}, Dir: cfg.Dir, Tenant: cfg.Tenant, MilliVCPU: cfg.MilliVCPU,
		MemoryMiB: cfg.MemoryMiB, DiskBytes: cfg.DiskBytes, ShmMiB: cfg.ShmMiB, Listen: append([]string(nil), cfg.Listen...)}
}

// StartPrepared runs cfg in a sandbox prepared for its shape, if one is ready: ok is false, and
// nothing done, when none is (Start then makes one). The sandbox's output is out.
func (s *Sandbox) StartPrepared(cfg Config) (p *Proc, out Output, ok bool, err error) {
	if len(cfg.Argv) == 0 {
		return nil, Output{}, false, nil
	}
	key, poolable := s.shapeOf(cfg)
	if !poolable {
		return nil, Output{}, false, nil
	}
	for {
		r := s.pool.take(key)
		if r == nil {
			return nil, Output{}, false, nil
		}
		select {
		case <-r.p.done: // it died waiting (its zygote did): not this job's failure
			s.discard(r)
			continue
		default:
		}
		p, err := s.run(r, cfg)
		s.refillAfterStart(key, cfg)
		if err != nil {
			return nil, Output{}, true, err
		}
		return p, r.out, true, nil
	}
}

// run sends a prepared sandbox the rest of its plan for cfg and waits for the exec.
func (s *Sandbox) run(r *readySandbox, cfg Config) (*Proc, error) {
	fail := func(err error) (*Proc, error) {
		r.goW.Close()
		r.gateW.Close()
		r.errR.Close()
		r.p.Signal(syscall.SIGKILL)
		r.p.Wait()
		r.out.close()
		return nil, err
	}
	late, err := s.latePlan(cfg, r.pr)
	if err != nil {
		return fail(err)
	}
	late.op('G', r.gate)
	// The job runs at barge's own priority, as a cold start's would (as root barge may raise it).
	if err := unix.Setpriority(unix.PRIO_PROCESS, r.p.pid, s.nice); err != nil {
		return fail(fmt.Errorf("prepared sandbox: priority: %w", err))
	}
	// The sandbox does the rest of its plan (the job's directory, user, capabilities, seccomp)
	// and waits before the exec: the command may not run before the gate opens.
	_, werr := r.goW.Write(late.b.Bytes())
	r.goW.Close()
	if cfg.Gate != nil {
		if err := cfg.Gate(); err != nil {
			return fail(err)
		}
	}
	if werr == nil {
		_, werr = r.gateW.Write([]byte{1})
	}
	r.gateW.Close()
	msg, _ := io.ReadAll(r.errR)
	r.errR.Close()
	switch {
	case len(msg) > 0:
		<-r.p.done // it exits at once
		r.p.Wait()
		r.out.close()
		return nil, errors.New(string(msg))
	case werr != nil:
		return fail(fmt.Errorf("prepared sandbox: %w", werr))
	}
	r.p.init = cfg.InitProcess
	return r.p, nil
}

// ownNice is barge's nice value, which its sandboxes inherit; New reads it once (Sandbox.nice).
func ownNice() int {
	v, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
	if err != nil {
		return 0
	}
	return 20 - v // the system call's value, 40..1 for nice -20..19
}

// take pops a ready sandbox of shape key, nil when there is none.
func (pl *pool) take(key string) *readySandbox {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	sp := pl.shapes[key]
	if sp == nil || len(sp.ready) == 0 {
		return nil
	}
	r := sp.ready[0]
	sp.ready = sp.ready[1:]
	sp.last = time.Now()
	pl.used++
	return r
}

// refillAfterStart prepares the sandbox replacing one a job just took. While the shape has
// another ready, the next start is served anyway, so the preparation waits poolSettle: one under
// way slows the process just exec'd — on a 2-core host a 50 ms job's run went from 53.1 to 55.1
// ms (an exec's page faults and the dynamic loader beside the clone, mounts and cgroup writes of
// the preparation), while one deferred 10 ms left it at 53.0, a plain process's. When the shape
// has none left, the next start would otherwise be cold: it prepares at once.
func (s *Sandbox) refillAfterStart(key string, cfg Config) {
	s.pool.mu.Lock()
	sp := s.pool.shapes[key]
	ready := sp != nil && len(sp.ready) > 0
	s.pool.mu.Unlock()
	if !ready {
		s.refill(key, cfg)
		return
	}
	time.AfterFunc(s.pool.settle, func() { s.refill(key, cfg) })
}

// refill starts preparing sandboxes of cfg's shape until the pool has its depth of them (counting
// those under way), and lets go of shapes idle too long or beyond the bound.
func (s *Sandbox) refill(key string, cfg Config) {
	pl := &s.pool
	var drop []*readySandbox
	pl.mu.Lock()
	if pl.closed {
		pl.mu.Unlock()
		return
	}
	if pl.shapes == nil {
		pl.shapes = map[string]*shapePool{}
	}
	now := time.Now()
	sp := pl.shapes[key]
	if sp == nil {
		sp = &shapePool{cfg: shapeConfig(cfg)}
		pl.shapes[key] = sp
	}
	sp.last = now
	for k, o := range pl.shapes {
		if k != key && now.Sub(o.last) > poolIdle {
			drop = append(drop, o.ready...)
			o.ready = nil
			if o.inflight == 0 {
				delete(pl.shapes, k)
			}
		}
	}
	for len(pl.shapes) > poolShapes {
		oldest := ""
		for k, o := range pl.shapes {
			if k != key && (oldest == "" || o.last.Before(pl.shapes[oldest].last)) {
				oldest = k
			}
		}
		drop = append(drop, pl.shapes[oldest].ready...)
		pl.shapes[oldest].ready = nil
		delete(pl.shapes, oldest) // preparations still under way find it gone and discard theirs
	}
	if pl.sweep == nil {
		pl.sweep = time.AfterFunc(poolIdle, s.sweepPool)
	}
	if now.Sub(sp.failed) > 5*time.Second {
		for len(sp.ready)+sp.inflight < pl.depth {
			sp.inflight++
			pl.wg.Add(1)
			go s.prepareInto(key, sp)
		}
	}
	pl.mu.Unlock()
	for _, r := range drop {
		s.discard(r)
	}
}

// sweepPool releases the sandboxes of shapes that have not started for poolIdle, and comes back
// while any shape is left.
func (s *Sandbox) sweepPool() {
	pl := &s.pool
	var drop []*readySandbox
	pl.mu.Lock()
	if pl.closed {
		pl.mu.Unlock()
		return
	}
	for k, sp := range pl.shapes {
		if time.Since(sp.last) > poolIdle {
			drop = append(drop, sp.ready...)
			sp.ready = nil
			if sp.inflight == 0 {
				delete(pl.shapes, k)
			}
		}
	}
	pl.sweep = nil
	if len(pl.shapes) > 0 && !pl.closed {
		pl.sweep = time.AfterFunc(poolIdle, s.sweepPool)
	}
	pl.mu.Unlock()
	for _, r := range drop {
		s.discard(r)
	}
}

// prepareInto prepares one sandbox of sp's shape and adds it to the pool (or discards it, when
// the pool closed or let go of the shape meanwhile).
func (s *Sandbox) prepareInto(key string, sp *shapePool) {
	defer s.pool.wg.Done()
	r, err := s.prepare(sp.cfg)
	pl := &s.pool
	pl.mu.Lock()
	sp.inflight--
	if err != nil {
		sp.failed = time.Now()
		pl.mu.Unlock()
		return
	}
	pl.prepared++
	if pl.closed || pl.shapes[key] != sp {
		pl.mu.Unlock()
		s.discard(r)
		return
	}
	sp.ready = append(sp.ready, r)
	pl.mu.Unlock()
}

// prepare makes a sandbox of cfg's shape up to its hold: space, cgroup, clone, namespaces,
// mounts, listeners.
func (s *Sandbox) prepare(cfg Config) (_ *readySandbox, err error) {
	p := &Proc{s: s, pidfd: -1, mountNS: -1, netSlot: -1, done: make(chan struct{})}
	pr := &prepared{hold: true}
	r := &readySandbox{p: p, pr: pr}
	closeExtra := func() {
		for _, f := range pr.extra {
			f.Close()
		}
		pr.extra = nil
	}
	defer func() {
		closeExtra()
		if pr.listen != nil {
			pr.listen.Close()
		}
		if err != nil {
			for _, f := range []*os.File{r.goW, r.gateW, r.errR} {
				if f != nil {
					f.Close()
				}
			}
			if p.pid != 0 {
				p.Signal(syscall.SIGKILL)
				p.Wait() // releases
			} else {
				p.release()
			}
			r.out.close()
		}
	}()
	if !s.opts.HostUsers {
		pr.base = s.tenants.rangeOf(cfg.Tenant)
	}
	name := cgroupName(cfg.ID, s.seq.Add(1))
	if p.space, err = s.newSpace(name, cfg.DiskBytes, pr.base); err != nil {
		return nil, err
	}
	pr.space = p.space
	body, err := s.buildPlan(cfg, pr)
	if err != nil {
		return nil, err
	}
	goR, goW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	r.goW = goW
	gateR, gateW, err := os.Pipe()
	if err != nil {
		goR.Close()
		return nil, err
	}
	r.gateW = gateW
	r.gate = strings.TrimPrefix(pr.fd(gateR), "fd:")
	body.op('H', strings.TrimPrefix(pr.fd(goR), "fd:"))
	p.cg, err = s.cgroups.create(name, limits{MilliVCPU: cfg.MilliVCPU, MemoryMiB: cfg.MemoryMiB, Pids: s.opts.PidsLimit})
	if err != nil {
		return nil, err
	}
	var pl plan
	for _, f := range p.cg.procsFiles() {
		pl.joinCgroup(f)
	}
	pl.op('P', strconv.Itoa(min(s.nice+poolNice, 19)))
	pl.b.Write(body.b.Bytes())
	if r.out.OutR, r.out.OutW, err = os.Pipe(); err != nil {
		return nil, err
	}
	if r.out.ErrR, r.out.ErrW, err = os.Pipe(); err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	r.errR = errR
	err = s.zygote.start(pl.b.Bytes(), append([]*os.File{r.out.OutW, r.out.ErrW, errW}, pr.extra...), p)
	errW.Close()
	// The sandbox has its copies now: ours must go, so that its death reads as EOF below.
	closeExtra()
	if err != nil {
		if msg, _ := io.ReadAll(errR); len(msg) > 0 {
			return nil, errors.New(string(msg))
		}
		return nil, err
	}
	p.holdMounts()
	if pr.listen != nil {
		if p.Listeners, err = receiveListeners(pr.listen, len(cfg.Listen)); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// discard kills a prepared sandbox nobody will use and releases it.
func (s *Sandbox) discard(r *readySandbox) {
	s.pool.mu.Lock()
	s.pool.discarded++
	s.pool.wg.Add(1)
	s.pool.mu.Unlock()
	r.goW.Close() // with nothing sent, it exits by itself
	r.gateW.Close()
	r.errR.Close()
	r.p.Signal(syscall.SIGKILL)
	go func() {
		defer s.pool.wg.Done()
		r.p.Wait()
		r.out.close()
	}()
}

// closePool discards every prepared sandbox and waits for those under way; Close calls it while
// the zygote still runs.
func (s *Sandbox) closePool() {
	pl := &s.pool
	pl.mu.Lock()
	pl.closed = true
	if pl.sweep != nil {
		pl.sweep.Stop()
	}
	var drop []*readySandbox
	for _, sp := range pl.shapes {
		drop = append(drop, sp.ready...)
		sp.ready = nil
	}
	pl.mu.Unlock()
	for _, r := range drop {
		s.discard(r)
	}
	pl.wg.Wait()
}
