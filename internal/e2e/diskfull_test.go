package e2e_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestDiskFull: barge's data directory is a small tmpfs, filled to the last byte while a job
// prints and other acknowledged jobs are queued. Calls that must store something answer 503
// naming the full disk (reads keep working); the printing job is not blocked by its own output;
// once space returns the server goes on by itself: new calls succeed, every acknowledged job
// reaches SUCCEEDED, the printing job's log says how much of its output was lost, and all of it
// survives a kill -9 and restart.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=128m"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })

	b := bargetest.Start(t, bargetest.WithDataDir(dir))
	c := b.Batch()
	ctx := context.Background()
	register(t, c, "printer", &types.ContainerProperties{Command: []string{"sh", "-c",
		`i=0; while [ $i -lt 800 ]; do printf '%01000d\n' $i; i=$((i+1)); sleep 0.01; done; echo printer-done`}})
	register(t, c, "quick", &types.ContainerProperties{Command: []string{"echo", "quick-done"}})
	printer := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("printer"), JobDefinition: aws.String("printer")})
	j := bargetest.WaitJob(t, c, printer, jobWait, func(s string) bool { return s == "RUNNING" || terminal(s) })
	stream := aws.ToString(j.Container.LogStreamName)
	waitLines(t, b, stream, func(n int) bool { return n > 0 })

	// Fill the disk to its last byte.
	filler := filepath.Join(dir, "filler")
	fill(t, filler)

	// Calls that store something: 503 with the reason, told at once (no SDK retries here).
	once := batch.NewFromConfig(b.Config(), func(o *batch.Options) { o.RetryMaxAttempts = 1 })
	_, err := once.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("refused"), JobDefinition: aws.String("quick"), JobQueue: aws.String("default")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ServiceUnavailableException" || !strings.Contains(ae.ErrorMessage(), "disk is full") {
		t.Fatalf("SubmitJob on a full disk: %v", err)
	}
	lc := lambda.NewFromConfig(b.Config(), func(o *lambda.Options) { o.RetryMaxAttempts = 1 })
	_, err = lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("echo"), Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: echoFunction(t)}})
	if !errors.As(err, &ae) || ae.ErrorCode() != "ServiceUnavailableException" || !strings.Contains(ae.ErrorMessage(), "disk is full") {
		t.Fatalf("CreateFunction on a full disk: %v", err)
	}
	// Reads still work.
	if got := describe(t, c, printer); len(got) != 1 {
		t.Fatalf("DescribeJobs on a full disk: %+v", got)
	}
	// The printer's output is being lost, not stored: its stream stops growing while it runs.
	before := -1
	waitLines(t, b, stream, func(n int) bool {
		stalled := n == before
		before = n
		return stalled
	})
	if got := describe(t, c, printer); got[0].Status != types.JobStatusRunning {
		t.Fatalf("the printer while the disk was full: %s", got[0].Status)
	}

	// Space returns: the server goes on by itself.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("echo"), Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: echoFunction(t)}}); err != nil {
		t.Fatalf("CreateFunction once space returned: %v", err)
	}
	var acked []string
	for range 5 {
		acked = append(acked, submit(t, c, &batch.SubmitJobInput{JobName: aws.String("after"), JobDefinition: aws.String("quick")}))
	}
	for _, id := range append(acked, printer) {
		if j := bargetest.WaitJob(t, c, id, 2*jobWait, terminal); j.Status != types.JobStatusSucceeded {
			t.Fatalf("job %s after the disk was full: %s %q", id, j.Status, aws.ToString(j.StatusReason))
		}
	}
	lines := logLines(t, b.Logs(), stream)
	lost := false
	for _, l := range lines {
		lost = lost || strings.Contains(l, "bytes of output could not be stored and are lost")
	}
	if !lost || lines[len(lines)-1] != "printer-done" {
		t.Fatalf("the printer's log (%d lines) does not say what was lost, or lacks its end: last %q", len(lines), lines[len(lines)-1])
	}

	// Nothing acknowledged is lost across a crash either.
	b.Kill()
	b.Restart()
	for _, j := range describe(t, b.Batch(), append(acked, printer)...) {
		if j.Status != types.JobStatusSucceeded {
			t.Errorf("after a restart, job %s is %s", aws.ToString(j.JobId), j.Status)
		}
	}
}

// fill writes path until the filesystem holding it has no byte left.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for len(chunk) > 0 {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			chunk = chunk[:len(chunk)/2]
		}
	}
}

// waitLines polls a stream's event count until done says so.
func waitLines(t *testing.T, b *bargetest.Barge, stream string, done func(n int) bool) {
	t.Helper()
	deadline := time.Now().Add(jobWait)
	for {
		lines, _ := logLinesSoFar(b.Logs(), stream)
		if done(len(lines)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s: still %d lines after %v", stream, len(lines), jobWait)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
