package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// jobFailed is the error of a command that followed a job to FAILED: the command exits 1.
type jobFailed struct{ id, reason string }

func (e jobFailed) Error() string {
	if e.reason == "" {
		return fmt.Sprintf("job %s FAILED", e.id)
	}
	return fmt.Sprintf("job %s FAILED: %s", e.id, e.reason)
}

// outcome is how a command that followed job j to its end ends: an error if it FAILED.
func outcome(j types.JobDetail) error {
	if j.Status == types.JobStatusFailed {
		return jobFailed{aws.ToString(j.JobId), aws.ToString(j.StatusReason)}
	}
	return nil
}

func cmdLogs(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("logs", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	follow := fs.Bool("f", false, "follow until the job finishes; exit 1 if it FAILED")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"usage: barge logs [-f] <jobId>"}
	}
	cl, err := c.clients()
	if err != nil {
		return err
	}
	id := fs.Arg(0)
	j, err := describeJob(ctx, cl, id)
	if err != nil {
		return err
	}
	if ap := j.ArrayProperties; ap != nil && ap.Size != nil {
		n := aws.ToInt32(ap.Size)
		return fmt.Errorf("job %s is an array job (%s) of %d children, and each child has its own log: barge logs %s:0 … barge logs %s:%d", id, j.Status, n, id, id, n-1)
	}
	// Wait for the first attempt to get a stream when following a job that has not started.
	for logStream(j) == "" && *follow && !finished(j.Status) {
		if err := pause(ctx); err != nil {
			return err
		}
		if j, err = describeJob(ctx, cl, id); err != nil {
			return err
		}
	}
	switch {
	case logStream(j) == "" && finished(j.Status):
		return fmt.Errorf("job %s never started, so it has no output: %w", id, outcome(j))
	case logStream(j) == "":
		return fmt.Errorf("job %s has not started yet (status %s), so it has no output yet; follow it with: barge logs -f %s", id, j.Status, id)
	}
	if j, err = printLog(ctx, cl, id, j, *follow, out); err != nil {
		return err
	}
	if *follow {
		return outcome(j)
	}
	return nil
}

// printLog prints the job's latest attempt's log; following, it goes on until the job finished.
// It returns the job as last described.
func printLog(ctx context.Context, cl *clients, id string, j types.JobDetail, follow bool, out io.Writer) (types.JobDetail, error) {
	stream := logStream(j)
	var token *string
	for {
		res, err := cl.logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
			LogGroupName: aws.String("/aws/batch/job"), LogStreamName: aws.String(stream),
			StartFromHead: aws.Bool(true), NextToken: token,
		})
		var nf interface{ ErrorCode() string }
		switch {
		case err != nil && !(errors.As(err, &nf) && nf.ErrorCode() == "ResourceNotFoundException"):
			return j, apiError(err)
		case err == nil:
			for _, ev := range res.Events {
				fmt.Fprintln(out, aws.ToString(ev.Message))
			}
			more := aws.ToString(res.NextForwardToken) != aws.ToString(token)
			token = res.NextForwardToken
			if more {
				continue
			}
		}
		// Here the log is read to its end, or has no stream yet: a stream exists only once the
		// attempt printed something, as in CloudWatch.
		if !follow || finished(j.Status) {
			return j, nil
		}
		if err := pause(ctx); err != nil {
			return j, err
		}
		// The job's status is read after the page so the last lines are never missed.
		if j, err = describeJob(ctx, cl, id); err != nil {
			return j, err
		}
		if s := logStream(j); s != stream && s != "" {
			stream, token = s, nil // a retry writes a new stream
		}
	}
}

func finished(st types.JobStatus) bool {
	return st == types.JobStatusSucceeded || st == types.JobStatusFailed
}

func pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(250 * time.Millisecond):
		return nil
	}
}

// describeJob is DescribeJobs of one job.
func describeJob(ctx context.Context, cl *clients, id string) (types.JobDetail, error) {
	res, err := cl.batch.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: []string{id}})
	if err != nil {
		return types.JobDetail{}, apiError(err)
	}
	if len(res.Jobs) == 0 {
		return types.JobDetail{}, fmt.Errorf("no such job: %s", id)
	}
	return res.Jobs[0], nil
}

// logStream is the log stream of the job's latest attempt ("" before it started).
func logStream(j types.JobDetail) string {
	if j.Container == nil {
		return ""
	}
	return aws.ToString(j.Container.LogStreamName)
}
