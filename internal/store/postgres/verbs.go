package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/barge-run/barge/internal/store"
)

// ResourceClaim implements store.Store: rows another claimer holds locked are skipped, not
// waited for.
func (s *Store) ResourceClaim(ctx context.Context, p *store.ClaimParams) ([]*store.Resource, error) {
	var out []*store.Resource
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		out = out[:0]
		rows, err := tx.Query(ctx, `UPDATE resources SET owner = $1, lease_until = $2, version = version + 1
			WHERE (account, kind, name, revision) IN (
				SELECT account, kind, name, revision FROM resources
				WHERE kind = $3 AND visible_at <= $4 AND lease_until <= $4
				ORDER BY visible_at, created_at LIMIT $5 FOR UPDATE SKIP LOCKED)
			RETURNING `+resourceColumns,
			p.Owner, millis(p.Until), string(p.Kind), millis(p.Now), max(p.Limit, 1))
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
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		// The row exists before anyone locks it, so two first acquirers serialise on it.
		if _, err := tx.Exec(ctx, `INSERT INTO leases (name, holder, generation, expires_at) VALUES ($1, '', 0, 0)
			ON CONFLICT DO NOTHING`, name); err != nil {
			return err
		}
		cur := store.Lease{Name: name}
		var expires int64
		if err := tx.QueryRow(ctx, `SELECT holder, generation, expires_at FROM leases WHERE name = $1 FOR UPDATE`, name).
			Scan(&cur.Holder, &cur.Generation, &expires); err != nil {
			return err
		}
		cur.Expires = time.UnixMilli(expires).UTC()
		next := &store.Lease{Name: name, Holder: holder, Generation: cur.Generation + 1, Expires: now.Add(ttl).UTC()}
		switch {
		case cur.Holder == holder && cur.Expires.After(now):
			next.Generation = cur.Generation // a renewal
		case cur.Holder != "" && cur.Expires.After(now):
			return fmt.Errorf("lease %s: held by %s until %s: %w", name, cur.Holder, cur.Expires.Format(time.RFC3339Nano), store.ErrLeaseHeld)
		}
		if _, err := tx.Exec(ctx, `UPDATE leases SET holder = $1, generation = $2, expires_at = $3 WHERE name = $4`,
			holder, next.Generation, millis(next.Expires), name); err != nil {
			return err
		}
		l = next
		return nil
	})
	return l, err
}

// LeaseRelease implements store.Store.
func (s *Store) LeaseRelease(ctx context.Context, l *store.Lease) error {
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE leases SET expires_at = 0 WHERE name = $1 AND holder = $2 AND generation = $3`, l.Name, l.Holder, l.Generation)
		return err
	})
}
