package batch

import (
	"encoding/json"

	wire "github.com/barge-run/barge/internal/awstypes/batch"
)

// EventSink receives events for EventBridge rules (package events' Bus): Wants says whether
// any rule could match one, so that none is built for nobody.
type EventSink interface {
	Wants() bool
	Publish(scope, source, detailType string, resources []string, detail json.RawMessage)
}

// publishStateChange sends AWS Batch's "Batch Job State Change" event of a job that moved to
// a new status: its detail is the job as DescribeJobs answers it. As on AWS, a job's
// submission sends none, and the events are best effort (sent when the engine changes the
// status, before the change is durable; dropped when the bus is behind).
func (e *engine) publishStateChange(aj *activeJob, old wire.JobStatus) {
	sink := e.s.cfg.Events
	if sink == nil || old == "" || !sink.Wants() {
		return
	}
	d := withEmptyCollections(aj.rec.Detail)
	detail, err := json.Marshal(d)
	if err != nil {
		return
	}
	sink.Publish(aj.store.Account, "aws.batch", "Batch Job State Change", []string{d.JobArn}, detail)
}
