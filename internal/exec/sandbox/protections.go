//go:build linux

package sandbox

import (
	"fmt"
	"strings"
)

// Protection is one defence every sandbox has, as `barge doctor` and the server's start log
// report it.
type Protection struct {
	Name     string
	Enforced bool
	Detail   string // how it is enforced, or why not
}

// Protections lists what a sandbox enforces on this host with these options.
func (s *Sandbox) Protections() []Protection {
	on := func(name, detail string) Protection { return Protection{name, true, detail} }
	off := func(name, detail string) Protection { return Protection{name, false, detail} }
	var ps []Protection
	ps = append(ps, on("namespaces", "PID, mount, UTS, IPC of its own"))
	switch {
	case s.lacking != "":
		ps = append(ps, off("user namespace", s.lacking+"; root in a sandbox is the host's root"))
	case s.opts.HostUsers || s.unsafe["userns"]:
		ps = append(ps, off("user namespace", "turned off (--userns host): root in a sandbox is the host's root"))
	default:
		ps = append(ps, on("user namespace", fmt.Sprintf("root maps to host ids %d+ (%d ids per account); images and code idmapped", idBase, idCount)))
	}
	const inside = "barge's API inside at 127.0.0.1:7700; a function's Runtime API inside at 127.0.0.1:9001"
	switch {
	case s.opts.HostNetwork:
		ps = append(ps, off("network namespace", "turned off (--job-network host): sandboxes share the host's network and reach its loopback services"))
	case s.opts.NetworkNAT:
		ps = append(ps, on("network namespace", "one sandbox at a time (from a pool); "+inside+"; outbound IPv4 through pasta's user-mode NAT (--job-network nat), nothing inbound; the host's loopback and the link-local range (instance metadata) unreachable; the host's other addresses reachable as by a process of the host's"))
	default:
		ps = append(ps, on("network namespace", "one sandbox at a time (from a pool), loopback only; "+inside+"; no outbound network"))
	}
	if s.unsafe["masks"] {
		ps = append(ps, off("/proc and /sys", "turned off: /proc/sys and kernel files as the host has them"))
	} else {
		ps = append(ps, on("/proc and /sys", "runc's masks: /proc/sys, sysrq-trigger, irq, bus, fs read-only; kcore, keys, timer_list, sched_debug, scsi, acpi, /sys/firmware hidden; a read-only sysfs of its own network"))
	}
	if s.unsafe["mknod"] {
		ps = append(ps, off("devices", "turned off: CAP_MKNOD kept, writable mounts allow device nodes"))
	} else {
		ps = append(ps, on("devices", "no CAP_MKNOD; /dev read-only with only null, zero, full, random, urandom, tty; every writable mount nodev,nosuid"))
	}
	caps := "Docker's default capabilities less CAP_MKNOD"
	ps = append(ps, on("capabilities", caps))
	if s.filter == "" {
		ps = append(ps, off("seccomp", "turned off: every system call allowed"))
	} else {
		ps = append(ps, on("seccomp", s.filterDesc+"; no_new_privs"))
	}
	switch {
	case s.unsafe["volumes"]:
		ps = append(ps, off("host volumes", "turned off: checked by path and mounted by path"))
	case len(s.opts.VolumeRoots) == 0:
		ps = append(ps, on("host volumes", "none allowed (no --volume-root)"))
	default:
		ps = append(ps, on("host volumes", "only under "+strings.Join(s.opts.VolumeRoots, ", ")+", opened beneath the root with openat2 and mounted by descriptor"))
	}
	ps = append(ps, s.diskProtection())
	ps = append(ps, on("cgroup", fmt.Sprintf("%s: memory = MEMORY (swap included), CPU quota = VCPU, pids ≤ %d", s.cgroups.describe(), s.opts.PidsLimit)))
	return ps
}
