package e2e_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	btypes "github.com/aws/aws-sdk-go-v2/service/batch/types"
	stypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestSFNWaitSurvivesKill: an execution in a Wait state when the server is killed (-9) is
// resumed by the restarted server and succeeds; the task before the Wait (a Batch job
// submission) ran once, and so did the one after it.
func TestSFNWaitSurvivesKill(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	bc, ctx := batch.NewFromConfig(b.Config()), t.Context()
	if _, err := bc.RegisterJobDefinition(ctx, &batch.RegisterJobDefinitionInput{JobDefinitionName: aws.String("tick"), Type: btypes.JobDefinitionTypeContainer,
		ContainerProperties: &btypes.ContainerProperties{Command: []string{"true"},
			ResourceRequirements: []btypes.ResourceRequirement{{Type: btypes.ResourceTypeVcpu, Value: aws.String("1")}, {Type: btypes.ResourceTypeMemory, Value: aws.String("64")}}}}); err != nil {
		t.Fatal(err)
	}
	c := sfnClient(b)
	def := `{"StartAt":"Before","States":{
	  "Before":{"Type":"Task","Resource":"arn:aws:states:::batch:submitJob","Parameters":{"JobName":"before","JobQueue":"default","JobDefinition":"tick"},"ResultPath":null,"Next":"W"},
	  "W":{"Type":"Wait","Seconds":3,"Next":"After"},
	  "After":{"Type":"Task","Resource":"arn:aws:states:::batch:submitJob","Parameters":{"JobName":"after","JobQueue":"default","JobDefinition":"tick"},"ResultPath":"$.after","End":true}}}`
	ex := startExecution(t, c, createMachine(t, c, "durable", def, ""), "k1", `{"x":1}`)
	waitEvent(t, c, ex, stypes.HistoryEventTypeWaitStateEntered, 30*time.Second)
	b.Kill()
	b.Restart()
	c, bc = sfnClient(b), batch.NewFromConfig(b.Config())
	d := waitExecution(t, c, ex, time.Minute)
	if d.Status != stypes.ExecutionStatusSucceeded {
		t.Fatalf("after the restart: %s %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	for _, name := range []string{"before", "after"} {
		jobs, err := bc.ListJobs(ctx, &batch.ListJobsInput{JobQueue: aws.String("default"),
			Filters: []btypes.KeyValuesPair{{Name: aws.String("JOB_NAME"), Values: []string{name}}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs.JobSummaryList) != 1 {
			t.Fatalf("%d %q jobs submitted, want 1", len(jobs.JobSummaryList), name)
		}
	}
	evs := historyOf(t, c, ex)
	for i, e := range evs {
		if e.Id != int64(i+1) {
			t.Fatalf("event %d has id %d: %v", i+1, e.Id, eventTypes(evs))
		}
	}
	if n := countEvents(evs, stypes.HistoryEventTypeTaskScheduled); n != 2 {
		t.Fatalf("%d tasks scheduled: %v", n, eventTypes(evs))
	}
}
