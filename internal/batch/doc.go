// Package batch is the AWS Batch domain service: compute environments, job queues, job
// definitions and jobs, with their validation, ARNs and the job state machine
// (SUBMITTED → PENDING → RUNNABLE → STARTING → RUNNING → SUCCEEDED | FAILED).
//
// API calls validate, persist through the store, and hand work to the engine: one goroutine that
// owns every job state change after submission, drives the scheduler (package sched), starts
// attempts on the executor and records their exits. Because one goroutine owns the transitions,
// they need no locks and happen in a single order; each batch of transitions is written to the
// store before anything acts on it, so a crash loses nothing accepted.
package batch
