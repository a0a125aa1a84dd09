package console

import (
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"time"

	"github.com/barge-run/barge/internal/awserr"
)

// statuses are a job's statuses in the order of its life.
var statuses = []string{"SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED"}

// terminal reports whether a job in status is done.
func terminal(status string) bool { return status == "SUCCEEDED" || status == "FAILED" }

// count is one status and its number of jobs, for the counts bars.
type count struct {
	Status string
	N      int
	Pct    float64 // share of the bar's total, 0–100
}

// bar orders counts by status and computes each one's share of the total.
func bar(byStatus map[string]int) []count {
	total := 0
	for _, n := range byStatus {
		total += n
	}
	var out []count
	for _, s := range statuses {
		if n := byStatus[s]; n > 0 {
			out = append(out, count{Status: s, N: n, Pct: 100 * float64(n) / float64(total)})
		}
	}
	return out
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"ms": func(p *int64) string {
		if p == nil || *p == 0 {
			return "—"
		}
		return time.UnixMilli(*p).UTC().Format("2006-01-02 15:04:05.000")
	},
	"dur": func(from, to *int64) string {
		if from == nil || to == nil || *from == 0 || *to == 0 {
			return "—"
		}
		return (time.Duration(*to-*from) * time.Millisecond).String()
	},
	"eventTime": func(ms int64) string { return time.UnixMilli(ms).UTC().Format("15:04:05.000") },
	"exit": func(p *int32) string {
		if p == nil {
			return "—"
		}
		return fmt.Sprint(*p)
	},
	"terminal": terminal,
	"statuses": func() []string { return statuses },
}

// sample is one value of a metric, with its labels.
type sample struct {
	labels map[string]string
	value  float64
}

// samples reads the metric name's samples whose account label is account (or that have none).
func (c *Console) samples(name, account string) []sample {
	if c.cfg.Metrics == nil {
		return nil
	}
	fams, err := c.cfg.Metrics.Gather()
	if err != nil {
		c.cfg.Logger.Warn("console: reading metrics", "err", err)
	}
	var out []sample
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			s := sample{labels: map[string]string{}}
			for _, l := range m.GetLabel() {
				s.labels[l.GetName()] = l.GetValue()
			}
			if a, ok := s.labels["account"]; ok && a != account {
				continue
			}
			s.value = m.GetCounter().GetValue() + m.GetGauge().GetValue()
			out = append(out, s)
		}
	}
	return out
}

// sum adds the samples' values by the value of label key, then by a second label key2 ("": one).
func sum(ss []sample, key, key2 string) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for _, s := range ss {
		k := s.labels[key]
		if out[k] == nil {
			out[k] = map[string]float64{}
		}
		out[k][s.labels[key2]] += s.value
	}
	return out
}

// serviceError renders a service's error with its HTTP status.
func (c *Console) serviceError(w http.ResponseWriter, what string, err error) {
	e := awserr.As(err)
	status := e.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	c.fail(w, status, fmt.Errorf("%s: %s", what, e.Message))
}

// sortedKeys is m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
