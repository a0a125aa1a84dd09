// Package sched is barge's scheduler: pure placement logic with no I/O. It keeps, per job queue,
// the jobs waiting for capacity (RUNNABLE) and, per compute environment, the capacity in use, and
// on each Schedule call decides which waiting jobs start where.
//
// Policy (see docs/scheduler.md):
//   - queues sharing a compute environment are served in descending priority (ties by name);
//   - within a FIFO queue, jobs are considered in submission order (Job.Share and Job.Priority
//     are ignored, as in AWS);
//   - within a fair-share queue (Queue.FairShare), jobs are grouped by share identifier; the next
//     job comes from the share with the lowest decayed vCPU usage times its weight factor, and
//     within a share higher scheduling priority goes first, then submission order; the compute
//     reservation caps the queue's running vCPUs to keep room for shares not active yet;
//   - a job is placed on the first compute environment of its queue (in the queue's order) whose
//     free vCPU, memory and GPU all cover its needs;
//   - a job that does not fit now is skipped, not waited on, so small jobs behind a big one still
//     start (no head-of-line blocking) — until it has waited Queue.ReserveAfter: then the compute
//     environment it fits best is reserved for it (one reservation per compute environment) and
//     takes no job from its queue or lower-priority queues until it fits;
//   - a job whose needs exceed the total capacity of every compute environment of its queue
//     (enabled or not) can never run; with Queue.FailUnschedulable, Schedule reports it as
//     unschedulable instead of keeping it forever.
//
// Time (waiting, usage, share activity) comes from the clock set with SetClock.
//
// The caller (the batch service) owns all state changes and persistence; this package only
// decides. It is not safe for concurrent use: one goroutine drives it.
package sched
