package batch

import (
	"time"

	"github.com/barge-run/barge/internal/metrics"
)

// metricsWait bounds how long a scrape waits for the engine's loop to read its gauges.
const metricsWait = 2 * time.Second

// registerMetrics adds the engine's gauges, read on the loop of the engine running then when
// scraped (none where the engine runs on another server): unfinished jobs by account, queue and
// status (an array's waiting children counted by their shared status), and each compute
// environment's vCPUs in use and free.
func (s *Service) registerMetrics(m *metrics.Metrics) {
	if m == nil {
		return
	}
	m.Register(metrics.NewGaugeFunc("barge_jobs", "Unfinished jobs by account, queue and status (array children included).",
		[]string{"account", "queue", "status"}, func(emit func(float64, ...string)) {
			e := s.eng()
			for k, n := range readOnLoop(e, e.jobCounts) {
				emit(float64(n), k[0], k[1], k[2])
			}
		}))
	m.Register(metrics.NewGaugeFunc("barge_compute_environment_vcpus", "vCPUs of each compute environment, used by running jobs or free.",
		[]string{"compute_environment", "state"}, func(emit func(float64, ...string)) {
			e := s.eng()
			for k, v := range readOnLoop(e, e.vcpuCounts) {
				emit(v, k[0], k[1])
			}
		}))
}

// readOnLoop runs read on the engine's loop and returns its result, or nothing when the loop
// does not answer within metricsWait (stopped, or very busy).
func readOnLoop[K comparable, V any](e *engine, read func() map[K]V) map[K]V {
	if !e.active.Load() || e.stopped() {
		return nil
	}
	out := make(chan map[K]V, 1)
	e.do(func() { out <- read() })
	select {
	case m := <-out:
		return m
	case <-time.After(metricsWait):
		return nil
	}
}

func (e *engine) jobCounts() map[[3]string]int {
	counts := map[[3]string]int{}
	for _, aj := range e.jobs {
		q := aj.rec.Run.QueueName
		counts[[3]string{aj.store.Account, q, string(aj.rec.Detail.Status)}]++
		if a := aj.rec.Run.Array; a != nil {
			virtual := a.Size
			for _, n := range a.Counts {
				virtual -= n
			}
			if virtual > 0 && !terminal(a.VirtualStatus) {
				counts[[3]string{aj.store.Account, q, string(a.VirtualStatus)}] += virtual
			}
		}
	}
	return counts
}

func (e *engine) vcpuCounts() map[[2]string]float64 {
	out := map[[2]string]float64{}
	for _, c := range e.sched.ComputeEnvs() {
		used := float64(c.Used.MilliVCPU) / 1000
		out[[2]string{c.Key, "used"}] = used
		out[[2]string{c.Key, "free"}] = float64(c.Capacity.MilliVCPU)/1000 - used
	}
	return out
}
