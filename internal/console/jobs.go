package console

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	wire "github.com/barge-run/barge/internal/awstypes/batch"
	"github.com/barge-run/barge/internal/batch"
	"github.com/barge-run/barge/internal/logs"
)

// listPage bounds the jobs listed per queue on the jobs page.
const listPage = 200

// jobRow is one job on the jobs page.
type jobRow struct {
	wire.JobSummary
	Queue string
	Array []count
}

// jobs serves the jobs page: the account's top-level jobs, filtered by queue, status and name
// prefix, newest first; it refreshes itself while any is unfinished.
func (c *Console) jobs(w http.ResponseWriter, r *http.Request, account string) {
	ctx, cancel := pageContext(r)
	defer cancel()
	q := r.URL.Query()
	queue, status, prefix := q.Get("queue"), q.Get("status"), q.Get("prefix")
	qs, err := c.cfg.Batch.DescribeJobQueues(ctx, account, &wire.DescribeJobQueuesRequest{})
	if err != nil {
		c.serviceError(w, "job queues", err)
		return
	}
	var names []string
	for _, jq := range qs.JobQueues {
		names = append(names, jq.JobQueueName)
	}
	var rows []jobRow
	live, capped := false, false
	for _, name := range names {
		if queue != "" && name != queue {
			continue
		}
		list, full, err := c.recentJobs(r, account, name, prefix, status)
		if err != nil {
			c.serviceError(w, "jobs of "+name, err)
			return
		}
		capped = capped || full
		for _, j := range list {
			row := jobRow{JobSummary: j, Queue: name}
			if a := j.ArrayProperties; a != nil && len(a.StatusSummary) > 0 {
				row.Array = bar(toInts(a.StatusSummary))
			}
			live = live || !terminal(string(j.Status))
			rows = append(rows, row)
		}
	}
	sort.SliceStable(rows, func(i, k int) bool { return aws.ToInt64(rows[i].CreatedAt) > aws.ToInt64(rows[k].CreatedAt) })
	c.render(w, http.StatusOK, "jobs.html", map[string]any{"Title": "Jobs", "Nav": true, "Account": account, "Jobs": rows,
		"Queues": names, "Queue": queue, "Status": status, "Prefix": prefix, "Refresh": live && q.Get("refresh") != "off",
		"Limit": listPage, "Capped": capped, "Scan": scanLimit})
}

// windows are how far back the jobs page looks for a queue's newest jobs, narrowest first: the
// store lists jobs oldest first, so the page reads a recent window and keeps its end.
var windows = []time.Duration{15 * time.Minute, 6 * time.Hour, 7 * 24 * time.Hour, 0}

// scanLimit bounds the jobs read per queue and window.
const scanLimit = 5000

// recentJobs lists a queue's newest top-level jobs (at most listPage) whose name starts with
// prefix and whose status is status ("": any); full reports that a window held more than
// scanLimit jobs, so the newest of its first scanLimit are shown.
func (c *Console) recentJobs(r *http.Request, account, queue, prefix, status string) ([]wire.JobSummary, bool, error) {
	ctx, cancel := pageContext(r)
	defer cancel()
	var out []wire.JobSummary
	for _, win := range windows {
		filters := []wire.KeyValuesPair{{Name: "JOB_NAME", Values: []string{prefix + "*"}}}
		if win > 0 {
			after := c.cfg.Now().Add(-win).UnixMilli()
			filters = append(filters, wire.KeyValuesPair{Name: "AFTER_CREATED_AT", Values: []string{strconv.FormatInt(after, 10)}})
		}
		out = out[:0]
		read, token := 0, ""
		for read < scanLimit {
			res, err := c.cfg.Batch.ListJobs(ctx, account, &wire.ListJobsRequest{JobQueue: queue, MaxResults: aws.Int32(1000),
				NextToken: token, Filters: filters})
			if err != nil {
				return nil, false, err
			}
			read += len(res.JobSummaryList)
			for _, j := range res.JobSummaryList {
				if status == "" || string(j.Status) == status {
					out = append(out, j)
				}
			}
			if len(out) > listPage {
				out = append(out[:0], out[len(out)-listPage:]...)
			}
			if token = res.NextToken; token == "" {
				break
			}
		}
		if len(out) >= listPage || win == 0 || token != "" {
			return out, token != "", nil
		}
	}
	return out, false, nil
}

func toInts(m map[string]int32) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		out[k] = int(v)
	}
	return out
}

// attemptRow is one attempt on a job's page.
type attemptRow struct {
	N int
	wire.AttemptDetail
	Stream string
}

// job serves a job's page: status, timings, attempts, an array's progress and children, and
// the log of an attempt (?attempt=N, default the latest), refreshed while the job runs.
func (c *Console) job(w http.ResponseWriter, r *http.Request, account string) {
	ctx, cancel := pageContext(r)
	defer cancel()
	id := r.PathValue("id")
	res, err := c.cfg.Batch.DescribeJobs(ctx, account, &wire.DescribeJobsRequest{Jobs: []string{id}})
	if err != nil {
		c.serviceError(w, "job "+id, err)
		return
	}
	if len(res.Jobs) == 0 {
		c.fail(w, http.StatusNotFound, errNoJob(id))
		return
	}
	j := res.Jobs[0]
	data := map[string]any{"Title": "Job " + j.JobName, "Nav": true, "Account": account, "Job": j,
		"Queue": lastPart(j.JobQueue), "Refresh": !terminal(string(j.Status))}
	attempts, stream := attemptRows(j, r.URL.Query().Get("attempt"))
	data["Attempts"], data["Stream"] = attempts, stream
	if a := j.ArrayProperties; a != nil && a.Size != nil {
		data["Array"] = bar(toInts(a.StatusSummary))
		kids, err := c.cfg.Batch.ListJobs(ctx, account, &wire.ListJobsRequest{ArrayJobId: j.JobId, MaxResults: aws.Int32(listPage),
			Filters: []wire.KeyValuesPair{{Name: "JOB_NAME", Values: []string{"*"}}}})
		if err == nil {
			data["Children"] = kids.JobSummaryList
		}
	}
	if stream != "" && c.cfg.Logs != nil {
		ev, err := c.cfg.Logs.GetEvents(account, logs.GetEventsParams{Group: batch.LogGroup, Stream: stream, Limit: 1000})
		if err == nil {
			data["Log"] = ev.Events
		} else {
			data["LogError"] = "no output yet"
		}
	}
	c.render(w, http.StatusOK, "job.html", data)
}

// attemptRows lists a job's attempts and picks the log stream to show: attempt sel (1-based),
// else the running attempt's, else the latest's.
func attemptRows(j wire.JobDetail, sel string) ([]attemptRow, string) {
	var rows []attemptRow
	for i, a := range j.Attempts {
		row := attemptRow{N: i + 1, AttemptDetail: a}
		if a.Container != nil {
			row.Stream = a.Container.LogStreamName
		}
		rows = append(rows, row)
	}
	if n, err := strconv.Atoi(sel); err == nil && n >= 1 && n <= len(rows) {
		return rows, rows[n-1].Stream
	}
	if j.Container != nil && j.Container.LogStreamName != "" {
		return rows, j.Container.LogStreamName
	}
	if len(rows) > 0 {
		return rows, rows[len(rows)-1].Stream
	}
	return rows, ""
}

type errNoJob string

func (e errNoJob) Error() string {
	return "this account has no job " + strings.TrimSpace(string(e))
}
