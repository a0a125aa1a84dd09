package compat

// eventsNotes is the EventBridge part of Notes (package events): rules of the default event bus.
// TestEventsScheduledRule drives them through aws-sdk-go-v2 (a rate(1 minute) rule firing a
// function and a queue), TestSchedulerBoto3 through boto3, TestSchedulerCLI through the AWS CLI.
var eventsNotes = map[string]Note{
	"PutRule": {Level: Tested, Tests: eventsAll, Ignored: []string{
		"the default event bus only; rules with an `EventPattern` are validated and stored, never fired (no `PutEvents` yet)",
		"`RoleArn` is stored, not assumed",
	}},
	"DescribeRule": {Level: Tested, Tests: eventsAll},
	"DeleteRule":   {Level: Tested, Tests: []string{"TestEventsScheduledRule", "TestSchedulerBoto3"}},
	"EnableRule":   {Level: Tested, Tests: []string{"TestSchedulerBoto3"}},
	"DisableRule":  {Level: Tested, Tests: []string{"TestSchedulerBoto3"}},
	"ListRules":    {Level: Tested, Tests: eventsAll},
	"PutTargets": {Level: Tested, Tests: eventsAll, Ignored: []string{
		"targets: Lambda functions (invoked asynchronously), SQS queues and Step Functions state machines, with `Input` or `InputPath` (`$.key.key`); `InputTransformer` and other target types are reported in `FailedEntries`",
	}},
	"RemoveTargets":         {Level: Tested, Tests: []string{"TestEventsScheduledRule", "TestSchedulerBoto3"}},
	"ListTargetsByRule":     {Level: Tested, Tests: []string{"TestEventsScheduledRule", "TestSchedulerBoto3"}},
	"ListRuleNamesByTarget": {Level: Tested, Tests: []string{"TestEventsScheduledRule", "TestSchedulerBoto3"}},
	"TagResource":           {Level: Tested, Tests: []string{"TestSchedulerBoto3"}, Ignored: []string{"rules only"}},
	"UntagResource":         {Level: Tested, Tests: []string{"TestSchedulerBoto3"}, Ignored: []string{"rules only"}},
	"ListTagsForResource":   {Level: Tested, Tests: []string{"TestEventsScheduledRule", "TestSchedulerBoto3"}, Ignored: []string{"rules only"}},
}

var eventsAll = []string{"TestEventsScheduledRule", "TestSchedulerBoto3", "TestSchedulerCLI"}

func init() { Notes["events"] = eventsNotes }
