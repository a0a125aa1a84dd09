// Package events is Amazon EventBridge rules on the default event bus: PutRule with a
// ScheduleExpression (rate or cron, UTC) or an EventPattern, targets (Lambda functions and SQS
// queues, with Input or InputPath), enable/disable, tags, listings — what Terraform's
// aws_cloudwatch_event_rule and aws_cloudwatch_event_target and SAM's Schedule events create.
//
// A rule with a schedule is a work item of scheduler's engine (KindRule, VisibleAt = its next
// fire), fired exactly as schedules are: the "Scheduled Event" goes to each target, a failed
// delivery is retried (scheduler.Attempt) and then sent to the target's DeadLetterConfig.
// Rules with an EventPattern are validated (package eventfilter) and stored; barge has no
// PutEvents yet, so nothing fires them.
package events
