package batch

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/barge-run/barge/internal/store"
)

// KindJobIntent is a request that acts on jobs the engine holds — CancelJob, TerminateJob, a
// queue's deletion, a job's tags — stored before it is answered and deleted once the engine has
// applied it durably: the engine may run on another server, or the server may die between the
// answer and the change.
const KindJobIntent store.Kind = "job-intent"

// intentGrace is how old an intent or a SUBMITTED row must be before the engine's poller takes
// it up: younger ones are being handed to the engine by the server that accepted them.
const intentGrace = 2 * time.Second

// jobIntent is what a request asked: stop a job (JobID), every job of a queue being deleted
// (Queue), or edit a job's tags (Tags).
type jobIntent struct {
	JobID     string   `json:"jobId,omitempty"`
	Queue     string   `json:"queue,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	Terminate bool     `json:"terminate,omitempty"`
	Tags      *tagEdit `json:"tags,omitempty"`
}

// recordIntent stores a stop request durably; the returned resource deletes it once applied.
func (s *Service) recordIntent(ctx context.Context, account, id, reason string, terminate bool) (*store.Resource, error) {
	return s.record(ctx, account, id, jobIntent{JobID: id, Reason: reason, Terminate: terminate})
}

// record stores an intent durably under key (the job or queue it acts on). Names sort by key
// and then by time (UUIDv7), so the engine applies one job's intents in the order they came.
func (s *Service) record(ctx context.Context, account, key string, in jobIntent) (*store.Resource, error) {
	body, _ := json.Marshal(in)
	id, err := uuid.NewV7()
	if err != nil {
		id = uuid.New()
	}
	r := &store.Resource{Account: account, Kind: KindJobIntent, Name: key + "#" + id.String(), Status: "PENDING",
		Body: body, CreatedAt: s.clock.Now()}
	if err := s.store.ResourceCreate(ctx, r); err != nil {
		return nil, s.storeErr(err, "")
	}
	return r, nil
}

// applyIntent acts on one intent, on the loop; it reports whether the job was active.
func (e *engine) applyIntent(account string, in jobIntent) bool {
	switch {
	case in.Queue != "":
		e.stopQueueJobs(account, in.Queue, in.Reason)
		return true
	case in.Tags != nil:
		return e.editTags(account, in.JobID, *in.Tags) == nil
	}
	aj, ok := e.jobs[in.JobID]
	if !ok || aj.store.Account != account {
		return e.stopVirtualChild(account, in.JobID, in.Reason, in.Terminate)
	}
	e.stopJob(aj, in.Reason, in.Terminate)
	return true
}

// pendingIntents lists the stop requests not yet applied, in every account.
func (e *engine) pendingIntents(ctx context.Context) ([]*store.Resource, []jobIntent, error) {
	rs, err := e.s.store.ResourceList(ctx, &store.ResourceListParams{AllAccounts: true, Kind: KindJobIntent})
	if err != nil {
		return nil, nil, err
	}
	ins := make([]jobIntent, len(rs))
	for i, r := range rs {
		json.Unmarshal(r.Body, &ins[i])
	}
	return rs, ins, nil
}

// deleteIntents forgets stop requests whose effect is durable.
func (e *engine) deleteIntents(ctx context.Context, rs []*store.Resource) {
	for _, r := range rs {
		e.s.store.ResourceDelete(ctx, r.Account, KindJobIntent, r.Name, 0)
	}
}

// poll takes up, once a second, what other servers accepted for this engine: stop requests and
// submitted jobs older than intentGrace that it has not seen (on a single server there are
// none, unless a hand-over to the engine was cut short), and configuration they changed.
func (e *engine) poll() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-e.quit:
			return
		case <-t.C:
		}
		ctx := context.Background()
		cutoff := e.s.clock.Now().Add(-intentGrace)
		if rs, ins, err := e.pendingIntents(ctx); err == nil {
			var due []*store.Resource
			var dueIns []jobIntent
			for i, r := range rs {
				if r.CreatedAt.Before(cutoff) {
					due, dueIns = append(due, r), append(dueIns, ins[i])
				}
			}
			if len(due) > 0 && e.call(ctx, func() error {
				for i, r := range due {
					e.applyIntent(r.Account, dueIns[i])
				}
				return nil
			}) == nil {
				e.deleteIntents(ctx, due)
			}
		}
		e.adoptSubmitted(ctx, cutoff.UnixMilli())
		e.reloadConfig(ctx)
	}
}

// adoptSubmitted hands the engine the SUBMITTED jobs older than before (ms) that it does not
// know: accepted by another server, or by this one while its engine was not running.
func (e *engine) adoptSubmitted(ctx context.Context, before int64) {
	jobs, err := e.s.store.JobList(ctx, &store.JobListParams{AllAccounts: true, Statuses: []string{string(statusSubmitted)}, CreatedBefore: before, Limit: 1000})
	if err != nil || len(jobs) == 0 {
		return
	}
	e.do(func() {
		for _, j := range jobs {
			if _, known := e.jobs[j.ID]; known {
				continue
			}
			// Read again on the loop: the row may have moved on (and the job been forgotten)
			// since the list was read.
			fresh, err := e.s.store.JobGetMany(ctx, j.Account, []string{j.ID})
			if err != nil || len(fresh) != 1 || fresh[0].Status != string(statusSubmitted) {
				continue
			}
			rec, err := decodeJob(fresh[0])
			if err != nil {
				continue
			}
			e.adopt(fresh[0], rec)
		}
	})
}

// adopt gives the engine a stored job it did not know, on the loop.
func (e *engine) adopt(j *store.Job, rec *jobRecord) {
	if _, known := e.jobs[j.ID]; known {
		return
	}
	aj := &activeJob{store: j, rec: rec, stored: true}
	e.jobs[j.ID] = aj
	if rec.Run.Array != nil {
		e.arrays[j.ID] = aj
	}
	e.admit(aj)
}
