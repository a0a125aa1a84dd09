// Package asl is an Amazon States Language interpreter: the core of
// barge's Step Functions service, as pure logic. It owns
//
//   - parsing and validating definitions (Parse, Validate), reporting every
//     problem as a Diagnostic with AWS's codes (SCHEMA_VALIDATION_FAILED,
//     MISSING_TRANSITION_TARGET, ...) and a /States/... location;
//   - running executions (Interpreter.Start, Interpreter.Resume) of all
//     eight state types in both query languages, with workflow variables,
//     Retry and Catch, timeouts, and the execution history as AWS shapes it;
//   - running one state alone (TestState), with the TestState API's
//     inspection data.
//
// Everything external is injected: a TaskRunner performs Task resources
// (and ItemReader reads), a Clock provides time for waits, backoffs and
// timeouts, an EventSink receives history events, and Checkpoints is told of
// every transition and encodes the checkpoint only when its Snapshot is
// asked for (once per write: finished Map iterations are kept compact and
// their encoding reused, so a write does not grow with the iterations done),
// so that the service can persist an execution and Resume it after a
// restart; OnCheckpoint, which gets every checkpoint, is for tests. Nothing here touches the
// network, the disk or a store.
//
// # JSONPath
//
// Paths are evaluated by this package's own small evaluator (jsonpath.go).
// Step Functions' paths follow Jayway JSONPath: a path naming one node
// yields that node, other paths yield an array of matches, filters are
// written [?(@.x > 1)], and Step Functions adds $$ (the context object) and
// $name (a variable) as roots. ResultPath must be a reference path (one
// node, no wildcards). RFC 9535 libraries differ from this (they always
// return node lists and reject some Jayway forms), and the module may add
// only one library, which JSONata needs, so the subset is written here.
//
// # JSONata
//
// JSONata is evaluated by github.com/blues/jsonata-go v1.5.4, which
// implements JSONata 1.5 (Step Functions uses JSONata 2.x). It was chosen
// over github.com/xiatechs/jsonata-go v1.8.8 because it has no dependencies
// and follows the reference language, where the fork adds non-standard
// functions, extra dependencies and a broken $eval. Differences a
// definition may notice:
//
//   - JSONata 2.x additions are missing ($parseInteger, $formatInteger),
//     $assert is added here, and $eval, which Step Functions does not
//     allow, is absent; the @ and # bindings and the % parent operator are
//     refused when a definition is created;
//   - a JSON null in the data is converted for the library, so it is null,
//     not undefined, as in JSONata 2.x;
//   - the library's built-in functions keep per-call state shared by every
//     expression, so evaluations run one at a time;
//   - $now() and $millis() read the injected Clock.
//
// Step Functions' own functions are registered: $partition, $range, $hash
// (SHA-256 by default), $random (deterministic with a seed), $uuid and
// $parse.
//
// # Errors
//
// Failures inside an execution are *Error values with AWS's names.
// Following the error-handling guide, States.ALL does not match
// States.Runtime or States.DataLimitExceeded, States.Runtime is never
// retried or caught, States.TaskFailed matches everything but timeouts, and
// States.Timeout also matches States.HeartbeatTimeout. Path failures in
// Parameters, InputPath and OutputPath are States.Runtime (AWS reserves
// States.ParameterPathFailure). Intrinsic function failures are States.Runtime,
// as AWS reports them (States.IntrinsicFailure is reserved), and a Choice
// without a match fails with States.NoChoiceMatched.
//
// # Variables
//
// Assign is evaluated when a state succeeds: in JSONPath states "$" is the
// result after ResultSelector (the effective input for Choice and Wait, the
// error output in a Catch); in JSONata states $states.result and
// $states.errorOutput are bound. All expressions of one Assign, and the
// state's Output, read the variables as they were when the state was
// entered. Parallel branches and Map iterations run in a scope of their
// own that can read the enclosing scopes; Validate rejects an inner state
// assigning a variable an enclosing scope assigns. Children of a
// distributed Map see no outer variables.
package asl
