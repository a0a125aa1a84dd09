//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/sys/capability"
	"github.com/moby/sys/user"
	"golang.org/x/sys/unix"
)

// prepared is what Start hands the zygote besides the plan: descriptors the plan names by index
// (volumes opened beneath their roots, the socket listeners come back on) and the tenant's id
// range.
type prepared struct {
	extra   []*os.File // sent after stdout, stderr and the error pipe: "fd:3" is extra[0]
	base    uint32     // the tenant's first host id; 0 without a user namespace
	listen  *os.File   // our end of the socket listeners arrive on
	scratch []bool     // which of the config's mounts are scratch space the sandbox made
	space   space      // the sandbox's bounded writable space, if it has one
	// hold builds a plan that stops before the job's own part (pool.go): its working
	// directory's attach and its credentials and command come later, from latePlan.
	hold bool
	work int // with hold: the working directory's tree, for latePlan to attach
}

// fd names f for the plan.
func (pr *prepared) fd(f *os.File) string {
	pr.extra = append(pr.extra, f)
	return "fd:" + strconv.Itoa(2+len(pr.extra))
}

// buildPlan computes what nsinit does for cfg. It only reads the host's files; what it opens
// (volumes) goes into pr.
func (s *Sandbox) buildPlan(cfg Config, pr *prepared) (*plan, error) {
	p := &plan{}
	userns := pr.base != 0
	if userns {
		p.userns(pr.base, idCount)
	}
	if !s.opts.HostNetwork {
		p.netns()
		if len(cfg.Listen) > 0 {
			if err := s.listeners(p, pr, cfg.Listen); err != nil {
				return nil, err
			}
		}
	}
	p.mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, "")
	devs, devTree := map[string]int{}, -1
	switch {
	case cfg.Privileged || s.unsafe["mknod"]:
	case s.devDir != "":
		// The standard devices, made once by barge, bound in read-only: a sandbox never creates one.
		devTree = p.tree(s.devDir, false)
	default:
		for _, d := range devices {
			devs[d.name] = p.tree("/dev/"+d.name, false)
		}
	}
	etc := "/etc"
	if cfg.RootFS == "" {
		if err := s.hostRoot(p, pr, cfg); err != nil {
			return nil, err
		}
	} else {
		if err := s.imageRoot(p, pr, cfg); err != nil {
			return nil, err
		}
		etc = filepath.Join(cfg.RootFS, "etc")
	}
	if !cfg.Privileged {
		shm := cfg.ShmMiB
		if shm <= 0 {
			shm = 64
		}
		if devTree >= 0 {
			p.devFrom(devTree, shm)
		} else {
			p.dev(shm, devs)
		}
	}
	if cfg.RootFS == "" {
		p.proc()
	}
	if !cfg.Privileged && !s.unsafe["masks"] {
		p.masks()
	}
	if pr.hold {
		return p, nil
	}
	if err := s.credentials(p, cfg, etc); err != nil {
		return nil, err
	}
	return p, nil
}

// latePlan is the rest of a held plan (buildPlan with pr.hold) for the job cfg: its working
// directory at cfg.Dir, then its credentials and command. Only host sandboxes with a bounded
// space, no volumes and a writable directory are held (poolable), so that is all that is left.
func (s *Sandbox) latePlan(cfg Config, pr *prepared) (*plan, error) {
	p := &plan{}
	p.mkdirAll(cfg.Dir, 0o755)
	p.attach(pr.work, cfg.Dir, false, s.unsafe["mknod"])
	if err := s.credentials(p, cfg, "/etc"); err != nil {
		return nil, err
	}
	return p, nil
}

// credentials: hostname, limits, capabilities, seccomp, user, directory, environment, command.
func (s *Sandbox) credentials(p *plan, cfg Config, etc string) error {
	hostname := cfg.Hostname
	if hostname == "" {
		hostname = "barge"
	}
	p.hostname(hostname)
	for _, u := range cfg.Ulimits {
		res, ok := rlimits[u.Name]
		if !ok {
			return fmt.Errorf("ulimit %q: unknown name", u.Name)
		}
		p.rlimit(res, u.Soft, u.Hard)
	}
	keep := s.keep
	if s.unsafe["mknod"] {
		keep |= 1 << uint(capability.CAP_MKNOD) & s.have
	}
	if cfg.Privileged {
		keep = s.have
	}
	p.caps(keep, s.lastCap)
	if !cfg.Privileged && s.filter != "" {
		p.seccomp(s.filter)
	}
	if cfg.User != "" {
		eu, err := user.GetExecUserPath(cfg.User, &user.ExecUser{}, filepath.Join(etc, "passwd"), filepath.Join(etc, "group"))
		if err != nil {
			return fmt.Errorf("user %q: %w", cfg.User, err)
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
	return nil
}

// listeners asks the sandbox for listening sockets at addrs inside its network namespace, sent
// back over a socket pair whose other end stays with pr.
func (s *Sandbox) listeners(p *plan, pr *prepared, addrs []string) error {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("listener socket: %w", err)
	}
	pr.listen = os.NewFile(uintptr(fds[0]), "listeners")
	idx := pr.fd(os.NewFile(uintptr(fds[1]), "listeners-child"))
	for _, a := range addrs {
		host, port, err := net.SplitHostPort(a)
		if err != nil || net.ParseIP(host).To4() == nil {
			return fmt.Errorf("listen %q: want an IPv4 host:port", a)
		}
		p.listen(host, port, strings.TrimPrefix(idx, "fd:"))
	}
	return nil
}

// hostRoot: the host's filesystem, read-only, with barge's data directory replaced by an empty
// tmpfs holding only this attempt's directory, and a private /tmp.
func (s *Sandbox) hostRoot(p *plan, pr *prepared, cfg Config) error {
	if cfg.Dir == "" {
		return errors.New("a host sandbox needs a working directory")
	}
	userns := pr.base != 0
	// Copies of the trees to expose, taken before the data directory is hidden and / made
	// read-only. A read-only working directory (a function's code, written by barge as root)
	// is idmapped so the sandbox's root reads it as its own; a writable one belongs to the
	// tenant's ids on the host and lives in the sandbox's bounded space when it has one.
	workSrc, tmp := cfg.Dir, -1
	if pr.space.dir != "" {
		if !cfg.DirReadOnly {
			d, err := pr.space.sub("work", 0o755)
			if err != nil {
				return err
			}
			workSrc = d
		}
		t, err := pr.space.sub("tmp", 0o1777)
		if err != nil {
			return err
		}
		tmp = p.tree(t, false)
	}
	dir := p.tree(workSrc, userns && cfg.DirReadOnly)
	vols, err := s.volumeTrees(p, pr, cfg)
	if err != nil {
		return err
	}
	sys := -1
	if !s.opts.HostNetwork {
		sys = p.sysfs()
	}
	p.readOnly("/")
	if sys >= 0 {
		// A sysfs of the sandbox's network namespace (read-only, made by the zygote: the
		// sandbox does not own the pooled namespace); with the host's network, the host's /sys
		// stays, read-only. Masked below either way.
		p.attachAs(sys, "/sys")
	}
	if tmp >= 0 {
		p.attach(tmp, "/tmp", false, s.unsafe["mknod"])
	} else {
		p.mount("tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777")
	}
	if d := s.opts.DataDir; d != "" && !within(d, "/tmp") {
		p.mount("tmpfs", d, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=755,size=64k")
	}
	if pr.hold {
		pr.work = dir // attached by latePlan, where the job's directory is known
		return nil
	}
	// The working directory reappears, alone, inside whichever tmpfs now covers its path.
	p.mkdirAll(cfg.Dir, 0o755)
	p.attach(dir, cfg.Dir, cfg.DirReadOnly, s.unsafe["mknod"])
	for i, m := range cfg.Mounts {
		// Only succeeds where the path exists or lies in a tmpfs (/tmp): the host stays read-only.
		p.mkdirAll(m.Target, 0o755)
		p.attach(vols[i], m.Target, m.ReadOnly, s.unsafe["mknod"])
	}
	return nil
}

// volumeTrees takes a copy of each volume's tree: opened beneath its volume root by barge (or,
// for the "volumes" unsafe mode, by path), idmapped so that the sandbox's root is the host's
// root inside it — a volume is the operator's grant to jobs.
func (s *Sandbox) volumeTrees(p *plan, pr *prepared, cfg Config) ([]int, error) {
	userns := pr.base != 0
	vols := make([]int, len(cfg.Mounts))
	for i, m := range cfg.Mounts {
		src, scratch := m.Source, i < len(pr.scratch) && pr.scratch[i]
		if m.Owned {
			// Written by barge as root, like a function's code: idmapped so the sandbox's root
			// reads it as its own; read-only whatever the spec says.
			cfg.Mounts[i].ReadOnly = true
			vols[i] = p.tree(src, userns)
			continue
		}
		if !scratch && s.unsafe["volumes"] {
			// The old way, kept to show what it allowed: checked by path, mounted by path.
			if err := s.checkMount(m); err != nil {
				return nil, err
			}
		} else if !scratch {
			f, err := s.openVolume(m)
			if err != nil {
				return nil, err
			}
			src = pr.fd(f)
		}
		vols[i] = p.tree(src, userns && !scratch)
	}
	return vols, nil
}

// imageRoot: the image's root filesystem under a writable overlay layer in Dir, volumes bound in,
// then pivoted into so nothing of the host stays reachable.
func (s *Sandbox) imageRoot(p *plan, pr *prepared, cfg Config) error {
	upper, work := filepath.Join(cfg.Dir, "upper"), filepath.Join(cfg.Dir, "work")
	if pr.space.dir != "" {
		// The writable layer is the bounded space's.
		upper, work = filepath.Join(pr.space.dir, "upper"), filepath.Join(pr.space.dir, "ovl")
	}
	// The root is assembled on /tmp of the sandbox's own mount namespace (the host's /tmp is
	// untouched), a path the sandbox's root can reach: the attempt's directory, inside barge's
	// data directory, is not for it to traverse.
	const root = "/tmp"
	for _, d := range []string{upper, work} {
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
	userns := pr.base != 0
	if userns {
		// The layer is the sandbox root's: what it writes lands as the tenant's ids.
		if err := ownTree(pr.base, upper); err != nil {
			return err
		}
	}
	// The image is shared by every tenant, unpacked once with its own ids; each sandbox sees it
	// through a mount idmapped to its namespace.
	lower := p.tree(cfg.RootFS, userns)
	ov := p.overlay(lower, upper, work)
	vols, err := s.volumeTrees(p, pr, cfg)
	if err != nil {
		return err
	}
	files := make([]int, len(hostFiles))
	for i, f := range hostFiles {
		files[i] = p.tree(f, false)
	}
	p.attach(ov, root, false, true)
	if cfg.ReadonlyRootFS {
		p.readOnly(root)
	}
	for i, m := range cfg.Mounts {
		p.attach(vols[i], filepath.Join(root, filepath.Clean("/"+m.Target)), m.ReadOnly, s.unsafe["mknod"])
	}
	if cfg.Privileged {
		p.mount("/dev", filepath.Join(root, "dev"), "", unix.MS_BIND|unix.MS_REC, "")
	}
	for i, f := range hostFiles {
		p.attach(files[i], filepath.Join(root, f), true, false)
	}
	// proc and sysfs before the pivot: in a user namespace the kernel mounts them only while the
	// host's are still visible (mount_too_revealing).
	p.mount("proc", root+"/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	// /sys: see hostRoot (masked below).
	if !s.opts.HostNetwork {
		p.attachAs(p.sysfs(), root+"/sys")
	} else {
		p.mount("/sys", root+"/sys", "", unix.MS_BIND|unix.MS_REC, "")
		p.readOnly(root + "/sys")
	}
	p.pivot(root)
	return nil
}
