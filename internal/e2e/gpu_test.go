package e2e_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestGPUs runs GPU jobs on a server told the host has two GPUs (--gpus 2; this machine has
// none, so nothing uses them): each running job holds its own device, named in
// NVIDIA_VISIBLE_DEVICES as on AWS; a third waits RUNNABLE until one is free and then gets the
// freed device; a job asking for more GPUs than there are fails at once.
func TestGPUs(t *testing.T) {
	t.Parallel()
	gates := t.TempDir()
	b := bargetest.Start(t, bargetest.WithArgs("--gpus", "2", "--volume-root", gates))
	c, logs := b.Batch(), b.Logs()
	// Each job prints its devices, then holds them until its gate file appears.
	// (The sandbox's /tmp is its own, so the gates come in as a volume, mounted under that /tmp:
	// on the read-only host filesystem a new mount point can only be made there.)
	register(t, c, "gpu", &types.ContainerProperties{Command: []string{"sh", "-c",
		`echo "devices=$NVIDIA_VISIBLE_DEVICES"; while [ ! -e "/tmp/gates/$AWS_BATCH_JOB_ID" ]; do sleep 0.02; done`},
		Volumes:     []types.Volume{{Name: aws.String("gates"), Host: &types.Host{SourcePath: aws.String(gates)}}},
		MountPoints: []types.MountPoint{{SourceVolume: aws.String("gates"), ContainerPath: aws.String("/tmp/gates"), ReadOnly: aws.Bool(true)}},
		ResourceRequirements: []types.ResourceRequirement{
			{Type: types.ResourceTypeVcpu, Value: aws.String("0.25")}, {Type: types.ResourceTypeMemory, Value: aws.String("64")},
			{Type: types.ResourceTypeGpu, Value: aws.String("1")}}})
	sub := func(name string) string {
		return submit(t, c, &batch.SubmitJobInput{JobName: aws.String(name), JobQueue: aws.String("default"), JobDefinition: aws.String("gpu")})
	}
	devices := func(id string) string {
		t.Helper()
		return strings.TrimPrefix(firstLogLine(t, logs, aws.ToString(describe(t, c, id)[0].Container.LogStreamName)), "devices=")
	}
	release := func(id string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(gates, id), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	running := func(s string) bool { return s == "RUNNING" || bargetest.Terminal(s) }

	ids := []string{sub("a"), sub("b"), sub("c")}
	// Two of the three run, each on its own device; the third waits for one.
	var run []string
	for deadline := time.Now().Add(jobWait); len(run) < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("two GPU jobs never ran side by side")
		}
		run = run[:0]
		for _, j := range describe(t, c, ids...) {
			if bargetest.Terminal(string(j.Status)) {
				t.Fatalf("%s ended before its gate opened: %s %s %s", aws.ToString(j.JobName), j.Status, aws.ToString(j.StatusReason), aws.ToString(j.Container.Reason))
			}
			if j.Status == types.JobStatusRunning {
				run = append(run, aws.ToString(j.JobId))
			}
		}
	}
	if len(run) != 2 {
		t.Fatalf("%d GPU jobs running on 2 GPUs", len(run))
	}
	held := []string{devices(run[0]), devices(run[1])}
	if slices.Sort(held); !slices.Equal(held, []string{"0", "1"}) {
		t.Fatalf("devices of the running jobs: %q, want 0 and 1", held)
	}
	waiting := ids[0]
	for _, id := range ids {
		if !slices.Contains(run, id) {
			waiting = id
		}
	}
	if j := describe(t, c, waiting)[0]; j.Status != types.JobStatusRunnable {
		t.Fatalf("the third GPU job is %s while both GPUs are held", j.Status)
	}
	freed := devices(run[0])
	release(run[0])
	bargetest.WaitJob(t, c, waiting, jobWait, running)
	if got := devices(waiting); got != freed {
		t.Fatalf("the waiting job got device %q, want the freed %q", got, freed)
	}
	release(run[1])
	release(waiting)
	for _, id := range ids {
		if j := bargetest.WaitJob(t, c, id, jobWait, bargetest.Terminal); j.Status != types.JobStatusSucceeded {
			t.Fatalf("%s: %s %s", id, j.Status, aws.ToString(j.StatusReason))
		}
	}

	// More GPUs than any compute environment has: fails at once, naming both.
	big := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("big"), JobQueue: aws.String("default"), JobDefinition: aws.String("gpu"),
		ContainerOverrides: &types.ContainerOverrides{ResourceRequirements: []types.ResourceRequirement{{Type: types.ResourceTypeGpu, Value: aws.String("3")}}}})
	j := bargetest.WaitJob(t, c, big, jobWait, bargetest.Terminal)
	if j.Status != types.JobStatusFailed || !strings.Contains(aws.ToString(j.StatusReason), "3 GPU") || !strings.Contains(aws.ToString(j.StatusReason), "2 GPU") {
		t.Fatalf("a 3-GPU job on 2 GPUs: %s %q", j.Status, aws.ToString(j.StatusReason))
	}
}
