// Package fn is barge's function runtime core: it runs Lambda-compatible functions as processes
// and invokes them.
//
// It owns
//
//   - the Lambda Runtime API (runtimeapi.go): the HTTP interface a function's bootstrap polls for
//     events (GET /2018-06-01/runtime/invocation/next) and answers
//     (.../invocation/{id}/response, .../invocation/{id}/error, /runtime/init/error), with the
//     status codes and bodies of AWS's runtime interface emulator;
//   - the instance [Pool] (pool.go): starting a function version's bootstrap through an
//     exec.Executor with Lambda's standard environment, reusing warm instances, enforcing
//     per-function and per-account concurrency ([ErrThrottled]), timeouts, crash handling,
//     scale to zero after an idle period, and the START/END/REPORT lines Lambda writes to the
//     function's log stream.
//
// It does not own the Lambda HTTP API (CreateFunction, Invoke, ...), code storage, versions or
// aliases: callers hand it a resolved [FunctionSpec] with the code already unpacked. See
// docs/functions.md.
package fn
