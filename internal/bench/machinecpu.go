package bench

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"time"
)

// The per-job CPU budget: on a machine whose cores are all busy, throughput is the CPU one job
// costs, all processes and the kernel together (the server, its sandboxes, the benchmark's own
// client). Measured from /proc/stat around a run, it compares the executor alone with the
// whole server on the same machine even when the machine's speed drifts between runs.

// userHZ is the unit of /proc/stat: USER_HZ is 100 on every Linux ABI Go supports.
const userHZ = 100

// machineBusy is the CPU time all of this machine's cores have spent outside idle and iowait
// since boot; ok is false without /proc/stat.
func machineBusy() (busy time.Duration, ok bool) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "cpu ") {
		return 0, false
	}
	// cpu user nice system idle iowait irq softirq steal ...
	fields := strings.Fields(line)[1:]
	var ticks int64
	for i, s := range fields {
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; steal, guest and guest_nice are not ours
			continue
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, false
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, true
}

// cpuMeter measures the machine's CPU time over a run.
type cpuMeter struct {
	start time.Duration
	ok    bool
}

func startCPU() cpuMeter {
	b, ok := machineBusy()
	return cpuMeter{start: b, ok: ok}
}

// perJob is the machine's CPU time since startCPU over n jobs; 0 when it cannot be measured.
func (m cpuMeter) perJob(n int) time.Duration {
	end, ok := machineBusy()
	if !m.ok || !ok || n <= 0 || end < m.start {
		return 0
	}
	return (end - m.start) / time.Duration(n)
}
