// Package esm is Lambda's event source mappings from SQS queues to functions: the API
// (CreateEventSourceMapping and the rest of that group of the Lambda model) and the pollers
// that drain a queue into a function in batches.
//
// A mapping is a store resource (KindMapping, named by its UUID, in the scope that created it).
// Its pollers are store work items too (KindSlot, "<uuid>#<n>", one per unit of concurrency):
// a server runs a poller only for a slot it has claimed (store.ResourceClaim, owner = the
// server's name, the lease renewed while it runs), so several servers on one store never run
// more pollers of a mapping than its MaximumConcurrency. Slot 0 of an enabled mapping is always
// claimable and long-polls the queue; the others are parked (visible never) until a poller
// receives a full batch, which wakes the next slot, and a poller other than slot 0 that finds
// the queue empty parks its slot again: pollers scale with the backlog and stop when it is gone.
//
// Messages are received through barge's own SQS service (so SQS's claim, visibility timeout and
// dead-letter queue apply as to any receiver) and the function is invoked through barge's
// Lambda service in the mapping's scope, synchronously, with the event in AWS's Records shape.
// A successful batch is deleted; a failed one (a function error, a timeout, a throttle) is
// left to return after the queue's visibility timeout; with ReportBatchItemFailures only the
// listed itemIdentifiers stay. Records that match none of FilterCriteria's filters are deleted
// without an invocation, as Lambda does.
package esm
