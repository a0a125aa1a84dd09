package fn

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/barge-run/barge/internal/account"
	bexec "github.com/barge-run/barge/internal/exec"
	"github.com/barge-run/barge/internal/logs"
	"github.com/barge-run/barge/internal/metrics"
	"github.com/barge-run/barge/internal/sigv4"
)

// Defaults for [Config].
const (
	DefaultIdleTimeout        = 5 * time.Minute
	DefaultAccountConcurrency = 1000
	DefaultInitTimeout        = 10 * time.Second
	DefaultRegion             = "us-east-1"
	// LogTailBytes is how much of an invocation's log [Result.LogTail] holds, as Lambda's
	// X-Amz-Log-Result does.
	LogTailBytes = 4096
)

// ErrThrottled is matched (errors.Is) by every [ThrottledError]: the invocation was refused
// because a concurrency limit was reached. The Lambda API maps it to 429
// TooManyRequestsException.
var ErrThrottled = errors.New("fn: rate exceeded")

// ErrClosed is returned by Invoke after Close.
var ErrClosed = errors.New("fn: pool closed")

// ThrottledError says which concurrency limit refused an invocation.
type ThrottledError struct {
	// Reason is Lambda's reason code: "ReservedFunctionConcurrentInvocationLimitExceeded" or
	// "ConcurrentInvocationLimitExceeded".
	Reason string
	Limit  int
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("Rate Exceeded. (%s, limit %d)", e.Reason, e.Limit)
}

// Is makes errors.Is(err, ErrThrottled) true.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

// FunctionSpec is a resolved function version, ready to run.
type FunctionSpec struct {
	Account, Name, Version, ARN string
	// CodeDir is the unpacked deployment package; it holds an executable "bootstrap".
	CodeDir string
	// OptDir is the function's layers, merged: what its instances see at /opt ("" for none).
	OptDir           string
	Handler, Runtime string
	// MemoryMiB defaults to 128 and Timeout to 3 s, Lambda's defaults.
	MemoryMiB int
	Timeout   time.Duration
	Env       map[string]string
	// ReservedConcurrency caps the function's concurrent invocations; 0 means no cap.
	ReservedConcurrency int
	// Image, for a PackageType Image function, is its image pinned by digest; instances run it
	// (each with a scratch directory below CodeDir). Entrypoint, Command and WorkingDir are the
	// function's ImageConfig overrides ("" / nil: the image's).
	Image      string
	Entrypoint []string
	Command    []string
	WorkingDir string
	// Role is the function's execution role ARN, recorded with its instances' credentials.
	Role string
	// LogFormat ("JSON" or "Text") and LogLevel (the application log level, JSON only) are the
	// function's LoggingConfig, given to its runtime as AWS_LAMBDA_LOG_FORMAT and
	// AWS_LAMBDA_LOG_LEVEL; "" sets no variable.
	LogFormat, LogLevel string
	// Region is the function's region (AWS_REGION); "" means the pool's. Account is then the
	// account's scope key in that region (account.Scope), its id what credentials carry.
	Region string
}

// Result is the outcome of a synchronous invocation. A function error is a Result with
// FunctionError "Unhandled", not a Go error.
type Result struct {
	Payload []byte
	// FunctionError is "" or "Unhandled" (X-Amz-Function-Error).
	FunctionError string
	// LogTail is the last LogTailBytes of this invocation's log, START through REPORT.
	LogTail         []byte
	ExecutedVersion string
	// RequestID is the invocation's request id, as the runtime and the log lines saw it.
	RequestID              string
	InitDuration, Duration time.Duration
	ColdStart              bool
}

type requestIDKey struct{}

// WithRequestID gives an invocation its request id: the API request's, which Lambda returns as
// x-amzn-RequestId and the function sees as its context's request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID is the request id ctx carries (WithRequestID), or a new one.
func RequestID(ctx context.Context) string {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok && id != "" {
		return id
	}
	return uuid.NewString()
}

// Config configures a [Pool].
type Config struct {
	// Executor starts instances. Required.
	Executor bexec.Executor
	// Logs receives each instance's output and the START/END/REPORT lines; nil discards them.
	Logs *logs.Store
	// IdleTimeout is how long an idle instance is kept warm; 0 means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// AccountConcurrency caps concurrent invocations per account; 0 means
	// DefaultAccountConcurrency.
	AccountConcurrency int
	// InitTimeout bounds an instance's init phase (until its first /next); 0 means
	// DefaultInitTimeout, Lambda's limit.
	InitTimeout time.Duration
	// Region fills AWS_REGION and AWS_DEFAULT_REGION; "" means DefaultRegion.
	Region string
	// Now is the clock for log stream names; nil means time.Now. Durations use real time.
	Now func() time.Time
	// Credentials mints each instance's temporary credentials (revoked when it ends); nil gives
	// instances none.
	Credentials Credentials
	// APIEndpoint is barge's API as an instance reaches it (AWS_ENDPOINT_URL); nil or "": none.
	APIEndpoint func() string
	// Metrics counts invocations and cold starts and reads the instances gauge; nil: none.
	Metrics *metrics.Metrics
}

// Credentials mints the temporary credentials a function instance gets in its environment, as
// Lambda hands an execution environment its execution role's, and revokes them when it ends.
type Credentials interface {
	Mint(account, role string) sigv4.Credential
	Revoke(accessKeyID string)
}

// Pool runs function instances and routes invocations to them. It is safe for concurrent use.
type Pool struct {
	cfg Config

	mu       sync.Mutex
	closed   bool
	versions map[instanceKey]*versionState
	busyFn   map[fnKey]int
	busyAcct map[string]int
	all      map[*instance]struct{}

	wg sync.WaitGroup // instance teardown
}

// fnKey identifies a function, all versions, for reserved concurrency.
type fnKey struct{ account, name string }

// instanceKey identifies interchangeable instances: same version and same configuration, so
// that an updated $LATEST never reuses an instance of the old code.
type instanceKey struct {
	account, name, version, codeDir, optDir, handler, runtime string
	memory                                                    int
	timeout                                                   time.Duration
	env                                                       string
	logFormat, logLevel                                       string
}

// keyOf returns fn's instance key, first filling in Lambda's defaults (3 s timeout, 128 MB).
func keyOf(fn *FunctionSpec) instanceKey {
	if fn.Timeout <= 0 {
		fn.Timeout = 3 * time.Second
	}
	if fn.MemoryMiB <= 0 {
		fn.MemoryMiB = 128
	}
	var env string
	if len(fn.Env) > 0 {
		ks := make([]string, 0, len(fn.Env))
		for k := range fn.Env {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		var b strings.Builder
		for _, k := range ks {
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(fn.Env[k])
			b.WriteByte(0)
		}
		env = b.String()
	}
	return instanceKey{fn.Account, fn.Name, fn.Version, fn.CodeDir, fn.OptDir, fn.Handler, fn.Runtime, fn.MemoryMiB, fn.Timeout, env, fn.LogFormat, fn.LogLevel}
}

type versionState struct {
	idle  []*instance // most recently used last
	count int         // instances alive or starting, idle or busy
	// provisioned is how many instances are kept warm whatever the idle time (provisioned
	// concurrency); the pool starts them ahead of any invocation.
	provisioned int
}

// instance is one running bootstrap process.
type instance struct {
	key instanceKey
	api *RuntimeAPI
	srv *http.Server

	proc     bexec.Process
	scratch  string        // an image instance's directory, removed when it ends
	exited   chan struct{} // closed when proc ended
	exit     bexec.Exit
	stopOnce sync.Once

	logGroup, logStream string
	out, errw, sys      io.WriteCloser // stdout, stderr, and the pool's own lines
	session             string         // the access key of its credentials, revoked when it ends

	// The instance's output since the current invocation's START (or since launch, during
	// init), for Result.LogTail, so that it needs no read back from the stream.
	capMu sync.Mutex
	capt  []byte

	// guarded by Pool.mu
	idle    bool
	idleGen uint64
	timer   *time.Timer
	dead    bool
}

// New returns a pool. Close it to stop every instance.
func New(cfg Config) (*Pool, error) {
	if cfg.Executor == nil {
		return nil, errors.New("fn: Config.Executor is required")
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.AccountConcurrency <= 0 {
		cfg.AccountConcurrency = DefaultAccountConcurrency
	}
	if cfg.InitTimeout <= 0 {
		cfg.InitTimeout = DefaultInitTimeout
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &Pool{
		cfg:      cfg,
		versions: make(map[instanceKey]*versionState),
		busyFn:   make(map[fnKey]int),
		busyAcct: make(map[string]int),
		all:      make(map[*instance]struct{}),
	}
	cfg.Metrics.Register(metrics.NewGaugeFunc("barge_function_instances", "Function instances alive, idle (warm) or busy (starting or invoking).",
		[]string{"account", "function", "state"}, p.instanceCounts))
	return p, nil
}

// instanceCounts reads the instances gauge.
func (p *Pool) instanceCounts(emit func(float64, ...string)) {
	counts := map[[3]string]int{}
	p.mu.Lock()
	for inst := range p.all {
		state := "busy"
		if inst.idle {
			state = "idle"
		}
		counts[[3]string{inst.key.account, inst.key.name, state}]++
	}
	p.mu.Unlock()
	for k, n := range counts {
		emit(float64(n), k[0], k[1], k[2])
	}
}

// AccountConcurrency is the account-wide limit of concurrent invocations.
func (p *Pool) AccountConcurrency() int { return p.cfg.AccountConcurrency }

// Instances reports how many instances of fn's version (with fn's configuration) are running
// or starting, idle or busy.
func (p *Pool) Instances(fn FunctionSpec) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if vs := p.versions[keyOf(&fn)]; vs != nil {
		return vs.count
	}
	return 0
}

// Close stops every instance and waits for them to exit. Invocations in flight fail.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	insts := make([]*instance, 0, len(p.all))
	for inst := range p.all {
		insts = append(insts, inst)
	}
	p.mu.Unlock()
	for _, inst := range insts {
		p.discard(inst)
	}
	p.wg.Wait()
	return nil
}

// Invoke runs payload through an instance of fn, synchronously (RequestResponse). It returns
// a Go error only when the invocation could not be attempted (ErrThrottled, ErrClosed, a
// runtime API listener that could not be bound) or the caller gave up (ctx's error; the
// instance, which may still be working on the event, is killed). Everything the function did —
// including errors, timeouts, crashes and init failures — is a Result.
func (p *Pool) Invoke(ctx context.Context, fn FunctionSpec, payload []byte) (res Result, err error) {
	defer func() { p.count(&fn, res, err) }()
	key := keyOf(&fn) // applies the defaults to fn
	inst, err := p.acquire(&fn, key)
	if err != nil {
		return Result{}, err
	}
	cold := inst == nil
	if cold {
		p.cfg.Metrics.ColdStart(fn.Account, fn.Name)
	}
	res = Result{ExecutedVersion: fn.Version, ColdStart: cold, RequestID: RequestID(ctx)}
	var initFail *Result
	if cold {
		inst, initFail, err = p.start(ctx, &fn, key, &res)
		if err != nil {
			p.release(&fn, key, inst, false)
			return Result{}, err
		}
	}
	healthy := false
	if initFail != nil {
		res = *initFail
	} else {
		healthy, err = p.run(ctx, &fn, inst, payload, &res)
	}
	p.release(&fn, key, inst, healthy)
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

// CountThrottle records an invocation refused before it reached the pool (a function whose
// reserved concurrency is 0).
func (p *Pool) CountThrottle(account, function string) {
	p.cfg.Metrics.Invocation(account, function, "throttled")
}

// count records an invocation's outcome in the metrics.
func (p *Pool) count(fn *FunctionSpec, res Result, err error) {
	outcome := "success"
	var throttled *ThrottledError
	switch {
	case errors.As(err, &throttled):
		outcome = "throttled"
	case err != nil:
		outcome = "failed"
	case res.FunctionError != "":
		outcome = "error"
	}
	p.cfg.Metrics.Invocation(fn.Account, fn.Name, outcome)
}

// acquire reserves concurrency and returns an idle instance, or nil when one must be started
// (its slot in versionState.count is then taken).
func (p *Pool) acquire(fn *FunctionSpec, key instanceKey) (*instance, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	fk := fnKey{fn.Account, fn.Name}
	if fn.ReservedConcurrency > 0 && p.busyFn[fk] >= fn.ReservedConcurrency {
		p.mu.Unlock()
		return nil, &ThrottledError{Reason: "ReservedFunctionConcurrentInvocationLimitExceeded", Limit: fn.ReservedConcurrency}
	}
	if p.busyAcct[fn.Account] >= p.cfg.AccountConcurrency {
		p.mu.Unlock()
		return nil, &ThrottledError{Reason: "ConcurrentInvocationLimitExceeded", Limit: p.cfg.AccountConcurrency}
	}
	p.busyFn[fk]++
	p.busyAcct[fn.Account]++
	vs := p.versions[key]
	if vs == nil {
		vs = &versionState{}
		p.versions[key] = vs
	}
	var exited []*instance
	var inst *instance
	for n := len(vs.idle); n > 0 && inst == nil; n = len(vs.idle) {
		cand := vs.idle[n-1]
		vs.idle[n-1] = nil
		vs.idle = vs.idle[:n-1]
		cand.idle = false
		cand.idleGen++
		if cand.timer != nil {
			cand.timer.Stop()
		}
		if cand.hasExited() {
			// Died while idle; its watcher has not dropped it yet (and, no longer idle, will
			// not): drop it here.
			exited = append(exited, cand)
			continue
		}
		inst = cand
	}
	if inst == nil {
		vs.count++
	}
	p.mu.Unlock()
	for _, dead := range exited {
		p.discard(dead)
	}
	return inst, nil
}

// release returns the concurrency slot and, if healthy, puts inst back to idle; otherwise inst
// (if any) is discarded.
func (p *Pool) release(fn *FunctionSpec, key instanceKey, inst *instance, healthy bool) {
	p.mu.Lock()
	fk := fnKey{fn.Account, fn.Name}
	if p.busyFn[fk]--; p.busyFn[fk] <= 0 {
		delete(p.busyFn, fk)
	}
	if p.busyAcct[fn.Account]--; p.busyAcct[fn.Account] <= 0 {
		delete(p.busyAcct, fn.Account)
	}
	if inst == nil {
		p.dropSlot(key)
		p.mu.Unlock()
		return
	}
	p.park(key, inst, healthy)
}

// park puts a healthy instance among key's idle ones and arms its reaping; an unhealthy, dead or
// late one (the pool closed) is discarded. p.mu must be held; park releases it.
func (p *Pool) park(key instanceKey, inst *instance, healthy bool) {
	if !healthy || inst.dead || p.closed || inst.hasExited() {
		p.mu.Unlock()
		p.discard(inst)
		return
	}
	vs := p.versions[key]
	vs.idle = append(vs.idle, inst)
	inst.idle = true
	gen := inst.idleGen
	inst.timer = time.AfterFunc(p.cfg.IdleTimeout, func() { p.reap(inst, gen) })
	p.mu.Unlock()
}

// Provision keeps n instances of fn's version warm (provisioned concurrency): it starts the
// missing ones in the background, and idle ones are not stopped while there are no more than n.
// n = 0 ends it. Provisioned instances still serve one invocation at a time and count against
// the concurrency limits only while they are busy.
func (p *Pool) Provision(fn FunctionSpec, n int) {
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

// Ready reports how many of fn's version's instances have started and are alive (idle or busy).
func (p *Pool) Ready(fn FunctionSpec) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	key := keyOf(&fn)
	for inst := range p.all {
		if inst.key == key && !inst.dead && inst.proc != nil && !inst.hasExited() && inst.ready() {
			n++
		}
	}
	return n
}

// dropSlot forgets one instance of key. p.mu must be held.
func (p *Pool) dropSlot(key instanceKey) {
	vs := p.versions[key]
	if vs == nil {
		return
	}
	vs.count--
	if vs.count <= 0 && len(vs.idle) == 0 && vs.provisioned == 0 {
		delete(p.versions, key)
	}
}

// reap stops inst if it is still idle in the same idle period that armed the timer.
func (p *Pool) reap(inst *instance, gen uint64) {
	p.mu.Lock()
	ok := inst.idle && inst.idleGen == gen && !inst.dead
	if vs := p.versions[inst.key]; ok && vs != nil && vs.count <= vs.provisioned {
		// Provisioned: stays warm; look again after another idle period.
		ok = false
		inst.timer = time.AfterFunc(p.cfg.IdleTimeout, func() { p.reap(inst, gen) })
	}
	p.mu.Unlock()
	if ok {
		p.discard(inst)
	}
}

// discard removes inst from the pool, kills it and cleans it up in the background.
func (p *Pool) discard(inst *instance) {
	p.mu.Lock()
	if inst.dead {
		p.mu.Unlock()
		return
	}
	inst.dead = true
	if inst.timer != nil {
		inst.timer.Stop()
	}
	if inst.idle {
		inst.idle = false
		if vs := p.versions[inst.key]; vs != nil {
			if i := slices.Index(vs.idle, inst); i >= 0 {
				vs.idle = slices.Delete(vs.idle, i, i+1)
			}
		}
	}
	delete(p.all, inst)
	p.dropSlot(inst.key)
	p.mu.Unlock()
	inst.stop()
	inst.sys.Close()
}

// start launches a new instance for a cold invocation and waits for its init phase. It
// returns the instance when it is ready; the failed invocation's Result (and the instance, if
// one was registered, already discarded) when init failed; or an error when the invocation
// could not be attempted. A non-nil instance owns the slot acquire took; with a nil instance
// the caller frees it.
func (p *Pool) start(ctx context.Context, fn *FunctionSpec, key instanceKey, res *Result) (*instance, *Result, error) {
	begin := time.Now()
	inst := &instance{key: key, api: newRuntimeAPI(), exited: make(chan struct{})}
	var err error
	inst.srv = &http.Server{Handler: inst.api, ReadHeaderTimeout: 10 * time.Second}

	inst.logGroup = "/aws/lambda/" + fn.Name
	inst.logStream = streamName(p.cfg.Now(), fn.Version)
	inst.out, inst.errw, inst.sys = nopCloser{io.Discard}, nopCloser{io.Discard}, nopCloser{io.Discard}
	if p.cfg.Logs != nil {
		// Created on the first output (START comes at once); output the disk cannot take is
		// counted and said in the stream once it can.
		l := p.cfg.Logs.Lazy(fn.Account, inst.logGroup, inst.logStream)
		inst.out, inst.errw, inst.sys = l.Writer(), l.Writer(), l.Writer()
	}

	spec := bexec.Spec{
		ID:      "fn:" + fn.Account + ":" + fn.Name + ":" + fn.Version + ":" + inst.logStream,
		Command: []string{filepath.Join(fn.CodeDir, "bootstrap")},
		Env:     p.environ(fn, inst),
		Tenant:  fn.Account,
		// The Runtime API listens inside the instance's own network, where Lambda puts it: no
		// other process on the host can reach it to take the instance's events.
		Listen: []bexec.Listen{{Addr: RuntimeAPIAddr, Env: "AWS_LAMBDA_RUNTIME_API", Serve: func(l net.Listener) {
			go inst.srv.Serve(l)
		}}},
		Dir:         fn.CodeDir,
		DirReadOnly: true,
		MemoryMiB:   int64(fn.MemoryMiB),
		// Lambda gives a function vCPU in proportion to memory (1 vCPU per 1,769 MB). As a cgroup
		// ceiling that starves small functions on a shared host (a 128 MB function would get 7 % of
		// a core and spend its time throttled), so barge never caps an instance below one vCPU.
		MilliVCPU: max(1000, int64(fn.MemoryMiB)*1000/1769),
		Stdout:    capture{inst, inst.out},
		Stderr:    capture{inst, inst.errw},
	}
	if fn.Image != "" {
		// The image brings the runtime; the instance's writable layer lives in a directory of
		// its own, removed when it ends.
		spec.Image, spec.Command, spec.Entrypoint, spec.WorkingDir, spec.DirReadOnly = fn.Image, fn.Command, fn.Entrypoint, fn.WorkingDir, false
		if spec.Dir, err = os.MkdirTemp(fn.CodeDir, "instance-"); err != nil {
			inst.stop()
			inst.sys.Close()
			return nil, nil, fmt.Errorf("fn: instance directory: %w", err)
		}
		inst.scratch = spec.Dir
	}
	p.attachOpt(fn, &spec)
	if c := p.cfg.Credentials; c != nil {
		accountID, _ := account.SplitScope(fn.Account, "")
		cred := c.Mint(accountID, fn.Role)
		inst.session = cred.AccessKeyID
		spec.Env = sessionEnv(spec.Env, cred, p.cfg.APIEndpoint)
	}
	// Not ctx: the instance outlives this invocation.
	proc, err := p.cfg.Executor.Start(context.Background(), spec)
	if err != nil {
		p.revoke(inst)
		r := p.initFailure(fn, inst, res, begin, "Runtime.InvalidEntrypoint", nil, err.Error())
		inst.stop()
		inst.sys.Close()
		return nil, &r, nil
	}
	inst.proc = proc
	p.mu.Lock()
	p.all[inst] = struct{}{}
	closed := p.closed
	p.wg.Add(1) // under mu, so that Close's Wait covers it
	p.mu.Unlock()
	go p.watch(inst)
	if closed {
		return inst, nil, ErrClosed
	}

	initTimer := time.NewTimer(p.cfg.InitTimeout)
	defer initTimer.Stop()
	var r Result
	select {
	case <-inst.api.ready:
		res.InitDuration = time.Since(begin)
		return inst, nil, nil
	case f := <-inst.api.initErr:
		// What the runtime printed before it reported the error (its [ERROR] line) belongs in
		// the tail: wait until it has come through the pipe, as run does for an answer.
		inst.syncOutput(ctx)
		r = p.initFailure(fn, inst, res, begin, f.errorType, f.payload, "")
	case <-inst.exited:
		msg := "Runtime exited with error: " + exitText(inst.exit)
		if inst.exit.Reason == "" && inst.exit.Code == 0 && inst.exit.Signal == 0 {
			msg = "Runtime exited without providing a reason"
		}
		r = p.initFailure(fn, inst, res, begin, "Runtime.ExitError", nil, msg)
	case <-initTimer.C:
		r = p.initFailure(fn, inst, res, begin, "Runtime.InitTimeout", nil,
			fmt.Sprintf("INIT phase timed out after %.2f seconds", p.cfg.InitTimeout.Seconds()))
	case <-ctx.Done():
		p.discard(inst)
		return inst, nil, ctx.Err()
	}
	p.discard(inst)
	return inst, &r, nil
}

// watch waits for inst's process to end, then releases what the process held. An instance
// that exits while idle leaves the pool; a busy one is discarded when its invocation ends.
func (p *Pool) watch(inst *instance) {
	defer p.wg.Done()
	inst.exit = inst.proc.Wait()
	p.revoke(inst)
	if inst.scratch != "" {
		os.RemoveAll(inst.scratch)
	}
	close(inst.exited)
	inst.api.close()
	inst.srv.Close()
	inst.out.Close()
	inst.errw.Close()
	p.mu.Lock()
	idle := inst.idle
	p.mu.Unlock()
	if idle {
		p.discard(inst)
	}
}

// revoke ends the instance's credentials: a process that is gone needs none, and whatever it
// left behind can use them no longer.
func (p *Pool) revoke(inst *instance) {
	if inst.session != "" && p.cfg.Credentials != nil {
		p.cfg.Credentials.Revoke(inst.session)
	}
}

// sessionEnv hands an instance its credentials, as Lambda does (they are reserved variables: a
// function's own environment cannot set them), and barge's endpoint.
func sessionEnv(env []string, cred sigv4.Credential, endpoint func() string) []string {
	out := env[:0:0]
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if name != "AWS_ACCESS_KEY_ID" && name != "AWS_SECRET_ACCESS_KEY" && name != "AWS_SESSION_TOKEN" {
			out = append(out, kv)
		}
	}
	ep := ""
	if endpoint != nil {
		ep = endpoint()
	}
	return account.Env(out, cred, ep)
}

// initFailure builds the Result of an invocation whose instance failed to initialise and logs
// it. payload, when set, is the runtime's own error document; otherwise msg is wrapped in one.
func (p *Pool) initFailure(fn *FunctionSpec, inst *instance, res *Result, begin time.Time, errType string, payload []byte, msg string) Result {
	r := *res
	r.InitDuration = time.Since(begin)
	if payload == nil {
		payload = errorJSON("RequestId: "+r.RequestID+" Error: "+msg, errType)
	}
	r.Payload, r.FunctionError = payload, "Unhandled"
	var lw lineWriter
	if msg != "" {
		lw.line("%s %s %s", p.cfg.Now().UTC().Format("2006-01-02T15:04:05.000Z"), r.RequestID, msg)
	}
	lw.line("INIT_REPORT Init Duration: %s ms\tPhase: init\tStatus: error\tError Type: %s", ms(r.InitDuration), errType)
	lw.line("START RequestId: %s Version: %s", r.RequestID, fn.Version)
	lw.line("END RequestId: %s", r.RequestID)
	lw.report(r.RequestID, 0, r.InitDuration, fn.MemoryMiB, 0, true)
	inst.sys.Write(lw.b)
	// The tail: what the runtime printed during init, then the pool's lines.
	t := inst.takeCapture()
	if len(t) > 0 && t[len(t)-1] != '\n' {
		t = append(t, '\n')
	}
	r.LogTail = tail(append(t, lw.b...))
	return r
}

// run delivers one invocation to a ready instance and waits for its answer. It reports
// whether the instance can be reused, and ctx's error if the caller gave up.
func (p *Pool) run(ctx context.Context, fn *FunctionSpec, inst *instance, payload []byte, res *Result) (bool, error) {
	var lw lineWriter
	lw.line("START RequestId: %s Version: %s", res.RequestID, fn.Version)
	inst.takeCapture() // drop init output and stragglers from the previous invocation
	inst.sys.Write(lw.b)
	startLen := len(lw.b)

	begin := time.Now()
	inv := &invocation{
		requestID: res.RequestID,
		deadline:  begin.Add(fn.Timeout),
		arn:       fn.ARN,
		traceID:   traceID(begin),
		payload:   payload,
		done:      make(chan outcome, 1),
	}
	timer := time.NewTimer(fn.Timeout)
	defer timer.Stop()
	inst.api.queue <- inv // buffered, and empty: an instance serves one invocation at a time

	healthy := true
	var cancelled error
	select {
	case out := <-inv.done:
		res.Payload = out.payload
		if out.isError {
			res.FunctionError = "Unhandled"
		}
		// What the function printed before it answered may still be in its pipes: the tail and
		// the stream hold all of it, as Lambda's do.
		inst.syncOutput(ctx)
		// Lambda gives an environment its next event only once its runtime asks for one; a
		// runtime that exits after answering instead (Node's after an unhandled rejection) must
		// not be parked and handed the next event. It asks at once, normally.
		healthy = inst.awaitPoll(out.polled)
	case <-inst.exited:
		healthy = false
		msg := "Runtime exited with error: " + exitText(inst.exit)
		res.Payload = errorJSON("RequestId: "+res.RequestID+" Error: "+msg, "Runtime.ExitError")
		res.FunctionError = "Unhandled"
		lw.line("%s %s %s", p.cfg.Now().UTC().Format("2006-01-02T15:04:05.000Z"), res.RequestID, msg)
	case <-timer.C:
		healthy = false
		inst.kill()
		msg := fmt.Sprintf("Task timed out after %.2f seconds", fn.Timeout.Seconds())
		res.Payload = errorJSON("RequestId: "+res.RequestID+" Error: "+msg, "Sandbox.Timedout")
		res.FunctionError = "Unhandled"
		lw.line("%s %s %s", p.cfg.Now().UTC().Format("2006-01-02T15:04:05.000Z"), res.RequestID, msg)
	case <-ctx.Done():
		// The caller is gone; the instance may still be working on the event, so it cannot be
		// reused.
		healthy = false
		cancelled = ctx.Err()
		inst.kill()
		lw.line("%s %s Invocation cancelled by the caller: %v", p.cfg.Now().UTC().Format("2006-01-02T15:04:05.000Z"), res.RequestID, cancelled)
	}
	res.Duration = time.Since(begin)

	// The function's output, between START and the pool's closing lines.
	own := lw.b[startLen:]
	out := inst.takeCapture()
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	lw.b = append(append(lw.b[:startLen:startLen], out...), own...)
	endAt := len(lw.b)
	lw.line("END RequestId: %s", res.RequestID)
	lw.report(res.RequestID, res.Duration, res.InitDuration, fn.MemoryMiB, inst.maxMemoryMiB(), res.ColdStart)
	inst.sys.Write(lw.b[endAt-len(own):])
	res.LogTail = tail(lw.b)
	return healthy, cancelled
}

func tail(b []byte) []byte {
	if len(b) > LogTailBytes {
		b = b[len(b)-LogTailBytes:]
	}
	return slices.Clone(b)
}

// RuntimeAPIAddr is where an instance finds its Runtime API (AWS_LAMBDA_RUNTIME_API), as on
// Lambda, when the executor gives it a network of its own; otherwise the executor picks a free
// loopback port and says so in the variable.
const RuntimeAPIAddr = "127.0.0.1:9001"

// attachOpt gives an instance its layers at /opt: mounted there in a sandbox; a plain process
// cannot have its own /opt, so it is told where the layers are instead (BARGE_OPT_DIR, which
// barge's runtimes read, and PATH and LD_LIBRARY_PATH).
func (p *Pool) attachOpt(fn *FunctionSpec, spec *bexec.Spec) {
	if fn.OptDir == "" {
		return
	}
	if sb, ok := p.cfg.Executor.(interface{ Sandboxed() bool }); ok && sb.Sandboxed() {
		spec.Mounts = append(spec.Mounts, bexec.Mount{Source: fn.OptDir, Target: "/opt", ReadOnly: true, Owned: true})
		if _, err := os.Stat(filepath.Join(fn.CodeDir, "bootstrap")); err != nil {
			spec.Command = []string{"/opt/bootstrap"} // a custom runtime from a layer, as Lambda runs it
		}
		return
	}
	for i, kv := range spec.Env {
		if k, v, _ := strings.Cut(kv, "="); k == "PATH" || k == "LD_LIBRARY_PATH" {
			spec.Env[i] = k + "=" + strings.ReplaceAll(v, "/opt/", fn.OptDir+"/")
		}
	}
	spec.Env = append(spec.Env, "BARGE_OPT_DIR="+fn.OptDir)
	if _, err := os.Stat(filepath.Join(fn.CodeDir, "bootstrap")); err != nil {
		spec.Command = []string{filepath.Join(fn.OptDir, "bootstrap")}
	}
}

// environ is the instance's environment: Lambda's defaults that a function may override, the
// function's variables, then the reserved variables it may not.
// taskRoot is LAMBDA_TASK_ROOT: the code directory, or /var/task in an image (Lambda's base
// images keep the function there).
func taskRoot(fn *FunctionSpec) string {
	if fn.Image != "" {
		return "/var/task"
	}
	return fn.CodeDir
}

func (p *Pool) environ(fn *FunctionSpec, inst *instance) []string {
	env := map[string]string{
		"PATH":            "/usr/local/bin:/usr/bin:/bin:/opt/bin",
		"LANG":            "en_US.UTF-8",
		"TZ":              ":UTC",
		"LD_LIBRARY_PATH": "/lib64:/usr/lib64:" + taskRoot(fn) + ":" + taskRoot(fn) + "/lib:/opt/lib",
	}
	for k, v := range fn.Env {
		env[k] = v
	}
	reserved := map[string]string{
		"_HANDLER":                        fn.Handler,
		"AWS_LAMBDA_FUNCTION_NAME":        fn.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     fn.Version,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(fn.MemoryMiB),
		"AWS_LAMBDA_LOG_GROUP_NAME":       inst.logGroup,
		"AWS_LAMBDA_LOG_STREAM_NAME":      inst.logStream,
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      cmp.Or(fn.Region, p.cfg.Region),
		"AWS_DEFAULT_REGION":              cmp.Or(fn.Region, p.cfg.Region),
		"LAMBDA_TASK_ROOT":                taskRoot(fn),
		"LAMBDA_RUNTIME_DIR":              "/var/runtime",
	}
	if fn.Runtime != "" && !strings.HasPrefix(fn.Runtime, "provided") {
		reserved["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + fn.Runtime
	}
	if fn.LogFormat != "" {
		reserved["AWS_LAMBDA_LOG_FORMAT"] = fn.LogFormat
	}
	if fn.LogLevel != "" {
		reserved["AWS_LAMBDA_LOG_LEVEL"] = fn.LogLevel
	}
	for k, v := range reserved {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// streamName is Lambda's log stream name: YYYY/MM/DD/[version]<32 hex>.
func streamName(now time.Time, version string) string {
	var b [16]byte
	rand.Read(b[:])
	return now.UTC().Format("2006/01/02") + "/[" + version + "]" + hex.EncodeToString(b[:])
}

// traceID is an X-Ray trace header for an unsampled trace.
func traceID(now time.Time) string {
	var b [20]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0;Lineage=1:%s:0", now.Unix(), h[:24], h[24:40], h[:8])
}

func exitText(e bexec.Exit) string {
	switch {
	case e.Reason != "":
		return e.Reason
	case e.Signal != 0:
		return "signal: " + e.Signal.String()
	default:
		return "exit status " + strconv.Itoa(e.Code)
	}
}

// kill ends the instance's process group; the exit watcher does the rest.
func (inst *instance) kill() {
	if inst.proc != nil {
		inst.proc.Signal(syscall.SIGKILL)
	}
}

// stop kills the instance. Safe to call more than once. The exit watcher closes the runtime
// API server and the output writers; an instance whose process never started has them closed
// here. The pool's own log writer (sys) is closed by whoever discards the instance.
func (inst *instance) stop() {
	inst.stopOnce.Do(func() {
		inst.api.close()
		if inst.proc != nil {
			inst.kill()
			return
		}
		inst.srv.Close()
		inst.out.Close()
		inst.errw.Close()
	})
}

// ready reports whether the instance's runtime has finished its init (asked for work).
func (inst *instance) ready() bool {
	select {
	case <-inst.api.ready:
		return true
	default:
		return false
	}
}

func (inst *instance) hasExited() bool {
	select {
	case <-inst.exited:
		return true
	default:
		return false
	}
}

// pollWait bounds how long an answered invocation waits for its runtime to ask for the next
// event (or exit) before the instance is parked anyway.
const pollWait = 100 * time.Millisecond

// awaitPoll waits until the runtime asks for its next event after an answer (polled closed),
// or exits, at most pollWait. It reports whether the instance is still alive.
func (inst *instance) awaitPoll(polled <-chan struct{}) bool {
	t := time.NewTimer(pollWait)
	defer t.Stop()
	select {
	case <-polled:
	case <-inst.exited:
	case <-t.C:
	}
	return !inst.hasExited()
}

// outputSyncWait bounds how long an answered invocation waits for the output printed before its
// answer to come through the pipes (a function flooding its output could hold it up).
const outputSyncWait = 500 * time.Millisecond

// syncOutput waits until the instance's output written so far has been captured.
func (inst *instance) syncOutput(ctx context.Context) {
	if s, ok := inst.proc.(bexec.OutputSyncer); ok {
		ctx, cancel := context.WithTimeout(ctx, outputSyncWait)
		defer cancel()
		s.SyncOutput(ctx)
	}
}

func (inst *instance) maxMemoryMiB() int {
	return int((inst.proc.PeakMemory() + 1<<20 - 1) >> 20)
}

// capture passes an instance's output to its log writer and keeps a copy for LogTail.
type capture struct {
	inst *instance
	w    io.Writer
}

// maxCapture bounds the copy; only the last LogTailBytes are ever used.
const maxCapture = 16 * LogTailBytes

func (c capture) Write(p []byte) (int, error) {
	inst, b := c.inst, p
	inst.capMu.Lock()
	if len(inst.capt)+len(b) > maxCapture {
		keep := inst.capt
		if len(b) >= LogTailBytes {
			keep = nil
		} else if len(keep) > LogTailBytes-len(b) {
			keep = keep[len(keep)-(LogTailBytes-len(b)):]
		}
		inst.capt = append(inst.capt[:0], keep...)
		if len(b) > LogTailBytes {
			b = b[len(b)-LogTailBytes:]
		}
	}
	inst.capt = append(inst.capt, b...)
	inst.capMu.Unlock()
	return c.w.Write(p)
}

// takeCapture returns the output captured so far and starts a new capture.
func (inst *instance) takeCapture() []byte {
	inst.capMu.Lock()
	defer inst.capMu.Unlock()
	out := slices.Clone(inst.capt)
	inst.capt = inst.capt[:0]
	return out
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// lineWriter builds the pool's log lines in one buffer, so they reach the stream in one write.
type lineWriter struct{ b []byte }

func (l *lineWriter) line(format string, args ...any) {
	l.b = fmt.Appendf(l.b, format, args...)
	l.b = append(l.b, '\n')
}

// report writes Lambda's REPORT line. Billed duration is rounded up to the millisecond and,
// as for custom runtimes, includes the init phase on a cold start.
func (l *lineWriter) report(id string, d, initD time.Duration, memMiB, usedMiB int, cold bool) {
	billed := d
	if cold {
		billed += initD
	}
	l.b = fmt.Appendf(l.b, "REPORT RequestId: %s\tDuration: %s ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t",
		id, ms(d), int64(math.Ceil(float64(billed)/float64(time.Millisecond))), memMiB, usedMiB)
	if cold {
		l.b = fmt.Appendf(l.b, "Init Duration: %s ms\t", ms(initD))
	}
	l.b = append(l.b, '\n')
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64)
}
