package postgres

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/barge-run/barge/internal/store"
)

const jobColumns = `seq, account, id, name, queue, status, array_parent, created_at, body`

// JobInsertMany implements store.Store.
func (s *Store) JobInsertMany(ctx context.Context, jobs []*store.Job) error {
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error { return insertJobs(ctx, tx, jobs) })
}

// JobWriteMany implements store.Store.
func (s *Store) JobWriteMany(ctx context.Context, inserts, updates []*store.Job) error {
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := insertJobs(ctx, tx, inserts); err != nil {
			return err
		}
		return updateJobs(ctx, tx, updates)
	})
}

// insertJobs inserts jobs in one round trip (a batch), setting each one's Seq.
func insertJobs(ctx context.Context, tx pgx.Tx, jobs []*store.Job) error {
	if len(jobs) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, j := range jobs {
		b.Queue(`INSERT INTO jobs (account, id, name, queue, status, array_parent, created_at, body)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING seq`,
			j.Account, j.ID, j.Name, j.Queue, j.Status, j.ArrayParent, j.CreatedAt, nonNil(j.Body))
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	for _, j := range jobs {
		err := br.QueryRow().Scan(&j.Seq)
		if err == pgx.ErrNoRows {
			return fmt.Errorf("job %s: %w", j.ID, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("insert job %s: %w", j.ID, err)
		}
	}
	return br.Close()
}

// JobUpdateMany implements store.Store.
func (s *Store) JobUpdateMany(ctx context.Context, jobs []*store.Job) error {
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error { return updateJobs(ctx, tx, jobs) })
}

func updateJobs(ctx context.Context, tx pgx.Tx, jobs []*store.Job) error {
	if len(jobs) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, j := range jobs {
		b.Queue(`UPDATE jobs SET status = $1, queue = $2, body = $3 WHERE id = $4 AND account = $5`,
			j.Status, j.Queue, nonNil(j.Body), j.ID, j.Account)
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	for _, j := range jobs {
		tag, err := br.Exec()
		if err != nil {
			return fmt.Errorf("update job %s: %w", j.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("job %s: %w", j.ID, store.ErrNotFound)
		}
	}
	return br.Close()
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func scanJobs(rows pgx.Rows) ([]*store.Job, error) {
	defer rows.Close()
	var out []*store.Job
	for rows.Next() {
		var j store.Job
		if err := rows.Scan(&j.Seq, &j.Account, &j.ID, &j.Name, &j.Queue, &j.Status, &j.ArrayParent, &j.CreatedAt, &j.Body); err != nil {
			return nil, err
		}
		out = append(out, &j)
	}
	return out, rows.Err()
}

// JobGetMany implements store.Store.
func (s *Store) JobGetMany(ctx context.Context, account string, ids []string) ([]*store.Job, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+jobColumns+` FROM jobs WHERE account = $1 AND id = ANY($2)`, account, ids)
	if err != nil {
		return nil, fmt.Errorf("get jobs: %w", err)
	}
	return scanJobs(rows)
}

// JobList implements store.Store.
func (s *Store) JobList(ctx context.Context, p *store.JobListParams) ([]*store.Job, error) {
	var q query
	q.add(`SELECT ` + jobColumns + ` FROM jobs WHERE `)
	if p.AllAccounts {
		q.add(`true`)
	} else {
		q.add(`account = ?`, p.Account)
	}
	if p.Queue != "" {
		q.add(` AND queue = ?`, p.Queue)
	}
	if p.ArrayParent != "" {
		q.add(` AND array_parent = ?`, p.ArrayParent)
	}
	if p.TopLevel {
		q.add(` AND array_parent = ''`)
	}
	if len(p.Statuses) > 0 {
		q.add(` AND status = ANY(?)`, p.Statuses)
	}
	if p.NameExact != "" {
		q.add(` AND lower(name) = lower(?)`, p.NameExact)
	}
	if p.NamePrefix != "" {
		q.add(` AND lower(left(name, ?)) = lower(?)`, len([]rune(p.NamePrefix)), p.NamePrefix)
	}
	if p.CreatedBefore != 0 {
		q.add(` AND created_at < ?`, p.CreatedBefore)
	}
	if p.CreatedAfter != 0 {
		q.add(` AND created_at > ?`, p.CreatedAfter)
	}
	if p.AfterSeq != 0 {
		q.add(` AND seq > ?`, p.AfterSeq)
	}
	q.add(` ORDER BY seq`)
	if p.Limit > 0 {
		q.add(` LIMIT ` + strconv.Itoa(p.Limit))
	}
	rows, err := s.pool.Query(ctx, q.b.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return scanJobs(rows)
}

// JobListUnfinished implements store.Store.
func (s *Store) JobListUnfinished(ctx context.Context) ([]*store.Job, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+jobColumns+` FROM jobs WHERE status NOT IN ('SUCCEEDED', 'FAILED') ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("list unfinished jobs: %w", err)
	}
	return scanJobs(rows)
}
