//go:build linux

package sandbox

import (
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Proc is a running sandbox.
type Proc struct {
	pid   int // on the host
	pidfd int
	// mountNS holds the sandbox's mount namespace past its last process (-1: not held); see
	// holdMounts.
	mountNS int
	cg      cgroupHandle
	scratch []string
	space   space // bounded writable space, released with the sandbox
	s       *Sandbox
	// Listeners are the sockets Config.Listen asked for, listening inside the sandbox's network;
	// they are closed when the sandbox is released.
	Listeners []net.Listener
	// netSlot is the zygote's pool slot of the sandbox's network namespace (-1: none), given
	// back once the listeners are closed; zconn the zygote it came from.
	netSlot int
	zconn   *net.UnixConn

	init   bool // barge's init is PID 1
	done   chan struct{}
	status syscall.WaitStatus
	// converted is a signal Signal delivered as SIGKILL (see there), reported in its place.
	converted syscall.Signal

	mu       sync.Mutex // guards pidfd against Signal after release
	released bool
}

// Pid is the sandbox's PID 1 as the host sees it.
func (p *Proc) Pid() int { return p.pid }

// exited is called by the zygote's reader when PID 1 is gone.
func (p *Proc) exited(st syscall.WaitStatus) {
	p.status = st
	close(p.done)
}

// Wait blocks until the sandbox's PID 1 has exited, reports how and whether the kernel killed
// something in it for exceeding its memory, and releases its cgroup.
func (p *Proc) Wait() (syscall.WaitStatus, bool) {
	<-p.done
	oom := p.cg.oomKilled()
	p.release()
	st := p.status
	p.mu.Lock()
	if p.converted != 0 && st.Signaled() && st.Signal() == syscall.SIGKILL {
		st = syscall.WaitStatus(p.converted) // killed "by" the signal it was sent
	}
	p.mu.Unlock()
	return st, oom
}

// Signal delivers sig to the sandbox's PID 1. The kernel drops signals sent to a namespace's
// PID 1 that it does not handle (SIGKILL aside), so a plain command as PID 1 would ignore the
// SIGTERM of terminate and timeouts and sit out the grace period; when PID 1 does not catch a
// signal whose default action is to terminate, barge delivers SIGKILL instead, which is what that
// default would have done (and reports the original signal). Through barge's init (InitProcess)
// signals are forwarded to the command as they are.
func (p *Proc) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.released || p.pid == 0 {
		return os.ErrProcessDone
	}
	if !p.init && terminates[sig] && !catches(p.pid, sig) {
		p.converted, sig = sig, syscall.SIGKILL
	}
	if p.pidfd >= 0 {
		return unix.PidfdSendSignal(p.pidfd, sig, nil, 0)
	}
	return syscall.Kill(p.pid, sig)
}

// terminates are the signals whose default action ends the process.
var terminates = map[syscall.Signal]bool{
	syscall.SIGTERM: true, syscall.SIGINT: true, syscall.SIGHUP: true, syscall.SIGQUIT: true,
	syscall.SIGUSR1: true, syscall.SIGUSR2: true, syscall.SIGALRM: true, syscall.SIGPIPE: true,
}

// catches reports whether process pid has a handler for sig (SigCgt in /proc/<pid>/status).
func catches(pid int, sig syscall.Signal) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "SigCgt:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && mask&(1<<(uint(sig)-1)) != 0
		}
	}
	return false
}

// PeakMemory is the most memory the sandbox's cgroup has used, in bytes.
func (p *Proc) PeakMemory() int64 {
	if p.cg == nil {
		return 0
	}
	return p.cg.peakMemory()
}

// holdMounts takes a reference to the sandbox's mount namespace while its PID 1 lives, so that
// the namespace outlives it. Without one, the exit of the namespace's last process unmounts the
// sandbox's tree — and waits for an RCU grace period — before its parent hears of the exit: on
// this project's 2-core VM that was 0.6 ms per job alone and 3 ms with a sandbox being prepared
// meanwhile, serial with the job's slot. Held, that teardown happens when release closes the
// reference, off the slot's path. Best effort: without pidfd's namespace ioctl (Linux 6.11) or
// once PID 1 is gone, nothing is held and the exit tears the namespace down as before.
func (p *Proc) holdMounts() {
	if p.pidfd < 0 || p.mountNS >= 0 {
		return
	}
	if fd, err := unix.IoctlRetInt(p.pidfd, unix.PIDFD_GET_MNT_NAMESPACE); err == nil {
		p.mountNS = fd
	}
}

// release closes the pidfd and removes the cgroup and scratch volumes, off the caller's path (the
// next job need not wait for the kernel's cleanup).
func (p *Proc) release() {
	p.mu.Lock()
	if p.released {
		p.mu.Unlock()
		return
	}
	p.released = true
	if p.pidfd >= 0 {
		unix.Close(p.pidfd)
	}
	mountNS := p.mountNS
	p.mountNS = -1
	p.mu.Unlock()
	for _, l := range p.Listeners {
		l.Close()
	}
	if p.netSlot >= 0 {
		p.s.zygote.freeNet(p.zconn, p.netSlot)
	}
	p.s.cleanups.Add(1)
	go func() {
		defer p.s.cleanups.Done()
		if mountNS >= 0 {
			// The sandbox's mounts are taken down here, before its space is recycled.
			unix.Close(mountNS)
		}
		if p.cg != nil {
			p.cg.destroy()
		}
		for _, d := range p.scratch {
			os.RemoveAll(d)
		}
		p.s.releaseSpace(p.space)
	}()
}
