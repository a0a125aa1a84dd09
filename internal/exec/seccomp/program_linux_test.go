package seccomp

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// sandboxCaps is what the tests compile for: the capability set barge's sandbox keeps
// (Docker's default less CAP_MKNOD, as internal/exec/sandbox's defaultCaps).
var sandboxCaps = []string{
	"CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP",
	"CAP_SETUID", "CAP_SYS_CHROOT",
}

// TestProgramCachedAndDeterministic checks that Program compiles once per capability set,
// whatever the order or repetition of the names, hands out copies, and that compiling again
// yields the same bytes.
func TestProgramCachedAndDeterministic(t *testing.T) {
	first, err := cached(sandboxCaps)
	if err != nil {
		t.Fatal(err)
	}
	shuffled := append(slices.Clone(sandboxCaps), sandboxCaps[0])
	slices.Reverse(shuffled)
	again, err := cached(shuffled)
	if err != nil {
		t.Fatal(err)
	}
	if first != again {
		t.Error("same capability set compiled twice")
	}
	got, err := Program(sandboxCaps)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, first.code) || len(got)%8 != 0 {
		t.Fatalf("Program returned %d bytes unlike the cache's %d", len(got), len(first.code))
	}
	got[0] ^= 0xff
	if bytes.Equal(got, first.code) {
		t.Error("Program returned the cached slice itself")
	}
	fresh, err := compile(sandboxCaps, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh.code, first.code) {
		t.Error("compiling twice gave different programs")
	}
	admin, err := Program(append(slices.Clone(sandboxCaps), "CAP_SYS_ADMIN"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(admin, first.code) {
		t.Error("CAP_SYS_ADMIN did not change the program")
	}
}

// TestProgramConcurrent has first callers race for the same and for different capability sets;
// run with -race.
func TestProgramConcurrent(t *testing.T) {
	sets := [][]string{{"CAP_KILL", "CAP_SYS_NICE"}, {"CAP_SYS_NICE", "CAP_KILL"}, {"CAP_SYSLOG"}}
	results := make([][]byte, 12)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			p, err := Program(sets[i%len(sets)])
			if err != nil {
				t.Error(err)
			}
			results[i] = p
		})
	}
	wg.Wait()
	for i := range results {
		want := results[0] // sets 0 and 1 are one set named in two orders
		if i%len(sets) == 2 {
			want = results[2]
		}
		if !bytes.Equal(results[i], want) {
			t.Errorf("caller %d got a different program for the same capability set", i)
		}
	}
}

func TestProgramRejectsMisspelledCaps(t *testing.T) {
	for _, c := range []string{"chown", "cap_chown", "CHOWN", "CAP_", ""} {
		if _, err := Program([]string{"CAP_KILL", c}); err == nil {
			t.Errorf("Program accepted capability %q", c)
		}
	}
}

func TestDescribe(t *testing.T) {
	d := Describe(sandboxCaps, nil)
	p, err := cached(sandboxCaps)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Docker's default seccomp profile", "moby/profiles/seccomp", fmt.Sprintf("%d instructions", p.instructions)} {
		if !strings.Contains(d, want) {
			t.Errorf("Describe() = %q, lacks %q", d, want)
		}
	}
	t.Log(d)
}

// BenchmarkProgram measures compiling the sandbox's program, uncached.
func BenchmarkProgram(b *testing.B) {
	var p *program
	for b.Loop() {
		var err error
		if p, err = compile(sandboxCaps, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(p.instructions), "instructions")
}
