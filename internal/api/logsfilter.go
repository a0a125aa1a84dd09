package api

import (
	"context"

	lw "github.com/barge-run/barge/internal/awstypes/logs"
	"github.com/barge-run/barge/internal/logs"
)

// filterLogEventsOutput is FilterLogEvents' answer with every event's message present (see
// getLogEventsOutput).
type filterLogEventsOutput struct {
	Events             []filteredLogEvent     `json:"events"`
	SearchedLogStreams []lw.SearchedLogStream `json:"searchedLogStreams"`
	NextToken          string                 `json:"nextToken,omitempty"`
}

type filteredLogEvent struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId"`
}

// filterLogEvents serves FilterLogEvents over a group's streams, with the terms of CloudWatch's
// filter pattern syntax (logs.CompilePattern); `aws logs tail` polls it.
func (s *Server) filterLogEvents(_ context.Context, account string, in *lw.FilterLogEventsRequest) (*filterLogEventsOutput, error) {
	group, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if len(in.LogStreamNames) > 0 && in.LogStreamNamePrefix != "" {
		return nil, invalidParam("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
	}
	if len(in.LogStreamNames) > 100 {
		return nil, invalidParam("logStreamNames: at most 100")
	}
	match, err := logs.CompilePattern(in.FilterPattern)
	if err != nil {
		return nil, logsError(err)
	}
	p := logs.FilterParams{Group: group, StreamNames: in.LogStreamNames, StreamPrefix: in.LogStreamNamePrefix,
		Start: in.StartTime, End: in.EndTime, Match: match, NextToken: in.NextToken}
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 10000 {
			return nil, invalidParam("limit must be between 1 and 10000")
		}
		p.Limit = int(*in.Limit)
	}
	res, err := s.cfg.Logs.FilterEvents(account, p)
	if err != nil {
		return nil, logsError(err)
	}
	out := &filterLogEventsOutput{Events: make([]filteredLogEvent, len(res.Events)), SearchedLogStreams: []lw.SearchedLogStream{}, NextToken: res.NextToken}
	for i, e := range res.Events {
		out.Events[i] = filteredLogEvent{LogStreamName: e.Stream, Timestamp: e.Timestamp, Message: e.Message, IngestionTime: e.IngestionTime, EventID: e.ID}
	}
	for _, name := range res.Streams {
		out.SearchedLogStreams = append(out.SearchedLogStreams, lw.SearchedLogStream{LogStreamName: name, SearchedCompletely: ptr(true)})
	}
	return out, nil
}
