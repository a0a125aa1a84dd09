package sched

import "time"

// FrontEntry is a job at the front of a queue. An entry standing for several instances (the
// waiting children of a lazy array) appears once with how many of its instances are listed.
type FrontEntry struct {
	ID        string
	Instances int
	Enqueued  time.Time
}

// Front lists up to n job instances of a queue in the order the scheduler would consider them
// (GetJobQueueSnapshot): submission order in a FIFO queue; in a fair-share queue the share with
// the lowest usage first, each instance taken counting against its share as placing it would.
// It changes nothing.
func (s *Scheduler) Front(queue string, n int) []FrontEntry {
	qs, ok := s.queues[queue]
	if !ok || n <= 0 {
		return nil
	}
	var out []FrontEntry
	add := func(e *entry, k int) {
		if len(out) > 0 && out[len(out)-1].ID == e.ID {
			out[len(out)-1].Instances += k
			return
		}
		out = append(out, FrontEntry{ID: e.ID, Instances: k, Enqueued: e.enqueued})
	}
	if qs.FairShare == nil {
		for el := qs.fifo.Front(); el != nil && n > 0; el = el.Next() {
			e := el.Value.(*entry)
			k := min(e.Count, n)
			add(e, k)
			n -= k
		}
		return out
	}
	decay := qs.decay()
	type cursor struct {
		cur  *entry
		left int // instances of cur not yet listed
		key  float64
		sh   *share
	}
	var lanes []*cursor
	for _, sh := range qs.shares {
		if len(sh.buckets) > 0 {
			e := sh.buckets[0].jobs.Front().Value.(*entry)
			lanes = append(lanes, &cursor{cur: e, left: e.Count, key: sh.key(decay), sh: sh})
		}
	}
	for n > 0 {
		var best *cursor
		for _, l := range lanes {
			if l.cur != nil && (best == nil || l.key < best.key || (l.key == best.key && l.cur.seq < best.cur.seq)) {
				best = l
			}
		}
		if best == nil {
			break
		}
		add(best.cur, 1)
		n--
		// As placing it would: the running charge of one more instance raises the share's key.
		best.key += best.sh.weight * float64(best.cur.Need.MilliVCPU) / 1000 * decay.Seconds() / 100
		if best.left--; best.left == 0 {
			if best.cur = best.cur.next(); best.cur != nil {
				best.left = best.cur.Count
			}
		}
	}
	return out
}
