package sched

import (
	"container/list"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
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
	// FairShare makes this a fair-share queue (AWS: a job queue with a schedulingPolicyArn). Nil
	// keeps the queue FIFO, ignoring Job.Share and Job.Priority, as AWS does.
	FairShare *FairShare
	// ReserveAfter turns on starvation avoidance (a barge extension; 0 = off): a job that leads
	// its share (FIFO queue: the queue) but does not fit, and has waited at least this long, gets
	// a reservation on the compute environment it fits best. See docs/scheduler.md.
	ReserveAfter time.Duration
}

// FairShare is a fair-share scheduling policy (AWS FairsharePolicy).
type FairShare struct {
	// ShareDecay is the window over which past usage counts (shareDecaySeconds). 0 means
	// DefaultShareDecay, as in the AWS API reference.
	ShareDecay time.Duration
	// ComputeReservation (computeReservation, 0..99) holds (ComputeReservation/100)^active of
	// the queue's vCPUs back for share identifiers that are not active yet.
	ComputeReservation int
	// Weights is the shareDistribution. Identifiers not listed weigh 1.
	Weights []ShareWeight
}

// ShareWeight is one entry of a shareDistribution (AWS ShareAttributes).
type ShareWeight struct {
	// Identifier is a share identifier or, ending in '*', a prefix: every identifier starting
	// with it is a share of its own with this weight. An exact entry wins over a prefix, a longer
	// prefix over a shorter one.
	Identifier string
	// Weight is the weightFactor; 0 or less means the default, 1. Smaller weighs less against
	// usage, so gets more: a share of weight 0.5 gets twice the vCPU time of a share of weight 1.
	Weight float64
}

// DefaultShareDecay is the usage window of a fair-share queue whose ShareDecay is 0.
const DefaultShareDecay = 600 * time.Second

// Job is a job waiting for capacity. With Count > 1 it stands for that many identical jobs (the
// waiting children of an array job), placed one by one: an array of a million children costs one
// entry, not a million.
type Job struct {
	ID    string
	Queue string // queue key
	Need  Resources
	Count int // 0 or 1: a single job
	// Share is the shareIdentifier (fair-share queues only; an array's children share the
	// array's). In a fair-share queue a job without one belongs to share "", of weight 1 unless
	// the distribution says otherwise.
	Share string
	// Priority is the schedulingPriority: within a share of a fair-share queue, higher first,
	// then submission order. FIFO queues ignore it, as AWS does.
	Priority int32
	// Since is when the job became runnable, if before it is enqueued (a job queued again after a
	// restart): the starvation clock (ReserveAfter) counts from it. Zero: now.
	Since time.Time
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
	rank    int        // position in Scheduler.order: lower is served first
	fifo    *list.List // FIFO queues: of *entry, in submission order
	shares  map[string]*share
	waiting int   // entries
	running int64 // milli-vCPU placed from this queue and not yet released
	nres    int   // reservations held by this queue's jobs
	gcAt    time.Time
}

func (q *queueState) decay() time.Duration {
	if q.FairShare != nil && q.FairShare.ShareDecay > 0 {
		return q.FairShare.ShareDecay
	}
	return DefaultShareDecay
}

// share is one share identifier of a queue: its waiting jobs (fair-share queues; FIFO queues keep
// theirs in queueState.fifo) and its usage.
type share struct {
	id      string
	weight  float64
	buckets []*bucket // fair-share queues: by priority, highest first; none empty
	waiting int       // entries
	running int64     // milli-vCPU
	// usage is the decayed vCPU-seconds used as of updated: each vCPU-second used t ago counts
	// e^(-t/decay), so a steady r vCPUs gives r*decay, like a sliding window of decay seconds.
	usage     float64
	updated   time.Time
	idleSince time.Time // when the share last had no job waiting or running
}

type bucket struct {
	prio int32
	jobs *list.List // of *entry, in submission order
}

// advance brings usage up to now (the running vCPUs have been constant since updated).
func (sh *share) advance(now time.Time, decay time.Duration) {
	dt := now.Sub(sh.updated)
	if dt <= 0 {
		return
	}
	tau := decay.Seconds()
	f := math.Exp(-dt.Seconds() / tau)
	sh.usage = sh.usage*f + float64(sh.running)/1000*tau*(1-f)
	sh.updated = now
}

// key orders shares in a fair-share queue: lowest first. It is usage times weightFactor, as AWS
// documents ("T * weightFactor"), plus a charge for the running vCPUs of 1% of the decay window:
// small enough that usage history decides, enough that jobs placed in the same instant (usage
// has not moved yet) spread across shares by weight instead of all going to one share.
func (sh *share) key(decay time.Duration) float64 {
	return sh.weight * (sh.usage + float64(sh.running)/1000*decay.Seconds()/100)
}

func (sh *share) idle() bool { return sh.waiting == 0 && sh.running == 0 }

type running struct {
	ce   string
	need Resources
	q    *queueState // nil for Reserve
	sh   *share
}

// reservation holds a compute environment for a starving job.
type reservation struct {
	ce string
	q  *queueState
	e  *entry
}

// Scheduler holds the runnable jobs and the capacity in use.
type Scheduler struct {
	ces     map[string]*ceState
	queues  map[string]*queueState
	order   []*queueState // by priority desc, then key
	waiting map[string]*entry
	running map[string]running
	now     func() time.Time
	seq     uint64
	resByCE map[string]*reservation
	resJob  map[string]*reservation // by entry ID
	lanes   []lane                  // scratch
}

// New returns an empty scheduler.
func New() *Scheduler {
	return &Scheduler{
		ces:     map[string]*ceState{},
		queues:  map[string]*queueState{},
		waiting: map[string]*entry{},
		running: map[string]running{},
		now:     time.Now,
		resByCE: map[string]*reservation{},
		resJob:  map[string]*reservation{},
	}
}

// SetClock sets the clock the scheduler reads (time.Now by default; nil restores it). Enqueue,
// Schedule and Release read it: waiting time, usage and share activity follow it.
func (s *Scheduler) SetClock(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	s.now = now
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
func (s *Scheduler) RemoveComputeEnv(key string) {
	if r, ok := s.resByCE[key]; ok {
		s.unreserve(r)
	}
	delete(s.ces, key)
}

// SetQueue adds or changes a queue; its waiting jobs are kept, and so is the usage of its shares.
func (s *Scheduler) SetQueue(q Queue) {
	if q.FairShare != nil {
		fs := *q.FairShare
		fs.Weights = append([]ShareWeight(nil), fs.Weights...)
		q.FairShare = &fs
	}
	q.ComputeEnvs = append([]string(nil), q.ComputeEnvs...)
	qs, ok := s.queues[q.Key]
	if !ok {
		s.queues[q.Key] = &queueState{Queue: q, fifo: list.New(), shares: map[string]*share{}}
		s.reorder()
		return
	}
	wasFair := qs.FairShare != nil
	qs.Queue = q
	now := s.now()
	for _, sh := range qs.shares {
		sh.weight = weightFor(q.FairShare, sh.id)
		if !wasFair {
			sh.usage, sh.updated = 0, now // FIFO queues do not track usage
		}
	}
	if wasFair != (q.FairShare != nil) {
		s.relink(qs)
	}
	s.reorder()
}

// relink moves a queue's waiting entries between the FIFO list and the share buckets after the
// queue changed kind, keeping submission order.
func (s *Scheduler) relink(qs *queueState) {
	var all []*entry
	for e := qs.fifo.Front(); e != nil; e = e.Next() {
		all = append(all, e.Value.(*entry))
	}
	for _, sh := range qs.shares {
		for _, b := range sh.buckets {
			for e := b.jobs.Front(); e != nil; e = e.Next() {
				all = append(all, e.Value.(*entry))
			}
		}
		sh.buckets = nil
	}
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	qs.fifo.Init()
	for _, e := range all {
		s.link(qs, e)
	}
}

// RemoveQueue forgets a queue and the jobs waiting in it.
func (s *Scheduler) RemoveQueue(key string) {
	qs, ok := s.queues[key]
	if !ok {
		return
	}
	drop := func(l *list.List) {
		for e := l.Front(); e != nil; e = e.Next() {
			id := e.Value.(*entry).ID
			delete(s.waiting, id)
			if r, ok := s.resJob[id]; ok {
				s.unreserve(r)
			}
		}
	}
	drop(qs.fifo)
	for _, sh := range qs.shares {
		for _, b := range sh.buckets {
			drop(b.jobs)
		}
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
	for i, q := range s.order {
		q.rank = i
	}
}

// entry is a queued Job; placed counts the instances of a Count entry placed so far.
type entry struct {
	Job
	placed   int
	seq      uint64 // submission order
	enqueued time.Time
	q        *queueState
	sh       *share
	b        *bucket // nil in a FIFO queue
	elem     *list.Element
}

// next is the entry after e in its lane: the queue's FIFO order, or its share's order.
func (e *entry) next() *entry {
	if n := e.elem.Next(); n != nil {
		return n.Value.(*entry)
	}
	if e.b == nil {
		return nil
	}
	bs := e.sh.buckets
	i := sort.Search(len(bs), func(i int) bool { return bs[i].prio <= e.b.prio })
	if i+1 < len(bs) {
		return bs[i+1].jobs.Front().Value.(*entry)
	}
	return nil
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
	now := s.now()
	s.seq++
	e := &entry{Job: j, seq: s.seq, enqueued: now}
	if !j.Since.IsZero() && j.Since.Before(now) {
		e.enqueued = j.Since
	}
	sh := qs.shares[j.Share]
	if sh == nil {
		sh = &share{id: j.Share, weight: weightFor(qs.FairShare, j.Share), updated: now, idleSince: now}
		qs.shares[j.Share] = sh
	}
	e.q, e.sh = qs, sh
	sh.waiting++
	qs.waiting++
	s.link(qs, e)
	s.waiting[j.ID] = e
	return true
}

// link puts e at the end of its lane.
func (s *Scheduler) link(qs *queueState, e *entry) {
	if qs.FairShare == nil {
		e.b = nil
		e.elem = qs.fifo.PushBack(e)
		return
	}
	bs := e.sh.buckets
	i := sort.Search(len(bs), func(i int) bool { return bs[i].prio <= e.Priority })
	if i == len(bs) || bs[i].prio != e.Priority {
		bs = append(bs, nil)
		copy(bs[i+1:], bs[i:])
		bs[i] = &bucket{prio: e.Priority, jobs: list.New()}
		e.sh.buckets = bs
	}
	e.b = bs[i]
	e.elem = bs[i].jobs.PushBack(e)
}

// unlink takes e out of its queue.
func (s *Scheduler) unlink(e *entry) {
	delete(s.waiting, e.ID)
	if r, ok := s.resJob[e.ID]; ok {
		s.unreserve(r)
	}
	if e.b == nil {
		e.q.fifo.Remove(e.elem)
	} else {
		e.b.jobs.Remove(e.elem)
		if e.b.jobs.Len() == 0 {
			bs := e.sh.buckets
			for i, b := range bs {
				if b == e.b {
					e.sh.buckets = append(bs[:i], bs[i+1:]...)
					break
				}
			}
		}
	}
	e.sh.waiting--
	e.q.waiting--
	if e.sh.idle() {
		e.sh.idleSince = s.now()
	}
}

// WaitingCount reports how many instances of an entry still wait (0 when it is not queued).
func (s *Scheduler) WaitingCount(id string) int {
	if e, ok := s.waiting[id]; ok {
		return e.Count
	}
	return 0
}

// Dequeue removes a waiting job (cancelled); it reports whether the job was waiting.
func (s *Scheduler) Dequeue(id string) bool {
	e, ok := s.waiting[id]
	if !ok {
		return false
	}
	s.unlink(e)
	return true
}

// Reserve records a job already running on a compute environment (used when rebuilding state).
// It counts against no share.
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
	if r.sh != nil {
		now := s.now()
		s.account(r.q, r.sh, -r.need.MilliVCPU, now)
		if r.sh.idle() {
			r.sh.idleSince = now
		}
	}
	return true
}

// account changes a share's running vCPUs, first bringing its usage up to now.
func (s *Scheduler) account(q *queueState, sh *share, milli int64, now time.Time) {
	if q.FairShare != nil {
		sh.advance(now, q.decay())
	}
	sh.running += milli
	q.running += milli
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

// ComputeEnvUsage is a compute environment's capacity and what running jobs hold of it.
type ComputeEnvUsage struct {
	Key            string
	Enabled        bool
	Capacity, Used Resources
}

// ComputeEnvs lists every compute environment's usage (for metrics), in no particular order.
func (s *Scheduler) ComputeEnvs() []ComputeEnvUsage {
	out := make([]ComputeEnvUsage, 0, len(s.ces))
	for _, c := range s.ces {
		out = append(out, ComputeEnvUsage{Key: c.Key, Enabled: c.Enabled, Capacity: c.Capacity, Used: c.used})
	}
	return out
}

// QueueEnabled reports whether the queue key exists and is enabled.
func (s *Scheduler) QueueEnabled(key string) bool {
	q, ok := s.queues[key]
	return ok && q.Enabled
}

// QueueKeys lists every queue's key, in no particular order.
func (s *Scheduler) QueueKeys() []string {
	out := make([]string, 0, len(s.queues))
	for k := range s.queues {
		out = append(out, k)
	}
	return out
}

// lane is a queue's order of jobs during a pass: the queue (FIFO) or one share (fair share).
type lane struct {
	sh       *share
	cur      *entry  // next entry to consider
	key      float64 // fair share: lower goes first
	headDone bool    // the lane's first job not placed in this pass has been seen
}

// Schedule places as many waiting jobs as fit, highest-priority queues first, and reserves their
// capacity.
func (s *Scheduler) Schedule() Result {
	var res Result
	now := s.now()
	s.checkReservations()
	for _, qs := range s.order {
		s.collectShares(qs, now)
		if !qs.Enabled || qs.waiting == 0 {
			continue
		}
		ces := s.usableComputeEnvs(qs)
		if len(ces) == 0 && !qs.FailUnschedulable {
			continue
		}
		s.scheduleQueue(qs, ces, now, &res)
	}
	return res
}

func (s *Scheduler) scheduleQueue(qs *queueState, ces []*ceState, now time.Time, res *Result) {
	fair := qs.FairShare != nil
	decay := qs.decay()
	limit := int64(math.MaxInt64)
	if fair {
		for _, sh := range qs.shares {
			sh.advance(now, decay)
		}
		limit = s.shareLimit(qs, ces, now)
	}
	// The compute reservation caps the queue's running vCPUs; a queue running nothing may always
	// start a job, so a job larger than the cap still runs.
	underCap := func(need Resources) bool {
		return qs.running == 0 || qs.running+need.MilliVCPU <= limit
	}
	allowed := s.allowed(qs, ces, nil)

	// Jobs of this queue holding a reservation go first, oldest first.
	if qs.nres > 0 {
		var held []*reservation
		for _, r := range s.resByCE {
			if r.q == qs {
				held = append(held, r)
			}
		}
		sort.Slice(held, func(i, j int) bool { return held[i].e.seq < held[j].e.seq })
		for _, r := range held {
			e := r.e
			if !underCap(e.Need) {
				// Bound by the share cap, not by capacity: holding the compute environment would
				// only idle it.
				s.unreserve(r)
				continue
			}
			if c := firstFit(s.allowed(qs, ces, r), e.Need); c != nil {
				s.place(qs, e, c, now, res)
				if e.Count == 0 {
					s.unlink(e)
				}
			}
		}
		allowed = s.allowed(qs, ces, nil)
	}

	// Capacity and the share cap only shrink during a pass, so a shape that did not fit once will
	// not fit later in the same pass: remember it and skip its twins cheaply.
	noRoom := map[Resources]bool{}
	lanes := s.lanes[:0]
	if fair {
		for _, sh := range qs.shares {
			if len(sh.buckets) > 0 {
				lanes = append(lanes, lane{sh: sh, cur: sh.buckets[0].jobs.Front().Value.(*entry), key: sh.key(decay)})
			}
		}
	} else if f := qs.fifo.Front(); f != nil {
		lanes = append(lanes, lane{cur: f.Value.(*entry)})
	}
	s.lanes = lanes
	var l *lane
	for {
		if l == nil || l.cur == nil {
			if l = pickLane(lanes); l == nil {
				break
			}
		}
		e := l.cur
		if qs.FailUnschedulable {
			if reason, never := s.neverFits(qs, e.Need); never {
				l.cur = e.next()
				s.unlink(e)
				res.Unschedulable = append(res.Unschedulable, Unschedulable{JobID: e.ID, Reason: reason})
				continue
			}
		}
		if _, held := s.resJob[e.ID]; held {
			l.headDone = true // it leads its lane and already has its reservation
			l.cur = e.next()
			continue
		}
		fits := underCap(e.Need)
		if fits && !noRoom[e.Need] {
			if c := firstFit(allowed, e.Need); c != nil {
				// A Count entry places as many instances as fit before its lane moves on (or, in a
				// fair-share queue, before another share's turn comes).
				s.place(qs, e, c, now, res)
				if e.Count == 0 {
					l.cur = e.next()
					s.unlink(e)
				}
				if fair {
					l.key = l.sh.key(decay)
					l = nil
				}
				continue
			}
		}
		noRoom[e.Need] = true
		if !l.headDone {
			l.headDone = true
			if s.maybeReserve(qs, ces, e, fits, now) {
				allowed = s.allowed(qs, ces, nil)
			}
		}
		l.cur = e.next()
		if allFull(allowed) || (qs.running > 0 && qs.running >= limit) {
			break // no room left, or the share cap reached: nothing more can start
		}
	}
	if qs.ReserveAfter > 0 {
		// Lanes the scan did not reach: their first jobs did not get a chance either.
		for i := range lanes {
			if l := &lanes[i]; !l.headDone && l.cur != nil && s.resJob[l.cur.ID] == nil {
				s.maybeReserve(qs, ces, l.cur, underCap(l.cur.Need), now)
			}
		}
	}
}

// pickLane returns the lane to take the next job from: lowest key, then oldest next job.
func pickLane(lanes []lane) *lane {
	var best *lane
	for i := range lanes {
		l := &lanes[i]
		if l.cur == nil {
			continue
		}
		if best == nil || l.key < best.key || (l.key == best.key && l.cur.seq < best.cur.seq) {
			best = l
		}
	}
	return best
}

// place starts one instance of e on c.
func (s *Scheduler) place(qs *queueState, e *entry, c *ceState, now time.Time, res *Result) {
	c.used = c.used.add(e.Need)
	key := e.ID
	if e.Count > 1 || e.placed > 0 {
		e.placed++
		key = e.ID + "#" + strconv.Itoa(e.placed)
	}
	s.running[key] = running{ce: c.Key, need: e.Need, q: qs, sh: e.sh}
	e.Count--
	s.account(qs, e.sh, e.Need.MilliVCPU, now)
	if r, ok := s.resJob[e.ID]; ok {
		s.unreserve(r)
	}
	res.Placements = append(res.Placements, Placement{JobID: e.ID, Running: key, Queue: qs.Key, ComputeEnv: c.Key, Need: e.Need})
}

// shareLimit is the milli-vCPU a fair-share queue may have running: its compute environments'
// vCPUs less the compute reservation, (ComputeReservation/100)^active of them.
func (s *Scheduler) shareLimit(qs *queueState, ces []*ceState, now time.Time) int64 {
	cr := qs.FairShare.ComputeReservation
	if cr <= 0 {
		return math.MaxInt64
	}
	if cr > 99 {
		cr = 99
	}
	active := 0
	decay := qs.decay()
	for _, sh := range qs.shares {
		if !sh.idle() || now.Sub(sh.idleSince) < decay {
			active++
		}
	}
	var total int64
	for _, c := range ces {
		total += c.Capacity.MilliVCPU
	}
	return int64(float64(total) * (1 - math.Pow(float64(cr)/100, float64(active))))
}

// collectShares forgets shares that have been idle long enough not to matter: any idle share of a
// FIFO queue (it has no usage to keep), and in a fair-share queue those idle for ten decay windows
// (usage below e^-10 of what it was). It looks at most once per decay window.
func (s *Scheduler) collectShares(qs *queueState, now time.Time) {
	if now.Before(qs.gcAt) || len(qs.shares) == 0 {
		return
	}
	decay := qs.decay()
	qs.gcAt = now.Add(decay)
	for id, sh := range qs.shares {
		if sh.idle() && (qs.FairShare == nil || now.Sub(sh.idleSince) > 10*decay) {
			delete(qs.shares, id)
		}
	}
}

// allowed is ces less those reserved for a job of this queue or a higher-priority one, except
// for the reservation mine.
func (s *Scheduler) allowed(qs *queueState, ces []*ceState, mine *reservation) []*ceState {
	if len(s.resByCE) == 0 {
		return ces
	}
	var out []*ceState
	for i, c := range ces {
		r := s.resByCE[c.Key]
		blocked := r != nil && r != mine && r.q.rank <= qs.rank
		if blocked && out == nil {
			out = append(make([]*ceState, 0, len(ces)), ces[:i]...)
		}
		if !blocked && out != nil {
			out = append(out, c)
		}
	}
	if out == nil {
		return ces
	}
	return out
}

// maybeReserve gives e a reservation when it has waited long enough and the share cap does not
// hold it back (fits): on the first compute environment of its queue whose total capacity fits
// it, if that one is free of reservations or reserved for a job e goes before (a job of a
// lower-priority queue, or a younger one of the same queue).
func (s *Scheduler) maybeReserve(qs *queueState, ces []*ceState, e *entry, fits bool, now time.Time) bool {
	if qs.ReserveAfter <= 0 || !fits || now.Sub(e.enqueued) < qs.ReserveAfter {
		return false
	}
	var best *ceState
	for _, c := range ces {
		if e.Need.Fits(c.Capacity) {
			best = c
			break
		}
	}
	if best == nil {
		return false
	}
	if h, ok := s.resByCE[best.Key]; ok {
		if qs.rank > h.q.rank || (qs.rank == h.q.rank && e.seq > h.e.seq) {
			return false
		}
		s.unreserve(h)
	}
	r := &reservation{ce: best.Key, q: qs, e: e}
	s.resByCE[best.Key] = r
	s.resJob[e.ID] = r
	qs.nres++
	return true
}

func (s *Scheduler) unreserve(r *reservation) {
	delete(s.resByCE, r.ce)
	delete(s.resJob, r.e.ID)
	r.q.nres--
}

// checkReservations drops the reservations that can no longer serve their job.
func (s *Scheduler) checkReservations() {
	for key, r := range s.resByCE {
		c, q := s.ces[key], r.q
		if s.waiting[r.e.ID] != r.e || s.queues[q.Key] != q || !q.Enabled || q.ReserveAfter <= 0 ||
			c == nil || !c.Enabled || !r.e.Need.Fits(c.Capacity) || !contains(q.ComputeEnvs, key) {
			s.unreserve(r)
		}
	}
}

func contains(keys []string, key string) bool {
	for _, k := range keys {
		if k == key {
			return true
		}
	}
	return false
}

// weightFor is the weightFactor of share id under fs.
func weightFor(fs *FairShare, id string) float64 {
	if fs == nil {
		return 1
	}
	w, best := 1.0, -1
	for _, sw := range fs.Weights {
		if p, wild := strings.CutSuffix(sw.Identifier, "*"); wild {
			if strings.HasPrefix(id, p) && len(p) > best {
				w, best = sw.Weight, len(p)
			}
		} else if sw.Identifier == id {
			w = sw.Weight
			break
		}
	}
	if !(w > 0) || math.IsInf(w, 1) {
		return 1
	}
	return w
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
