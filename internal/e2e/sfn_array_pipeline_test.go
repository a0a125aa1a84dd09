package e2e_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	btypes "github.com/aws/aws-sdk-go-v2/service/batch/types"
	stypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestSFNArrayPipeline runs the pipeline against the real services: a function
// validates the input (lambda:invoke), an array job of 3 children runs to its end
// (batch:submitJob.sync), a Parallel state calls two functions, a Choice reads their results
// and the execution succeeds. A second execution, whose array has its child 1 failing, fails
// the .sync state with States.TaskFailed and the job's status reason, and is caught.
func TestSFNArrayPipeline(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	sfnFunctions(t, b)
	bc, ctx := batch.NewFromConfig(b.Config()), t.Context()
	register(t, bc, "align-array", &btypes.ContainerProperties{Command: []string{"sh", "-c", `test "$AWS_BATCH_JOB_ARRAY_INDEX" != "$FAIL_INDEX"`},
		ResourceRequirements: reqs("1", "128")})
	def := `{"StartAt":"Validate","States":{
	  "Validate":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"double","Payload":{"n.$":"$.n"}},
	    "ResultSelector":{"n.$":"$.Payload.n"},"ResultPath":"$.validated","Next":"Align"},
	  "Align":{"Type":"Task","Resource":"arn:aws:states:::batch:submitJob.sync","Parameters":{"JobName":"align","JobQueue":"default",
	    "JobDefinition":"align-array","ArrayProperties":{"Size":3},
	    "ContainerOverrides":{"Environment":[{"Name":"FAIL_INDEX","Value.$":"$.failIndex"}]}},
	    "ResultPath":"$.job","Catch":[{"ErrorEquals":["States.TaskFailed"],"ResultPath":"$.err","Next":"AlignFailed"}],"Next":"Analyse"},
	  "AlignFailed":{"Type":"Pass","End":true},
	  "Analyse":{"Type":"Parallel","Branches":[
	    {"StartAt":"Twice","States":{"Twice":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
	      "Parameters":{"FunctionName":"double","Payload":{"n.$":"$.validated.n"}},"OutputPath":"$.Payload","End":true}}},
	    {"StartAt":"Also","States":{"Also":{"Type":"Task","Resource":"` + fnARN + `double","Parameters":{"n.$":"$.n"},"End":true}}}],
	    "ResultPath":"$.analyses","Next":"Check"},
	  "Check":{"Type":"Choice","Choices":[{"And":[{"Variable":"$.analyses[0].n","NumericEquals":8},{"Variable":"$.analyses[1].n","NumericEquals":4}],"Next":"Done"}],"Default":"Bad"},
	  "Bad":{"Type":"Fail","Error":"BadAnalyses"},
	  "Done":{"Type":"Succeed"}}}`
	c := sfnClient(b)
	machine := createMachine(t, c, "array-pipeline", def, "")

	// Both executions run at once; the first has no failing child.
	good := startExecution(t, c, machine, "all-succeed", `{"n":2,"failIndex":"-1"}`)
	bad := startExecution(t, c, machine, "child-1-fails", `{"n":2,"failIndex":"1"}`)

	d := waitExecution(t, c, good, 5*time.Minute)
	if d.Status != stypes.ExecutionStatusSucceeded {
		t.Fatalf("pipeline %s: %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	var out struct {
		Validated struct{ N int }
		Job       struct {
			JobID           string `json:"JobId"`
			Status          string
			ArrayProperties struct {
				Size          int
				StatusSummary map[string]int
			}
		}
		Analyses []struct{ N int }
	}
	if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &out); err != nil {
		t.Fatal(err)
	}
	if out.Validated.N != 4 || out.Job.Status != "SUCCEEDED" || out.Job.ArrayProperties.Size != 3 ||
		out.Job.ArrayProperties.StatusSummary["SUCCEEDED"] != 3 || len(out.Analyses) != 2 {
		t.Fatalf("output %s", aws.ToString(d.Output))
	}
	jobs, err := bc.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: []string{out.Job.JobID, out.Job.JobID + ":0", out.Job.JobID + ":1", out.Job.JobID + ":2"}})
	if err != nil || len(jobs.Jobs) != 4 {
		t.Fatalf("the array and its children: %+v %v", jobs, err)
	}
	for _, j := range jobs.Jobs {
		if j.Status != btypes.JobStatusSucceeded {
			t.Errorf("job %s is %s", aws.ToString(j.JobId), j.Status)
		}
	}
	evs := historyOf(t, c, good)
	for typ, n := range map[stypes.HistoryEventType]int{stypes.HistoryEventTypeTaskScheduled: 3, stypes.HistoryEventTypeTaskSubmitted: 1,
		stypes.HistoryEventTypeTaskSucceeded: 3, stypes.HistoryEventTypeLambdaFunctionSucceeded: 1,
		stypes.HistoryEventTypeParallelStateSucceeded: 1, stypes.HistoryEventTypeChoiceStateEntered: 1,
		stypes.HistoryEventTypeSucceedStateEntered: 1, stypes.HistoryEventTypeExecutionSucceeded: 1} {
		if got := countEvents(evs, typ); got != n {
			t.Errorf("%d %s events, want %d: %v", got, typ, n, eventTypes(evs))
		}
	}

	// The second: child 1 fails, so does the array, so does Align, caught by States.TaskFailed.
	d = waitExecution(t, c, bad, 5*time.Minute)
	if d.Status != stypes.ExecutionStatusSucceeded {
		t.Fatalf("failing array %s: %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	var caught struct {
		Err      struct{ Error, Cause string }
		Job      any
		Analyses any
	}
	if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &caught); err != nil {
		t.Fatal(err)
	}
	if caught.Err.Error != "States.TaskFailed" || caught.Job != nil || caught.Analyses != nil {
		t.Fatalf("failing array output %s", aws.ToString(d.Output))
	}
	evs = historyOf(t, c, bad)
	var jobID string
	for _, e := range evs {
		if e.Type == stypes.HistoryEventTypeTaskSubmitted {
			var sub struct {
				JobID string `json:"JobId"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(e.TaskSubmittedEventDetails.Output)), &sub); err != nil {
				t.Fatal(err)
			}
			jobID = sub.JobID
		}
	}
	if jobID == "" || countEvents(evs, stypes.HistoryEventTypeTaskFailed) != 1 || countEvents(evs, stypes.HistoryEventTypeParallelStateEntered) != 0 {
		t.Fatalf("failing array history: %v", eventTypes(evs))
	}
	jobs, err = bc.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: []string{jobID, jobID + ":0", jobID + ":1", jobID + ":2"}})
	if err != nil || len(jobs.Jobs) != 4 {
		t.Fatalf("the failed array and its children: %+v %v", jobs, err)
	}
	want := map[string]btypes.JobStatus{jobID: btypes.JobStatusFailed, jobID + ":0": btypes.JobStatusSucceeded,
		jobID + ":1": btypes.JobStatusFailed, jobID + ":2": btypes.JobStatusSucceeded}
	for _, j := range jobs.Jobs {
		if j.Status != want[aws.ToString(j.JobId)] {
			t.Errorf("job %s is %s, want %s", aws.ToString(j.JobId), j.Status, want[aws.ToString(j.JobId)])
		}
		if aws.ToString(j.JobId) == jobID {
			reason := aws.ToString(j.StatusReason)
			t.Logf("the array's status reason %q; the caught cause %q", reason, caught.Err.Cause)
			if reason == "" || !strings.Contains(caught.Err.Cause, reason) {
				t.Errorf("caught cause %q does not hold the array's status reason %q", caught.Err.Cause, reason)
			}
		}
	}
}
