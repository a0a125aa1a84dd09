// Package postgres is the PostgreSQL implementation of store.Store (pgx), for several barge
// servers sharing one database: it passes the same conformance suites as the SQLite driver
// (storetest.Exercise and storetest.ExerciseShared).
//
// Concurrent writes of one server share a transaction and one WAL flush (group commit, as in the
// SQLite driver: groupcommit.go); PostgreSQL orders the transactions of several servers. Names are compared bytewise (columns in the "C" collation),
// whatever the database's default collation, so listing and paging agree with SQLite's. Claims
// use FOR UPDATE SKIP LOCKED; a fenced write checks the lease row FOR SHARE inside its
// transaction, so a lease taken over waits for it and every later write fails with
// store.ErrFenced. Migrations are applied at Open under an advisory lock, so servers starting
// together apply each once.
package postgres
