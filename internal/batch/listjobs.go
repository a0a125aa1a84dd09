package batch

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/barge-run/barge/internal/awserr"
	wire "github.com/barge-run/barge/internal/awstypes/batch"
	"github.com/barge-run/barge/internal/store"
)

// ListJobs implements the AWS Batch operation.
func (s *Service) ListJobs(ctx context.Context, account string, in *wire.ListJobsRequest) (*wire.ListJobsResponse, error) {
	p := &store.JobListParams{Account: account}
	switch {
	case in.MultiNodeJobId != "":
		return nil, awserr.Client("multiNodeJobId: multinode parallel jobs are not supported by barge")
	case in.JobQueue != "" && in.ArrayJobId != "":
		return nil, awserr.Client("give only one of jobQueue and arrayJobId")
	case in.JobQueue != "":
		name, err := s.parseRef(account, "job-queue", "jobQueue", in.JobQueue)
		if err != nil {
			return nil, err
		}
		p.Queue = name
		p.TopLevel = true // children are listed through their arrayJobId, as in AWS
	case in.ArrayJobId != "":
		p.ArrayParent = in.ArrayJobId
	default:
		return nil, awserr.Client("jobQueue is required (or arrayJobId)")
	}
	limit := 100
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 1000 {
			return nil, awserr.Client("maxResults must be between 1 and 1000, got %d", *in.MaxResults)
		}
		limit = int(*in.MaxResults)
	}
	var jobDefFilter string
	for i, f := range in.Filters {
		if len(f.Values) != 1 {
			return nil, awserr.Client("filters[%d].values must have exactly one value", i)
		}
		v := f.Values[0]
		switch f.Name {
		case "JOB_NAME":
			if prefix, ok := strings.CutSuffix(v, "*"); ok {
				p.NamePrefix = prefix
			} else {
				p.NameExact = v
			}
		case "JOB_DEFINITION":
			jobDefFilter = v
		case "BEFORE_CREATED_AT", "AFTER_CREATED_AT":
			ms, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, awserr.Client("filters[%d].values: %s needs a time in milliseconds since the epoch, got %q", i, f.Name, v)
			}
			if f.Name == "BEFORE_CREATED_AT" {
				p.CreatedBefore = ms
			} else {
				p.CreatedAfter = ms
			}
		default:
			return nil, awserr.Client("filters[%d].name: %q is not one of JOB_NAME, JOB_DEFINITION, BEFORE_CREATED_AT, AFTER_CREATED_AT", i, f.Name)
		}
	}
	// As in AWS: with filters every status is listed; without, one status (RUNNING by default).
	if len(in.Filters) == 0 {
		st := in.JobStatus
		if st == "" {
			st = statusRunning
		}
		if err := checkEnum("jobStatus", st, wire.JobStatus("").Values()); err != nil {
			return nil, err
		}
		p.Statuses = []string{string(st)}
	}
	var parent *jobRecord
	if in.ArrayJobId != "" {
		rows, err := s.store.JobGetMany(ctx, account, []string{in.ArrayJobId})
		if err != nil {
			return nil, s.storeErr(err, "")
		}
		if len(rows) == 1 {
			if parent, err = decodeJob(rows[0]); err != nil {
				return nil, s.storeErr(err, "")
			}
		}
		if parent == nil || parent.Run.Array == nil {
			return &wire.ListJobsResponse{JobSummaryList: []wire.JobSummary{}}, nil
		}
	}
	// Tokens: "<seq in base 36>" pages rows; "~<index>" pages an array's children without rows,
	// which come after the rows ('~' is no base-36 digit, so the two never collide).
	virtualFrom := -1
	if tok := in.NextToken; tok != "" {
		if rest, ok := strings.CutPrefix(tok, "~"); ok && parent != nil {
			n, err := strconv.Atoi(rest)
			if err != nil || n < 0 {
				return nil, awserr.Client("nextToken: invalid pagination token")
			}
			virtualFrom = n
		} else {
			seq, err := strconv.ParseInt(tok, 36, 64)
			if err != nil || seq <= 0 {
				return nil, awserr.Client("nextToken: invalid pagination token")
			}
			p.AfterSeq = seq
		}
	}
	out := &wire.ListJobsResponse{JobSummaryList: []wire.JobSummary{}}
	if virtualFrom >= 0 {
		return s.listVirtualChildren(ctx, account, parent, p, virtualFrom, limit, jobDefFilter, out)
	}
	var lastListed int64
	for {
		p.Limit = limit + 1
		jobs, err := s.store.JobList(ctx, p)
		if err != nil {
			return nil, s.storeErr(err, "")
		}
		for _, j := range jobs {
			p.AfterSeq = j.Seq
			rec, err := decodeJob(j)
			if err != nil {
				return nil, s.storeErr(err, "")
			}
			if jobDefFilter != "" && !s.jobDefMatches(account, jobDefFilter, rec.Detail.JobDefinition) {
				continue
			}
			if len(out.JobSummaryList) == limit {
				out.NextToken = strconv.FormatInt(lastListed, 36)
				return out, nil
			}
			out.JobSummaryList = append(out.JobSummaryList, summarize(&rec.Detail))
			lastListed = j.Seq
		}
		if len(jobs) < p.Limit {
			if parent != nil {
				return s.listVirtualChildren(ctx, account, parent, p, 0, limit, jobDefFilter, out)
			}
			return out, nil
		}
	}
}

// listVirtualChildren continues an array listing with the children that have no row, from
// index from, when their shared status is one the listing asks for.
func (s *Service) listVirtualChildren(ctx context.Context, account string, parent *jobRecord, p *store.JobListParams, from, limit int, jobDefFilter string, out *wire.ListJobsResponse) (*wire.ListJobsResponse, error) {
	a := parent.Run.Array
	// Children without rows share VirtualStatus up to a SEQUENTIAL array's cancelled child and
	// are FAILED after it: list only the ranges whose status is asked for.
	wanted := func(st wire.JobStatus) bool { return len(p.Statuses) == 0 || slices.Contains(p.Statuses, string(st)) }
	lo, hi := 0, a.Size
	if cut := a.cut(); cut < a.Size {
		switch {
		case !wanted(a.VirtualStatus) && !wanted(statusFailed):
			return out, nil
		case !wanted(a.VirtualStatus):
			lo = cut + 1
		case !wanted(statusFailed):
			hi = cut
		}
	} else if !wanted(a.VirtualStatus) {
		return out, nil
	}
	if jobDefFilter != "" && !s.jobDefMatches(account, jobDefFilter, parent.Detail.JobDefinition) {
		return out, nil
	}
	if !nameMatches(parent.Detail.JobName, p) || (p.CreatedBefore != 0 && deref(parent.Detail.CreatedAt) >= p.CreatedBefore) ||
		(p.CreatedAfter != 0 && deref(parent.Detail.CreatedAt) <= p.CreatedAfter) {
		return out, nil
	}
	from = max(from, lo)
	if a.inOrder() {
		from = max(from, a.Next)
	}
	for idx := from; idx < hi; {
		// Candidates in chunks; arrays that create children out of order need a row check.
		end := min(hi, idx+limit+1)
		have := map[string]bool{}
		if !a.inOrder() {
			ids := make([]string, 0, end-idx)
			for i := idx; i < end; i++ {
				ids = append(ids, childID(parent.Detail.JobId, i))
			}
			rows, err := s.store.JobGetMany(ctx, account, ids)
			if err != nil {
				return nil, s.storeErr(err, "")
			}
			for _, r := range rows {
				have[r.ID] = true
			}
		}
		for ; idx < end; idx++ {
			if have[childID(parent.Detail.JobId, idx)] || a.Skip[idx] {
				continue
			}
			if len(out.JobSummaryList) == limit {
				out.NextToken = "~" + strconv.Itoa(idx)
				return out, nil
			}
			d := virtualChild(&parent.Detail, a, idx)
			out.JobSummaryList = append(out.JobSummaryList, summarize(&d))
		}
	}
	return out, nil
}

func nameMatches(name string, p *store.JobListParams) bool {
	switch {
	case p.NameExact != "":
		return strings.EqualFold(name, p.NameExact)
	case p.NamePrefix != "":
		return len(name) >= len(p.NamePrefix) && strings.EqualFold(name[:len(p.NamePrefix)], p.NamePrefix)
	}
	return true
}

func summarize(d *wire.JobDetail) wire.JobSummary {
	sum := wire.JobSummary{
		JobArn:          d.JobArn,
		JobId:           d.JobId,
		JobName:         d.JobName,
		CreatedAt:       d.CreatedAt,
		ShareIdentifier: d.ShareIdentifier,
		Status:          d.Status,
		StatusReason:    d.StatusReason,
		StartedAt:       d.StartedAt,
		StoppedAt:       d.StoppedAt,
		JobDefinition:   d.JobDefinition,
	}
	if d.Container != nil && (d.Container.ExitCode != nil || d.Container.Reason != "") {
		sum.Container = &wire.ContainerSummary{ExitCode: d.Container.ExitCode, Reason: d.Container.Reason}
	}
	if ap := d.ArrayProperties; ap != nil {
		sum.ArrayProperties = &wire.ArrayPropertiesSummary{Size: ap.Size, Index: ap.Index, StatusSummary: ap.StatusSummary,
			StatusSummaryLastUpdatedAt: ap.StatusSummaryLastUpdatedAt}
	}
	return sum
}

func (s *Service) jobDefMatches(account, filter, arn string) bool {
	name, rev, err := s.parseJobDefRef(account, "filters", filter)
	if err != nil {
		return false
	}
	if rev > 0 {
		return arn == s.jobDefARN(account, name, rev)
	}
	return strings.HasPrefix(arn, s.arn(account, "job-definition", name+":"))
}
