package sched

import (
	"fmt"
	"math"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

func newClocked() (*Scheduler, *fakeClock) {
	clk := &fakeClock{t: epoch}
	s := New()
	s.SetClock(clk.Now)
	return s, clk
}

// sim drives a scheduler over simulated time: a pass at every tick and at every job end, each
// placed job running for its duration and then released. It checks at every pass that no compute
// environment is overcommitted.
type sim struct {
	t        *testing.T
	s        *Scheduler
	clk      *fakeClock
	caps     map[string]Resources
	jobs     map[string]simJob    // by entry ID
	ends     map[string]time.Time // by running key
	runs     map[string]simRun    // by running key
	started  map[string]time.Time // entry ID -> first placement
	pending  map[string]int       // share (or tag) -> jobs submitted, not yet started
	vcpuSecs map[string]float64   // share -> vCPU-seconds used while measuring
	measure  bool
	n        int
}

type simJob struct {
	queue, share string
	tag          string // counts in sim.pending under this name instead of share
	need         Resources
	dur          time.Duration
	prio         int32
}

func (j simJob) pendingKey() string {
	if j.tag != "" {
		return j.tag
	}
	return j.share
}

type simRun struct {
	share string
	milli int64
}

func newSim(t *testing.T, ces ...ComputeEnv) *sim {
	s, clk := newClocked()
	m := &sim{t: t, s: s, clk: clk, caps: map[string]Resources{}, jobs: map[string]simJob{}, ends: map[string]time.Time{},
		runs: map[string]simRun{}, started: map[string]time.Time{}, pending: map[string]int{}, vcpuSecs: map[string]float64{}}
	for _, ce := range ces {
		s.SetComputeEnv(ce)
		m.caps[ce.Key] = ce.Capacity
	}
	return m
}

func (m *sim) submit(j simJob) string {
	id := fmt.Sprintf("j%d", m.n)
	m.n++
	m.jobs[id] = j
	m.pending[j.pendingKey()]++
	if !m.s.Enqueue(Job{ID: id, Queue: j.queue, Need: j.need, Share: j.share, Priority: j.prio}) {
		m.t.Fatalf("enqueue %s refused", id)
	}
	return id
}

// run simulates until end; feed, if set, is called before every pass.
func (m *sim) run(end time.Time, tick time.Duration, feed func()) {
	for {
		if feed != nil {
			feed()
		}
		now := m.clk.t
		for _, p := range m.s.Schedule().Placements {
			j := m.jobs[p.JobID]
			m.ends[p.Running] = now.Add(j.dur)
			m.runs[p.Running] = simRun{j.share, p.Need.MilliVCPU}
			if _, ok := m.started[p.JobID]; !ok {
				m.started[p.JobID] = now
				m.pending[j.pendingKey()]--
			}
		}
		for ce, c := range m.caps {
			if !m.s.Used(ce).Fits(c) {
				m.t.Fatalf("%v: %s overcommitted: %v of %v", now.Sub(epoch), ce, m.s.Used(ce), c)
			}
		}
		if !now.Before(end) {
			return
		}
		next := epoch.Add((now.Sub(epoch)/tick + 1) * tick)
		for _, e := range m.ends {
			if e.Before(next) {
				next = e
			}
		}
		if end.Before(next) {
			next = end
		}
		if m.measure {
			for _, r := range m.runs {
				m.vcpuSecs[r.share] += float64(r.milli) / 1000 * next.Sub(now).Seconds()
			}
		}
		m.clk.t = next
		for key, e := range m.ends {
			if !e.After(next) {
				if !m.s.Release(key) {
					m.t.Fatalf("release %s: not running", key)
				}
				delete(m.ends, key)
				delete(m.runs, key)
			}
		}
	}
}

// topUp keeps at least n jobs of each share waiting: 1 vCPU (up to maxVCPU), 30 to 90 seconds.
func (m *sim) topUp(rng *rand.Rand, queue string, n int, maxVCPU int, shares ...string) func() {
	return func() {
		for _, sh := range shares {
			for m.pending[sh] < n {
				m.submit(simJob{queue: queue, share: sh, need: cpu(int64(1+rng.Intn(maxVCPU)), 100), dur: time.Duration(30+rng.Intn(61)) * time.Second})
			}
		}
	}
}

func (m *sim) fractions() map[string]float64 {
	var total float64
	for _, v := range m.vcpuSecs {
		total += v
	}
	out := map[string]float64{}
	for k, v := range m.vcpuSecs {
		out[k] = v / total
	}
	return out
}

// TestFairShareConverges: shares with endless backlogs of 1-vCPU jobs get vCPU time in inverse
// proportion to their weightFactor over a long simulated time.
func TestFairShareConverges(t *testing.T) {
	cases := []struct {
		name    string
		vcpus   int64
		maxJob  int // vCPUs: jobs need 1..maxJob
		weights []ShareWeight
		want    map[string]float64 // relative vCPU time
	}{
		{"weights 1 and 0.5", 8, 1, []ShareWeight{{"a", 1}, {"b", 0.5}}, map[string]float64{"a": 1, "b": 2}},
		{"weights 1 and 0.5, jobs of 1 to 3 vCPUs", 16, 3, []ShareWeight{{"a", 1}, {"b", 0.5}}, map[string]float64{"a": 1, "b": 2}},
		{"equal by default", 7, 1, nil, map[string]float64{"a": 1, "b": 1, "c": 1}},
		{"1, 0.5 and 0.25", 14, 1, []ShareWeight{{"a", 1}, {"b", 0.5}, {"c", 0.25}}, map[string]float64{"a": 1, "b": 2, "c": 4}},
		{"wildcard: each match is its own share", 10, 1, []ShareWeight{{"team*", 0.5}}, map[string]float64{"teamA": 2, "teamB": 2, "other": 1}},
		{"exact entry wins over a prefix", 9, 1, []ShareWeight{{"team*", 0.5}, {"teamA", 0.25}}, map[string]float64{"teamA": 4, "teamB": 2, "other": 1}},
	}
	for _, c := range cases {
		for seed := int64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%s/seed%d", c.name, seed), func(t *testing.T) {
				rng := rand.New(rand.NewSource(seed))
				m := newSim(t, ComputeEnv{Key: "ce", Capacity: cpu(c.vcpus, 100000), Enabled: true})
				m.s.SetQueue(Queue{Key: "q", Enabled: true, ComputeEnvs: []string{"ce"}, FairShare: &FairShare{ShareDecay: 10 * time.Minute, Weights: c.weights}})
				var shares []string
				var sum float64
				for sh, w := range c.want {
					shares = append(shares, sh)
					sum += w
				}
				sort.Strings(shares)
				feed := m.topUp(rng, "q", 5, c.maxJob, shares...)
				m.run(epoch.Add(time.Hour), time.Second, feed)
				m.measure = true
				m.run(epoch.Add(7*time.Hour), time.Second, feed)
				got := m.fractions()
				for _, sh := range shares {
					want := c.want[sh] / sum
					if math.Abs(got[sh]-want) > 0.1*want {
						t.Errorf("share %s: %.3f of the vCPU time, want %.3f ±10%% (all: %v)", sh, got[sh], want, got)
					}
				}
			})
		}
	}
}

// TestShareDecayUsage checks the usage arithmetic: a steady r vCPUs accumulates r×decay
// vCPU-seconds, which then fall by e^-1 per decay window once the share stops.
func TestShareDecayUsage(t *testing.T) {
	cases := []struct {
		name      string
		decay     time.Duration
		effective time.Duration
	}{
		{"explicit decay", time.Hour, time.Hour},
		{"zero means the 600 s default", 0, DefaultShareDecay},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, clk := newClocked()
			s.SetComputeEnv(ComputeEnv{Key: "ce", Capacity: cpu(8, 1000), Enabled: true})
			s.SetQueue(Queue{Key: "q", Enabled: true, ComputeEnvs: []string{"ce"}, FairShare: &FairShare{ShareDecay: c.decay}})
			s.Enqueue(Job{ID: "a", Queue: "q", Share: "s", Need: cpu(2, 1)})
			s.Schedule()
			tau := c.effective.Seconds()
			usage := func() float64 {
				sh := s.queues["q"].shares["s"]
				sh.advance(clk.Now(), s.queues["q"].decay())
				return sh.usage
			}
			clk.Advance(10 * c.effective)
			s.Release("a")
			if want := 2 * tau * (1 - math.Exp(-10)); math.Abs(usage()-want) > 1e-6*want {
				t.Fatalf("after 10 windows at 2 vCPUs: usage %.3f, want %.3f", usage(), want)
			}
			peak := usage()
			clk.Advance(c.effective)
			if want := peak / math.E; math.Abs(usage()-want) > 1e-6*want {
				t.Fatalf("one window later: usage %.3f, want %.3f", usage(), want)
			}
			clk.Advance(c.effective / 2)
			if want := peak * math.Exp(-1.5); math.Abs(usage()-want) > 1e-6*want {
				t.Fatalf("1.5 windows later: usage %.3f, want %.3f", usage(), want)
			}
		})
	}
}

// TestShareDecayHistory: after share "old" ran alone on 8 vCPUs for hours, share "new" arrives;
// both keep a backlog. "new" gets every freed vCPU until its usage passes the old share's
// decaying usage, which takes decay×ln2 (8τ(1-e^(-t/τ)) = 8τe^(-t/τ)), then they split evenly. So
// over the next half hour: a 1 h window gives "new" nearly all of it, 10 minutes about
// (6.9 + 23.1/2)/30 ≈ 0.61, one minute about half; and 0 behaves as the 600 s default.
func TestShareDecayHistory(t *testing.T) {
	cases := []struct {
		name     string
		decay    time.Duration
		min, max float64 // newcomer's fraction of the half hour after it arrives
	}{
		{"one hour", time.Hour, 0.95, 1},
		{"ten minutes", 10 * time.Minute, 0.55, 0.66},
		{"zero is the 600 s default", 0, 0.55, 0.66},
		{"one minute", time.Minute, 0.45, 0.55},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(7))
			m := newSim(t, ComputeEnv{Key: "ce", Capacity: cpu(8, 100000), Enabled: true})
			m.s.SetQueue(Queue{Key: "q", Enabled: true, ComputeEnvs: []string{"ce"}, FairShare: &FairShare{ShareDecay: c.decay}})
			m.run(epoch.Add(5*time.Hour), time.Second, m.topUp(rng, "q", 5, 1, "old"))
			m.measure = true
			m.run(epoch.Add(5*time.Hour+30*time.Minute), time.Second, m.topUp(rng, "q", 5, 1, "old", "new"))
			if got := m.fractions()["new"]; got < c.min || got > c.max {
				t.Fatalf("newcomer got %.3f of the half hour, want %.2f..%.2f", got, c.min, c.max)
			}
		})
	}
}

// TestComputeReservation: (computeReservation/100)^activeShares of the queue's vCPUs stay free for
// share identifiers that are not active yet.
func TestComputeReservation(t *testing.T) {
	type step struct {
		advance time.Duration
		enqueue []Job
		release []string
		want    int // placements
		wantIDs string
	}
	a := func(n int) []Job {
		var js []Job
		for i := 0; i < n; i++ {
			js = append(js, Job{ID: fmt.Sprintf("a%d", i), Queue: "q", Share: "A", Need: cpu(1, 1)})
		}
		return js
	}
	b := []Job{{ID: "b", Queue: "q", Share: "B", Need: cpu(1, 1)}}
	cases := []struct {
		name  string
		cr    int
		steps []step
	}{
		{"no reservation: one share takes all", 0, []step{
			{enqueue: a(20), want: 8},
			{enqueue: b, want: 0},
		}},
		{"50: half for one share, a quarter for two", 50, []step{
			{enqueue: a(20), want: 4},
			{enqueue: b, want: 2, wantIDs: "b@ce a4@ce"},
		}},
		{"25: a quarter, then 6.25%", 25, []step{
			{enqueue: a(20), want: 6},
			{enqueue: b, want: 1, wantIDs: "b@ce"},
		}},
		{"a share stays active for one decay window after its last job", 50, []step{
			{enqueue: a(20), want: 4},
			{enqueue: b, want: 2},
			{release: []string{"b", "a0", "a1"}, want: 3},                       // B idle but still active: up to 6 running
			{advance: 11 * time.Minute, release: []string{"a2", "a3"}, want: 0}, // 1 active: 4 running is the cap
		}},
		{"a queue running nothing may start a job larger than the cap", 50, []step{
			{enqueue: []Job{{ID: "big", Queue: "q", Share: "A", Need: cpu(6, 1)}, {ID: "small", Queue: "q", Share: "A", Need: cpu(1, 1)}}, want: 1, wantIDs: "big@ce"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, clk := newClocked()
			s.SetComputeEnv(ComputeEnv{Key: "ce", Capacity: cpu(8, 1000), Enabled: true})
			s.SetQueue(Queue{Key: "q", Enabled: true, ComputeEnvs: []string{"ce"}, FairShare: &FairShare{ComputeReservation: c.cr, ShareDecay: 10 * time.Minute}})
			for i, st := range c.steps {
				clk.Advance(st.advance)
				for _, j := range st.enqueue {
					s.Enqueue(j)
				}
				for _, id := range st.release {
					if !s.Release(id) {
						t.Fatalf("step %d: release %s: not running", i, id)
					}
				}
				r := s.Schedule()
				if len(r.Placements) != st.want || (st.wantIDs != "" && placedIDs(r) != st.wantIDs) {
					t.Fatalf("step %d: placed %q, want %d %s", i, placedIDs(r), st.want, st.wantIDs)
				}
			}
		})
	}
}

// TestSchedulingPriority: within a share of a fair-share queue, higher schedulingPriority first,
// then submission order; FIFO queues ignore it.
func TestSchedulingPriority(t *testing.T) {
	jobs := []Job{
		{ID: "p1", Priority: 1, Share: "s"},
		{ID: "p5a", Priority: 5, Share: "s"},
		{ID: "p0", Share: "s"},
		{ID: "p5b", Priority: 5, Share: "s"},
		{ID: "arr", Priority: 3, Share: "s", Count: 2},
		{ID: "p9", Priority: 9, Share: "s"},
	}
	cases := []struct {
		name string
		fs   *FairShare
		want string
	}{
		{"fair share", &FairShare{}, "p9 p5a p5b arr arr p1 p0"},
		{"FIFO ignores priority", nil, "p1 p5a p0 p5b arr arr p9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, _ := newClocked()
			s.SetComputeEnv(ComputeEnv{Key: "ce", Capacity: cpu(1, 1000), Enabled: true})
			s.SetQueue(Queue{Key: "q", Enabled: true, ComputeEnvs: []string{"ce"}, FairShare: c.fs})
			for _, j := range jobs {
				j.Queue, j.Need = "q", cpu(1, 1)
				s.Enqueue(j)
			}
			var order []string
			for i := 0; i < 10; i++ {
				for _, p := range s.Schedule().Placements {
					order = append(order, p.JobID)
					s.Release(p.Running)
				}
			}
			if got := strings.Join(order, " "); got != c.want {
				t.Fatalf("order %q, want %q", got, c.want)
			}
		})
	}
}

// TestSwitchQueueKind: a queue changed between FIFO and fair share keeps its jobs, in submission
// order where FIFO.
func TestSwitchQueueKind(t *testing.T) {
	s, _ := newClocked()
	s.SetComputeEnv(ComputeEnv{Key: "ce", Capacity: cpu(1, 1000), Enabled: true})
	q := Queue{Key: "q", Enabled: true, ComputeEnvs: []string{"ce"}}
	s.SetQueue(q)
	for i, p := range []int32{0, 5, 1, 9} {
		s.Enqueue(Job{ID: fmt.Sprint("j", i), Queue: "q", Need: cpu(1, 1), Priority: p})
	}
	q.FairShare = &FairShare{}
	s.SetQueue(q)
	r := s.Schedule() // j3 (priority 9)
	s.Release(r.Placements[0].Running)
	q.FairShare = nil
	s.SetQueue(q)
	var order []string
	order = append(order, r.Placements[0].JobID)
	for i := 0; i < 5; i++ {
		for _, p := range s.Schedule().Placements {
			order = append(order, p.JobID)
			s.Release(p.Running)
		}
	}
	if got := strings.Join(order, " "); got != "j3 j0 j1 j2" || s.Waiting() != 0 {
		t.Fatalf("order %q, waiting %d", got, s.Waiting())
	}
}

func TestShareWeights(t *testing.T) {
	fs := &FairShare{Weights: []ShareWeight{{"team*", 0.5}, {"teamAlpha", 0.25}, {"team-long*", 0.125}, {"zero", 0}, {"neg", -2}}}
	cases := []struct {
		fs   *FairShare
		id   string
		want float64
	}{
		{fs, "teamB", 0.5},
		{fs, "team", 0.5},
		{fs, "teamAlpha", 0.25},
		{fs, "teamAlphaX", 0.5},
		{fs, "team-longer", 0.125},
		{fs, "other", 1},
		{fs, "", 1},
		{fs, "zero", 1},
		{fs, "neg", 1},
		{&FairShare{Weights: []ShareWeight{{"*", 2}}}, "anything", 2},
		{nil, "x", 1},
	}
	for _, c := range cases {
		if got := weightFor(c.fs, c.id); got != c.want {
			t.Errorf("weight of %q: %g, want %g", c.id, got, c.want)
		}
	}
}

// TestReservationStarvation: a 4-vCPU job behind an endless stream of 1-vCPU jobs on a 4-vCPU
// compute environment starves without ReserveAfter and starts within ReserveAfter plus one job
// duration with it.
func TestReservationStarvation(t *testing.T) {
	const (
		reserveAfter = 5 * time.Minute
		maxDur       = 90 * time.Second
		bigAt        = 10 * time.Minute
	)
	cases := []struct {
		name             string
		queues           []Queue
		bigQueue, bigShr string
		smallQ, smallShr string
	}{
		{name: "FIFO queue", queues: []Queue{{Key: "q"}}, bigQueue: "q", smallQ: "q"},
		{name: "higher-priority queue over a lower one's stream", queues: []Queue{{Key: "hi", Priority: 10}, {Key: "lo", Priority: 1}}, bigQueue: "hi", smallQ: "lo"},
		{name: "fair share: other share's stream", queues: []Queue{{Key: "q", FairShare: &FairShare{}}}, bigQueue: "q", bigShr: "big", smallQ: "q", smallShr: "small"},
		{name: "fair share: own share's stream", queues: []Queue{{Key: "q", FairShare: &FairShare{}}}, bigQueue: "q", bigShr: "s", smallQ: "q", smallShr: "s"},
	}
	for _, c := range cases {
		for _, ra := range []time.Duration{0, reserveAfter} {
			t.Run(fmt.Sprintf("%s/ReserveAfter=%v", c.name, ra), func(t *testing.T) {
				rng := rand.New(rand.NewSource(3))
				m := newSim(t, ComputeEnv{Key: "ce", Capacity: cpu(4, 100000), Enabled: true})
				for _, q := range c.queues {
					q.Enabled, q.ComputeEnvs, q.ReserveAfter = true, []string{"ce"}, ra
					m.s.SetQueue(q)
				}
				var big string
				feed := func() {
					for m.pending["small"] < 6 {
						m.submit(simJob{queue: c.smallQ, share: c.smallShr, tag: "small", need: cpu(1, 100), dur: time.Duration(30+rng.Intn(61)) * time.Second})
					}
					if big == "" && !m.clk.t.Before(epoch.Add(bigAt)) {
						big = m.submit(simJob{queue: c.bigQueue, share: c.bigShr, need: cpu(4, 100), dur: time.Minute})
					}
				}
				m.run(epoch.Add(bigAt+3*time.Hour), time.Second, feed)
				start, ok := m.started[big]
				if ra == 0 {
					if ok {
						t.Fatalf("without ReserveAfter the big job should starve; it started after %v", start.Sub(epoch.Add(bigAt)))
					}
					return
				}
				if !ok {
					t.Fatal("big job never started")
				}
				if waited := start.Sub(epoch.Add(bigAt)); waited > reserveAfter+maxDur {
					t.Fatalf("big job waited %v, want at most %v", waited, reserveAfter+maxDur)
				}
			})
		}
	}
}

// TestReservationOnePerComputeEnv: two starving jobs want the same compute environment. It is
// reserved for one at a time: the older first, unless the other's queue has the higher priority;
// both run, and no reservation is left behind.
func TestReservationOnePerComputeEnv(t *testing.T) {
	cases := []struct {
		name        string
		fs          *FairShare
		big2Queue   string
		wantHolders string // successive reservation holders
		wantFirst   string // which big job starts first
	}{
		{"FIFO queue: the older first", nil, "q", "big1 big2", "big1"},
		{"fair share: the older first, though in the busier share", &FairShare{}, "q", "big1 big2", "big1"},
		{"a higher-priority queue's job takes it over", nil, "hi", "big1 big2 big1", "big2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(5))
			m := newSim(t, ComputeEnv{Key: "ce", Capacity: cpu(4, 100000), Enabled: true})
			m.s.SetQueue(Queue{Key: "q", Enabled: true, ComputeEnvs: []string{"ce"}, ReserveAfter: 3 * time.Minute, FairShare: c.fs})
			m.s.SetQueue(Queue{Key: "hi", Priority: 10, Enabled: true, ComputeEnvs: []string{"ce"}, ReserveAfter: 3 * time.Minute})
			name := map[string]string{}
			var holders []string
			feed := func() {
				for m.pending["small"] < 6 {
					m.submit(simJob{queue: "q", share: "small", need: cpu(1, 100), dur: time.Duration(30+rng.Intn(61)) * time.Second})
				}
				if len(name) == 0 && m.clk.t.Sub(epoch) >= 10*time.Minute {
					name[m.submit(simJob{queue: "q", share: "small", tag: "big", need: cpu(3, 100), dur: time.Minute})] = "big1"
				}
				if len(name) == 1 && m.clk.t.Sub(epoch) >= 10*time.Minute+5*time.Second {
					name[m.submit(simJob{queue: c.big2Queue, share: "idle", need: cpu(4, 100), dur: time.Minute})] = "big2"
				}
				if n := len(m.s.resByCE); n > 1 {
					t.Fatalf("%d reservations on one compute environment", n)
				}
				for _, r := range m.s.resByCE {
					// Small jobs held up behind a reservation may wait long enough to get one too.
					if h := name[r.e.ID]; h != "" && (len(holders) == 0 || holders[len(holders)-1] != h) {
						holders = append(holders, h)
					}
				}
			}
			m.run(epoch.Add(time.Hour), time.Second, feed)
			started := map[string]time.Time{}
			for id, n := range name {
				st, ok := m.started[id]
				if !ok {
					t.Fatalf("%s never started", n)
				}
				started[n] = st
			}
			first := "big1"
			if started["big2"].Before(started["big1"]) {
				first = "big2"
			}
			if got := strings.Join(holders, " "); got != c.wantHolders || first != c.wantFirst {
				t.Fatalf("holders %q, want %q; %s started first, want %s", got, c.wantHolders, first, c.wantFirst)
			}
			if len(m.s.resByCE) != 0 || len(m.s.resJob) != 0 {
				t.Fatalf("reservations left: %d %d", len(m.s.resByCE), len(m.s.resJob))
			}
		})
	}
}

// TestReservationDropped: a reservation ends with its job or its queue's ability to run it, and the
// compute environment serves others again in the same pass.
func TestReservationDropped(t *testing.T) {
	q := Queue{Key: "q", Priority: 10, Enabled: true, ComputeEnvs: []string{"ce"}, ReserveAfter: time.Minute}
	with := func(f func(q *Queue)) Queue { c := q; f(&c); return c }
	cases := []struct {
		name   string
		change func(s *Scheduler)
		want   string
	}{
		{"job cancelled", func(s *Scheduler) { s.Dequeue("big") }, "lo1@ce"},
		{"queue disabled", func(s *Scheduler) { s.SetQueue(with(func(q *Queue) { q.Enabled = false })) }, "lo1@ce"},
		{"reservation turned off", func(s *Scheduler) { s.SetQueue(with(func(q *Queue) { q.ReserveAfter = 0 })) }, "lo1@ce"},
		{"compute environment removed from the queue", func(s *Scheduler) {
			s.SetQueue(with(func(q *Queue) { q.ComputeEnvs = []string{"other"} }))
		}, "big@other lo1@ce"},
		{"compute environment disabled", func(s *Scheduler) {
			s.SetComputeEnv(ComputeEnv{Key: "ce", Capacity: cpu(4, 1000), Enabled: false})
		}, ""},
		{"compute environment removed", func(s *Scheduler) { s.RemoveComputeEnv("ce") }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, clk := newClocked()
			s.SetComputeEnv(ComputeEnv{Key: "ce", Capacity: cpu(4, 1000), Enabled: true})
			s.SetComputeEnv(ComputeEnv{Key: "other", Capacity: cpu(4, 1000), Enabled: true})
			s.SetQueue(q)
			s.SetQueue(Queue{Key: "lo", Enabled: true, ComputeEnvs: []string{"ce"}})
			s.Enqueue(Job{ID: "s1", Queue: "q", Need: cpu(1, 1)})
			s.Enqueue(Job{ID: "big", Queue: "q", Need: cpu(4, 1)})
			s.Schedule()
			clk.Advance(time.Minute)
			if r := s.Schedule(); len(r.Placements) != 0 || s.resJob["big"] == nil {
				t.Fatalf("big should hold a reservation: placed %q", placedIDs(r))
			}
			s.Enqueue(Job{ID: "lo1", Queue: "lo", Need: cpu(1, 1)})
			if r := s.Schedule(); len(r.Placements) != 0 {
				t.Fatalf("reserved compute environment took %q", placedIDs(r))
			}
			c.change(s)
			if r := s.Schedule(); placedIDs(r) != c.want || len(s.resByCE) != 0 || len(s.resJob) != 0 {
				t.Fatalf("after the change: placed %q, want %q; %d reservations", placedIDs(r), c.want, len(s.resByCE))
			}
		})
	}
}

// TestRandomFairShareNeverOvercommits drives random workloads over FIFO and fair-share queues
// with Count entries, priorities, compute reservations and job reservations: capacity is never
// exceeded, every instance is placed (or found unschedulable) exactly once, and the books balance.
func TestRandomFairShareNeverOvercommits(t *testing.T) {
	for seed := int64(0); seed < 40; seed++ {
		rng := rand.New(rand.NewSource(seed))
		s, clk := newClocked()
		caps := map[string]Resources{}
		for i := 0; i < 3; i++ {
			key := fmt.Sprintf("ce%d", i)
			caps[key] = cpu(int64(1+rng.Intn(8)), int64(1000+rng.Intn(8000)))
			s.SetComputeEnv(ComputeEnv{Key: key, Capacity: caps[key], Enabled: true})
		}
		shareIDs := []string{"", "a", "b", "team1", "team2"}
		for i := 0; i < 3; i++ {
			q := Queue{Key: fmt.Sprintf("q%d", i), Priority: int32(rng.Intn(3)), Enabled: true, ComputeEnvs: []string{"ce0", "ce1", "ce2"}[:1+rng.Intn(3)], FailUnschedulable: true}
			if rng.Intn(3) > 0 {
				q.FairShare = &FairShare{ShareDecay: time.Duration(rng.Intn(3)) * time.Minute, ComputeReservation: []int{0, 0, 25, 50, 99}[rng.Intn(5)],
					Weights: []ShareWeight{{"a", 0.5}, {"team*", 0.25 + rng.Float64()}}}
			}
			if rng.Intn(2) == 0 {
				q.ReserveAfter = time.Duration(1+rng.Intn(5)) * time.Minute
			}
			s.SetQueue(q)
		}
		const n = 200
		want := map[string]int{} // entry -> instances
		total := 0
		for i := 0; i < n; i++ {
			j := Job{ID: fmt.Sprintf("j%d", i), Queue: fmt.Sprintf("q%d", rng.Intn(3)), Share: shareIDs[rng.Intn(len(shareIDs))], Priority: int32(rng.Intn(3)),
				Need: Resources{MilliVCPU: int64(250 * (1 + rng.Intn(8))), MemoryMiB: int64(100 + rng.Intn(1000))}}
			if rng.Intn(4) == 0 {
				j.Count = 1 + rng.Intn(6)
			}
			s.Enqueue(j)
			want[j.ID] = max(j.Count, 1)
			total += want[j.ID]
		}
		seen := map[string]bool{} // running keys and unschedulable entries
		got := map[string]int{}
		resolved := 0
		var active []string
		for round := 0; round < 20*total && resolved < total; round++ {
			clk.Advance(time.Duration(rng.Intn(40)) * time.Second)
			r := s.Schedule()
			for _, u := range r.Unschedulable {
				if seen[u.JobID] || got[u.JobID] > 0 {
					t.Fatalf("seed %d: %s resolved twice", seed, u.JobID)
				}
				seen[u.JobID] = true
				resolved += want[u.JobID]
			}
			for _, p := range r.Placements {
				if seen[p.Running] {
					t.Fatalf("seed %d: %s placed twice", seed, p.Running)
				}
				seen[p.Running] = true
				got[p.JobID]++
				resolved++
				if got[p.JobID] > want[p.JobID] {
					t.Fatalf("seed %d: %s placed %d times, has %d instances", seed, p.JobID, got[p.JobID], want[p.JobID])
				}
				active = append(active, p.Running)
			}
			for key, c := range caps {
				if !s.Used(key).Fits(c) {
					t.Fatalf("seed %d: %s overcommitted: %v of %v", seed, key, s.Used(key), c)
				}
			}
			checkBooks(t, s)
			for k := rng.Intn(3); k > 0 && len(active) > 0; k-- {
				i := rng.Intn(len(active))
				s.Release(active[i])
				active = append(active[:i], active[i+1:]...)
			}
			if rng.Intn(50) == 0 { // reconfigure a queue now and then
				qs := s.order[rng.Intn(len(s.order))]
				q := qs.Queue
				if q.FairShare == nil {
					q.FairShare = &FairShare{ComputeReservation: 25}
				} else {
					q.FairShare = nil
				}
				s.SetQueue(q)
			}
		}
		if resolved != total || s.Waiting() != 0 {
			t.Fatalf("seed %d: %d of %d instances resolved, %d entries waiting", seed, resolved, total, s.Waiting())
		}
	}
}

// checkBooks checks the scheduler's internal accounting against a recount.
func checkBooks(t *testing.T, s *Scheduler) {
	t.Helper()
	entries := 0
	for _, qs := range s.queues {
		var running int64
		waiting := 0
		for id, sh := range qs.shares {
			if sh.id != id {
				t.Fatalf("share %q filed as %q", sh.id, id)
			}
			running += sh.running
			n := 0
			for i, b := range sh.buckets {
				if b.jobs.Len() == 0 || (i > 0 && sh.buckets[i-1].prio <= b.prio) {
					t.Fatalf("queue %s share %q: bad buckets", qs.Key, id)
				}
				n += b.jobs.Len()
			}
			if qs.FairShare != nil && n != sh.waiting {
				t.Fatalf("queue %s share %q: %d in buckets, %d counted", qs.Key, id, n, sh.waiting)
			}
			waiting += sh.waiting
		}
		if qs.FairShare == nil && qs.fifo.Len() != waiting {
			t.Fatalf("queue %s: %d in FIFO, %d counted", qs.Key, qs.fifo.Len(), waiting)
		}
		if running != qs.running || waiting != qs.waiting {
			t.Fatalf("queue %s: running %d/%d, waiting %d/%d", qs.Key, running, qs.running, waiting, qs.waiting)
		}
		entries += waiting
	}
	if entries != len(s.waiting) {
		t.Fatalf("%d entries in queues, %d waiting", entries, len(s.waiting))
	}
	byQueue := map[*queueState]int{}
	for ce, r := range s.resByCE {
		if r.ce != ce || s.resJob[r.e.ID] != r || s.waiting[r.e.ID] != r.e {
			t.Fatalf("reservation on %s: inconsistent", ce)
		}
		byQueue[r.q]++
	}
	if len(s.resJob) != len(s.resByCE) {
		t.Fatalf("%d reservations by job, %d by compute environment", len(s.resJob), len(s.resByCE))
	}
	for _, qs := range s.queues {
		if qs.nres != byQueue[qs] {
			t.Fatalf("queue %s: %d reservations counted, %d held", qs.Key, qs.nres, byQueue[qs])
		}
	}
}

func BenchmarkScheduleFairShare100kRunnable50Queues20Shares(b *testing.B) {
	s, clk := newClocked()
	s.SetComputeEnv(ComputeEnv{Key: "ce", Capacity: cpu(64, 256000), Enabled: true})
	for q := 0; q < 50; q++ {
		s.SetQueue(Queue{Key: fmt.Sprintf("q%d", q), Priority: int32(q % 5), Enabled: true, ComputeEnvs: []string{"ce"}, ReserveAfter: 5 * time.Minute,
			FairShare: &FairShare{ComputeReservation: 10, Weights: []ShareWeight{{"s1*", 0.5}, {"s2", 2}}}})
	}
	shareOf := map[string]string{}
	for i := 0; i < 100000; i++ {
		id := fmt.Sprintf("j%d", i)
		shareOf[id] = fmt.Sprintf("s%d", (i/50)%20)
		s.Enqueue(Job{ID: id, Queue: fmt.Sprintf("q%d", i%50), Share: shareOf[id], Priority: int32(i % 3), Need: cpu(1, 512)})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := s.Schedule()
		b.StopTimer()
		clk.Advance(time.Second)
		for _, p := range r.Placements {
			s.Release(p.JobID)
			s.Enqueue(Job{ID: p.JobID, Queue: p.Queue, Share: shareOf[p.JobID], Need: p.Need})
		}
		b.StartTimer()
	}
}

// TestFairShareShortBurst mirrors the end-to-end test: 12 jobs of the light share (weight 1) are
// submitted before 12 of the heavy share (weight 0.25) on 2 vCPUs; jobs run 0.1 s. FIFO would
// start all light jobs first; fair share starts mostly heavy ones once both are waiting.
func TestFairShareShortBurst(t *testing.T) {
	for _, passEachSubmit := range []bool{true, false} {
		t.Run(fmt.Sprintf("pass after each submit=%v", passEachSubmit), func(t *testing.T) {
			m := newSim(t, ComputeEnv{Key: "ce", Capacity: cpu(2, 100000), Enabled: true})
			m.s.SetQueue(Queue{Key: "q", Enabled: true, ComputeEnvs: []string{"ce"},
				FairShare: &FairShare{ShareDecay: time.Minute, Weights: []ShareWeight{{"light", 1}, {"heavy", 0.25}}}})
			var order []string
			name := map[string]string{}
			record := func(r Result) {
				for _, p := range r.Placements {
					m.ends[p.Running] = m.clk.t.Add(m.jobs[p.JobID].dur)
					order = append(order, name[p.JobID])
				}
			}
			for _, sh := range []string{"light", "heavy"} {
				for i := 0; i < 12; i++ {
					name[m.submit(simJob{queue: "q", share: sh, need: cpu(1, 100), dur: 100 * time.Millisecond})] = sh
					m.clk.Advance(time.Millisecond)
					if passEachSubmit {
						record(m.s.Schedule())
					}
				}
			}
			for i := 0; len(order) < 24; i++ {
				if i > 1000 {
					t.Fatalf("only %d of 24 started", len(order))
				}
				record(m.s.Schedule())
				m.clk.Advance(10 * time.Millisecond)
				for key, end := range m.ends {
					if !end.After(m.clk.t) {
						m.s.Release(key)
						delete(m.ends, key)
					}
				}
			}
			heavy := 0
			for _, sh := range order[:10] {
				if sh == "heavy" {
					heavy++
				}
			}
			if heavy < 5 {
				t.Fatalf("of the first 10 jobs started %d were heavy: %v", heavy, order)
			}
		})
	}
}
