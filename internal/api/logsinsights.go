package api

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/barge-run/barge/internal/awserr"
	lw "github.com/barge-run/barge/internal/awstypes/logs"
	"github.com/barge-run/barge/internal/logs"
)

// Logs Insights: StartQuery runs the query at once over the groups' events in the window (so
// it is Complete when GetQueryResults asks), and keeps the results in memory: the newest
// maxQueries per account, until the server restarts.
const (
	maxQueries        = 100
	maxQueryGroups    = 50
	maxScannedRecords = 2_000_000
	defaultQueryLimit = 1000
)

// insightsQuery is a query and its results.
type insightsQuery struct {
	info    lw.QueryInfo
	results [][]lw.ResultField
	stats   lw.QueryStatistics
}

// insightsQueries are the queries of every account, newest last.
type insightsQueries struct {
	mu     sync.Mutex
	byAcct map[string][]*insightsQuery
}

func (q *insightsQueries) add(account string, iq *insightsQuery) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.byAcct == nil {
		q.byAcct = map[string][]*insightsQuery{}
	}
	list := append(q.byAcct[account], iq)
	if len(list) > maxQueries {
		list = list[len(list)-maxQueries:]
	}
	q.byAcct[account] = list
}

func (q *insightsQueries) find(account, id string) (*insightsQuery, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, iq := range q.byAcct[account] {
		if iq.info.QueryId == id {
			return iq, nil
		}
	}
	return nil, awserr.New(http.StatusBadRequest, "ResourceNotFoundException", "Query does not exist: %s", id)
}

func (s *Server) startQuery(_ context.Context, account string, in *lw.StartQueryRequest) (*lw.StartQueryResponse, error) {
	groups := append([]string(nil), in.LogGroupNames...)
	if in.LogGroupName != "" {
		groups = append(groups, in.LogGroupName)
	}
	for _, id := range in.LogGroupIdentifiers {
		g, err := groupName("", id)
		if err != nil {
			return nil, err
		}
		groups = append(groups, g)
	}
	switch {
	case in.QueryLanguage != "" && in.QueryLanguage != lw.QueryLanguageCwli:
		return nil, invalidParam("queryLanguage: barge runs Logs Insights QL (CWLI) queries only")
	case in.QueryString == "":
		return nil, invalidParam("queryString is required")
	case len(groups) == 0 || len(groups) > maxQueryGroups:
		return nil, invalidParam("give 1 to %d log groups (logGroupName, logGroupNames or logGroupIdentifiers)", maxQueryGroups)
	case in.StartTime == nil || in.EndTime == nil:
		return nil, invalidParam("startTime and endTime are required (seconds since the epoch)")
	case *in.EndTime < *in.StartTime:
		return nil, invalidParam("endTime must not be before startTime")
	}
	limit := defaultQueryLimit
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 10000 {
			return nil, invalidParam("limit must be between 1 and 10000")
		}
		limit = int(*in.Limit)
	}
	q, err := logs.ParseQuery(in.QueryString)
	if errors.Is(err, logs.ErrQuery) {
		return nil, awserr.New(http.StatusBadRequest, "MalformedQueryException", "%v", err)
	}
	if err != nil {
		return nil, err
	}
	begun := time.Now()
	records, scanned, bytes, err := s.queryRecords(account, groups, *in.StartTime*1000, (*in.EndTime+1)*1000, q.Matches)
	if err != nil {
		return nil, err
	}
	iq := &insightsQuery{info: lw.QueryInfo{QueryId: uuid.NewString(), QueryString: in.QueryString, Status: lw.QueryStatusComplete,
		CreateTime: ptr(begun.UnixMilli()), LogGroupName: groups[0], QueryLanguage: lw.QueryLanguageCwli}}
	rows := q.Run(records, limit)
	for _, row := range rows {
		fields := make([]lw.ResultField, len(row[0]))
		for i := range row[0] {
			fields[i] = lw.ResultField{Field: row[0][i], Value: row[1][i]}
		}
		iq.results = append(iq.results, fields)
	}
	iq.stats = lw.QueryStatistics{RecordsMatched: ptr(float64(len(rows))), RecordsScanned: ptr(float64(scanned)),
		BytesScanned: ptr(float64(bytes)), LogGroupsScanned: ptr(float64(len(groups)))}
	iq.info.QueryDuration = ptr(time.Since(begun).Milliseconds())
	iq.info.BytesScanned = iq.stats.BytesScanned
	s.insights.add(account, iq)
	return &lw.StartQueryResponse{QueryId: iq.info.QueryId}, nil
}

// queryRecords reads the groups' events in [start, end) ms as query records, keeping those keep
// accepts (the query's filters), so memory holds what the query can return, not all it read.
func (s *Server) queryRecords(account string, groups []string, start, end int64, keep func(logs.Record) bool) (records []logs.Record, scanned, bytes int, err error) {
	for _, g := range groups {
		p := logs.FilterParams{Group: g, Start: &start, End: &end}
		for {
			res, err := s.cfg.Logs.FilterEvents(account, p)
			if err != nil {
				return nil, 0, 0, logsError(err)
			}
			for _, e := range res.Events {
				if r := logs.RecordOf(g, e); keep(r) {
					records = append(records, r)
				}
				bytes += len(e.Message)
			}
			scanned += len(res.Events)
			if res.NextToken == "" || scanned >= maxScannedRecords {
				break
			}
			p.NextToken = res.NextToken
		}
	}
	return records, scanned, bytes, nil
}

func (s *Server) getQueryResults(_ context.Context, account string, in *lw.GetQueryResultsRequest) (*lw.GetQueryResultsResponse, error) {
	iq, err := s.insights.find(account, in.QueryId)
	if err != nil {
		return nil, err
	}
	stats := iq.stats
	return &lw.GetQueryResultsResponse{Results: nonNilRows(iq.results), Statistics: &stats, Status: iq.info.Status,
		QueryLanguage: iq.info.QueryLanguage}, nil
}

func nonNilRows(rows [][]lw.ResultField) [][]lw.ResultField {
	if rows == nil {
		return [][]lw.ResultField{}
	}
	return rows
}

func (s *Server) stopQuery(_ context.Context, account string, in *lw.StopQueryRequest) (*lw.StopQueryResponse, error) {
	if _, err := s.insights.find(account, in.QueryId); err != nil {
		return nil, err
	}
	return &lw.StopQueryResponse{Success: ptr(false)}, nil // it completed when it started
}

func (s *Server) describeQueries(_ context.Context, account string, in *lw.DescribeQueriesRequest) (*lw.DescribeQueriesResponse, error) {
	s.insights.mu.Lock()
	defer s.insights.mu.Unlock()
	out := &lw.DescribeQueriesResponse{Queries: []lw.QueryInfo{}}
	list := s.insights.byAcct[account]
	for i := len(list) - 1; i >= 0; i-- { // newest first
		info := list[i].info
		if (in.LogGroupName != "" && info.LogGroupName != in.LogGroupName) || (in.Status != "" && info.Status != in.Status) {
			continue
		}
		out.Queries = append(out.Queries, info)
	}
	return out, nil
}
