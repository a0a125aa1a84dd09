package e2e_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	btypes "github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	stypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestSFNSyncBatchSurvivesKill: the server is killed (-9) while a Batch .sync state waits on
// its running job; after the restart the state re-attaches to that job (which Batch retries,
// its attempt having been lost with the host) and the execution succeeds with one job only.
func TestSFNSyncBatchSurvivesKill(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	bc, ctx := b.Batch(), t.Context()
	if _, err := bc.RegisterJobDefinition(ctx, &batch.RegisterJobDefinitionInput{JobDefinitionName: aws.String("nap"), Type: btypes.JobDefinitionTypeContainer,
		ContainerProperties: &btypes.ContainerProperties{Command: []string{"sleep", "3"},
			ResourceRequirements: []btypes.ResourceRequirement{{Type: btypes.ResourceTypeVcpu, Value: aws.String("1")}, {Type: btypes.ResourceTypeMemory, Value: aws.String("64")}}}}); err != nil {
		t.Fatal(err)
	}
	c := sfnClient(b)
	def := `{"StartAt":"Job","States":{"Job":{"Type":"Task","Resource":"arn:aws:states:::batch:submitJob.sync",
	  "Parameters":{"JobName":"nap","JobQueue":"default","JobDefinition":"nap","RetryStrategy":{"Attempts":2}},
	  "ResultSelector":{"id.$":"$.JobId","status.$":"$.Status"},"End":true}}}`
	ex := startExecution(t, c, createMachine(t, c, "sync-crash", def, ""), "k1", `{}`)
	sub := waitEvent(t, c, ex, stypes.HistoryEventTypeTaskSubmitted, time.Minute)
	var submitted struct{ JobId string }
	if err := json.Unmarshal([]byte(aws.ToString(sub.TaskSubmittedEventDetails.Output)), &submitted); err != nil || submitted.JobId == "" {
		t.Fatalf("TaskSubmitted output %s: %v", aws.ToString(sub.TaskSubmittedEventDetails.Output), err)
	}
	bargetest.WaitJob(t, bc, submitted.JobId, jobWait, func(s string) bool { return s == "RUNNING" || terminal(s) })
	b.Kill()
	b.Restart()
	c, bc = sfnClient(b), b.Batch()
	d := waitExecution(t, c, ex, 2*time.Minute)
	if d.Status != stypes.ExecutionStatusSucceeded {
		t.Fatalf("after the restart: %s %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	var out struct{ ID, Status string }
	if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &out); err != nil || out.ID != submitted.JobId || out.Status != "SUCCEEDED" {
		t.Fatalf("output %s, want job %s", aws.ToString(d.Output), submitted.JobId)
	}
	jobs, err := bc.ListJobs(ctx, &batch.ListJobsInput{JobQueue: aws.String("default"),
		Filters: []btypes.KeyValuesPair{{Name: aws.String("JOB_NAME"), Values: []string{"nap"}}}})
	if err != nil || len(jobs.JobSummaryList) != 1 {
		t.Fatalf("jobs submitted: %+v %v", jobs, err)
	}
	evs := historyOf(t, c, ex)
	if n := countEvents(evs, stypes.HistoryEventTypeTaskSubmitted); n != 1 {
		t.Fatalf("%d TaskSubmitted events: %v", n, eventTypes(evs))
	}
	for i, e := range evs {
		if e.Id != int64(i+1) {
			t.Fatalf("event %d has id %d: %v", i+1, e.Id, eventTypes(evs))
		}
	}
}

// TestSFNSyncNestedSurvivesKill: the server is killed (-9) while a parent waits (.sync:2) on
// a child execution in a Wait; after the restart the parent re-attaches to the same child,
// and only one child execution exists.
func TestSFNSyncNestedSurvivesKill(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := sfnClient(b), t.Context()
	child := createMachine(t, c, "napper", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":2,"Next":"P"},
	  "P":{"Type":"Pass","Parameters":{"got.$":"$.x"},"End":true}}}`, "")
	def := `{"StartAt":"C","States":{"C":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2",
	  "Parameters":{"StateMachineArn":"` + child + `","Input":{"x.$":"$.x"}},"OutputPath":"$.Output","End":true}}}`
	ex := startExecution(t, c, createMachine(t, c, "nest-crash", def, ""), "k1", `{"x":"y"}`)
	waitEvent(t, c, ex, stypes.HistoryEventTypeTaskSubmitted, time.Minute)
	b.Kill()
	b.Restart()
	c = sfnClient(b)
	d := waitExecution(t, c, ex, time.Minute)
	if d.Status != stypes.ExecutionStatusSucceeded || aws.ToString(d.Output) != `{"got":"y"}` {
		t.Fatalf("after the restart: %s %s %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause), aws.ToString(d.Output))
	}
	l, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(child)})
	if err != nil || len(l.Executions) != 1 {
		t.Fatalf("child executions: %+v %v", l, err)
	}
}
