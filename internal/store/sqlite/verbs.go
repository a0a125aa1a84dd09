package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/barge-run/barge/internal/store"
)

// The verbs several servers on one database need: leases with fencing, claimable work items and
// versioned writes. SQLite serializes writers (every write transaction is BEGIN IMMEDIATE), so
// each verb is one read-then-write inside the writer's transaction; a PostgreSQL driver does the
// same with row locks (FOR UPDATE, SKIP LOCKED for claims).

// millis is t in ms since the epoch; the zero time is 0.
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

// missingOrStale tells apart, after a versioned write matched no row, a resource that is gone
// from one that changed.
func (s *Store) missingOrStale(tx *sql.Tx, r *store.Resource) error {
	var n int
	if err := tx.QueryRow(`SELECT count(*) FROM resources WHERE account = ? AND kind = ? AND name = ? AND revision = ?`,
		r.Account, string(r.Kind), r.Name, r.Revision).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s %s: %w", r.Kind, r.Name, store.ErrNotFound)
	}
	return fmt.Errorf("%s %s version %d: %w", r.Kind, r.Name, r.Version, store.ErrStale)
}

// ResourceDeleteVersion implements store.Store.
func (s *Store) ResourceDeleteVersion(ctx context.Context, r *store.Resource) error {
	return s.exec(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`DELETE FROM resources WHERE account = ? AND kind = ? AND name = ? AND revision = ? AND version = ?`,
			r.Account, string(r.Kind), r.Name, r.Revision, r.Version)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return s.missingOrStale(tx, r)
		}
		return nil
	})
}

// ResourceClaim implements store.Store.
func (s *Store) ResourceClaim(ctx context.Context, p *store.ClaimParams) ([]*store.Resource, error) {
	limit := max(p.Limit, 1)
	var out []*store.Resource
	err := s.exec(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		rows, err := tx.Query(`UPDATE resources SET owner = ?, lease_until = ?, version = version + 1
			WHERE rowid IN (SELECT rowid FROM resources WHERE kind = ? AND visible_at <= ? AND lease_until <= ?
				ORDER BY visible_at, created_at, rowid LIMIT ?)
			RETURNING `+resourceColumns,
			p.Owner, millis(p.Until), string(p.Kind), millis(p.Now), millis(p.Now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanResource(rows)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim %s: %w", p.Kind, err)
	}
	return out, nil
}

// LeaseAcquire implements store.Store.
func (s *Store) LeaseAcquire(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (*store.Lease, error) {
	var l *store.Lease
	err := s.execLease(ctx, func(tx *sql.Tx) error {
		cur, err := readLeaseWith(tx.Stmt(s.readLease), name)
		if err != nil {
			return err
		}
		next := &store.Lease{Name: name, Holder: holder, Generation: 1, Expires: now.Add(ttl).UTC()}
		switch {
		case cur == nil:
			_, err = tx.Exec(`INSERT INTO leases (name, holder, generation, expires_at) VALUES (?, ?, 1, ?)`, name, holder, millis(next.Expires))
		case cur.Holder == holder && cur.Expires.After(now):
			next.Generation = cur.Generation // a renewal
			_, err = tx.Exec(`UPDATE leases SET expires_at = ? WHERE name = ?`, millis(next.Expires), name)
		case cur.Expires.After(now):
			return fmt.Errorf("lease %s: held by %s until %s: %w", name, cur.Holder, cur.Expires.Format(time.RFC3339Nano), store.ErrLeaseHeld)
		default:
			// Expired, or given up: a new generation, even for the same holder, since it may have
			// lost writes fenced with the old one meanwhile.
			next.Generation = cur.Generation + 1
			_, err = tx.Exec(`UPDATE leases SET holder = ?, generation = ?, expires_at = ? WHERE name = ?`, holder, next.Generation, millis(next.Expires), name)
		}
		if err == nil {
			l = next
		}
		return err
	})
	return l, err
}

// LeaseRelease implements store.Store.
func (s *Store) LeaseRelease(ctx context.Context, l *store.Lease) error {
	return s.execLease(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ? AND generation = ?`, l.Name, l.Holder, l.Generation)
		return err
	})
}

// Fenced implements store.Store: a view sharing this store's database and writer.
func (s *Store) Fenced(l store.Lease) store.Store {
	return &Store{db: s.db, fence: &l}
}

// readLeaseQuery reads one lease row (db.readLease prepares it).
const readLeaseQuery = `SELECT holder, generation, expires_at FROM leases WHERE name = ?`

// readLeaseWith reads the lease through stmt, a transaction's db.readLease; nil when there is
// none.
func readLeaseWith(stmt *sql.Stmt, name string) (*store.Lease, error) {
	l := store.Lease{Name: name}
	var expires int64
	err := stmt.QueryRow(name).Scan(&l.Holder, &l.Generation, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	l.Expires = time.UnixMilli(expires).UTC()
	return &l, nil
}
