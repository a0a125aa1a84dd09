//go:build linux

package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/moby/sys/capability"
	"github.com/moby/sys/user"
	"golang.org/x/sys/unix"

	bexec "github.com/barge-run/barge/internal/exec"
)

// Sandbox starts isolated commands. It is safe for concurrent use.
type Sandbox struct {
	opts    Options
	cgroups cgroupDriver
	keep    uint64 // capabilities a sandbox keeps: Docker's defaults that barge holds
	have    uint64 // barge's own permitted capabilities: what a privileged sandbox keeps
	lastCap int
	seq     atomic.Uint64
	zygote  zygote
	// cleanups counts cgroups still being removed, so Close can remove their parent after them.
	cleanups sync.WaitGroup
}

// Probe reports whether this host can run sandboxes, and if not, why.
func Probe() error {
	switch {
	case !haveInit:
		return errors.New("barge was built without cgo, so it has no sandbox init")
	case os.Geteuid() != 0:
		return errors.New("barge is not running as root")
	}
	for _, ns := range []string{"pid", "mnt", "uts", "ipc"} {
		if _, err := os.Stat("/proc/self/ns/" + ns); err != nil {
			return fmt.Errorf("the kernel has no %s namespaces", ns)
		}
	}
	return nil
}

// New checks the host and prepares barge's cgroup parent, first killing and removing whatever a
// previous barge left behind (a kill -9 leaves its sandboxes' groups, perhaps still running).
func New(opts Options) (*Sandbox, error) {
	if err := Probe(); err != nil {
		return nil, err
	}
	if opts.PidsLimit == 0 {
		opts.PidsLimit = 1024
	}
	if opts.DataDir != "" {
		abs, err := filepath.Abs(opts.DataDir)
		if err != nil {
			return nil, err
		}
		opts.DataDir = abs
	}
	if opts.CgroupParent == "" {
		sum := sha256.Sum256([]byte(opts.DataDir))
		opts.CgroupParent = "barge/" + hex.EncodeToString(sum[:6])
	}
	cg, err := newCgroupDriver(opts.CgroupParent)
	if err != nil {
		return nil, err
	}
	cg.sweep()
	last, err := capability.LastCap()
	if err != nil {
		return nil, fmt.Errorf("capabilities: %w", err)
	}
	s := &Sandbox{opts: opts, cgroups: cg, lastCap: int(last), have: ownCapabilities()}
	for _, c := range defaultCaps {
		s.keep |= 1 << uint(c)
	}
	// A sandbox can only keep what barge itself holds (a container host may have dropped some).
	s.keep &= s.have
	if err := s.selfTest(); err != nil {
		s.Close()
		return nil, fmt.Errorf("a test sandbox failed, so this host cannot isolate jobs: %w", err)
	}
	return s, nil
}

// selfTest runs `true` in a sandbox, so that a kernel or container that lacks what the plan
// needs (mount_setattr, open_tree, pidfds, overlay, the right to mount) is found at start, where
// barge can fall back and say why, not in every job's failure.
func (s *Sandbox) selfTest() error {
	dir, err := os.MkdirTemp("", "barge-selftest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	p, err := s.Start(Config{ID: "selftest", Argv: []string{"true"}, Env: []string{"PATH=/usr/bin:/bin"}, Dir: dir, MemoryMiB: 64, MilliVCPU: 1000}, null, null)
	if err != nil {
		return err
	}
	if st, _ := p.Wait(); st.ExitStatus() != 0 || st.Signaled() {
		return fmt.Errorf("true in a sandbox ended with %v", st)
	}
	return nil
}

// ownCapabilities is this process's permitted capability set (CapPrm in /proc/self/status).
func ownCapabilities() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapPrm:"); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return n
		}
	}
	return 0
}

// defaultCaps is Docker's default capability set: what a root process in a sandbox keeps.
var defaultCaps = []capability.Cap{
	capability.CAP_CHOWN, capability.CAP_DAC_OVERRIDE, capability.CAP_FSETID, capability.CAP_FOWNER,
	capability.CAP_MKNOD, capability.CAP_NET_RAW, capability.CAP_SETGID, capability.CAP_SETUID,
	capability.CAP_SETFCAP, capability.CAP_SETPCAP, capability.CAP_NET_BIND_SERVICE,
	capability.CAP_SYS_CHROOT, capability.CAP_KILL, capability.CAP_AUDIT_WRITE,
}

// Close removes barge's parent cgroup; call it after every sandbox has ended.
func (s *Sandbox) Close() {
	s.zygote.close()
	s.cleanups.Wait()
	s.cgroups.close()
}

// Describe says what every sandbox enforces.
func (s *Sandbox) Describe() string {
	return fmt.Sprintf("sandbox: PID, mount, UTS and IPC namespaces; %s with memory = the job's MEMORY, CPU quota = its VCPU, pids ≤ %d; Docker's default capabilities; host filesystem read-only with barge's data hidden, or an OCI image with a per-attempt writable layer",
		s.cgroups.describe(), s.opts.PidsLimit)
}

// Proc is a running sandbox.
type Proc struct {
	pid     int // on the host
	pidfd   int
	cg      cgroupHandle
	scratch []string
	s       *Sandbox

	init   bool // barge's init is PID 1
	done   chan struct{}
	status syscall.WaitStatus
	// converted is a signal Signal delivered as SIGKILL (see there), reported in its place.
	converted syscall.Signal

	mu       sync.Mutex // guards pidfd against Signal after release
	released bool
}

// Start runs cfg in a new sandbox with the given output; it returns once the command is exec'd
// (or with why it could not be).
func (s *Sandbox) Start(cfg Config, stdout, stderr *os.File) (_ *Proc, err error) {
	if len(cfg.Argv) == 0 {
		return nil, errors.New("no command")
	}
	p := &Proc{s: s, pidfd: -1, done: make(chan struct{}), init: cfg.InitProcess}
	defer func() {
		if err != nil {
			p.release()
		}
	}()
	cfg.Mounts = append([]bexec.Mount(nil), cfg.Mounts...)
	for i, m := range cfg.Mounts {
		if m.Source == "" {
			// A volume with no host path is scratch space for this attempt (Docker's anonymous
			// volume): beside the attempt's directory, removed with it.
			d := cfg.Dir + ".vol" + strconv.Itoa(i)
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, err
			}
			p.scratch = append(p.scratch, d)
			cfg.Mounts[i].Source = d
			continue
		}
		if err := s.checkMount(m); err != nil {
			return nil, err
		}
	}
	body, err := s.buildPlan(cfg)
	if err != nil {
		return nil, err
	}
	p.cg, err = s.cgroups.create(cgroupName(cfg.ID, s.seq.Add(1)), limits{MilliVCPU: cfg.MilliVCPU, MemoryMiB: cfg.MemoryMiB, Pids: s.opts.PidsLimit})
	if err != nil {
		return nil, err
	}
	// The sandbox joins its cgroup before anything else it does.
	var pl plan
	for _, f := range p.cg.procsFiles() {
		pl.joinCgroup(f)
	}
	pl.b.Write(body.b.Bytes())

	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	err = s.zygote.start(pl.b.Bytes(), stdout, stderr, errW, p)
	errW.Close()
	if err != nil {
		errR.Close()
		return nil, err
	}
	msg, _ := io.ReadAll(errR)
	errR.Close()
	if len(msg) > 0 {
		<-p.done // its init exits at once
		return nil, errors.New(string(msg))
	}
	return p, nil
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
	p.mu.Unlock()
	p.s.cleanups.Add(1)
	go func() {
		defer p.s.cleanups.Done()
		if p.cg != nil {
			p.cg.destroy()
		}
		for _, d := range p.scratch {
			os.RemoveAll(d)
		}
	}()
}

// buildPlan computes what nsinit does for cfg (pure: it only reads the host's files).
func (s *Sandbox) buildPlan(cfg Config) (*plan, error) {
	p := &plan{}
	p.mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, "")
	etc := "/etc"
	if cfg.RootFS == "" {
		if err := s.hostRoot(p, cfg); err != nil {
			return nil, err
		}
	} else {
		if err := s.imageRoot(p, cfg); err != nil {
			return nil, err
		}
		etc = filepath.Join(cfg.RootFS, "etc")
	}
	p.proc()
	if !cfg.Privileged {
		shm := cfg.ShmMiB
		if shm <= 0 {
			shm = 64
		}
		p.dev(shm)
	}
	hostname := cfg.Hostname
	if hostname == "" {
		hostname = "barge"
	}
	p.hostname(hostname)
	for _, u := range cfg.Ulimits {
		res, ok := rlimits[u.Name]
		if !ok {
			return nil, fmt.Errorf("ulimit %q: unknown name", u.Name)
		}
		p.rlimit(res, u.Soft, u.Hard)
	}
	keep := s.keep
	if cfg.Privileged {
		keep = s.have
	}
	p.caps(keep, s.lastCap)
	if cfg.User != "" {
		eu, err := user.GetExecUserPath(cfg.User, &user.ExecUser{}, filepath.Join(etc, "passwd"), filepath.Join(etc, "group"))
		if err != nil {
			return nil, fmt.Errorf("user %q: %w", cfg.User, err)
		}
		p.user(eu.Uid, eu.Gid, eu.Sgids)
	}
	switch {
	case cfg.RootFS == "":
		p.chdir(cfg.Dir)
	case cfg.Cwd != "":
		p.chdir(cfg.Cwd)
	default:
		p.chdir("/")
	}
	if cfg.InitProcess {
		p.initProcess()
	}
	for _, kv := range cfg.Env {
		p.env(kv)
	}
	for _, a := range cfg.Argv {
		p.arg(a)
	}
	return p, nil
}

// hostRoot: the host's filesystem, read-only, with barge's data directory replaced by an empty
// tmpfs holding only this attempt's directory, and a private /tmp.
func (s *Sandbox) hostRoot(p *plan, cfg Config) error {
	if cfg.Dir == "" {
		return errors.New("a host sandbox needs a working directory")
	}
	// Copies of the trees to expose, taken before the data directory is hidden and / made
	// read-only.
	dir := p.tree(cfg.Dir)
	vols := make([]int, len(cfg.Mounts))
	for i, m := range cfg.Mounts {
		vols[i] = p.tree(m.Source)
	}
	p.readOnly("/")
	p.mount("tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777")
	if d := s.opts.DataDir; d != "" && !within(d, "/tmp") {
		p.mount("tmpfs", d, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=755,size=64k")
	}
	// The working directory reappears, alone, inside whichever tmpfs now covers its path.
	p.mkdirAll(cfg.Dir, 0o755)
	p.attach(dir, cfg.Dir, cfg.DirReadOnly)
	for i, m := range cfg.Mounts {
		// Only succeeds where the path exists or lies in a tmpfs (/tmp): the host stays read-only.
		p.mkdirAll(m.Target, 0o755)
		p.attach(vols[i], m.Target, m.ReadOnly)
	}
	return nil
}

// imageRoot: the image's root filesystem under a writable overlay layer in Dir, volumes bound in,
// then pivoted into so nothing of the host stays reachable.
func (s *Sandbox) imageRoot(p *plan, cfg Config) error {
	upper, work, root := filepath.Join(cfg.Dir, "upper"), filepath.Join(cfg.Dir, "work"), filepath.Join(cfg.Dir, "root")
	for _, d := range []string{upper, work, root} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if strings.ContainsAny(cfg.RootFS+cfg.Dir, ",:") {
		return errors.New("image and attempt paths must not contain ',' or ':'")
	}
	// Mount points are created in the upper layer before the overlay exists, so each is a real
	// directory: a symlink in the image can never redirect a mount onto the host.
	targets := []string{"proc", "dev", "sys", "tmp"}
	for _, m := range cfg.Mounts {
		targets = append(targets, m.Target)
	}
	for _, t := range targets {
		if err := os.MkdirAll(filepath.Join(upper, filepath.Clean("/"+t)), 0o755); err != nil {
			return err
		}
	}
	os.Chmod(filepath.Join(upper, "tmp"), 0o1777)
	var hostFiles []string
	if fi, err := os.Lstat(filepath.Join(cfg.RootFS, "etc")); err == nil && fi.IsDir() {
		for _, f := range []string{"/etc/resolv.conf", "/etc/hosts"} {
			if _, err := os.Stat(f); err == nil {
				os.MkdirAll(filepath.Join(upper, "etc"), 0o755)
				if err := os.WriteFile(filepath.Join(upper, f), nil, 0o644); err == nil {
					hostFiles = append(hostFiles, f)
				}
			}
		}
	}
	p.mount("overlay", root, "overlay", 0, "lowerdir="+cfg.RootFS+",upperdir="+upper+",workdir="+work)
	for _, m := range cfg.Mounts {
		p.bind(m.Source, filepath.Join(root, filepath.Clean("/"+m.Target)), m.ReadOnly)
	}
	if cfg.Privileged {
		p.bind("/dev", filepath.Join(root, "dev"), false)
	}
	for _, f := range hostFiles {
		p.bind(f, filepath.Join(root, f), true)
	}
	p.pivot(root)
	p.mount("sysfs", "/sys", "sysfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	if cfg.ReadonlyRootFS {
		p.mount("", "/", "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, "")
	}
	return nil
}

// checkMount refuses volumes that would expose barge's own data (other jobs, the database,
// credentials) or are not absolute.
func (s *Sandbox) checkMount(m bexec.Mount) error {
	if !filepath.IsAbs(m.Source) || !filepath.IsAbs(m.Target) {
		return fmt.Errorf("volume %s on %s: both paths must be absolute", m.Source, m.Target)
	}
	src, err := filepath.EvalSymlinks(m.Source)
	if err != nil {
		return fmt.Errorf("volume sourcePath %s: %w", m.Source, err)
	}
	if d := s.opts.DataDir; d != "" && (within(src, d) || within(d, src)) {
		return fmt.Errorf("volume sourcePath %s: barge's data directory %s is not available to jobs", m.Source, d)
	}
	return nil
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func cgroupName(id string, seq uint64) string {
	n := unsafeName.ReplaceAllString(id, "_")
	if len(n) > 100 {
		n = n[:100]
	}
	return n + "-" + strconv.FormatUint(seq, 36)
}

// rlimits maps Docker's and AWS Batch's ulimit names (exec.UlimitNames) to resources.
var rlimits = map[string]int{
	"core": unix.RLIMIT_CORE, "cpu": unix.RLIMIT_CPU, "data": unix.RLIMIT_DATA,
	"fsize": unix.RLIMIT_FSIZE, "locks": unix.RLIMIT_LOCKS, "memlock": unix.RLIMIT_MEMLOCK,
	"msgqueue": unix.RLIMIT_MSGQUEUE, "nice": unix.RLIMIT_NICE, "nofile": unix.RLIMIT_NOFILE,
	"nproc": unix.RLIMIT_NPROC, "rss": unix.RLIMIT_RSS, "rtprio": unix.RLIMIT_RTPRIO,
	"rttime": unix.RLIMIT_RTTIME, "sigpending": unix.RLIMIT_SIGPENDING, "stack": unix.RLIMIT_STACK,
}

// Report says what a sandbox on this host enforces, or why there can be none, after starting a
// test sandbox (for `barge doctor`; it touches only a throwaway cgroup of its own).
func Report() (string, error) {
	if err := Probe(); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "barge-doctor-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	s, err := New(Options{DataDir: dir})
	if err != nil {
		return "", err
	}
	defer s.Close()
	return s.Describe() + " (a test sandbox ran)", nil
}
