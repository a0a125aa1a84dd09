package sched

import (
	"math"
	"sort"
	"time"
)

// ShareUsage is the decayed vCPU usage of one share of a fair-share queue at a moment, saved so
// that a restart does not hand every share a clean slate.
type ShareUsage struct {
	Queue       string    `json:"queue"`
	Share       string    `json:"share"`
	VCPUSeconds float64   `json:"vcpuSeconds"`
	At          time.Time `json:"at"`
}

// ShareUsages returns the usage of every share of every fair-share queue, as of now.
func (s *Scheduler) ShareUsages() []ShareUsage {
	now := s.now()
	var out []ShareUsage
	for _, qs := range s.queues {
		if qs.FairShare == nil {
			continue
		}
		for _, sh := range qs.shares {
			sh.advance(now, qs.decay())
			if sh.usage > 0 {
				out = append(out, ShareUsage{Queue: qs.Key, Share: sh.id, VCPUSeconds: sh.usage, At: now})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Queue != out[j].Queue {
			return out[i].Queue < out[j].Queue
		}
		return out[i].Share < out[j].Share
	})
	return out
}

// RestoreShareUsages adds saved usage to the shares of fair-share queues that exist now, decayed
// for the time since it was saved. Usage of unknown or FIFO queues is dropped.
func (s *Scheduler) RestoreShareUsages(us []ShareUsage) {
	now := s.now()
	for _, u := range us {
		qs := s.queues[u.Queue]
		if qs == nil || qs.FairShare == nil || u.VCPUSeconds <= 0 {
			continue
		}
		decay := qs.decay()
		sh := qs.shares[u.Share]
		if sh == nil {
			sh = &share{id: u.Share, weight: weightFor(qs.FairShare, u.Share), updated: now, idleSince: u.At}
			qs.shares[u.Share] = sh
		}
		sh.advance(now, decay)
		f := 1.0
		if age := now.Sub(u.At); age > 0 {
			f = math.Exp(-age.Seconds() / decay.Seconds())
		}
		sh.usage += u.VCPUSeconds * f
	}
}
