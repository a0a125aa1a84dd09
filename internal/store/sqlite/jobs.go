package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/barge-run/barge/internal/store"
)

const jobColumns = `seq, account, id, name, queue, status, array_parent, created_at, body`

// statusRE is a job status as the engine writes them: safe to write into SQL as a literal.
var statusRE = regexp.MustCompile(`^[A-Z_]{1,32}$`)

// JobInsertMany implements store.Store.
func (s *Store) JobInsertMany(ctx context.Context, jobs []*store.Job) error {
	return s.exec(ctx, func(tx *sql.Tx) error { return s.insertJobs(tx, jobs) })
}

// JobWriteMany implements store.Store.
func (s *Store) JobWriteMany(ctx context.Context, inserts, updates []*store.Job) error {
	return s.exec(ctx, func(tx *sql.Tx) error {
		if err := s.insertJobs(tx, inserts); err != nil {
			return err
		}
		return s.updateJobs(tx, updates)
	})
}

func (s *Store) insertJobs(tx *sql.Tx, jobs []*store.Job) error {

	if len(jobs) == 0 {
		return nil
	}
	stmt := tx.Stmt(s.insertJob)
	for _, j := range jobs {
		res, err := stmt.Exec(j.Account, j.ID, j.Name, j.Queue, j.Status, j.ArrayParent, j.CreatedAt, j.Body)
		if isUniqueViolation(err) {
			return fmt.Errorf("job %s: %w", j.ID, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("insert job %s: %w", j.ID, err)
		}
		if j.Seq, err = res.LastInsertId(); err != nil {
			return err
		}
	}
	return nil
}

// JobUpdateMany implements store.Store.
func (s *Store) JobUpdateMany(ctx context.Context, jobs []*store.Job) error {
	return s.exec(ctx, func(tx *sql.Tx) error { return s.updateJobs(tx, jobs) })
}

func (s *Store) updateJobs(tx *sql.Tx, jobs []*store.Job) error {

	if len(jobs) == 0 {
		return nil
	}
	stmt := tx.Stmt(s.updateJob)
	for _, j := range jobs {
		res, err := stmt.Exec(j.Status, j.Queue, j.Body, j.ID, j.Account)
		if err != nil {
			return fmt.Errorf("update job %s: %w", j.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("job %s: %w", j.ID, store.ErrNotFound)
		}
	}
	return nil
}

func scanJobs(rows *sql.Rows) ([]*store.Job, error) {
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
	args := []any{account}
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE account = ? AND id IN (`+placeholders(len(ids))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("get jobs: %w", err)
	}
	return scanJobs(rows)
}

// JobList implements store.Store.
func (s *Store) JobList(ctx context.Context, p *store.JobListParams) ([]*store.Job, error) {
	var q strings.Builder
	q.WriteString(`SELECT ` + jobColumns + ` FROM jobs WHERE `)
	args := []any{}
	if p.AllAccounts {
		q.WriteString(`1`)
	} else {
		q.WriteString(`account = ?`)
		args = append(args, p.Account)
	}
	add := func(cond string, a ...any) {
		q.WriteString(" AND " + cond)
		args = append(args, a...)
	}
	if p.Queue != "" {
		add(`queue = ?`, p.Queue)
	}
	if p.ArrayParent != "" {
		add(`array_parent = ?`, p.ArrayParent)
	}
	if p.TopLevel {
		add(`array_parent = ''`)
	}
	switch {
	case len(p.Statuses) == 1 && statusRE.MatchString(p.Statuses[0]):
		// A literal, so that SQLite can use a partial index on that status (jobs_submitted).
		add(`status = '` + p.Statuses[0] + `'`)
	case len(p.Statuses) > 0:
		a := make([]any, len(p.Statuses))
		for i, st := range p.Statuses {
			a[i] = st
		}
		add(`status IN (`+placeholders(len(a))+`)`, a...)
	}
	if p.NameExact != "" {
		add(`name = ? COLLATE NOCASE`, p.NameExact)
	}
	if p.NamePrefix != "" {
		add(`lower(substr(name, 1, ?)) = lower(?)`, len(p.NamePrefix), p.NamePrefix)
	}
	if p.CreatedBefore != 0 {
		add(`created_at < ?`, p.CreatedBefore)
	}
	if p.CreatedAfter != 0 {
		add(`created_at > ?`, p.CreatedAfter)
	}
	if p.AfterSeq != 0 {
		add(`seq > ?`, p.AfterSeq)
	}
	q.WriteString(` ORDER BY seq`)
	if p.Limit > 0 {
		q.WriteString(` LIMIT ` + strconv.Itoa(p.Limit))
	}
	rows, err := s.read.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return scanJobs(rows)
}

// JobListUnfinished implements store.Store.
func (s *Store) JobListUnfinished(ctx context.Context) ([]*store.Job, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+jobColumns+` FROM jobs
		WHERE status NOT IN ('SUCCEEDED', 'FAILED') ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("list unfinished jobs: %w", err)
	}
	return scanJobs(rows)
}
