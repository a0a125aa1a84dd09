//go:build linux

package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/moby/sys/capability"
	"golang.org/x/sys/unix"

	bexec "github.com/barge-run/barge/internal/exec"
	"github.com/barge-run/barge/internal/exec/diskquota"
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
	// unsafe are the protections Options.Unsafe turned off.
	unsafe map[string]bool
	// filter is the seccomp program every unprivileged sandbox gets, hex-encoded for the plan.
	filter string
	// filterDesc says what the filter is, for Protections.
	filterDesc string
	// lacking says which protection this host could not give, and why ("" when none).
	lacking string
	// devDir holds the device nodes every sandbox's /dev is (prepareDev); "" builds it node by node.
	devDir string
	// disk bounds sandboxes' writable space (nil without: diskLacking says why).
	disk        *diskquota.Area
	diskLacking string
	tenants     tenantIDs
	// cleanups counts cgroups still being removed, so Close can remove their parent after them.
	cleanups sync.WaitGroup
	// pool holds sandboxes prepared ahead of their jobs (pool.go).
	pool pool
	// nice is barge's own nice value, which its jobs run at.
	nice int
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
	s := &Sandbox{opts: opts, cgroups: cg, lastCap: int(last), have: ownCapabilities(), unsafe: map[string]bool{}, nice: ownNice()}
	if s.zygote.pasta, err = natPath(opts); err != nil {
		cg.close()
		return nil, err
	}
	for _, u := range opts.Unsafe {
		s.unsafe[u] = true
	}
	s.pool.settle = poolSettle
	switch {
	case opts.PoolDepth == 0:
		s.pool.depth = DefaultPoolDepth
	case opts.PoolDepth > 0:
		s.pool.depth = opts.PoolDepth
	}
	for _, c := range defaultCaps {
		s.keep |= 1 << uint(c)
	}
	// A sandbox can only keep what barge itself holds (a container host may have dropped some).
	s.keep &= s.have
	if opts.DataDir != "" {
		s.devDir = prepareDev(filepath.Join(opts.DataDir, "dev"))
	}
	var deny []uint32
	if !s.unsafe["disk"] && opts.DataDir != "" {
		if s.disk, err = openDisk(opts.DataDir); err != nil {
			if opts.Strict {
				cg.close()
				return nil, fmt.Errorf("disk bound: %w", err)
			}
			s.diskLacking = "this host cannot bound it: " + err.Error()
		} else {
			// The ioctls that would move a directory out of its bound are the filter's to refuse.
			deny = s.disk.EscapeIoctls()
		}
	}
	if !s.unsafe["seccomp"] {
		if s.filter, s.filterDesc, err = seccompFilter(s.keep, deny); err != nil {
			s.closeDisk()
			cg.close()
			return nil, fmt.Errorf("seccomp: %w", err)
		}
	}
	if err := s.selfTest(); err != nil {
		// A kernel without user namespaces or idmapped mounts can still run the rest; say so,
		// unless the operator asked for every protection (--isolation sandbox).
		if s.opts.HostUsers || opts.Strict {
			s.Close()
			return nil, fmt.Errorf("a test sandbox failed, so this host cannot isolate jobs: %w", err)
		}
		s.opts.HostUsers, s.lacking = true, "user namespaces: a test sandbox with one failed: "+err.Error()
		if err2 := s.selfTest(); err2 != nil {
			s.Close()
			return nil, fmt.Errorf("a test sandbox failed, so this host cannot isolate jobs: %w", err)
		}
	}
	return s, nil
}

// natPath is pasta's absolute path when opts ask for outbound network through it, "" otherwise.
// The zygote is given the path: its environment has no PATH.
func natPath(opts Options) (string, error) {
	if !opts.NetworkNAT {
		return "", nil
	}
	if opts.HostNetwork {
		return "", errors.New("outbound NAT needs a network namespace per sandbox, and the host's network was asked for")
	}
	path, err := exec.LookPath("pasta")
	if err != nil {
		return "", fmt.Errorf("outbound NAT needs pasta (Debian's and Ubuntu's package passt): %w", err)
	}
	return filepath.Abs(path)
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
	// A read-only directory (idmapped in a user namespace) and a listener, as a function's.
	p, err := s.Start(Config{ID: "selftest", Argv: []string{"true"}, Env: []string{"PATH=/usr/bin:/bin"}, Dir: dir, DirReadOnly: true,
		MemoryMiB: 64, MilliVCPU: 1000, Tenant: "selftest", Listen: []string{"127.0.0.1:9001"}}, null, null)
	if err != nil {
		return err
	}
	for _, l := range p.Listeners {
		l.Close()
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

// defaultCaps is Docker's default capability set, less CAP_MKNOD: what a root process in a
// sandbox keeps. No sandbox needs to create device nodes (its /dev has the standard ones).
var defaultCaps = []capability.Cap{
	capability.CAP_CHOWN, capability.CAP_DAC_OVERRIDE, capability.CAP_FSETID, capability.CAP_FOWNER,
	capability.CAP_NET_RAW, capability.CAP_SETGID, capability.CAP_SETUID,
	capability.CAP_SETFCAP, capability.CAP_SETPCAP, capability.CAP_NET_BIND_SERVICE,
	capability.CAP_SYS_CHROOT, capability.CAP_KILL, capability.CAP_AUDIT_WRITE,
}

// Close removes barge's parent cgroup; call it after every sandbox has ended.
func (s *Sandbox) Close() {
	s.closePool()
	s.zygote.close()
	s.cleanups.Wait()
	s.cgroups.close()
	s.closeDisk()
}

// Describe says what every sandbox enforces, on one line.
func (s *Sandbox) Describe() string {
	var parts []string
	for _, p := range s.Protections() {
		state := p.Detail
		if !p.Enforced {
			state = "NOT ENFORCED: " + p.Detail
		}
		parts = append(parts, p.Name+": "+state)
	}
	return "sandbox: " + strings.Join(parts, "; ")
}

// Start runs cfg in a new sandbox with the given output; it returns once the command is exec'd
// (or with why it could not be).
func (s *Sandbox) Start(cfg Config, stdout, stderr *os.File) (_ *Proc, err error) {
	if len(cfg.Argv) == 0 {
		return nil, errors.New("no command")
	}
	p := &Proc{s: s, pidfd: -1, mountNS: -1, netSlot: -1, done: make(chan struct{}), init: cfg.InitProcess}
	pr := &prepared{}
	defer func() {
		for _, f := range pr.extra {
			f.Close()
		}
		if pr.listen != nil {
			pr.listen.Close()
		}
		if err != nil {
			p.release()
		}
	}()
	if !s.opts.HostUsers && !cfg.Privileged {
		pr.base = s.tenants.rangeOf(cfg.Tenant)
	}
	name := cgroupName(cfg.ID, s.seq.Add(1))
	if p.space, err = s.newSpace(name, cfg.DiskBytes, pr.base); err != nil {
		return nil, err
	}
	pr.space = p.space
	if err := s.scratchVolumes(&cfg, p, pr); err != nil {
		return nil, err
	}
	if pr.base != 0 && cfg.RootFS == "" && !cfg.DirReadOnly && pr.space.dir == "" {
		if err := own(pr.base, cfg.Dir); err != nil {
			return nil, err
		}
	}
	body, err := s.buildPlan(cfg, pr)
	if err != nil {
		return nil, err
	}
	p.cg, err = s.cgroups.create(name, limits{MilliVCPU: cfg.MilliVCPU, MemoryMiB: cfg.MemoryMiB, Pids: s.opts.PidsLimit})
	if err != nil {
		return nil, err
	}
	// The sandbox joins its cgroup before anything else it does (and while it is still the
	// host's root, who owns the cgroup's files).
	var pl plan
	for _, f := range p.cg.procsFiles() {
		pl.joinCgroup(f)
	}
	pl.b.Write(body.b.Bytes())
	// With a gate the sandbox is made and runs its whole plan, then waits before the exec for a
	// byte on gateW ('G'): the command may not run before the gate opens.
	var gateW *os.File
	if cfg.Gate != nil {
		gateR, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		gateW = w
		defer gateW.Close() // without its byte, the sandbox exits unused
		pl.op('G', strings.TrimPrefix(pr.fd(gateR), "fd:"))
	}

	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	err = s.zygote.start(pl.b.Bytes(), append([]*os.File{stdout, stderr, errW}, pr.extra...), p)
	errW.Close()
	if err == nil {
		p.holdMounts()
	}
	if err == nil && gateW != nil {
		if gerr := cfg.Gate(); gerr != nil {
			p.Signal(syscall.SIGKILL)
			<-p.done
			errR.Close()
			return nil, gerr // the space and cgroup are released, deferred above
		}
		gateW.Write([]byte{1}) // if it died meanwhile, why is on errR
	}
	msg, _ := io.ReadAll(errR)
	errR.Close()
	switch {
	case err != nil && len(msg) > 0:
		return nil, errors.New(string(msg))
	case err != nil:
		return nil, err
	case len(msg) > 0:
		<-p.done // its init exits at once
		return nil, errors.New(string(msg))
	}
	if pr.listen != nil {
		if p.Listeners, err = receiveListeners(pr.listen, len(cfg.Listen)); err != nil {
			p.Signal(syscall.SIGKILL)
			<-p.done
			return nil, err
		}
	}
	if key, ok := s.shapeOf(cfg); ok {
		s.refill(key, cfg) // the next start of this shape finds its sandbox prepared
	}
	return p, nil
}

// scratchVolumes makes a directory for each volume with no host path (Docker's anonymous
// volume): beside the attempt's directory, the sandbox root's, removed with the attempt.
func (s *Sandbox) scratchVolumes(cfg *Config, p *Proc, pr *prepared) error {
	cfg.Mounts = append([]bexec.Mount(nil), cfg.Mounts...)
	pr.scratch = make([]bool, len(cfg.Mounts))
	for i, m := range cfg.Mounts {
		if m.Source != "" {
			continue
		}
		if pr.space.dir != "" {
			d, err := pr.space.sub("vol"+strconv.Itoa(i), 0o755)
			if err != nil {
				return err
			}
			cfg.Mounts[i].Source, pr.scratch[i] = d, true
			continue
		}
		d := cfg.Dir + ".vol" + strconv.Itoa(i)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		p.scratch = append(p.scratch, d)
		cfg.Mounts[i].Source, pr.scratch[i] = d, true
		if pr.base != 0 {
			if err := own(pr.base, d); err != nil {
				return err
			}
		}
	}
	return nil
}

// receiveListeners reads the n listening sockets a sandbox sent, in order.
func receiveListeners(f *os.File, n int) ([]net.Listener, error) {
	var out []net.Listener
	buf, oob := make([]byte, 1), make([]byte, unix.CmsgSpace(4))
	for range n {
		_, oobn, _, _, err := unix.Recvmsg(int(f.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != nil {
			return out, fmt.Errorf("listener: %w", err)
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			return out, errors.New("listener: none received")
		}
		fds, err := unix.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) != 1 {
			return out, errors.New("listener: none received")
		}
		lf := os.NewFile(uintptr(fds[0]), "listener")
		l, err := net.FileListener(lf)
		lf.Close()
		if err != nil {
			return out, fmt.Errorf("listener: %w", err)
		}
		out = append(out, l)
	}
	return out, nil
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
	var b strings.Builder
	for _, p := range s.Protections() {
		mark := "enforced    "
		if !p.Enforced {
			mark = "NOT ENFORCED"
		}
		fmt.Fprintf(&b, "  %s  %-22s %s\n", mark, p.Name, p.Detail)
	}
	return "(a test sandbox ran)\n" + b.String(), nil
}

func (s *Sandbox) closeDisk() {
	if s.disk != nil {
		s.disk.Close()
		s.disk = nil
	}
}

// IsolatesNetwork reports whether each sandbox has a network namespace of its own.
func (s *Sandbox) IsolatesNetwork() bool { return !s.opts.HostNetwork }

// TenantIDs is the range of host ids a tenant's sandboxes run as (started with cfg): its
// processes and sockets belong to them. ok is false when they run as the host's own ids (user
// namespaces off, or a privileged sandbox).
func (s *Sandbox) TenantIDs(cfg Config) (first, count uint32, ok bool) {
	if s.opts.HostUsers || cfg.Privileged {
		return 0, 0, false
	}
	return s.tenants.rangeOf(cfg.Tenant), idCount, true
}
