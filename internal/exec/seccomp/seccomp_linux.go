package seccomp

import (
	"bytes"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	profiles "github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// profileModule is the module Docker's default profile comes from; Describe reports its version.
const profileModule = "github.com/moby/profiles/seccomp"

// cache holds one compiled program per capability set, keyed by the sorted names.
var cache = struct {
	sync.Mutex
	programs map[string]*program
}{programs: make(map[string]*program)}

// Program returns Docker's default profile compiled for this machine's architecture, for a
// process that keeps the given capabilities (names as "CAP_CHOWN"...; rules of the profile that
// depend on capabilities via includes/excludes.caps are applied accordingly; rules conditioned on
// kernel minimum versions evaluated against the running kernel). The result is the raw
// `struct sock_filter` array (8 bytes per instruction: u16 code, u8 jt, u8 jf, u32 k, native
// endian), ready to hand to seccomp(2). Results are cached per capability set.
//
// The filter kills a process that makes a syscall with a foreign architecture (i386 through
// int 0x80 on x86_64, AArch32 on arm64) and answers x32-ABI syscalls with ENOSYS; see doc.go.
// The returned slice is the caller's own.
func Program(caps []string) ([]byte, error) { return ProgramDenying(caps, nil) }

// ProgramDenying is Program with the ioctl requests in ioctls refused (EPERM) on top of the
// profile: the ones an operator's setup must keep from jobs, such as those that would move a
// directory out of its disk quota. Requests are compared on their low 32 bits, as the kernel
// reads them.
func ProgramDenying(caps []string, ioctls []uint32) ([]byte, error) {
	p, err := cached(caps, ioctls...)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(p.code), nil
}

// Describe names the profile and its size for `barge doctor` (e.g. "Docker's default seccomp
// profile (moby/profiles v0.x, N syscalls allowed, N instructions)"), as ProgramDenying
// compiles it for caps and ioctls (cached: no second compile).
func Describe(caps []string, ioctls []uint32) string {
	name := "Docker's default seccomp profile (" + strings.TrimPrefix(profileModule, "github.com/") + " " + profileVersion()
	p, err := cached(caps, ioctls...)
	if err != nil {
		return name + "): not available: " + err.Error()
	}
	return fmt.Sprintf("%s, %d syscalls allowed, %d of them for some arguments only, %d instructions)",
		name, p.allowed, p.onArgs, p.instructions)
}

// cached returns the program for caps, compiling it on first use. The lock is held while
// compiling so that concurrent first callers compile once.
func cached(caps []string, ioctls ...uint32) (*program, error) {
	set, err := capSet(caps)
	if err != nil {
		return nil, err
	}
	ioctls = slices.Clone(ioctls)
	slices.Sort(ioctls)
	ioctls = slices.Compact(ioctls)
	key := strings.Join(set, ",") + fmt.Sprint(ioctls)
	cache.Lock()
	defer cache.Unlock()
	if p, ok := cache.programs[key]; ok {
		return p, nil
	}
	p, err := compile(set, ioctls)
	if err != nil {
		return nil, err
	}
	cache.programs[key] = p
	return p, nil
}

// capSet sorts and deduplicates caps. It refuses names not spelled "CAP_XXX": the profile
// matches them as exact strings, so "chown" or "cap_chown" would silently count as absent.
func capSet(caps []string) ([]string, error) {
	for _, c := range caps {
		if !strings.HasPrefix(c, "CAP_") || strings.ToUpper(c) != c || len(c) == len("CAP_") {
			return nil, fmt.Errorf("seccomp: capability %q is not a name like CAP_CHOWN", c)
		}
	}
	set := slices.Clone(caps)
	slices.Sort(set)
	return slices.Compact(set), nil
}

// compile resolves Docker's default profile for caps, this architecture and the running kernel
// (moby's own resolution, as dockerd does it) and compiles the result.
func compile(caps []string, denyIoctls []uint32) (*program, error) {
	audit, x32, ok := nativeArch()
	if !ok || len(syscallNumbers) == 0 {
		return nil, fmt.Errorf("seccomp: no filter for architecture %s", runtime.GOARCH)
	}
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: caps}}}
	prof, err := profiles.GetDefaultProfile(spec)
	if err != nil {
		return nil, fmt.Errorf("seccomp: resolving Docker's default profile: %w", err)
	}
	if prof == nil {
		return nil, fmt.Errorf("seccomp: Docker's default profile resolved to none")
	}
	def, err := actionOf(prof.DefaultAction, prof.DefaultErrnoRet)
	if err != nil {
		return nil, err
	}
	rules, err := collect(prof, syscallNumbers)
	if err != nil {
		return nil, err
	}
	denyIoctl(rules, denyIoctls)
	return emit(rules, def, audit, x32)
}

// nativeArch is the AUDIT_ARCH_* of this build's architecture and whether its kernels also take
// x32-ABI syscall numbers. The profile's sub-architectures (x86 and x32 under x86_64, arm under
// aarch64) are deliberately not allowed: barge runs 64-bit code only, and each extra ABI is a
// separate syscall table the filter would have to get right.
func nativeArch() (audit uint32, x32, ok bool) {
	switch runtime.GOARCH {
	case "amd64":
		return unix.AUDIT_ARCH_X86_64, true, true
	case "arm64":
		return unix.AUDIT_ARCH_AARCH64, false, true
	}
	return 0, false, false
}

// profileVersion is the version of the profile module linked into this binary.
func profileVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if m.Path != profileModule {
				continue
			}
			if m.Replace != nil {
				m = m.Replace
			}
			return m.Version
		}
	}
	return "(version unknown)"
}

// denyIoctl puts a refusal of each request ahead of whatever the profile decides for ioctl(2).
func denyIoctl(rules map[uint32][]alternative, requests []uint32) {
	nr, ok := syscallNumbers["ioctl"]
	if !ok || len(requests) == 0 {
		return
	}
	eperm := uint32(unix.SECCOMP_RET_ERRNO) | uint32(unix.EPERM)
	var denies []alternative
	for _, r := range requests {
		denies = append(denies, alternative{action: eperm, args: []specs.LinuxSeccompArg{
			{Index: 1, Value: 0xffffffff, ValueTwo: uint64(r), Op: specs.OpMaskedEqual}}})
	}
	rules[nr] = append(denies, rules[nr]...)
}
