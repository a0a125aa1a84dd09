package sched

import (
	"container/list"
	"fmt"
	"sort"
	"strconv"
)

// Resources is an amount of capacity. vCPUs are in thousandths so fractional requests add up
// exactly.
type Resources struct {
	MilliVCPU int64
	MemoryMiB int64
	GPU       int64
}

// Fits reports whether r fits within free.
func (r Resources) Fits(free Resources) bool {
	return r.MilliVCPU <= free.MilliVCPU && r.MemoryMiB <= free.MemoryMiB && r.GPU <= free.GPU
}

func (r Resources) add(o Resources) Resources {
	return Resources{r.MilliVCPU + o.MilliVCPU, r.MemoryMiB + o.MemoryMiB, r.GPU + o.GPU}
}

func (r Resources) sub(o Resources) Resources {
	return Resources{r.MilliVCPU - o.MilliVCPU, r.MemoryMiB - o.MemoryMiB, r.GPU - o.GPU}
}

func (r Resources) String() string {
	s := fmt.Sprintf("%s vCPU, %d MiB memory", formatMilli(r.MilliVCPU), r.MemoryMiB)
	if r.GPU > 0 {
		s += fmt.Sprintf(", %d GPU", r.GPU)
	}
	return s
}

func formatMilli(m int64) string {
	if m%1000 == 0 {
		return fmt.Sprint(m / 1000)
	}
	return fmt.Sprintf("%g", float64(m)/1000)
}

// ComputeEnv is a pool of capacity. Key is unique across accounts (the caller uses the ARN).
type ComputeEnv struct {
	Key      string
	Capacity Resources
	Enabled  bool
}

// Queue is a job queue. Key is unique across accounts.
type Queue struct {
	Key         string
	Priority    int32
	Enabled     bool
	ComputeEnvs []string // keys, in the queue's order
	// FailUnschedulable makes jobs that can never fit any compute environment of the queue fail
	// at once instead of waiting RUNNABLE forever (a barge extension, on by default).
	FailUnschedulable bool
}

// Job is a job waiting for capacity. With Count > 1 it stands for that many identical jobs (the
// waiting children of an array job), placed one by one: an array of a million children costs one
// entry, not a million.
type Job struct {
	ID    string
	Queue string // queue key
	Need  Resources
	Count int // 0 or 1: a single job
}

// Placement says: start this job on this compute environment. Its capacity is already reserved.
// For a Count entry, JobID is the entry's ID and Running the key under which the placed instance
// holds its capacity (JobID#n, n counting from 1); the caller names the instance and releases it
// by that key.
type Placement struct {
	JobID      string
	Running    string
	Queue      string
	ComputeEnv string
	Need       Resources
}

// Unschedulable is a job removed from its queue because no compute environment could ever fit it.
type Unschedulable struct {
	JobID  string
	Reason string
}

// Result is the outcome of one scheduling pass.
type Result struct {
	Placements    []Placement
	Unschedulable []Unschedulable
}

type ceState struct {
	ComputeEnv
	used Resources
}

func (c *ceState) free() Resources { return c.Capacity.sub(c.used) }

type queueState struct {
	Queue
	jobs *list.List // of *entry, in submission order
}

type running struct {
	ce   string
	need Resources
}

// Scheduler holds the runnable jobs and the capacity in use.
type Scheduler struct {
	ces     map[string]*ceState
	queues  map[string]*queueState
	order   []*queueState // by priority desc, then key
	waiting map[string]*list.Element
	running map[string]running
}

// New returns an empty scheduler.
func New() *Scheduler {
	return &Scheduler{
		ces:     map[string]*ceState{},
		queues:  map[string]*queueState{},
		waiting: map[string]*list.Element{},
		running: map[string]running{},
	}
}

// SetComputeEnv adds or changes a compute environment; capacity in use is kept.
func (s *Scheduler) SetComputeEnv(ce ComputeEnv) {
	if c, ok := s.ces[ce.Key]; ok {
		c.ComputeEnv = ce
		return
	}
	s.ces[ce.Key] = &ceState{ComputeEnv: ce}
}

// RemoveComputeEnv forgets a compute environment.
func (s *Scheduler) RemoveComputeEnv(key string) { delete(s.ces, key) }

// SetQueue adds or changes a queue; its waiting jobs are kept.
func (s *Scheduler) SetQueue(q Queue) {
	if qs, ok := s.queues[q.Key]; ok {
		qs.Queue = q
	} else {
		s.queues[q.Key] = &queueState{Queue: q, jobs: list.New()}
	}
	s.reorder()
}

// RemoveQueue forgets a queue and the jobs waiting in it.
func (s *Scheduler) RemoveQueue(key string) {
	qs, ok := s.queues[key]
	if !ok {
		return
	}
	for e := qs.jobs.Front(); e != nil; e = e.Next() {
		delete(s.waiting, e.Value.(*entry).ID)
	}
	delete(s.queues, key)
	s.reorder()
}

func (s *Scheduler) reorder() {
	s.order = s.order[:0]
	for _, q := range s.queues {
		s.order = append(s.order, q)
	}
	sort.Slice(s.order, func(i, j int) bool {
		if s.order[i].Priority != s.order[j].Priority {
			return s.order[i].Priority > s.order[j].Priority
		}
		return s.order[i].Key < s.order[j].Key
	})
}

// Enqueue makes a job wait for capacity in its queue. It reports false if the queue is unknown.
func (s *Scheduler) Enqueue(j Job) bool {
	qs, ok := s.queues[j.Queue]
	if !ok {
		return false
	}
	if _, dup := s.waiting[j.ID]; dup {
		return true
	}
	if j.Count < 1 {
		j.Count = 1
	}
	s.waiting[j.ID] = qs.jobs.PushBack(&entry{Job: j})
	return true
}

// entry is a queued Job; placed counts the instances of a Count entry placed so far.
type entry struct {
	Job
	placed int
}

// Waiting reports how many instances of an entry still wait (0 when it is not queued).
func (s *Scheduler) WaitingCount(id string) int {
	if e, ok := s.waiting[id]; ok {
		return e.Value.(*entry).Count
	}
	return 0
}

// Dequeue removes a waiting job (cancelled); it reports whether the job was waiting.
func (s *Scheduler) Dequeue(id string) bool {
	e, ok := s.waiting[id]
	if !ok {
		return false
	}
	delete(s.waiting, id)
	s.queues[e.Value.(*entry).Queue].jobs.Remove(e)
	return true
}

// Reserve records a job already running on a compute environment (used when rebuilding state).
func (s *Scheduler) Reserve(id, ce string, need Resources) {
	s.running[id] = running{ce: ce, need: need}
	if c, ok := s.ces[ce]; ok {
		c.used = c.used.add(need)
	}
}

// Release returns a finished job's capacity; it reports whether the job held any.
func (s *Scheduler) Release(id string) bool {
	r, ok := s.running[id]
	if !ok {
		return false
	}
	delete(s.running, id)
	if c, ok := s.ces[r.ce]; ok {
		c.used = c.used.sub(r.need)
	}
	return true
}

// Waiting is the number of entries waiting for capacity (a Count entry counts once).
func (s *Scheduler) Waiting() int { return len(s.waiting) }

// Used is the capacity in use on a compute environment.
func (s *Scheduler) Used(ce string) Resources {
	if c, ok := s.ces[ce]; ok {
		return c.used
	}
	return Resources{}
}

// Schedule places as many waiting jobs as fit, highest-priority queues first, and reserves their
// capacity.
func (s *Scheduler) Schedule() Result {
	var res Result
	for _, qs := range s.order {
		if !qs.Enabled || qs.jobs.Len() == 0 {
			continue
		}
		ces := s.usableComputeEnvs(qs)
		if len(ces) == 0 && !qs.FailUnschedulable {
			continue
		}
		// Capacity only shrinks during a pass, so a shape that did not fit once will not fit
		// later in the same pass: remember it and skip its twins cheaply.
		noRoom := map[Resources]bool{}
		var next *list.Element
		for e := qs.jobs.Front(); e != nil; e = next {
			next = e.Next()
			j := e.Value.(*entry)
			if qs.FailUnschedulable {
				if reason, never := s.neverFits(qs, j.Need); never {
					s.remove(qs, e)
					res.Unschedulable = append(res.Unschedulable, Unschedulable{JobID: j.ID, Reason: reason})
					continue
				}
			}
			if noRoom[j.Need] {
				continue
			}
			// A Count entry places as many instances as fit before the scan moves on.
			for j.Count > 0 {
				c := firstFit(ces, j.Need)
				if c == nil {
					break
				}
				c.used = c.used.add(j.Need)
				key := j.ID
				if j.Count > 1 || j.placed > 0 {
					j.placed++
					key = j.ID + "#" + strconv.Itoa(j.placed)
				}
				s.running[key] = running{ce: c.Key, need: j.Need}
				j.Count--
				res.Placements = append(res.Placements, Placement{JobID: j.ID, Running: key, Queue: qs.Key, ComputeEnv: c.Key, Need: j.Need})
			}
			if j.Count == 0 {
				s.remove(qs, e)
				continue
			}
			noRoom[j.Need] = true
			if allFull(ces) {
				break
			}
		}
	}
	return res
}

func (s *Scheduler) remove(qs *queueState, e *list.Element) {
	delete(s.waiting, e.Value.(*entry).ID)
	qs.jobs.Remove(e)
}

func firstFit(ces []*ceState, need Resources) *ceState {
	for _, c := range ces {
		if need.Fits(c.free()) {
			return c
		}
	}
	return nil
}

func (s *Scheduler) usableComputeEnvs(qs *queueState) []*ceState {
	var out []*ceState
	for _, key := range qs.ComputeEnvs {
		if c, ok := s.ces[key]; ok && c.Enabled {
			out = append(out, c)
		}
	}
	return out
}

// neverFits reports whether need exceeds the total capacity of every compute environment of the
// queue, enabled or not (a disabled one may be enabled again), with a reason naming the largest.
func (s *Scheduler) neverFits(qs *queueState, need Resources) (string, bool) {
	var largest Resources
	found := false
	for _, key := range qs.ComputeEnvs {
		c, ok := s.ces[key]
		if !ok {
			continue
		}
		if need.Fits(c.Capacity) {
			return "", false
		}
		if !found || c.Capacity.MilliVCPU > largest.MilliVCPU ||
			(c.Capacity.MilliVCPU == largest.MilliVCPU && c.Capacity.MemoryMiB > largest.MemoryMiB) {
			largest = c.Capacity
		}
		found = true
	}
	if !found {
		return "", false // no compute environment attached yet: wait, as AWS does
	}
	return fmt.Sprintf("Job requires %s but the largest compute environment of its queue has %s", need, largest), true
}

func allFull(ces []*ceState) bool {
	for _, c := range ces {
		f := c.free()
		if f.MilliVCPU > 0 && f.MemoryMiB > 0 {
			return false
		}
	}
	return true
}
