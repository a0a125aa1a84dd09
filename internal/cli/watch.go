package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
)

// cmdWatch follows one job until it finishes: for an array, a progress bar of its children by
// status; for a single job, its status. On a terminal it redraws one live line; otherwise it
// prints a line per change. It exits 1 when the job FAILED.
func cmdWatch(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("jobs watch", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	interval := fs.Duration("interval", 500*time.Millisecond, "how often to refresh")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"usage: barge jobs watch <jobId>"}
	}
	cl, err := c.clients()
	if err != nil {
		return err
	}
	id := fs.Arg(0)
	live := newLiveLine(out)
	defer live.end()
	start := time.Now()
	for {
		j, err := describeJob(ctx, cl, id)
		if err != nil {
			return err
		}
		line := watchLine(j)
		if live.tty && !finished(j.Status) {
			line += fmt.Sprintf("  %s", time.Since(start).Round(time.Second))
		}
		live.show(line)
		if finished(j.Status) {
			return outcome(j) // FAILED: the error, on stderr, gives the reason
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(*interval):
		}
	}
}

// watchLine renders a job's state: "[#####.....]  50% 500/1000 SUCCEEDED=500 RUNNING=2 (RUNNING)"
// for an array, "name STATUS" for a single job.
func watchLine(j types.JobDetail) string {
	ap := j.ArrayProperties
	if ap == nil || ap.Size == nil {
		return fmt.Sprintf("%s %s", aws.ToString(j.JobName), j.Status)
	}
	size := int(aws.ToInt32(ap.Size))
	done := int(ap.StatusSummary["SUCCEEDED"] + ap.StatusSummary["FAILED"])
	const width = 30
	filled := 0
	if size > 0 {
		filled = min(done, size) * width / size
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[%s%s] %3d%% %d/%d", strings.Repeat("#", filled), strings.Repeat(".", width-filled), 100*done/max(size, 1), done, size)
	for _, st := range types.JobStatus("").Values() {
		if n := ap.StatusSummary[string(st)]; n > 0 {
			fmt.Fprintf(&b, " %s=%d", st, n)
		}
	}
	fmt.Fprintf(&b, " (%s)", arrayStatus(j))
	return b.String()
}

// arrayStatus is what an array job is doing. AWS keeps an array's parent PENDING until its
// last child ends (its statuses are SUBMITTED, PENDING, SUCCEEDED and FAILED), so the parent's
// own status says nothing of children at work: while it has not ended, the array is RUNNING when
// a child starts or runs, RUNNABLE when one waits for capacity.
func arrayStatus(j types.JobDetail) types.JobStatus {
	sum := j.ArrayProperties.StatusSummary
	switch {
	case finished(j.Status):
		return j.Status
	case sum["RUNNING"]+sum["STARTING"] > 0:
		return types.JobStatusRunning
	case sum["RUNNABLE"] > 0:
		return types.JobStatusRunnable
	}
	return j.Status
}

// liveLine writes a changing status line: on a terminal it redraws one line in place, elsewhere
// (a file, a pipe, a CI log) it prints each new state on a line of its own.
type liveLine struct {
	w     io.Writer
	tty   bool
	cols  int
	last  string
	drawn bool // a line is on screen and not ended by a newline yet
}

func newLiveLine(w io.Writer) *liveLine {
	cols, tty := terminalWidth(w)
	return &liveLine{w: w, tty: tty, cols: cols}
}

// show writes line if it differs from the last one.
func (l *liveLine) show(line string) {
	if line == l.last {
		return
	}
	l.last = line
	if !l.tty {
		fmt.Fprintln(l.w, line)
		return
	}
	// Longer than the terminal, the line would wrap and \r would not return to its start.
	if r := []rune(line); l.cols > 1 && len(r) >= l.cols {
		line = string(r[:l.cols-2]) + "…"
	}
	fmt.Fprintf(l.w, "\r\x1b[K%s", line)
	l.drawn = true
}

// end leaves the live line on screen and moves below it.
func (l *liveLine) end() {
	if l.drawn {
		fmt.Fprintln(l.w)
		l.drawn = false
	}
}
