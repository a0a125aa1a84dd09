// Package store defines the durable storage seam of barge: the Store interface that the domain
// services write through, and the record types it persists. The store is the source of truth;
// every in-memory index (the scheduler's runnable queues, running jobs) is rebuilt from it on start.
//
// Drivers live in subpackages (sqlite, later postgres) and must all pass the conformance suite in
// storetest. Records carry their AWS-shaped detail as an opaque JSON body plus the few columns that
// queries filter on, so the store never depends on the API shapes.
package store
