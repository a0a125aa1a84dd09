package batch

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"

	wire "github.com/barge-run/barge/internal/awstypes/batch"
	"github.com/barge-run/barge/internal/store"
)

// snapshotJobs is how many jobs GetJobQueueSnapshot lists, as AWS.
const snapshotJobs = 100

// GetJobQueueSnapshot implements the AWS Batch operation: the first 100 RUNNABLE jobs of a queue
// in the order the scheduler will consider them. Waiting children of an array appear one by one
// (`<array>:<index>`), as AWS lists them.
func (s *Service) GetJobQueueSnapshot(ctx context.Context, account string, in *wire.GetJobQueueSnapshotRequest) (*wire.GetJobQueueSnapshotResponse, error) {
	_, q, err := s.getQueue(ctx, account, in.JobQueue, "jobQueue")
	if err != nil {
		return nil, err
	}
	jobs := []wire.FrontOfQueueJobSummary{}
	err = s.eng().call(ctx, func() error {
		for _, fe := range s.eng().sched.Front(q.JobQueueArn, snapshotJobs) {
			aj, ok := s.eng().jobs[fe.ID]
			if !ok {
				continue
			}
			at := fe.Enqueued.UnixMilli()
			arn := aj.rec.Detail.JobArn
			a := aj.rec.Run.Array
			if a == nil || !a.inOrder() {
				jobs = append(jobs, wire.FrontOfQueueJobSummary{JobArn: arn, EarliestTimeAtPosition: &at})
				continue
			}
			// A plain array's waiting children start in index order from Next, skipping the
			// ones already given a row (cancelled or failed on their own).
			for idx, k := a.Next, 0; idx < a.Size && k < fe.Instances; idx++ {
				if a.Skip[idx] {
					continue
				}
				jobs = append(jobs, wire.FrontOfQueueJobSummary{JobArn: arn + ":" + strconv.Itoa(idx), EarliestTimeAtPosition: &at})
				k++
			}
		}
		return nil
	})
	if errors.Is(err, errEngineElsewhere) {
		jobs, err = s.snapshotFromStore(ctx, account, q.JobQueueArn)
	}
	if err != nil {
		return nil, err
	}
	now := s.nowMillis()
	return &wire.GetJobQueueSnapshotResponse{FrontOfQueue: &wire.FrontOfQueueDetail{Jobs: jobs, LastUpdatedAt: &now}}, nil
}

// snapshotFromStore is the front of a queue as a server whose engine runs elsewhere sees it: its
// RUNNABLE jobs from the store, by scheduling priority and then by how long they have waited
// (fair-share order and arrays' waiting children are the engine's, not the store's).
func (s *Service) snapshotFromStore(ctx context.Context, account, queueARN string) ([]wire.FrontOfQueueJobSummary, error) {
	rows, err := s.store.JobList(ctx, &store.JobListParams{Account: account, Queue: queueARN, TopLevel: true,
		Statuses: []string{string(statusRunnable)}, Limit: 10 * snapshotJobs})
	if err != nil {
		return nil, s.storeErr(err, "")
	}
	recs := make([]*jobRecord, 0, len(rows))
	for _, j := range rows {
		if rec, err := decodeJob(j); err == nil {
			recs = append(recs, rec)
		}
	}
	slices.SortStableFunc(recs, func(a, b *jobRecord) int {
		if pa, pb := deref(a.Detail.SchedulingPriority), deref(b.Detail.SchedulingPriority); pa != pb {
			return cmp.Compare(pb, pa)
		}
		return cmp.Compare(a.Run.RunnableSince, b.Run.RunnableSince)
	})
	jobs := []wire.FrontOfQueueJobSummary{}
	for _, rec := range recs[:min(len(recs), snapshotJobs)] {
		at := rec.Run.RunnableSince
		jobs = append(jobs, wire.FrontOfQueueJobSummary{JobArn: rec.Detail.JobArn, EarliestTimeAtPosition: &at})
	}
	return jobs, nil
}
