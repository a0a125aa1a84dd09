// Package scheduler is Amazon EventBridge Scheduler (schedules, schedule groups, their tags)
// and the firing engine that EventBridge rules with a ScheduleExpression (package events)
// share.
//
// The engine keeps no timers of its own: every schedule is a store work item whose VisibleAt
// is its next invocation time (its next occurrence, moved within the flexible time window).
// Each server's engine claims the due items (store.ResourceClaim, owner = the server's name,
// a one-minute lease), fires them, computes the next occurrence with package schedule and
// writes it back, conditional on the claim's version. So several servers on one store never
// fire one occurrence twice, and a stopped server loses none: an item is due until a fire
// wrote it forward.
//
// Occurrences missed while no server ran fire once, late, when a server comes back: the
// earliest missed occurrence is delivered if it is no older than the target's
// RetryPolicy.MaximumEventAgeInSeconds (default 24 h), else it goes to the dead-letter queue (or
// is dropped without one); the others are skipped, and the schedule goes on from the next
// occurrence after now. A delivery that fails (no such function or queue, a throttle) is
// retried as its own work item with exponential backoff up to MaximumRetryAttempts (default
// 185) and within the event age; then the event goes to the target's DeadLetterConfig queue
// with Scheduler's error attributes.
//
// Targets are called in-process in the schedule's account and region: a Lambda function
// (invoked asynchronously), an SQS queue (SendMessage), and the universal targets
// arn:aws:scheduler:::aws-sdk:batch:submitJob and arn:aws:scheduler:::aws-sdk:sqs:sendMessage
// whose Input is the API request.
package scheduler
