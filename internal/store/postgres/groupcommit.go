package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Group commit: concurrent writes share a transaction and so one WAL flush, as in the SQLite
// driver. One writer goroutine takes what is queued (up to maxBatch), runs each write in a
// savepoint of one transaction — a write that fails is rolled back alone — and commits once;
// every write learns its own outcome only once the transaction holding it committed. Writes run
// with the writer's context: a caller that gives up still waits for the outcome of a write already
// in a transaction, so it never reports failure for a write that committed.

// maxBatch bounds how many writes share one transaction.
const maxBatch = 256

// writeOp is one queued write.
type writeOp struct {
	fn   func(ctx context.Context, tx pgx.Tx) error
	done chan error
}

// writer is the group-commit writer of one pool.
type writer struct {
	pool   *pgxpool.Pool
	ops    chan *writeOp
	closed chan struct{}
	done   chan struct{}
}

func newWriter(pool *pgxpool.Pool) *writer {
	w := &writer{pool: pool, ops: make(chan *writeOp, maxBatch), closed: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

// submit queues fn and waits for the outcome of the transaction that ran it.
func (w *writer) submit(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	op := &writeOp{fn: fn, done: make(chan error, 1)}
	select {
	case w.ops <- op:
	case <-w.closed:
		return errors.New("store closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-op.done
}

func (w *writer) run() {
	defer close(w.done)
	batch := make([]*writeOp, 0, maxBatch)
	for {
		select {
		case op := <-w.ops:
			batch = append(batch[:0], op)
		case <-w.closed:
			for {
				select {
				case op := <-w.ops:
					w.commit([]*writeOp{op})
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case op := <-w.ops:
				batch = append(batch, op)
			default:
				break fill
			}
		}
		w.commit(batch)
	}
}

// commit runs batch in one transaction. The writes run back to back first (a savepoint each
// would cost two more round trips a write); only when one fails is the transaction rolled back
// and the batch run again with a savepoint around each write, so the failing one is undone alone.
func (w *writer) commit(batch []*writeOp) {
	if len(batch) > 1 {
		if w.tryPlain(batch) {
			return
		}
	}
	w.commitSavepoints(batch)
}

// tryPlain runs batch in one transaction without savepoints and reports whether every write got
// its answer (the commit's outcome); false when a write failed: all were rolled back, and none
// answered.
func (w *writer) tryPlain(batch []*writeOp) bool {
	ctx := context.Background()
	tx, err := w.pool.Begin(ctx)
	if err != nil {
		return false
	}
	for _, op := range batch {
		if err := op.fn(ctx, tx); err != nil {
			tx.Rollback(ctx)
			return false
		}
	}
	err = tx.Commit(ctx)
	if err != nil {
		// Perhaps committed, perhaps not: never run again what may be durable.
		err = fmt.Errorf("commit: %w", err)
	}
	for _, op := range batch {
		op.done <- err
	}
	return true
}

// commitSavepoints runs batch in one transaction, each write in a savepoint.
func (w *writer) commitSavepoints(batch []*writeOp) {
	ctx := context.Background()
	fail := func(err error) {
		for _, op := range batch {
			op.done <- err
		}
	}
	tx, err := w.pool.Begin(ctx)
	if err != nil {
		fail(fmt.Errorf("begin: %w", err))
		return
	}
	results := make([]error, len(batch))
	for i, op := range batch {
		if len(batch) == 1 {
			results[i] = op.fn(ctx, tx) // alone: the transaction is its savepoint
			break
		}
		if _, err := tx.Exec(ctx, `SAVEPOINT w`); err != nil {
			tx.Rollback(ctx)
			fail(fmt.Errorf("savepoint: %w", err))
			return
		}
		if results[i] = op.fn(ctx, tx); results[i] != nil {
			if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT w`); err != nil {
				tx.Rollback(ctx)
				fail(errors.Join(results[i], err))
				return
			}
		}
		if _, err := tx.Exec(ctx, `RELEASE SAVEPOINT w`); err != nil {
			tx.Rollback(ctx)
			fail(fmt.Errorf("release savepoint: %w", err))
			return
		}
	}
	if len(batch) == 1 && results[0] != nil {
		tx.Rollback(ctx)
		batch[0].done <- results[0]
		return
	}
	if err := tx.Commit(ctx); err != nil {
		fail(fmt.Errorf("commit: %w", err))
		return
	}
	for i, op := range batch {
		op.done <- results[i]
	}
}

// close stops the writer after the queued writes.
func (w *writer) close() {
	select {
	case <-w.closed:
	default:
		close(w.closed)
	}
	<-w.done
}
