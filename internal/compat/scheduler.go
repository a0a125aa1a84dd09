package compat

// schedulerNotes is the EventBridge Scheduler part of Notes (package scheduler). TestScheduler
// drives it through aws-sdk-go-v2 (targets firing, a dead-letter queue, groups), TestSchedulerBoto3
// through boto3, TestSchedulerCLI through the AWS CLI, TestSchedulerKillWhileDue across a kill -9;
// the engine's timing is unit-tested on a fake clock (internal/scheduler).
var schedulerNotes = map[string]Note{
	"CreateSchedule": {Level: Tested, Tests: schedulerAll, Ignored: []string{
		"targets: Lambda functions (invoked asynchronously), SQS queues, Step Functions state machines (StartExecution; TestScheduler), and the universal targets `arn:aws:scheduler:::aws-sdk:batch:submitJob` and `arn:aws:scheduler:::aws-sdk:sqs:sendMessage`; other targets are refused",
		"`RoleArn` is required and not assumed (the schedule acts in its own account); `KmsKeyArn`, `ClientToken` are stored or ignored",
		"occurrences missed while no server ran fire once, late, within `MaximumEventAgeInSeconds`, then the schedule goes on from now (docs/triggers.md)",
		"retries back off from 1 s doubling to 5 minutes",
	}},
	"GetSchedule":         {Level: Tested, Tests: schedulerAll},
	"UpdateSchedule":      {Level: Tested, Tests: []string{"TestSchedulerBoto3"}},
	"DeleteSchedule":      {Level: Tested, Tests: []string{"TestSchedulerBoto3"}},
	"ListSchedules":       {Level: Tested, Tests: schedulerAll},
	"CreateScheduleGroup": {Level: Tested, Tests: schedulerAll},
	"GetScheduleGroup":    {Level: Tested, Tests: []string{"TestScheduler", "TestSchedulerBoto3"}},
	"DeleteScheduleGroup": {Level: Tested, Tests: []string{"TestScheduler", "TestSchedulerBoto3"}, Ignored: []string{"the group and its schedules are deleted at once (no DELETING state)"}},
	"ListScheduleGroups":  {Level: Tested, Tests: []string{"TestScheduler", "TestSchedulerCLI"}},
	"TagResource":         {Level: Tested, Tests: []string{"TestSchedulerBoto3"}},
	"UntagResource":       {Level: Tested, Tests: []string{"TestSchedulerBoto3"}},
	"ListTagsForResource": {Level: Tested, Tests: []string{"TestScheduler", "TestSchedulerBoto3"}},
}

var schedulerAll = []string{"TestScheduler", "TestSchedulerBoto3", "TestSchedulerCLI"}

func init() { Notes["scheduler"] = schedulerNotes }
