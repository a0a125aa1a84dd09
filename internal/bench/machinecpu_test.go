package bench

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMachineBusyCountsWork: CPU this process burns shows in the machine's busy time.
func TestMachineBusyCountsWork(t *testing.T) {
	m := startCPU()
	if !m.ok {
		t.Skip("no /proc/stat")
	}
	threadCPU := func() time.Duration {
		var ts unix.Timespec
		unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts)
		return time.Duration(ts.Nano())
	}
	spent := threadCPU()
	for x := 0; threadCPU()-spent < 100*time.Millisecond; x++ {
	}
	// 100 ms burnt here; /proc/stat counts in 10 ms ticks.
	if got := m.perJob(1); got < 50*time.Millisecond {
		t.Errorf("machine busy grew by %v while this process burnt 100 ms of CPU", got)
	}
	if got := m.perJob(0); got != 0 {
		t.Errorf("per job of no jobs = %v, want 0", got)
	}
}
