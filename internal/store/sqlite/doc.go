// Package sqlite is the embedded Store driver: one SQLite file in WAL mode, written through a
// single connection with group commit (concurrent writes share one transaction and one fsync) and
// read through a pool of connections that never block the writer.
package sqlite
