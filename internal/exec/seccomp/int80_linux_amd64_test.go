package seccomp

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// TestForeignArchitectureKilled makes an i386 syscall (getpid through int 0x80, which the
// kernel reports with AUDIT_ARCH_I386) from a tiny static x86_64 program under the filter: the
// process must be killed, not let through by a filter that only knows x86_64 numbers.
func TestForeignArchitectureKilled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "int80")
	if err := os.WriteFile(path, int80Program(), 0o755); err != nil {
		t.Fatal(err)
	}
	env := elfEnv + "=" + path
	if control := probe(t, "int80", false, env); control != "exit=0" {
		t.Skipf("this kernel does not take i386 syscalls (without the filter: %s)", control)
	}
	if got := probe(t, "int80", true, env); got != "signal=SIGSYS" {
		t.Errorf("under the filter: %s, want signal=SIGSYS", got)
	}
}

// int80Program is a static ELF64 executable that calls i386 getpid with int 0x80 and exits
// (through the native exit_group) with status 0 on success or the errno on failure.
func int80Program() []byte {
	code := []byte{
		0xb8, 0x14, 0x00, 0x00, 0x00, // mov eax, 20 (i386 __NR_getpid)
		0xcd, 0x80, // int 0x80
		0x31, 0xff, // xor edi, edi
		0x85, 0xc0, // test eax, eax
		0x79, 0x04, // jns exit
		0xf7, 0xd8, // neg eax
		0x89, 0xc7, // mov edi, eax
		0xb8, 0xe7, 0x00, 0x00, 0x00, // exit: mov eax, 231 (x86_64 __NR_exit_group)
		0x0f, 0x05, // syscall
	}
	const base, ehsize, phsize = 0x400000, 64, 56
	le := binary.LittleEndian
	elf := make([]byte, ehsize+phsize, ehsize+phsize+len(code))
	copy(elf, []byte{0x7f, 'E', 'L', 'F', 2, 1, 1}) // 64-bit, little-endian, version 1
	le.PutUint16(elf[16:], 2)                       // ET_EXEC
	le.PutUint16(elf[18:], 62)                      // EM_X86_64
	le.PutUint32(elf[20:], 1)                       // EV_CURRENT
	le.PutUint64(elf[24:], base+ehsize+phsize)      // entry: the code after the headers
	le.PutUint64(elf[32:], ehsize)                  // program headers right after this one
	le.PutUint16(elf[52:], ehsize)
	le.PutUint16(elf[54:], phsize)
	le.PutUint16(elf[56:], 1) // one program header
	ph := elf[ehsize:]
	le.PutUint32(ph[0:], 1) // PT_LOAD
	le.PutUint32(ph[4:], 5) // PF_R|PF_X
	le.PutUint64(ph[16:], base)
	le.PutUint64(ph[24:], base)
	le.PutUint64(ph[32:], uint64(ehsize+phsize+len(code)))
	le.PutUint64(ph[40:], uint64(ehsize+phsize+len(code)))
	le.PutUint64(ph[48:], 0x1000)
	return append(elf, code...)
}
