// Package postgres is the PostgreSQL implementation of store.Store (pgx), for several barge
// servers sharing one database: it passes the same conformance suites as the SQLite driver
// (storetest.Exercise and storetest.ExerciseShared).
//
// Every write is its own transaction; PostgreSQL orders concurrent writers, so there is no group
// commit as in the SQLite driver. Names are compared bytewise (columns in the "C" collation),
// whatever the database's default collation, so listing and paging agree with SQLite's. Claims
// use FOR UPDATE SKIP LOCKED; a fenced write checks the lease row FOR SHARE inside its
// transaction, so a lease taken over waits for it and every later write fails with
// store.ErrFenced. Migrations are applied at Open under an advisory lock, so servers starting
// together apply each once.
package postgres
