// Package sfn is barge's AWS Step Functions service: state machines, their
// versions and aliases, executions, activities and tags, with AWS's errors,
// over the Amazon States Language interpreter of package asl.
//
// # Records
//
// Everything lives in barge's store as resources of the caller's scope
// (account and region, account.Scope):
//
//   - sfn-state-machine (name: the machine's name): its definition, role,
//     type, revision and tags; sfn-state-machine-version (same name,
//     revision = version number) and sfn-state-machine-alias
//     ("machine:alias") hold what PublishStateMachineVersion and
//     CreateStateMachineAlias made.
//   - sfn-execution ("machine:execution", status column = execution status):
//     what DescribeExecution returns, the definition it runs, and for an
//     execution that ended unsuccessfully the checkpoint RedriveExecution
//     resumes from.
//   - sfn-history (same name, revision = chunk number): the history events,
//     appended in chunks as they happen.
//   - sfn-run (same name): the work item of a RUNNING STANDARD execution, with
//     the interpreter's latest checkpoint. Its owner (a server) holds it with a
//     lease it renews; a run that waits (a Wait state or a retry backoff of
//     every running branch) is suspended and left unowned, visible at the
//     moment it wakes, and any server claims it then (store.ResourceClaim) and
//     resumes it (asl.Interpreter.Resume). After a crash the same holds: the
//     lease lapses and the run is claimed again — at once by the same server
//     name restarting.
//   - sfn-activity (the activity's name).
//
// EXPRESS executions run in memory only, as AWS keeps no history of them:
// DescribeExecution, ListExecutions and GetExecutionHistory refuse them as
// AWS does, and a restart loses those in flight.
//
// # Tasks
//
// Task states run barge's own services in-process, in the state machine's
// scope: Lambda (arn:aws:states:::lambda:invoke and bare function ARNs),
// Batch (arn:aws:states:::batch:submitJob and .sync), SQS
// (arn:aws:states:::sqs:sendMessage), nested executions
// (arn:aws:states:::states:startExecution, .sync and .sync:2), activities
// and .waitForTaskToken callbacks (served lists them; anything else is
// refused at creation). A .sync Task records the job or child execution it
// started (asl.TaskRequest.Submit: a TaskSubmitted event and the
// checkpoint, written at once), and the attempt resumed after a restart
// waits for that one instead of starting another; a .sync Task given up
// otherwise (stopped, timed out, a sibling failed) terminates its job or
// stops its child.
package sfn
