package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
)

// cmdWatch follows one job until it finishes: for an array, a progress bar of its children by
// status; for a single job, its status changes.
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
	last := ""
	for {
		res, err := cl.batch.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: []string{id}})
		if err != nil {
			return apiError(err)
		}
		if len(res.Jobs) == 0 {
			return fmt.Errorf("no such job: %s", id)
		}
		j := res.Jobs[0]
		line := watchLine(j)
		if line != last {
			fmt.Fprintln(out, line)
			last = line
		}
		if finished(j.Status) {
			if j.Status == types.JobStatusFailed && aws.ToString(j.StatusReason) != "" {
				fmt.Fprintf(out, "reason: %s\n", aws.ToString(j.StatusReason))
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(*interval):
		}
	}
}

// watchLine renders a job's state: "[#####.....] 50% 500/1000 SUCCEEDED=500 RUNNING=2 …" for an
// array, the status for a single job.
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
		filled = done * width / size
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[%s%s] %3d%% %d/%d", strings.Repeat("#", filled), strings.Repeat(".", width-filled), 100*done/max(size, 1), done, size)
	for _, st := range types.JobStatus("").Values() {
		if n := ap.StatusSummary[string(st)]; n > 0 {
			fmt.Fprintf(&b, " %s=%d", st, n)
		}
	}
	fmt.Fprintf(&b, " (%s)", j.Status)
	return b.String()
}
