package esm

import (
	"github.com/barge-run/barge/internal/metrics"
)

// RegisterMetrics adds the mappings' counters of this server to m:
// barge_esm_batches_total{uuid}, barge_esm_records_total{uuid,outcome} (outcome: invoked,
// filtered) and barge_esm_errors_total{uuid} (batches that failed and return to their queue).
func (s *Service) RegisterMetrics(m *metrics.Metrics) {
	if m == nil {
		return
	}
	each := func(emit func(uuid string, st Stats)) {
		s.mu.Lock()
		snapshot := make(map[string]Stats, len(s.stats))
		for uuid, st := range s.stats {
			snapshot[uuid] = *st
		}
		s.mu.Unlock()
		for uuid, st := range snapshot {
			emit(uuid, st)
		}
	}
	m.Register(metrics.NewCounterFunc("barge_esm_batches_total", "Batches event source mappings handed to their function, on this server.",
		[]string{"uuid"}, func(emit func(float64, ...string)) {
			each(func(uuid string, st Stats) { emit(float64(st.Batches), uuid) })
		}))
	m.Register(metrics.NewCounterFunc("barge_esm_records_total", "Records event source mappings invoked their function with, or dropped by their filter criteria, on this server.",
		[]string{"uuid", "outcome"}, func(emit func(float64, ...string)) {
			each(func(uuid string, st Stats) {
				emit(float64(st.Records), uuid, "invoked")
				emit(float64(st.Filtered), uuid, "filtered")
			})
		}))
	m.Register(metrics.NewCounterFunc("barge_esm_errors_total", "Batches whose invocation failed (they return to their queue), on this server.",
		[]string{"uuid"}, func(emit func(float64, ...string)) {
			each(func(uuid string, st Stats) { emit(float64(st.Errors), uuid) })
		}))
}
