package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/barge-run/barge/internal/store"

	"modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// maxBatch bounds how many queued writes share one transaction, so one slow batch cannot hold
// the writer for long.
const maxBatch = 512

// Store is the SQLite implementation of store.Store.
type Store struct {
	*db
	// fence, when set, makes every write conditional on the lease still being current.
	fence *store.Lease
}

// db is what a Store and its fenced views share: one file, one writer.
type db struct {
	read  *sql.DB
	write *sql.DB

	// Prepared once on the single write connection; transactions use them through tx.Stmt.
	insertJob, updateJob, readLease *sql.Stmt
	// The savepoint around each write of a shared transaction, prepared once as well: two or
	// three of them run for every write.
	savepoint, release, rollbackTo *sql.Stmt
	// getResource is prepared on the read pool: the busiest read of resources (job queues and
	// definition revisions at SubmitJob, functions, versions and aliases).
	getResource *sql.Stmt

	path      string
	writes    chan *writeOp
	closeOnce sync.Once
	closed    chan struct{}
	done      chan struct{}
}

var _ store.Store = (*Store)(nil)

type writeOp struct {
	fn func(tx *sql.Tx) error
	// fence, when set, is the lease that must still be current for fn to run (Fenced).
	fence *store.Lease
	done  chan error
}

// Open opens (creating and migrating if needed) the database file at path.
func Open(path string) (*Store, error) {
	dsn := func(mode string) string {
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		// FULL: a commit is on disk before it returns, so an acknowledged write survives a power
		// loss as well as a kill -9; group commit keeps that affordable.
		q.Add("_pragma", "synchronous(FULL)")
		q.Add("_pragma", "foreign_keys(ON)")
		q.Add("_txlock", mode)
		return "file:" + path + "?" + q.Encode()
	}
	write, err := sql.Open("sqlite", dsn("immediate"))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	if err := whileBusy(func() error { return checkIntegrity(write, path) }); err != nil {
		write.Close()
		return nil, err
	}
	if err := whileBusy(func() error { return migrate(write) }); err != nil {
		write.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", dsn("deferred"))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	read.SetMaxOpenConns(8)
	read.SetMaxIdleConns(8)
	insertJob, err := write.Prepare(`INSERT INTO jobs (account, id, name, queue, status, array_parent, created_at, body)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("prepare: %w", err)
	}
	updateJob, err := write.Prepare(`UPDATE jobs SET status = ?, queue = ?, body = ? WHERE id = ? AND account = ?`)
	if err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("prepare: %w", err)
	}
	getResource, err := read.Prepare(`SELECT ` + resourceColumns + ` FROM resources
		WHERE account = ? AND kind = ? AND name = ? AND revision = ?`)
	if err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("prepare: %w", err)
	}
	var stmts [4]*sql.Stmt
	for i, q := range []string{readLeaseQuery, `SAVEPOINT w`, `RELEASE w`, `ROLLBACK TO w`} {
		if stmts[i], err = write.Prepare(q); err != nil {
			write.Close()
			read.Close()
			return nil, fmt.Errorf("prepare: %w", err)
		}
	}
	s := &Store{db: &db{
		path:        path,
		insertJob:   insertJob,
		updateJob:   updateJob,
		readLease:   stmts[0],
		savepoint:   stmts[1],
		release:     stmts[2],
		rollbackTo:  stmts[3],
		getResource: getResource,
		read:        read,
		write:       write,
		writes:      make(chan *writeOp, maxBatch),
		closed:      make(chan struct{}),
		done:        make(chan struct{}),
	}}
	go s.writer()
	return s, nil
}

func migrate(db *sql.DB) error {
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY)`); err != nil {
		return err
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		// Checked inside the (immediate, so exclusive) transaction: servers starting together on
		// one database apply each migration once.
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(`SELECT count(*) FROM schema_migrations WHERE version = ?`, name).Scan(&n); err != nil {
			tx.Rollback()
			return err
		}
		if n > 0 {
			tx.Rollback()
			continue
		}
		if _, err := tx.Exec(string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("%s: %w", name, err)
		}
		if _, err := tx.Exec(`INSERT INTO schema_migrations (version) VALUES (?)`, name); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// Close stops the writer after the queued writes and closes the database. Closing a fenced
// view (Fenced) does nothing: the store it came from owns the database.
func (s *Store) Close() error {
	if s.fence != nil {
		return nil
	}
	s.closeOnce.Do(func() { close(s.closed) })
	<-s.done
	return errors.Join(s.insertJob.Close(), s.updateJob.Close(), s.readLease.Close(), s.savepoint.Close(),
		s.release.Close(), s.rollbackTo.Close(), s.getResource.Close(), s.write.Close(), s.read.Close())
}

// exec runs fn in a write transaction shared with other concurrent writers, and returns once the
// transaction holding it has committed (or fn failed and its savepoint was rolled back).
func (s *Store) exec(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.enqueue(ctx, &writeOp{fn: fn, fence: s.fence, done: make(chan error, 1)})
}

// execLease is exec for the lease verbs, which are never fenced: they are how leases move, and
// a deposed holder must still be able to ask for its lease again. leaseMemo relies on it: a
// fenced write never changes a lease.
func (s *Store) execLease(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.enqueue(ctx, &writeOp{fn: fn, done: make(chan error, 1)})
}

func (s *Store) enqueue(ctx context.Context, op *writeOp) error {
	select {
	case s.writes <- op:
	case <-s.closed:
		return errors.New("store closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	// The write may already be in a transaction: wait for its outcome even if ctx ends, so the
	// caller never reports failure for a write that committed.
	return <-op.done
}

func (s *Store) writer() {
	defer close(s.done)
	batch := make([]*writeOp, 0, maxBatch)
	for {
		select {
		case op := <-s.writes:
			batch = append(batch[:0], op)
		case <-s.closed:
			// Drain what was queued before Close so no accepted write is dropped.
			for {
				select {
				case op := <-s.writes:
					s.commit([]*writeOp{op})
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case op := <-s.writes:
				batch = append(batch, op)
			default:
				break fill
			}
		}
		s.commit(batch)
	}
}

// commit runs a batch of writes in one transaction; each write has its own savepoint so one
// failing write does not undo the others. When SQLite itself gives up on the transaction (a
// full disk rolls it back whole), every write of the batch fails: none of them is on disk.
func (s *Store) commit(batch []*writeOp) {
	fail := func(err error) {
		for _, op := range batch {
			op.done <- s.translate(err)
		}
	}
	tx, err := s.write.Begin()
	if err != nil {
		fail(fmt.Errorf("begin: %w", err))
		return
	}
	var fences leaseMemo
	if len(batch) == 1 {
		// Alone in its transaction, a write needs no savepoint: failing undoes all of it.
		if err := fences.run(tx, s.readLease, batch[0]); err != nil {
			tx.Rollback()
			fail(err)
			return
		}
		if err := tx.Commit(); err != nil {
			fail(fmt.Errorf("commit: %w", err))
			return
		}
		batch[0].done <- nil
		return
	}
	savepoint, release, rollbackTo := tx.Stmt(s.savepoint), tx.Stmt(s.release), tx.Stmt(s.rollbackTo)
	results := make([]error, len(batch))
	for i, op := range batch {
		if _, err := savepoint.Exec(); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("savepoint: %w", err))
			return
		}
		if err := fences.run(tx, s.readLease, op); err != nil {
			results[i] = err
			// The savepoint is gone when SQLite rolled the whole transaction back: going on
			// would run the next writes outside any transaction.
			if _, rerr := rollbackTo.Exec(); rerr != nil {
				tx.Rollback()
				fail(errors.Join(err, rerr))
				return
			}
		}
		if _, err := release.Exec(); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("release savepoint: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("commit: %w", err))
		return
	}
	for i, op := range batch {
		op.done <- s.translate(results[i])
	}
}

// leaseMemo remembers, within one transaction, the leases fenced writes were checked against:
// the writes of a batch mostly share one fence, and within the transaction (no other connection
// writes while it holds the lock) a lease changes only by this writer's unfenced lease verbs
// (execLease).
type leaseMemo map[string]*store.Lease

// run checks op's fence, reading each lease once, and runs op. An unfenced write may be one
// that moves a lease (LeaseAcquire, LeaseRelease): after one, leases are read again.
func (m *leaseMemo) run(tx *sql.Tx, readLease *sql.Stmt, op *writeOp) error {
	l := op.fence
	if l == nil {
		*m = nil
		return op.fn(tx)
	}
	cur, ok := (*m)[l.Name]
	if !ok {
		var err error
		if cur, err = readLeaseWith(tx.Stmt(readLease), l.Name); err != nil {
			return err
		}
		if *m == nil {
			*m = leaseMemo{}
		}
		(*m)[l.Name] = cur
	}
	if cur == nil || cur.Holder != l.Holder || cur.Generation != l.Generation {
		return fmt.Errorf("lease %s generation %d of %s: %w", l.Name, l.Generation, l.Holder, store.ErrFenced)
	}
	return op.fn(tx)
}

// sqliteFull is SQLITE_FULL, the primary result code of a write that found the disk full.
const sqliteFull = 13

// translate makes a failure for lack of space an ENOSPC naming the database file, as a file
// write's would be, so that the API answers it as such (awserr.IsNoSpace).
func (s *Store) translate(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqliteFull && !errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%s: %w (%w)", s.path, syscall.ENOSPC, err)
	}
	return err
}

func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// ResourceCreate implements store.Store.
func (s *Store) ResourceCreate(ctx context.Context, r *store.Resource) error {
	return s.exec(ctx, func(tx *sql.Tx) error { return insertResource(tx, r) })
}

// ResourceCreateAll implements store.Store.
func (s *Store) ResourceCreateAll(ctx context.Context, rs []*store.Resource) error {
	return s.exec(ctx, func(tx *sql.Tx) error {
		for _, r := range rs {
			if err := insertResource(tx, r); err != nil {
				return err
			}
		}
		return nil
	})
}

func insertResource(tx *sql.Tx, r *store.Resource) error {
	r.Version = 1
	_, err := tx.Exec(`INSERT INTO resources (account, kind, name, revision, arn, status, body, created_at, version, owner, visible_at, lease_until)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)`,
		r.Account, string(r.Kind), r.Name, r.Revision, r.ARN, r.Status, r.Body, r.CreatedAt.UnixMilli(),
		r.Owner, millis(r.VisibleAt), millis(r.LeaseUntil))
	if isUniqueViolation(err) {
		return fmt.Errorf("%s %s: %w", r.Kind, r.Name, store.ErrConflict)
	}
	return err
}

// ResourceCreateNextRevision implements store.Store.
func (s *Store) ResourceCreateNextRevision(ctx context.Context, r *store.Resource, build func(revision int) (string, []byte)) error {
	return s.exec(ctx, func(tx *sql.Tx) error {
		var max sql.NullInt64
		if err := tx.QueryRow(`SELECT max(revision) FROM resources WHERE account = ? AND kind = ? AND name = ?`,
			r.Account, string(r.Kind), r.Name).Scan(&max); err != nil {
			return err
		}
		r.Revision = int(max.Int64) + 1
		r.ARN, r.Body = build(r.Revision)
		return insertResource(tx, r)
	})
}

// ResourceUpdate implements store.Store.
func (s *Store) ResourceUpdate(ctx context.Context, r *store.Resource) error {
	return s.exec(ctx, func(tx *sql.Tx) error {
		q := `UPDATE resources SET status = ?, body = ?, owner = ?, visible_at = ?, lease_until = ?, version = version + 1
			WHERE account = ? AND kind = ? AND name = ? AND revision = ?`
		args := []any{r.Status, r.Body, r.Owner, millis(r.VisibleAt), millis(r.LeaseUntil), r.Account, string(r.Kind), r.Name, r.Revision}
		if r.Version != 0 {
			q += ` AND version = ?`
			args = append(args, r.Version)
		}
		q += ` RETURNING version`
		var version int64
		err := tx.QueryRow(q, args...).Scan(&version)
		if errors.Is(err, sql.ErrNoRows) {
			return s.missingOrStale(tx, r)
		}
		if err != nil {
			return err
		}
		r.Version = version
		return nil
	})
}

// ResourceDelete implements store.Store.
func (s *Store) ResourceDelete(ctx context.Context, account string, kind store.Kind, name string, revision int) error {
	return s.exec(ctx, func(tx *sql.Tx) error {
		q := `DELETE FROM resources WHERE account = ? AND kind = ? AND name = ?`
		args := []any{account, string(kind), name}
		if revision != 0 {
			q += ` AND revision = ?`
			args = append(args, revision)
		}
		res, err := tx.Exec(q, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%s %s: %w", kind, name, store.ErrNotFound)
		}
		return nil
	})
}

const resourceColumns = `account, kind, name, revision, arn, status, body, created_at, version, owner, visible_at, lease_until`

func scanResource(sc interface{ Scan(...any) error }) (*store.Resource, error) {
	var r store.Resource
	var kind string
	var created, visible, until int64
	if err := sc.Scan(&r.Account, &kind, &r.Name, &r.Revision, &r.ARN, &r.Status, &r.Body, &created,
		&r.Version, &r.Owner, &visible, &until); err != nil {
		return nil, err
	}
	r.Kind = store.Kind(kind)
	r.CreatedAt = time.UnixMilli(created).UTC()
	r.VisibleAt, r.LeaseUntil = fromMillis(visible), fromMillis(until)
	return &r, nil
}

// ResourceGet implements store.Store.
func (s *Store) ResourceGet(ctx context.Context, account string, kind store.Kind, name string, revision int) (*store.Resource, error) {
	row := s.getResource.QueryRowContext(ctx, account, string(kind), name, revision)
	r, err := scanResource(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s %s: %w", kind, name, store.ErrNotFound)
	}
	return r, err
}

// ResourceList implements store.Store.
func (s *Store) ResourceList(ctx context.Context, p *store.ResourceListParams) ([]*store.Resource, error) {
	var q strings.Builder
	q.WriteString(`SELECT ` + resourceColumns + ` FROM resources WHERE kind = ?`)
	args := []any{string(p.Kind)}
	if !p.AllAccounts {
		q.WriteString(` AND account = ?`)
		args = append(args, p.Account)
	}
	if len(p.Names) > 0 {
		q.WriteString(` AND name IN (` + placeholders(len(p.Names)) + `)`)
		for _, n := range p.Names {
			args = append(args, n)
		}
	}
	if p.Status != "" {
		q.WriteString(` AND status = ?`)
		args = append(args, p.Status)
	}
	if p.AfterName != "" {
		q.WriteString(` AND (name > ? OR (name = ? AND revision > ?))`)
		args = append(args, p.AfterName, p.AfterName, p.AfterRevision)
	}
	q.WriteString(` ORDER BY name, revision, account`)
	if p.Limit > 0 {
		q.WriteString(` LIMIT ` + strconv.Itoa(p.Limit))
	}
	rows, err := s.read.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", p.Kind, err)
	}
	defer rows.Close()
	var out []*store.Resource
	for rows.Next() {
		r, err := scanResource(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}
