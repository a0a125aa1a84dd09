package fn

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/barge-run/barge/internal/account"
	bexec "github.com/barge-run/barge/internal/exec"
)

// An instance's life: started (its init phase watched), invoked, watched until it exits, and
// what it prints captured for its log and the invocation's tail.

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
