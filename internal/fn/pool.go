package fn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

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
	// Shares divides reserved and account concurrency with the other servers on the store;
	// nil: this pool is alone and may use every limit whole. ShareRenew is how often its
	// shares are renewed (0: 3 s; it must be well under the store's lease period).
	Shares     Shares
	ShareRenew time.Duration
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
	shares   map[shareKey]int // this server's recorded share of each limit (Config.Shares)
	// provisioned is each provisioned concurrency config's request, for the servers to divide.
	provisioned map[shareKey]provisionRequest
	all         map[*instance]struct{}
	done        chan struct{} // closed by Close

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
		cfg:         cfg,
		versions:    make(map[instanceKey]*versionState),
		busyFn:      make(map[fnKey]int),
		busyAcct:    make(map[string]int),
		shares:      make(map[shareKey]int),
		provisioned: make(map[shareKey]provisionRequest),
		all:         make(map[*instance]struct{}),
		done:        make(chan struct{}),
	}
	if cfg.Shares != nil {
		every := cfg.ShareRenew
		if every <= 0 {
			every = 3 * time.Second
		}
		go p.renewShares(every)
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
	if !p.closed {
		close(p.done)
	}
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
	p.releaseShares()
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
	inst, err := p.acquire(ctx, &fn, key)
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
func (p *Pool) acquire(ctx context.Context, fn *FunctionSpec, key instanceKey) (*instance, error) {
	if err := p.admit(ctx, fn); err != nil {
		return nil, err
	}
	p.mu.Lock()
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

// RuntimeAPIAddr is where an instance finds its Runtime API (AWS_LAMBDA_RUNTIME_API), as on
// Lambda, when the executor gives it a network of its own; otherwise the executor picks a free
// loopback port and says so in the variable.
const RuntimeAPIAddr = "127.0.0.1:9001"

// pollWait bounds how long an answered invocation waits for its runtime to ask for the next
// event (or exit) before the instance is parked anyway.
const pollWait = 100 * time.Millisecond

// outputSyncWait bounds how long an answered invocation waits for the output printed before its
// answer to come through the pipes (a function flooding its output could hold it up).
const outputSyncWait = 500 * time.Millisecond

// maxCapture bounds the copy; only the last LogTailBytes are ever used.
const maxCapture = 16 * LogTailBytes
