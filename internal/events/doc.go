// Package events is Amazon EventBridge rules on the default event bus: PutRule with a
// ScheduleExpression (rate or cron, UTC) or an EventPattern, targets (Lambda functions and SQS
// queues, with Input or InputPath), enable/disable, tags, listings — what Terraform's
// aws_cloudwatch_event_rule and aws_cloudwatch_event_target and SAM's Schedule events create.
//
// A rule with a schedule is a work item of scheduler's engine (KindRule, VisibleAt = its next
// fire), fired exactly as schedules are: the "Scheduled Event" goes to each target, a failed
// delivery is retried (scheduler.Attempt) and then sent to the target's DeadLetterConfig.
// Rules with an EventPattern get the events that match them (package eventfilter): PutEvents'
// entries and the events barge's services publish on the Bus (AWS Batch's "Batch Job State
// Change"), matched off the caller's path by one goroutine and delivered as scheduled events are.
package events
