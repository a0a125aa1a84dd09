// Package seccomp owns the syscall filter of barge's sandbox: it compiles Docker's default
// seccomp profile into the classic-BPF program that the sandbox's C init installs with
// prctl(PR_SET_NO_NEW_PRIVS, 1) and seccomp(SECCOMP_SET_MODE_FILTER) just before it execs the
// job's command. Installing it is not this package's business; compiling it faithfully is.
//
// # Where the pieces come from
//
// The profile is github.com/moby/profiles/seccomp's DefaultProfile, resolved by that module's
// own GetDefaultProfile for the sandbox's capabilities, this architecture and the running
// kernel — the rules dockerd applies, not a copy of them. Syscall numbers come from
// golang.org/x/sys/unix, which generates them from the kernel's headers (mksysnum.go writes
// the zsysnum_linux_*.go tables from it). The profile names every architecture's syscalls;
// names this architecture lacks (chown32, socketcall...) are skipped, as libseccomp does.
//
// The compiler is this package's own, on golang.org/x/net/bpf as the assembler (and, in the
// tests, as an interpreter). github.com/elastic/go-seccomp-bpf v1.6.0, the pure-Go policy
// compiler considered first, was rejected: its argument conditions load arguments into the
// accumulator and, when they fail, fall through to the comparisons of later syscall numbers
// against that argument, so e.g. a socket() whose domain equals an allowed syscall's number is
// allowed. It also searches syscalls linearly. libseccomp itself needs cgo and -dev packages.
//
// # The program
//
//	ld arch; if arch != native: return KILL_PROCESS
//	ld nr;   if nr >= 0x40000000 (x86_64 only): return ERRNO(ENOSYS)
//	binary search on nr over runs of numbers the profile treats alike; each leaf returns an
//	action, or tests the syscall's arguments (64-bit, as two 32-bit halves) and then returns.
//
// Architectures: only the native ABI is allowed (AUDIT_ARCH_X86_64, AUDIT_ARCH_AARCH64). Docker
// also allows its sub-architectures (i386 and x32 under x86_64, AArch32 under arm64); barge runs
// 64-bit code, and a foreign ABI is a different syscall table, so a syscall made through one
// (int 0x80 on x86_64) kills the process, as libseccomp's default for a wrong architecture
// does. x32 numbers carry the native arch and are told apart by bit 30: they get ENOSYS, which
// is what a kernel built without x32 answers.
//
// Actions: ERRNO(n), ALLOW, KILL_THREAD, KILL_PROCESS, TRAP and LOG map to themselves; TRACE
// becomes ERRNO (ENOSYS unless the rule names one), which is what the kernel answers when no
// tracer is attached; NOTIFY is refused. Argument conditions keep runc's reading: a rule's
// conditions must all hold unless two test the same argument, in which case any may. A syscall
// that one rule allows outright and another treats otherwise is an error, as in libseccomp.
//
// Size: on x86_64 with the sandbox's capabilities the profile allows 309 syscalls, which fall
// into 66 runs of consecutive numbers, so a syscall costs 4 instructions of checks and at most 7
// comparisons of search (clone, personality and socket then test their arguments): 320
// instructions in all, compiled in about 0.2 ms. Since Linux 5.11 the kernel also caches the
// verdict for syscalls whose answer does not depend on arguments and skips the filter for them.
package seccomp

//go:generate go run mksysnum.go
