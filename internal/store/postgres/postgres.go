package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/barge-run/barge/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the advisory lock key under which migrations are applied ("barge" in ASCII).
const migrationLock = 0x6261726765

// Store is the PostgreSQL implementation of store.Store.
type Store struct {
	pool   *pgxpool.Pool
	writer *writer // group commit, shared with fenced views
	// fence, when set, makes every write conditional on the lease still being current.
	fence *store.Lease
}

var _ store.Store = (*Store)(nil)

// Open connects to the database dsn names (postgres://user:password@host:port/db?sslmode=...)
// and applies the migrations it lacks.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	return &Store{pool: pool, writer: newWriter(pool)}, nil
}

// migrate applies the migrations the database lacks, one transaction each, under an advisory
// lock: servers starting together apply each once.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
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
		err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY)`); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, name).Scan(&n); err != nil || n > 0 {
				return err
			}
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, name)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Close releases the connections. Closing a fenced view (Fenced) does nothing: the store it came
// from owns them.
func (s *Store) Close() error {
	if s.fence == nil {
		s.writer.close()
		s.pool.Close()
	}
	return nil
}

// Fenced implements store.Store.
func (s *Store) Fenced(l store.Lease) store.Store {
	return &Store{pool: s.pool, writer: s.writer, fence: &l}
}

// write runs fn in a transaction shared with other concurrent writes (groupcommit.go), first
// checking the fence (the lease row is read FOR SHARE, so a takeover waits for the transaction
// and every later one fails).
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	return s.writer.submit(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if l := s.fence; l != nil {
			var holder string
			var gen int64
			err := tx.QueryRow(ctx, `SELECT holder, generation FROM leases WHERE name = $1 FOR SHARE`, l.Name).Scan(&holder, &gen)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			if err != nil || holder != l.Holder || gen != l.Generation {
				return fmt.Errorf("lease %s generation %d of %s: %w", l.Name, l.Generation, l.Holder, store.ErrFenced)
			}
		}
		return fn(ctx, tx)
	})
}

// isUniqueViolation reports a unique_violation (23505).
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// query builds a statement with numbered parameters ($1, $2, ...).
type query struct {
	b    strings.Builder
	args []any
}

// add appends text, each "?" in it standing for the next of args.
func (q *query) add(text string, args ...any) {
	for _, part := range strings.SplitAfter(text, "?") {
		if strings.HasSuffix(part, "?") && len(args) > 0 {
			q.args = append(q.args, args[0])
			args = args[1:]
			q.b.WriteString(strings.TrimSuffix(part, "?") + "$" + strconv.Itoa(len(q.args)))
			continue
		}
		q.b.WriteString(part)
	}
}

// in appends "(?, ?, ...)" for vals.
func (q *query) in(vals []string) {
	q.b.WriteString("(")
	for i, v := range vals {
		if i > 0 {
			q.b.WriteString(", ")
		}
		q.add("?", v)
	}
	q.b.WriteString(")")
}
