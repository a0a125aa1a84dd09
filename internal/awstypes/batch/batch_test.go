package batch

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/barge-run/barge/internal/awstypes"
)

// roundTrip decodes doc into v, refusing unknown fields, and checks that encoding v gives the
// same document back: a renamed or dropped member would lose data on the wire.
func roundTrip(t *testing.T, doc string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode into %T: %v", v, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	if err := json.Unmarshal([]byte(doc), &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("%T did not round-trip:\n in: %s\nout: %s", v, doc, out)
	}
}

func TestSubmitJobRequestRoundTrip(t *testing.T) {
	var req SubmitJobRequest
	roundTrip(t, `{
		"jobName": "nightly-etl",
		"jobQueue": "arn:aws:batch:us-east-1:123456789012:job-queue/default",
		"jobDefinition": "etl:3",
		"shareIdentifier": "team-a",
		"schedulingPriorityOverride": 10,
		"arrayProperties": {"size": 4},
		"dependsOn": [{"jobId": "6f3c1c1e-0000-4000-8000-000000000001", "type": "N_TO_N"}],
		"parameters": {"inputPath": "s3://bucket/in", "date": "2024-01-01"},
		"containerOverrides": {
			"command": ["python", "etl.py", "Ref::inputPath"],
			"environment": [{"name": "STAGE", "value": "prod"}, {"name": "DEBUG", "value": "0"}],
			"resourceRequirements": [{"type": "VCPU", "value": "2"}, {"type": "MEMORY", "value": "4096"}],
			"instanceType": "m5.large"
		},
		"retryStrategy": {
			"attempts": 3,
			"evaluateOnExit": [
				{"onExitCode": "137", "action": "RETRY"},
				{"onReason": "*", "action": "EXIT"}
			]
		},
		"propagateTags": false,
		"timeout": {"attemptDurationSeconds": 3600},
		"tags": {"owner": "data"}
	}`, &req)
	if req.JobName != "nightly-etl" || req.ContainerOverrides == nil || len(req.ContainerOverrides.Command) != 3 {
		t.Errorf("decoded %+v", req)
	}
	if req.RetryStrategy.EvaluateOnExit[0].Action != RetryActionRetry {
		t.Errorf("action = %q", req.RetryStrategy.EvaluateOnExit[0].Action)
	}
	if rr := req.ContainerOverrides.ResourceRequirements[1]; rr.Type != ResourceTypeMemory || rr.Value != "4096" {
		t.Errorf("resource requirement = %+v", rr)
	}
	// *bool keeps an explicit false, which omitempty on a plain bool would drop.
	if req.PropagateTags == nil || *req.PropagateTags {
		t.Error("propagateTags=false lost")
	}
}

func TestDescribeJobsResponseRoundTrip(t *testing.T) {
	var resp DescribeJobsResponse
	roundTrip(t, `{"jobs": [{
		"jobArn": "arn:aws:batch:us-east-1:123456789012:job/6f3c1c1e",
		"jobName": "nightly-etl",
		"jobId": "6f3c1c1e",
		"jobQueue": "arn:aws:batch:us-east-1:123456789012:job-queue/default",
		"status": "FAILED",
		"statusReason": "Essential container in task exited",
		"attempts": [{
			"container": {"exitCode": 1, "logStreamName": "etl/default/abc", "reason": "boom", "taskArn": "arn:aws:ecs:task/1"},
			"startedAt": 1700000001000,
			"stoppedAt": 1700000061000,
			"statusReason": "Essential container in task exited"
		}],
		"createdAt": 1700000000000,
		"startedAt": 1700000001000,
		"stoppedAt": 1700000061000,
		"retryStrategy": {"attempts": 1},
		"dependsOn": [],
		"jobDefinition": "arn:aws:batch:us-east-1:123456789012:job-definition/etl:3",
		"parameters": {"inputPath": "s3://bucket/in"},
		"container": {
			"image": "public.ecr.aws/docker/library/python:3.12",
			"command": ["python", "etl.py"],
			"jobRoleArn": "arn:aws:iam::123456789012:role/etl",
			"volumes": [{"name": "scratch", "host": {"sourcePath": "/tmp"}}],
			"environment": [{"name": "STAGE", "value": "prod"}],
			"mountPoints": [{"containerPath": "/scratch", "readOnly": false, "sourceVolume": "scratch"}],
			"ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}],
			"exitCode": 1,
			"reason": "boom",
			"logStreamName": "etl/default/abc",
			"networkInterfaces": [],
			"resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}],
			"logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/aws/batch/job"}, "secretOptions": []},
			"secrets": []
		},
		"timeout": {"attemptDurationSeconds": 3600},
		"tags": {"owner": "data"},
		"propagateTags": true,
		"platformCapabilities": ["EC2"],
		"eksAttempts": [],
		"isCancelled": false,
		"isTerminated": false
	}]}`, &resp)
	j := resp.Jobs[0]
	if j.Status != JobStatusFailed || *j.CreatedAt != 1700000000000 || *j.Attempts[0].Container.ExitCode != 1 {
		t.Errorf("decoded %+v", j)
	}
	if j.Container.LogConfiguration.LogDriver != LogDriverAwslogs {
		t.Errorf("logDriver = %q", j.Container.LogConfiguration.LogDriver)
	}
}

func TestComputeAndQueueShapesRoundTrip(t *testing.T) {
	var ce DescribeComputeEnvironmentsResponse
	roundTrip(t, `{"computeEnvironments": [{
		"computeEnvironmentName": "spot",
		"computeEnvironmentArn": "arn:aws:batch:us-east-1:123456789012:compute-environment/spot",
		"ecsClusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/spot",
		"type": "MANAGED",
		"state": "ENABLED",
		"status": "VALID",
		"computeResources": {
			"type": "SPOT",
			"allocationStrategy": "SPOT_CAPACITY_OPTIMIZED",
			"minvCpus": 0, "maxvCpus": 256, "desiredvCpus": 0,
			"instanceTypes": ["optimal"],
			"subnets": ["subnet-1"], "securityGroupIds": ["sg-1"],
			"instanceRole": "ecsInstanceRole", "bidPercentage": 60,
			"tags": {"k": "v"}
		},
		"serviceRole": "arn:aws:iam::123456789012:role/batch",
		"containerOrchestrationType": "ECS",
		"uuid": "0000"
	}], "nextToken": "t1"}`, &ce)
	if ce.ComputeEnvironments[0].ComputeResources.Type != CRTypeSpot {
		t.Errorf("type = %q", ce.ComputeEnvironments[0].ComputeResources.Type)
	}

	var jq DescribeJobQueuesResponse
	roundTrip(t, `{"jobQueues": [{
		"jobQueueName": "default", "jobQueueArn": "arn:aws:batch:us-east-1:123456789012:job-queue/default",
		"state": "ENABLED", "status": "VALID", "statusReason": "JobQueue Healthy", "priority": 1,
		"computeEnvironmentOrder": [{"order": 1, "computeEnvironment": "arn:ce/spot"}],
		"tags": {"k": "v"}
	}]}`, &jq)

	var defs DescribeJobDefinitionsResponse
	roundTrip(t, `{"jobDefinitions": [{
		"jobDefinitionName": "etl", "jobDefinitionArn": "arn:aws:batch:us-east-1:123456789012:job-definition/etl:3",
		"revision": 3, "status": "ACTIVE", "type": "container",
		"parameters": {"inputPath": "s3://bucket/in"},
		"containerProperties": {
			"image": "busybox", "vcpus": 1, "memory": 512, "command": ["echo", "Ref::inputPath"],
			"resourceRequirements": [{"type": "GPU", "value": "1"}],
			"environment": [{"name": "A", "value": "b"}]
		},
		"retryStrategy": {"attempts": 2},
		"timeout": {"attemptDurationSeconds": 60},
		"platformCapabilities": ["EC2"],
		"containerOrchestrationType": "ECS"
	}]}`, &defs)

	var list ListJobsRequest
	roundTrip(t, `{"jobQueue": "default", "jobStatus": "RUNNING", "maxResults": 100, "nextToken": "abc",
		"filters": [{"name": "JOB_NAME", "values": ["etl*"]}]}`, &list)
	var listResp ListJobsResponse
	roundTrip(t, `{"jobSummaryList": [{"jobArn": "arn:job/1", "jobId": "1", "jobName": "etl", "createdAt": 1700000000000,
		"status": "SUCCEEDED", "statusReason": "done", "startedAt": 1700000001000, "stoppedAt": 1700000002000,
		"container": {"exitCode": 0}, "jobDefinition": "arn:jd/etl:3"}], "nextToken": "n"}`, &listResp)

	// nil stays off the wire, an empty list is sent as [] like AWS does.
	for v, want := range map[*ListJobsResponse]string{
		{}:                               `{}`,
		{JobSummaryList: []JobSummary{}}: `{"jobSummaryList":[]}`,
	} {
		if out, _ := json.Marshal(v); string(out) != want {
			t.Errorf("Marshal = %s, want %s", out, want)
		}
	}

	var sub SubmitJobResponse
	roundTrip(t, `{"jobArn": "arn:job/1", "jobName": "etl", "jobId": "1"}`, &sub)
}

func TestTables(t *testing.T) {
	if APIVersion != "2016-08-10" || EndpointPrefix != "batch" || Protocol != "rest-json" {
		t.Errorf("metadata %s %s %s", APIVersion, EndpointPrefix, Protocol)
	}
	if !slices.IsSortedFunc(Operations, func(a, b awstypes.Operation) int { return strings.Compare(a.Name, b.Name) }) {
		t.Error("Operations not sorted")
	}
	i := slices.IndexFunc(Operations, func(o awstypes.Operation) bool { return o.Name == "SubmitJob" })
	if i < 0 {
		t.Fatal("SubmitJob missing")
	}
	op := Operations[i]
	if op.Method != "POST" || op.RequestURI != "/v1/submitjob" || op.Input != "SubmitJobRequest" || op.Output != "SubmitJobResponse" ||
		!slices.Equal(op.Errors, []string{"ClientException", "ServerException"}) {
		t.Errorf("SubmitJob = %+v", op)
	}
	if Exceptions["ClientException"] != 400 || Exceptions["ServerException"] != 500 {
		t.Errorf("Exceptions = %v", Exceptions)
	}
	if got := Required["SubmitJobRequest"]; !slices.Equal(got, []string{"jobName", "jobQueue", "jobDefinition"}) {
		t.Errorf("Required[SubmitJobRequest] = %v", got)
	}
	if JobStatusSubmitted != "SUBMITTED" || !slices.Contains(JobStatus("").Values(), JobStatusRunnable) || len(JQState("").Values()) != 2 {
		t.Error("enum constants wrong")
	}
}
