package postgres

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/barge-run/barge/internal/store"
)

// SQS messages (migration 002). Standard queues' receivers claim with FOR UPDATE SKIP LOCKED and
// never wait for each other. A FIFO queue's receives, and sends that deduplicate, take the
// queue's advisory lock for their transaction: whether a group has a message in flight, or a key
// was sent, must be decided by one transaction at a time.

const messageColumns = `seq, queue, id, grp, source, sent_at, visible_at, receive_count, first_receive_at, receipt, body`

func scanMessage(row pgx.Row) (*store.Message, error) {
	var m store.Message
	var sent, visible, first int64
	if err := row.Scan(&m.Seq, &m.Queue, &m.ID, &m.Group, &m.Source, &sent, &visible, &m.ReceiveCount, &first, &m.Receipt, &m.Body); err != nil {
		return nil, err
	}
	m.SentAt, m.VisibleAt, m.FirstReceiveAt = fromMillis(sent), fromMillis(visible), fromMillis(first)
	return &m, nil
}

// newReceipt names one receive of a message, unguessably.
func newReceipt() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// lockQueue serialises this transaction with the queue's other FIFO receives and deduplicating sends.
func lockQueue(ctx context.Context, tx pgx.Tx, queue string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 7))`, "sqs:"+queue)
	return err
}

// MessageInsertMany implements store.Store.
func (s *Store) MessageInsertMany(ctx context.Context, p *store.MessageInsertParams) error {
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		locked := map[string]bool{}
		for _, m := range p.Messages {
			m.Duplicate = false
			if m.DedupKey != "" {
				if !locked[m.Queue] {
					locked[m.Queue] = true
					if err := lockQueue(ctx, tx, m.Queue); err != nil {
						return err
					}
					if _, err := tx.Exec(ctx, `DELETE FROM sqs_dedup WHERE queue = $1 AND expires_at <= $2`, m.Queue, millis(p.Now)); err != nil {
						return err
					}
				}
				err := tx.QueryRow(ctx, `SELECT message_id, seq FROM sqs_dedup WHERE queue = $1 AND key = $2 AND expires_at > $3`,
					m.Queue, m.DedupKey, millis(p.Now)).Scan(&m.ID, &m.Seq)
				if err == nil {
					m.Duplicate = true
					continue
				}
				if !errors.Is(err, pgx.ErrNoRows) {
					return err
				}
			}
			if err := tx.QueryRow(ctx, `INSERT INTO sqs_messages (queue, id, grp, source, sent_at, visible_at, receive_count, first_receive_at, receipt, body)
				VALUES ($1, $2, $3, $4, $5, $6, 0, 0, '', $7) RETURNING seq`,
				m.Queue, m.ID, m.Group, m.Source, millis(m.SentAt), millis(m.VisibleAt), nonNil(m.Body)).Scan(&m.Seq); err != nil {
				return err
			}
			if m.DedupKey != "" {
				if _, err := tx.Exec(ctx, `INSERT INTO sqs_dedup (queue, key, message_id, seq, expires_at) VALUES ($1, $2, $3, $4, $5)
					ON CONFLICT (queue, key) DO UPDATE SET message_id = excluded.message_id, seq = excluded.seq, expires_at = excluded.expires_at`,
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
	var res *store.MessageReceiveResult
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		res = &store.MessageReceiveResult{}
		if p.FIFO {
			if err := lockQueue(ctx, tx, p.Queue); err != nil {
				return err
			}
		}
		if !p.RetainAfter.IsZero() {
			if _, err := tx.Exec(ctx, `DELETE FROM sqs_messages WHERE queue = $1 AND sent_at < $2`, p.Queue, millis(p.RetainAfter)); err != nil {
				return err
			}
		}
		return receiveRounds(ctx, tx, p, res)
	})
	if err != nil {
		return nil, fmt.Errorf("receive from %s: %w", p.Queue, err)
	}
	var next *int64
	if err := s.pool.QueryRow(ctx, `SELECT min(visible_at) FROM sqs_messages WHERE queue = $1 AND visible_at > $2`,
		p.Queue, millis(p.Now)).Scan(&next); err != nil {
		return nil, fmt.Errorf("next visible in %s: %w", p.Queue, err)
	}
	if next != nil {
		res.NextVisible = fromMillis(*next)
	}
	return res, nil
}

// receiveRounds claims messages until the limit, going round again only when dead-lettering
// made room.
func receiveRounds(ctx context.Context, tx pgx.Tx, p *store.MessageReceiveParams, res *store.MessageReceiveResult) error {
	limit, now := max(p.Limit, 1), millis(p.Now)
	taken := map[int64]bool{}
	for moved := -1; len(res.Messages) < limit && res.Moved > moved; {
		moved = res.Moved
		cands, err := receiveCandidates(ctx, tx, p, limit-len(res.Messages))
		if err != nil {
			return err
		}
		for _, m := range cands {
			if taken[m.Seq] {
				continue
			}
			taken[m.Seq] = true
			if p.MaxReceives > 0 && p.DeadLetter != "" && m.ReceiveCount >= p.MaxReceives {
				if _, err := tx.Exec(ctx, `UPDATE sqs_messages SET queue = $1, source = $2, visible_at = $3, receive_count = 0,
					first_receive_at = 0, receipt = '' WHERE seq = $4`, p.DeadLetter, p.Queue, now, m.Seq); err != nil {
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
			if _, err := tx.Exec(ctx, `UPDATE sqs_messages SET visible_at = $1, receive_count = $2, first_receive_at = $3, receipt = $4 WHERE seq = $5`,
				millis(m.VisibleAt), m.ReceiveCount, millis(m.FirstReceiveAt), m.Receipt, m.Seq); err != nil {
				return err
			}
			res.Messages = append(res.Messages, m)
		}
	}
	return nil
}

// receiveCandidates locks up to n messages a receive may deliver, in delivery order (see the
// SQLite driver for the FIFO rule).
func receiveCandidates(ctx context.Context, tx pgx.Tx, p *store.MessageReceiveParams, n int) ([]*store.Message, error) {
	now := millis(p.Now)
	q := `SELECT ` + messageColumns + ` FROM sqs_messages WHERE queue = $1 AND visible_at <= $2 ORDER BY visible_at, seq LIMIT $3 FOR UPDATE SKIP LOCKED`
	args := []any{p.Queue, now, n}
	if p.FIFO {
		q = `SELECT ` + messageColumns + ` FROM sqs_messages m WHERE m.queue = $1 AND m.visible_at <= $2
			AND NOT EXISTS (SELECT 1 FROM sqs_messages o WHERE o.queue = m.queue AND o.grp = m.grp AND o.visible_at > $2
				AND (o.receive_count > 0 OR o.seq < m.seq))
			ORDER BY m.seq LIMIT $3 FOR UPDATE`
	}
	rows, err := tx.Query(ctx, q, args...)
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
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		for _, c := range p.Changes {
			if err := changeMessage(ctx, tx, p, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("change messages of %s: %w", p.Queue, err)
	}
	return nil
}

// changeMessage applies one change, setting c.Err for a change refused.
func changeMessage(ctx context.Context, tx pgx.Tx, p *store.MessageChangeParams, c *store.MessageChange) error {
	var receipt string
	var visible int64
	err := tx.QueryRow(ctx, `SELECT receipt, visible_at FROM sqs_messages WHERE queue = $1 AND id = $2 FOR UPDATE`, p.Queue, c.ID).Scan(&receipt, &visible)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		c.Err = fmt.Errorf("message %s: %w", c.ID, store.ErrNotFound)
		return nil
	case err != nil:
		return err
	case receipt == "" && !c.Delete, visible <= millis(p.Now) && !c.Delete:
		c.Err = fmt.Errorf("message %s: %w", c.ID, store.ErrNotInFlight)
		return nil
	case receipt != c.Receipt:
		c.Err = fmt.Errorf("message %s received again since: %w", c.ID, store.ErrStale)
		return nil
	case c.Delete:
		_, err = tx.Exec(ctx, `DELETE FROM sqs_messages WHERE queue = $1 AND id = $2`, p.Queue, c.ID)
	default:
		_, err = tx.Exec(ctx, `UPDATE sqs_messages SET visible_at = $1 WHERE queue = $2 AND id = $3`, millis(c.VisibleAt), p.Queue, c.ID)
	}
	c.Err = nil
	return err
}

// MessageStats implements store.Store.
func (s *Store) MessageStats(ctx context.Context, queue string, now, retainAfter time.Time) (*store.MessageStats, error) {
	var st store.MessageStats
	var oldest *int64
	n := millis(now)
	err := s.pool.QueryRow(ctx, `SELECT
			count(*) FILTER (WHERE visible_at <= $1),
			count(*) FILTER (WHERE visible_at > $1 AND receive_count > 0),
			count(*) FILTER (WHERE visible_at > $1 AND receive_count = 0),
			min(sent_at)
		FROM sqs_messages WHERE queue = $2 AND sent_at >= $3`, n, queue, millis(retainAfter)).
		Scan(&st.Visible, &st.InFlight, &st.Delayed, &oldest)
	if err != nil {
		return nil, fmt.Errorf("count messages of %s: %w", queue, err)
	}
	if oldest != nil {
		st.OldestSent = fromMillis(*oldest)
	}
	return &st, nil
}

// MessagePurge implements store.Store.
func (s *Store) MessagePurge(ctx context.Context, p *store.MessagePurgeParams) (int64, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var q query
		q.add(`DELETE FROM sqs_messages WHERE queue = ?`, p.Queue)
		if !p.SentBefore.IsZero() {
			q.add(` AND sent_at < ?`, millis(p.SentBefore))
		}
		tag, err := tx.Exec(ctx, q.b.String(), q.args...)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		if p.Dedup {
			_, err = tx.Exec(ctx, `DELETE FROM sqs_dedup WHERE queue = $1`, p.Queue)
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
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		moved = 0
		// Back to their sources: only messages that have one.
		rows, err := tx.Query(ctx, `SELECT seq, source FROM sqs_messages WHERE queue = $1 AND visible_at <= $2 AND ($3 OR source <> '')
			ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED`, p.From, millis(p.Now), p.To != "", max(p.Limit, 1))
		if err != nil {
			return err
		}
		type item struct {
			seq    int64
			source string
		}
		items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (item, error) {
			var it item
			return it, r.Scan(&it.seq, &it.source)
		})
		if err != nil {
			return err
		}
		for _, it := range items {
			to := p.To
			if to == "" {
				to = it.source
			}
			if to == "" {
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE sqs_messages SET queue = $1, source = '', visible_at = $2, receive_count = 0,
				first_receive_at = 0, receipt = '' WHERE seq = $3`, to, millis(p.Now), it.seq); err != nil {
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
