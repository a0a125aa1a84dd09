package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
)

func cmdCancel(ctx context.Context, args []string, out io.Writer) error {
	return stopCommand(ctx, "cancel", args, out)
}

func cmdTerminate(ctx context.Context, args []string, out io.Writer) error {
	return stopCommand(ctx, "terminate", args, out)
}

// stopCommand cancels or terminates each job named, and fails (exit 1) for any it did not stop:
// an ended job, or — cancel being AWS's CancelJob, which leaves started jobs alone — a job that
// is STARTING or RUNNING.
func stopCommand(ctx context.Context, verb string, args []string, out io.Writer) error {
	fs := flag.NewFlagSet(verb, flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	reason := fs.String("reason", "", "`TEXT` recorded on the job as its reason")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError{fmt.Sprintf("usage: barge %s <jobId>… [--reason …]", verb)}
	}
	if *reason == "" {
		if verb == "cancel" {
			*reason = "Cancelled by user via barge"
		} else {
			*reason = "Terminated by user via barge"
		}
	}
	cl, err := c.clients()
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range fs.Args() {
		note, err := stopJob(ctx, cl, verb, id, *reason)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(out, "%s: %s requested%s\n", id, verb, note)
	}
	return errors.Join(errs...)
}

// stopJob asks for one job to be cancelled or terminated, and returns a note for the user.
func stopJob(ctx context.Context, cl *clients, verb, id, reason string) (string, error) {
	j, err := describeJob(ctx, cl, id)
	if err != nil {
		return "", err
	}
	if finished(j.Status) {
		return "", fmt.Errorf("job %s already ended (%s): nothing to %s", id, j.Status, verb)
	}
	if verb == "terminate" {
		_, err := cl.batch.TerminateJob(ctx, &batch.TerminateJobInput{JobId: aws.String(id), Reason: aws.String(reason)})
		return "", apiError(err)
	}
	if started(j.Status) {
		return "", startedError(id, j.Status)
	}
	if _, err := cl.batch.CancelJob(ctx, &batch.CancelJobInput{JobId: aws.String(id), Reason: aws.String(reason)}); err != nil {
		return "", apiError(err)
	}
	// The job may have started between the look and the cancel, which then did nothing.
	if j, err = describeJob(ctx, cl, id); err != nil {
		return "", err
	}
	if started(j.Status) {
		return "", startedError(id, j.Status)
	}
	if ap := j.ArrayProperties; ap != nil {
		if n := ap.StatusSummary["STARTING"] + ap.StatusSummary["RUNNING"]; n > 0 {
			return fmt.Sprintf(" (%d children already started go on: barge terminate %s stops them)", n, id), nil
		}
	}
	return "", nil
}

func started(st types.JobStatus) bool {
	return st == types.JobStatusStarting || st == types.JobStatusRunning
}

func startedError(id string, st types.JobStatus) error {
	return fmt.Errorf("job %s is %s, and cancel stops only jobs that have not started (as AWS's CancelJob): stop it with `barge terminate %s`", id, st, id)
}
