package sqs

import (
	"context"
	"encoding/json"
	"time"

	"github.com/barge-run/barge/internal/account"
	"github.com/barge-run/barge/internal/metrics"
	"github.com/barge-run/barge/internal/store"
)

// metricsWait bounds how long a scrape reads queue counts from the store.
const metricsWait = 5 * time.Second

// RegisterMetrics adds the queues' gauges to m, read from the store when scraped (so every
// server on a store reports the same): barge_sqs_messages{account,queue,state} for visible,
// in-flight and delayed messages, and barge_sqs_oldest_message_age_seconds{account,queue}.
func (s *Service) RegisterMetrics(m *metrics.Metrics) {
	if m == nil {
		return
	}
	m.Register(metrics.NewGaugeFunc("barge_sqs_messages", "SQS messages by account, queue and state (visible, in_flight, delayed).",
		[]string{"account", "queue", "state"}, func(emit func(float64, ...string)) {
			s.eachQueueStats(func(acct, name string, st *store.MessageStats, _ time.Time) {
				emit(float64(st.Visible), acct, name, "visible")
				emit(float64(st.InFlight), acct, name, "in_flight")
				emit(float64(st.Delayed), acct, name, "delayed")
			})
		}))
	m.Register(metrics.NewGaugeFunc("barge_sqs_oldest_message_age_seconds", "Age of each SQS queue's oldest message (0 when empty).",
		[]string{"account", "queue"}, func(emit func(float64, ...string)) {
			s.eachQueueStats(func(acct, name string, st *store.MessageStats, now time.Time) {
				age := 0.0
				if !st.OldestSent.IsZero() {
					age = now.Sub(st.OldestSent).Seconds()
				}
				emit(age, acct, name)
			})
		}))
}

// queueStat is one queue's counts at a scrape.
type queueStat struct {
	acct, name string
	st         *store.MessageStats
	at         time.Time
}

// eachQueueStats calls fn with the counts of every queue of every account. Both gauge families
// of one scrape read the same counts: they are read from the store once a second at most.
func (s *Service) eachQueueStats(fn func(acct, name string, st *store.MessageStats, now time.Time)) {
	s.statsMu.Lock()
	if time.Since(s.statsAt) >= time.Second {
		s.stats, s.statsAt = s.readQueueStats(), time.Now()
	}
	rows := s.stats
	s.statsMu.Unlock()
	for _, q := range rows {
		fn(q.acct, q.name, q.st, q.at)
	}
}

// readQueueStats reads the counts of every queue of every account from the store.
func (s *Service) readQueueStats() []queueStat {
	ctx, cancel := context.WithTimeout(context.Background(), metricsWait)
	defer cancel()
	rs, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{AllAccounts: true, Kind: store.KindSQSQueue})
	if err != nil {
		return nil
	}
	now := s.now()
	var out []queueStat
	for _, r := range rs {
		q := &queue{scope: r.Account, res: r}
		if json.Unmarshal(r.Body, &q.rec) != nil {
			continue
		}
		st, err := s.cfg.Store.MessageStats(ctx, q.rec.ID, now, now.Add(-secs(q.intAttr(attrRetention))))
		if err != nil {
			continue
		}
		acct, _ := account.SplitScope(r.Account, s.cfg.Region)
		out = append(out, queueStat{acct: acct, name: r.Name, st: st, at: now})
	}
	return out
}
