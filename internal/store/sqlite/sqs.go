package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/barge-run/barge/internal/store"
)

// SQS messages live in their own table (migration 004): a receive is one indexed range read and
// a few updates inside the writer's transaction, which SQLite runs alone (BEGIN IMMEDIATE), so
// two receivers never claim one message. A PostgreSQL driver does the same with
// SELECT … FOR UPDATE SKIP LOCKED.

const messageColumns = `seq, queue, id, grp, source, sent_at, visible_at, receive_count, first_receive_at, receipt, body`

func scanMessage(sc interface{ Scan(...any) error }) (*store.Message, error) {
	var m store.Message
	var sent, visible, first int64
	if err := sc.Scan(&m.Seq, &m.Queue, &m.ID, &m.Group, &m.Source, &sent, &visible, &m.ReceiveCount, &first, &m.Receipt, &m.Body); err != nil {
		return nil, err
	}
	m.SentAt, m.VisibleAt, m.FirstReceiveAt = fromMillis(sent), fromMillis(visible), fromMillis(first)
	return &m, nil
}

// newReceipt names one receive of a message: unguessable, so a receipt handle cannot be forged
// from a message id.
func newReceipt() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// MessageInsertMany implements store.Store.
func (s *Store) MessageInsertMany(ctx context.Context, p *store.MessageInsertParams) error {
	err := s.exec(ctx, func(tx *sql.Tx) error {
		pruned := map[string]bool{}
		for _, m := range p.Messages {
			m.Duplicate = false
			if m.DedupKey != "" {
				if !pruned[m.Queue] {
					pruned[m.Queue] = true
					if _, err := tx.Exec(`DELETE FROM sqs_dedup WHERE queue = ? AND expires_at <= ?`, m.Queue, millis(p.Now)); err != nil {
						return err
					}
				}
				err := tx.QueryRow(`SELECT message_id, seq FROM sqs_dedup WHERE queue = ? AND key = ? AND expires_at > ?`,
					m.Queue, m.DedupKey, millis(p.Now)).Scan(&m.ID, &m.Seq)
				if err == nil {
					m.Duplicate = true
					continue
				}
				if !errors.Is(err, sql.ErrNoRows) {
					return err
				}
			}
			if err := tx.QueryRow(`INSERT INTO sqs_messages (queue, id, grp, source, sent_at, visible_at, receive_count, first_receive_at, receipt, body)
				VALUES (?, ?, ?, ?, ?, ?, 0, 0, '', ?) RETURNING seq`,
				m.Queue, m.ID, m.Group, m.Source, millis(m.SentAt), millis(m.VisibleAt), append([]byte{}, m.Body...)).Scan(&m.Seq); err != nil {
				return err
			}
			if m.DedupKey != "" {
				if _, err := tx.Exec(`INSERT OR REPLACE INTO sqs_dedup (queue, key, message_id, seq, expires_at) VALUES (?, ?, ?, ?, ?)`,
					m.Queue, m.DedupKey, m.ID, m.Seq, millis(p.DedupUntil)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("insert messages: %w", err)
	}
	return nil
}

// MessageReceive implements store.Store.
func (s *Store) MessageReceive(ctx context.Context, p *store.MessageReceiveParams) (*store.MessageReceiveResult, error) {
	limit := max(p.Limit, 1)
	var res *store.MessageReceiveResult
	err := s.exec(ctx, func(tx *sql.Tx) error {
		res = &store.MessageReceiveResult{}
		now := millis(p.Now)
		if !p.RetainAfter.IsZero() {
			if _, err := tx.Exec(`DELETE FROM sqs_messages WHERE queue = ? AND sent_at < ?`, p.Queue, millis(p.RetainAfter)); err != nil {
				return err
			}
		}
		// More rounds only after dead-lettering made room; taken keeps a message received with
		// no visibility timeout from being taken twice.
		taken := map[int64]bool{}
		for moved := -1; len(res.Messages) < limit && res.Moved > moved; {
			moved = res.Moved
			cands, err := receiveCandidates(tx, p, limit-len(res.Messages))
			if err != nil {
				return err
			}
			for _, m := range cands {
				if taken[m.Seq] {
					continue
				}
				taken[m.Seq] = true
				if p.MaxReceives > 0 && p.DeadLetter != "" && m.ReceiveCount >= p.MaxReceives {
					if _, err := tx.Exec(`UPDATE sqs_messages SET queue = ?, source = ?, visible_at = ?, receive_count = 0,
						first_receive_at = 0, receipt = '' WHERE seq = ?`, p.DeadLetter, p.Queue, now, m.Seq); err != nil {
						return err
					}
					res.Moved++
					continue
				}
				m.Receipt, m.VisibleAt = newReceipt(), p.Until.UTC()
				m.ReceiveCount++
				if m.FirstReceiveAt.IsZero() {
					m.FirstReceiveAt = fromMillis(now)
				}
				if _, err := tx.Exec(`UPDATE sqs_messages SET visible_at = ?, receive_count = ?, first_receive_at = ?, receipt = ? WHERE seq = ?`,
					millis(m.VisibleAt), m.ReceiveCount, millis(m.FirstReceiveAt), m.Receipt, m.Seq); err != nil {
					return err
				}
				res.Messages = append(res.Messages, m)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("receive from %s: %w", p.Queue, err)
	}
	var next sql.NullInt64
	if err := s.read.QueryRowContext(ctx, `SELECT min(visible_at) FROM sqs_messages WHERE queue = ? AND visible_at > ?`,
		p.Queue, millis(p.Now)).Scan(&next); err != nil {
		return nil, fmt.Errorf("next visible in %s: %w", p.Queue, err)
	}
	res.NextVisible = fromMillis(next.Int64)
	return res, nil
}

// receiveCandidates reads up to n messages a receive may deliver, in delivery order. In a FIFO
// queue a message qualifies only when no message of its group is in flight and none before it
// is invisible: then every earlier message of its group qualifies too and comes first.
func receiveCandidates(tx *sql.Tx, p *store.MessageReceiveParams, n int) ([]*store.Message, error) {
	now := millis(p.Now)
	q := `SELECT ` + messageColumns + ` FROM sqs_messages WHERE queue = ? AND visible_at <= ? ORDER BY visible_at, seq LIMIT ?`
	args := []any{p.Queue, now, n}
	if p.FIFO {
		q = `SELECT ` + messageColumns + ` FROM sqs_messages m WHERE m.queue = ? AND m.visible_at <= ?
			AND NOT EXISTS (SELECT 1 FROM sqs_messages o WHERE o.queue = m.queue AND o.grp = m.grp AND o.visible_at > ?
				AND (o.receive_count > 0 OR o.seq < m.seq))
			ORDER BY m.seq LIMIT ?`
		args = []any{p.Queue, now, now, n}
	}
	rows, err := tx.Query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// MessageChangeMany implements store.Store.
func (s *Store) MessageChangeMany(ctx context.Context, p *store.MessageChangeParams) error {
	err := s.exec(ctx, func(tx *sql.Tx) error {
		for _, c := range p.Changes {
			var receipt string
			var visible int64
			err := tx.QueryRow(`SELECT receipt, visible_at FROM sqs_messages WHERE queue = ? AND id = ?`, p.Queue, c.ID).Scan(&receipt, &visible)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				c.Err = fmt.Errorf("message %s: %w", c.ID, store.ErrNotFound)
				continue
			case err != nil:
				return err
			case receipt == "" && !c.Delete, visible <= millis(p.Now) && !c.Delete:
				c.Err = fmt.Errorf("message %s: %w", c.ID, store.ErrNotInFlight)
				continue
			case receipt != c.Receipt:
				c.Err = fmt.Errorf("message %s received again since: %w", c.ID, store.ErrStale)
				continue
			case c.Delete:
				_, err = tx.Exec(`DELETE FROM sqs_messages WHERE queue = ? AND id = ?`, p.Queue, c.ID)
			default:
				_, err = tx.Exec(`UPDATE sqs_messages SET visible_at = ? WHERE queue = ? AND id = ?`, millis(c.VisibleAt), p.Queue, c.ID)
			}
			if err != nil {
				return err
			}
			c.Err = nil
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("change messages of %s: %w", p.Queue, err)
	}
	return nil
}

// MessageStats implements store.Store.
func (s *Store) MessageStats(ctx context.Context, queue string, now, retainAfter time.Time) (*store.MessageStats, error) {
	var st store.MessageStats
	var oldest sql.NullInt64
	n := millis(now)
	err := s.read.QueryRowContext(ctx, `SELECT
			coalesce(sum(visible_at <= ?), 0),
			coalesce(sum(visible_at > ? AND receive_count > 0), 0),
			coalesce(sum(visible_at > ? AND receive_count = 0), 0),
			min(sent_at)
		FROM sqs_messages WHERE queue = ? AND sent_at >= ?`, n, n, n, queue, millis(retainAfter)).
		Scan(&st.Visible, &st.InFlight, &st.Delayed, &oldest)
	if err != nil {
		return nil, fmt.Errorf("count messages of %s: %w", queue, err)
	}
	st.OldestSent = fromMillis(oldest.Int64)
	return &st, nil
}

// MessagePurge implements store.Store.
func (s *Store) MessagePurge(ctx context.Context, p *store.MessagePurgeParams) (int64, error) {
	var n int64
	err := s.exec(ctx, func(tx *sql.Tx) error {
		q, args := `DELETE FROM sqs_messages WHERE queue = ?`, []any{p.Queue}
		if !p.SentBefore.IsZero() {
			q += ` AND sent_at < ?`
			args = append(args, millis(p.SentBefore))
		}
		res, err := tx.Exec(q, args...)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		if p.Dedup {
			_, err = tx.Exec(`DELETE FROM sqs_dedup WHERE queue = ?`, p.Queue)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("purge %s: %w", p.Queue, err)
	}
	return n, nil
}

// MessageMove implements store.Store.
func (s *Store) MessageMove(ctx context.Context, p *store.MessageMoveParams) (int, error) {
	moved := 0
	err := s.exec(ctx, func(tx *sql.Tx) error {
		moved = 0
		// Back to their sources: only messages that have one.
		rows, err := tx.Query(`SELECT seq, source FROM sqs_messages WHERE queue = ? AND visible_at <= ? AND (? OR source <> '')
			ORDER BY seq LIMIT ?`, p.From, millis(p.Now), p.To != "", max(p.Limit, 1))
		if err != nil {
			return err
		}
		type item struct {
			seq    int64
			source string
		}
		var items []item
		for rows.Next() {
			var it item
			if err := rows.Scan(&it.seq, &it.source); err != nil {
				rows.Close()
				return err
			}
			items = append(items, it)
		}
		rows.Close()
		for _, it := range items {
			to := p.To
			if to == "" {
				to = it.source
			}
			if to == "" {
				continue
			}
			if _, err := tx.Exec(`UPDATE sqs_messages SET queue = ?, source = '', visible_at = ?, receive_count = 0,
				first_receive_at = 0, receipt = '' WHERE seq = ?`, to, millis(p.Now), it.seq); err != nil {
				return err
			}
			moved++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("move messages of %s: %w", p.From, err)
	}
	return moved, nil
}
