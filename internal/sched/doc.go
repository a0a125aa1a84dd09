// Package sched is barge's scheduler: pure placement logic with no I/O. It keeps, per job queue,
// the jobs waiting for capacity (RUNNABLE) and, per compute environment, the capacity in use, and
// on each Schedule call decides which waiting jobs start where.
//
// Policy (see docs/scheduler.md):
//   - queues sharing a compute environment are served in descending priority (ties by name);
//   - within a queue, jobs are considered in submission order;
//   - a job is placed on the first compute environment of its queue (in the queue's order) whose
//     free vCPU, memory and GPU all cover its needs;
//   - a job that does not fit now is skipped, not waited on, so small jobs behind a big one still
//     start (no head-of-line blocking);
//   - a job whose needs exceed the total capacity of every enabled compute environment of its queue
//     can never run; Schedule reports it as unschedulable instead of keeping it forever.
//
// The caller (the batch service) owns all state changes and persistence; this package only
// decides. It is not safe for concurrent use: one goroutine drives it.
package sched
