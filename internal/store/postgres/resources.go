package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/barge-run/barge/internal/store"
)

const resourceColumns = `account, kind, name, revision, arn, status, body, created_at, version, owner, visible_at, lease_until`

// ResourceCreate implements store.Store.
func (s *Store) ResourceCreate(ctx context.Context, r *store.Resource) error {
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error { return insertResource(ctx, tx, r) })
}

// ResourceCreateAll implements store.Store.
func (s *Store) ResourceCreateAll(ctx context.Context, rs []*store.Resource) error {
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		for _, r := range rs {
			if err := insertResource(ctx, tx, r); err != nil {
				return err
			}
		}
		return nil
	})
}

func insertResource(ctx context.Context, tx pgx.Tx, r *store.Resource) error {
	body := r.Body
	if body == nil {
		body = []byte{}
	}
	// ON CONFLICT DO NOTHING rather than a unique violation, which would abort the transaction:
	// servers creating defaults together must see only ErrConflict.
	var version int64
	err := tx.QueryRow(ctx, `INSERT INTO resources (`+resourceColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10, $11)
		ON CONFLICT DO NOTHING RETURNING version`,
		r.Account, string(r.Kind), r.Name, r.Revision, r.ARN, r.Status, body, r.CreatedAt.UnixMilli(),
		r.Owner, millis(r.VisibleAt), millis(r.LeaseUntil)).Scan(&version)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s %s: %w", r.Kind, r.Name, store.ErrConflict)
	}
	r.Version = 1
	return err
}

// ResourceCreateNextRevision implements store.Store.
func (s *Store) ResourceCreateNextRevision(ctx context.Context, r *store.Resource, build func(revision int) (string, []byte)) error {
	for attempt := 0; ; attempt++ {
		err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
			var max *int
			if err := tx.QueryRow(ctx, `SELECT max(revision) FROM resources WHERE account = $1 AND kind = $2 AND name = $3`,
				r.Account, string(r.Kind), r.Name).Scan(&max); err != nil {
				return err
			}
			r.Revision = 1
			if max != nil {
				r.Revision = *max + 1
			}
			r.ARN, r.Body = build(r.Revision)
			return insertResource(ctx, tx, r)
		})
		// Another server took the same revision number at the same moment: take the next.
		if errors.Is(err, store.ErrConflict) && attempt < 20 {
			continue
		}
		return err
	}
}

// ResourceUpdate implements store.Store.
func (s *Store) ResourceUpdate(ctx context.Context, r *store.Resource) error {
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var q query
		q.add(`UPDATE resources SET status = ?, body = ?, owner = ?, visible_at = ?, lease_until = ?, version = version + 1
			WHERE account = ? AND kind = ? AND name = ? AND revision = ?`,
			r.Status, r.Body, r.Owner, millis(r.VisibleAt), millis(r.LeaseUntil), r.Account, string(r.Kind), r.Name, r.Revision)
		if r.Version != 0 {
			q.add(` AND version = ?`, r.Version)
		}
		q.add(` RETURNING version`)
		var version int64
		err := tx.QueryRow(ctx, q.b.String(), q.args...).Scan(&version)
		if errors.Is(err, pgx.ErrNoRows) {
			return missingOrStale(ctx, tx, r)
		}
		if err != nil {
			return err
		}
		r.Version = version
		return nil
	})
}

// missingOrStale says why a conditional write of r matched no row.
func missingOrStale(ctx context.Context, tx pgx.Tx, r *store.Resource) error {
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM resources WHERE account = $1 AND kind = $2 AND name = $3 AND revision = $4`,
		r.Account, string(r.Kind), r.Name, r.Revision).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s %s: %w", r.Kind, r.Name, store.ErrNotFound)
	}
	return fmt.Errorf("%s %s version %d: %w", r.Kind, r.Name, r.Version, store.ErrStale)
}

// ResourceDelete implements store.Store.
func (s *Store) ResourceDelete(ctx context.Context, account string, kind store.Kind, name string, revision int) error {
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var q query
		q.add(`DELETE FROM resources WHERE account = ? AND kind = ? AND name = ?`, account, string(kind), name)
		if revision != 0 {
			q.add(` AND revision = ?`, revision)
		}
		tag, err := tx.Exec(ctx, q.b.String(), q.args...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("%s %s: %w", kind, name, store.ErrNotFound)
		}
		return nil
	})
}

// ResourceDeleteVersion implements store.Store.
func (s *Store) ResourceDeleteVersion(ctx context.Context, r *store.Resource) error {
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM resources WHERE account = $1 AND kind = $2 AND name = $3 AND revision = $4 AND version = $5`,
			r.Account, string(r.Kind), r.Name, r.Revision, r.Version)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return missingOrStale(ctx, tx, r)
		}
		return nil
	})
}

func scanResource(row pgx.Row) (*store.Resource, error) {
	var r store.Resource
	var kind string
	var created, visible, until int64
	if err := row.Scan(&r.Account, &kind, &r.Name, &r.Revision, &r.ARN, &r.Status, &r.Body, &created,
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
	r, err := scanResource(s.pool.QueryRow(ctx, `SELECT `+resourceColumns+` FROM resources
		WHERE account = $1 AND kind = $2 AND name = $3 AND revision = $4`, account, string(kind), name, revision))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%s %s: %w", kind, name, store.ErrNotFound)
	}
	return r, err
}

// ResourceList implements store.Store.
func (s *Store) ResourceList(ctx context.Context, p *store.ResourceListParams) ([]*store.Resource, error) {
	var q query
	q.add(`SELECT `+resourceColumns+` FROM resources WHERE kind = ?`, string(p.Kind))
	if !p.AllAccounts {
		q.add(` AND account = ?`, p.Account)
	}
	if len(p.Names) > 0 {
		q.add(` AND name IN `)
		q.in(p.Names)
	}
	if p.Status != "" {
		q.add(` AND status = ?`, p.Status)
	}
	if p.AfterName != "" {
		q.add(` AND (name > ? OR (name = ? AND revision > ?))`, p.AfterName, p.AfterName, p.AfterRevision)
	}
	q.add(` ORDER BY name, revision, account`)
	if p.Limit > 0 {
		q.add(` LIMIT ` + strconv.Itoa(p.Limit))
	}
	rows, err := s.pool.Query(ctx, q.b.String(), q.args...)
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
