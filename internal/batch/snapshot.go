package batch

import (
	"context"
	"strconv"

	wire "github.com/barge-run/barge/internal/awstypes/batch"
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
	err = s.eng.call(ctx, func() error {
		for _, fe := range s.eng.sched.Front(q.JobQueueArn, snapshotJobs) {
			aj, ok := s.eng.jobs[fe.ID]
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
	if err != nil {
		return nil, err
	}
	now := s.nowMillis()
	return &wire.GetJobQueueSnapshotResponse{FrontOfQueue: &wire.FrontOfQueueDetail{Jobs: jobs, LastUpdatedAt: &now}}, nil
}
