//go:build linux

package sandbox

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// limits is what one sandbox's cgroup enforces.
type limits struct {
	MilliVCPU int64
	MemoryMiB int64
	Pids      int64
}

const cpuPeriod = 100_000 // µs, the kernel's default CFS period

// cgroupDriver creates one cgroup per sandbox under barge's own parent group.
type cgroupDriver interface {
	create(name string, l limits) (cgroupHandle, error)
	// sweep kills whatever a previous barge on the same data directory left running (after
	// kill -9) and removes its groups. Other barges' groups are never touched: removing even an
	// empty parent could race a live barge creating its next group there.
	sweep()
	// close removes this barge's parent group once its sandboxes are gone.
	close()
	describe() string
}

type cgroupHandle interface {
	// procsFiles are the cgroup.procs files the sandbox writes itself into.
	procsFiles() []string
	oomKilled() bool
	peakMemory() int64
	// destroy kills anything left in the group and removes it.
	destroy()
}

// newCgroupDriver picks the driver for the host's layout: v2 when the unified hierarchy has the
// controllers, else v1 (this includes the hybrid layout, whose unified mount has none).
func newCgroupDriver(parent string) (cgroupDriver, error) {
	if cgroups.Mode() == cgroups.Unified {
		return newV2(parent)
	}
	return newV1(parent)
}

// ---- cgroup v1 ----

type v1Driver struct {
	parent string // relative to each hierarchy's root, e.g. /process_api/x/barge
	memsw  bool   // memory.memsw.* exists: limit swap too, so a hog is killed rather than swapped
	subs   cgroup1.Hierarchy
}

var v1Needed = []cgroup1.Name{cgroup1.Memory, cgroup1.Cpu, cgroup1.Pids}

func newV1(parent string) (*v1Driver, error) {
	const root = "/sys/fs/cgroup"
	own, err := cgroup1.ParseCgroupFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("cgroup v1: %w", err)
	}
	// Nest under barge's own memory group, so limits an operator put on barge cover its jobs.
	base := own[string(cgroup1.Memory)]
	for _, n := range v1Needed {
		if _, err := os.Stat(filepath.Join(root, string(n))); err != nil {
			return nil, fmt.Errorf("cgroup v1: the %s controller is not mounted", n)
		}
	}
	d := &v1Driver{parent: filepath.Join("/", base, parent)}
	_, err = os.Stat(filepath.Join(root, "memory", "memory.memsw.limit_in_bytes"))
	d.memsw = err == nil
	d.subs = func() ([]cgroup1.Subsystem, error) {
		return []cgroup1.Subsystem{cgroup1.NewMemory(root), cgroup1.NewCpu(root), cgroup1.NewPids(root)}, nil
	}
	return d, nil
}

func (d *v1Driver) describe() string {
	return "cgroup v1 (memory, cpu, pids) under " + d.parent
}

const v1Root = "/sys/fs/cgroup"

// dirs are the group's directories in each hierarchy, in v1Needed's order: memory first, pids last.
func (d *v1Driver) dirs(name string) []string {
	var out []string
	for _, n := range v1Needed {
		out = append(out, filepath.Join(v1Root, string(n), d.parent, name))
	}
	return out
}

func (d *v1Driver) path(name string) cgroup1.Path {
	p := filepath.Join(d.parent, name)
	return func(cgroup1.Name) (string, error) { return p, nil }
}

func (d *v1Driver) create(name string, l limits) (cgroupHandle, error) {
	pids := l.Pids
	res := &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &pids}}
	if l.MemoryMiB > 0 {
		b := l.MemoryMiB << 20
		res.Memory = &specs.LinuxMemory{Limit: &b}
		if d.memsw {
			res.Memory.Swap = &b
		}
	}
	if l.MilliVCPU > 0 {
		q := l.MilliVCPU * cpuPeriod / 1000
		p := uint64(cpuPeriod)
		res.CPU = &specs.LinuxCPU{Quota: &q, Period: &p}
	}
	_, err := cgroup1.New(d.path(name), res, cgroup1.WithHierarchy(d.subs))
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", name, err)
	}
	return &v1Group{dirs: d.dirs(name)}, nil
}

func (d *v1Driver) close() {
	for _, n := range v1Needed {
		syscall.Rmdir(filepath.Join(v1Root, string(n), d.parent))
	}
}

func (d *v1Driver) sweep() {
	dir := filepath.Join("/sys/fs/cgroup/memory", d.parent)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		(&v1Group{dirs: d.dirs(e.Name())}).destroy()
	}
}

type v1Group struct {
	dirs []string // memory, cpu, pids (v1Needed's order)
	peak peakFile
}

func (g *v1Group) procsFiles() []string {
	out := make([]string, len(g.dirs))
	for i, d := range g.dirs {
		out[i] = filepath.Join(d, "cgroup.procs")
	}
	return out
}

func (g *v1Group) oomKilled() bool {
	return eventCount(filepath.Join(g.dirs[0], "memory.oom_control"), "oom_kill") > 0
}

func (g *v1Group) peakMemory() int64 {
	return g.peak.read(filepath.Join(g.dirs[0], "memory.max_usage_in_bytes"))
}

// destroy kills what is left and removes the group's directories. By hand rather than with
// Cgroup.Delete: that walks every control file of every hierarchy (recursive process listing,
// RemoveAll) and was ~10 % of all CPU with many short jobs; the group has no children, so reading
// one cgroup.procs and an rmdir per hierarchy is enough.
func (g *v1Group) destroy() {
	g.peak.close()
	removeGroup(filepath.Join(g.dirs[len(g.dirs)-1], "cgroup.procs"), g.dirs) // pids: every process of the group
}

// removeGroup kills what procs still lists and removes the group's directories once the kernel
// lets it (processes take a moment to leave after SIGKILL).
func removeGroup(procs string, dirs []string) {
	delay := time.Millisecond
	for range 20 {
		pids := readPids(procs)
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(delay)
		delay = min(2*delay, 50*time.Millisecond)
	}
	for _, d := range dirs {
		for range 20 {
			err := syscall.Rmdir(d)
			if err == nil || err != syscall.EBUSY {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func readPids(file string) []int {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var pids []int
	for f := range strings.FieldsSeq(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids
}

// ---- cgroup v2 ----

type v2Driver struct {
	mount  string
	parent string // e.g. /barge: at the root, where controllers can always be delegated
}

func newV2(parent string) (*v2Driver, error) {
	d := &v2Driver{mount: "/sys/fs/cgroup", parent: filepath.Join("/", parent)}
	ctrl, err := os.ReadFile(filepath.Join(d.mount, "cgroup.controllers"))
	if err != nil {
		return nil, fmt.Errorf("cgroup v2: %w", err)
	}
	for _, c := range []string{"memory", "cpu", "pids"} {
		if !bytes.Contains(append(append([]byte(" "), bytes.TrimSpace(ctrl)...), ' '), []byte(" "+c+" ")) {
			return nil, fmt.Errorf("cgroup v2: the %s controller is not available", c)
		}
	}
	return d, nil
}

func (d *v2Driver) describe() string {
	return "cgroup v2 (memory, cpu, pids) under " + d.parent
}

func (d *v2Driver) create(name string, l limits) (cgroupHandle, error) {
	res := &cgroup2.Resources{}
	if l.Pids > 0 {
		res.Pids = &cgroup2.Pids{Max: l.Pids}
	}
	if l.MemoryMiB > 0 {
		b := l.MemoryMiB << 20
		zero := int64(0)
		res.Memory = &cgroup2.Memory{Max: &b, Swap: &zero}
	}
	if l.MilliVCPU > 0 {
		q := l.MilliVCPU * cpuPeriod / 1000
		p := uint64(cpuPeriod)
		res.CPU = &cgroup2.CPU{Max: cgroup2.NewCPUMax(&q, &p)}
	}
	group := filepath.Join(d.parent, name)
	m, err := cgroup2.NewManager(d.mount, group, res)
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", name, err)
	}
	return &v2Group{m: m, path: filepath.Join(d.mount, group)}, nil
}

func (d *v2Driver) close() { syscall.Rmdir(filepath.Join(d.mount, d.parent)) }

func (d *v2Driver) sweep() {
	entries, _ := os.ReadDir(filepath.Join(d.mount, d.parent))
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		m, err := cgroup2.Load(filepath.Join(d.parent, e.Name()), cgroup2.WithMountpoint(d.mount))
		if err != nil {
			continue
		}
		(&v2Group{m: m, path: filepath.Join(d.mount, d.parent, e.Name())}).destroy()
	}
}

type v2Group struct {
	m    *cgroup2.Manager
	path string
	peak peakFile
}

func (g *v2Group) procsFiles() []string { return []string{filepath.Join(g.path, "cgroup.procs")} }

func (g *v2Group) oomKilled() bool {
	return eventCount(filepath.Join(g.path, "memory.events"), "oom_kill") > 0
}

func (g *v2Group) peakMemory() int64 {
	return g.peak.read(filepath.Join(g.path, "memory.peak"))
}

func (g *v2Group) destroy() {
	g.peak.close()
	g.m.Kill() // cgroup.kill where the kernel has it, else SIGKILL to each process
	removeGroup(filepath.Join(g.path, "cgroup.procs"), []string{g.path})
}

// eventCount reads "key N" from a flat-keyed cgroup file; 0 when absent.
func eventCount(file, key string) int64 {
	f, err := os.Open(file)
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), key+" "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// peakFile keeps a cgroup's peak-memory file open: a function reports its peak after every
// invocation, and opening the file each time was ~5 % of barge's CPU at 1,000 invokes/s.
type peakFile struct {
	mu sync.Mutex
	f  *os.File
}

func (p *peakFile) read(path string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f == nil {
		f, err := os.Open(path)
		if err != nil {
			return 0
		}
		p.f = f
	}
	var buf [32]byte
	n, _ := p.f.ReadAt(buf[:], 0)
	v, _ := strconv.ParseInt(strings.TrimSpace(string(buf[:n])), 10, 64)
	return v
}

func (p *peakFile) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f != nil {
		p.f.Close()
		p.f = nil
	}
}
