package console

import (
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	wire "github.com/barge-run/barge/internal/awstypes/batch"
)

// queueRow is one job queue on the queues page.
type queueRow struct {
	Name, State, Status string
	Priority            int32
	Envs                []string
	Counts              []count
	More                bool // a status has more jobs than one page counts
}

// envRow is one compute environment on the queues page.
type envRow struct {
	Name, State, Status string
	MaxvCpus            int32
	Used, Free          float64
	Known               bool // used and free came from the metrics
}

// countPage bounds the jobs counted per queue and status.
const countPage = 1000

// queues serves the queues and compute environments page.
func (c *Console) queues(w http.ResponseWriter, r *http.Request, account string) {
	ctx, cancel := pageContext(r)
	defer cancel()
	qs, err := c.cfg.Batch.DescribeJobQueues(ctx, account, &wire.DescribeJobQueuesRequest{})
	if err != nil {
		c.serviceError(w, "job queues", err)
		return
	}
	var rows []queueRow
	for _, q := range qs.JobQueues {
		row := queueRow{Name: q.JobQueueName, State: string(q.State), Status: string(q.Status), Priority: aws.ToInt32(q.Priority)}
		for _, o := range q.ComputeEnvironmentOrder {
			row.Envs = append(row.Envs, lastPart(o.ComputeEnvironment))
		}
		byStatus := map[string]int{}
		for _, st := range statuses {
			res, err := c.cfg.Batch.ListJobs(ctx, account, &wire.ListJobsRequest{JobQueue: q.JobQueueName,
				JobStatus: wire.JobStatus(st), MaxResults: aws.Int32(countPage)})
			if err != nil {
				c.serviceError(w, "jobs of "+q.JobQueueName, err)
				return
			}
			byStatus[st] = len(res.JobSummaryList)
			row.More = row.More || res.NextToken != ""
		}
		row.Counts = bar(byStatus)
		rows = append(rows, row)
	}
	envs, err := c.envRows(r, account)
	if err != nil {
		c.serviceError(w, "compute environments", err)
		return
	}
	c.render(w, http.StatusOK, "queues.html", map[string]any{"Title": "Queues", "Nav": true, "Account": account,
		"Queues": rows, "Envs": envs, "CountPage": countPage})
}

// envRows describes the account's compute environments with their vCPUs in use and free.
func (c *Console) envRows(r *http.Request, account string) ([]envRow, error) {
	ctx, cancel := pageContext(r)
	defer cancel()
	ces, err := c.cfg.Batch.DescribeComputeEnvironments(ctx, account, &wire.DescribeComputeEnvironmentsRequest{})
	if err != nil {
		return nil, err
	}
	vcpus := sum(c.samples("barge_compute_environment_vcpus", account), "compute_environment", "state")
	var rows []envRow
	for _, ce := range ces.ComputeEnvironments {
		row := envRow{Name: ce.ComputeEnvironmentName, State: string(ce.State), Status: string(ce.Status)}
		if cr := ce.ComputeResources; cr != nil {
			row.MaxvCpus = aws.ToInt32(cr.MaxvCpus)
		}
		for _, key := range []string{ce.ComputeEnvironmentArn, ce.ComputeEnvironmentName} {
			if v, ok := vcpus[key]; ok {
				row.Used, row.Free, row.Known = v["used"], v["free"], true
				break
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// lastPart is the name at the end of an ARN — after its last '/' (a job queue's, a compute
// environment's) or ':' (an SQS queue's, a function's) — or the name itself.
func lastPart(arn string) string {
	return arn[strings.LastIndexAny(arn, ":/")+1:]
}
