package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/barge-run/barge/internal/account"
	"github.com/barge-run/barge/internal/awserr"
	lw "github.com/barge-run/barge/internal/awstypes/logs"
	"github.com/barge-run/barge/internal/logs"
)

const logsContentType = "application/x-amz-json-1.1"

// logsHandlers are the implemented CloudWatch Logs operations, by model name.
func (s *Server) logsHandlers() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GetLogEvents":                awsJSON(s.getLogEvents),
		"DescribeLogStreams":          awsJSON(s.describeLogStreams),
		"CreateLogGroup":              awsJSON(s.createLogGroup),
		"DeleteLogGroup":              awsJSON(s.deleteLogGroup),
		"DescribeLogGroups":           awsJSON(s.describeLogGroups),
		"PutRetentionPolicy":          awsJSON(s.putRetentionPolicy),
		"DeleteRetentionPolicy":       awsJSON(s.deleteRetentionPolicy),
		"CreateLogStream":             awsJSON(s.createLogStream),
		"DeleteLogStream":             awsJSON(s.deleteLogStream),
		"PutLogEvents":                awsJSON(s.putLogEvents),
		"FilterLogEvents":             awsJSON(s.filterLogEvents),
		"PutSubscriptionFilter":       awsJSON(s.putSubscriptionFilter),
		"DescribeSubscriptionFilters": awsJSON(s.describeSubscriptionFilters),
		"DeleteSubscriptionFilter":    awsJSON(s.deleteSubscriptionFilter),
		"TagResource":                 awsJSON(s.tagLogsResource),
		"UntagResource":               awsJSON(s.untagLogsResource),
		"ListTagsForResource":         awsJSON(s.listLogsResourceTags),
		"TagLogGroup":                 awsJSON(s.tagLogGroup),
		"UntagLogGroup":               awsJSON(s.untagLogGroup),
		"ListTagsLogGroup":            awsJSON(s.listTagsLogGroup),
		"PutResourcePolicy":           awsJSON(s.putResourcePolicy),
		"DescribeResourcePolicies":    awsJSON(s.describeResourcePolicies),
		"DeleteResourcePolicy":        awsJSON(s.deleteResourcePolicy),
		"StartLiveTail":               s.startLiveTail,
		"StartQuery":                  awsJSON(s.startQuery),
		"GetQueryResults":             awsJSON(s.getQueryResults),
		"StopQuery":                   awsJSON(s.stopQuery),
		"DescribeQueries":             awsJSON(s.describeQueries),
	}
}

// ImplementedLogsOperations lists the CloudWatch Logs operations barge serves.
func ImplementedLogsOperations() []string { return names((&Server{}).logsHandlers()) }

// serveLogs dispatches an awsJson1_1 call on its X-Amz-Target header.
func (s *Server) serveLogs(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, lw.TargetPrefix+".")
	if i := infoOf(r.Context()); i != nil && ok {
		i.service, i.operation = "logs", op
	}
	if !ok {
		writeError(w, awserr.New(http.StatusBadRequest, "UnknownOperationException", "X-Amz-Target %q names no operation barge serves", target))
		return
	}
	if h, ok := s.logsHandlers()[op]; ok {
		h(w, r)
		return
	}
	for _, known := range lw.Operations {
		if known.Name == op {
			writeError(w, awserr.New(http.StatusBadRequest, "InvalidOperationException", "barge does not implement the CloudWatch Logs operation %s yet (see docs/compatibility.md)", op))
			return
		}
	}
	writeError(w, awserr.New(http.StatusBadRequest, "UnknownOperationException", "X-Amz-Target %q names no operation barge serves", target))
}

func awsJSON[In, Out any](fn func(context.Context, string, *In) (*Out, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req := fromContext(r.Context())
		in := new(In)
		if e := decodeBody(req.body, in); e != nil {
			writeError(w, e)
			return
		}
		out, err := fn(r.Context(), req.account, in)
		if err != nil {
			writeError(w, awserr.As(err))
			return
		}
		writeJSON(w, logsContentType, http.StatusOK, out)
	}
}

func logsError(err error) error {
	switch {
	case errors.Is(err, logs.ErrNotFound) && strings.HasPrefix(err.Error(), "log group"):
		return awserr.New(http.StatusBadRequest, "ResourceNotFoundException", "The specified log group does not exist.")
	case errors.Is(err, logs.ErrNotFound):
		return awserr.New(http.StatusBadRequest, "ResourceNotFoundException", "The specified log stream does not exist.")
	case errors.Is(err, logs.ErrInvalidToken):
		return awserr.New(http.StatusBadRequest, "InvalidParameterException", "The specified nextToken is invalid.")
	case errors.Is(err, logs.ErrInvalidParameter):
		return awserr.New(http.StatusBadRequest, "InvalidParameterException", "%v", err)
	}
	return err
}

func invalidParam(format string, args ...any) error {
	return awserr.New(http.StatusBadRequest, "InvalidParameterException", format, args...)
}

// groupName takes logGroupName or logGroupIdentifier (a name or an ARN).
func groupName(name, ident string) (string, error) {
	switch {
	case name != "" && ident != "":
		return "", invalidParam("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	case name != "":
		return name, nil
	case ident != "":
		if strings.HasPrefix(ident, "arn:") {
			_, g, ok := strings.Cut(ident, ":log-group:")
			if !ok {
				return "", invalidParam("logGroupIdentifier: %q is not a log group ARN", ident)
			}
			return strings.TrimSuffix(g, ":*"), nil
		}
		return ident, nil
	}
	return "", invalidParam("logGroupName is required")
}

// getLogEventsOutput is GetLogEvents' answer with every event's message present, an empty line
// too ("message": ""), as CloudWatch sends it; the generated shape would leave it out.
type getLogEventsOutput struct {
	Events            []outputLogEvent `json:"events"`
	NextForwardToken  string           `json:"nextForwardToken,omitempty"`
	NextBackwardToken string           `json:"nextBackwardToken,omitempty"`
}

type outputLogEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

func (s *Server) getLogEvents(_ context.Context, account string, in *lw.GetLogEventsRequest) (*getLogEventsOutput, error) {
	group, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if in.LogStreamName == "" {
		return nil, invalidParam("logStreamName is required")
	}
	p := logs.GetEventsParams{Group: group, Stream: in.LogStreamName, StartTime: in.StartTime, EndTime: in.EndTime,
		NextToken: in.NextToken, StartFromHead: in.StartFromHead != nil && *in.StartFromHead}
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 10000 {
			return nil, invalidParam("limit must be between 1 and 10000")
		}
		p.Limit = int(*in.Limit)
	}
	res, err := s.cfg.Logs.GetEvents(account, p)
	if err != nil {
		return nil, logsError(err)
	}
	out := &getLogEventsOutput{Events: make([]outputLogEvent, len(res.Events)),
		NextForwardToken: res.NextForwardToken, NextBackwardToken: res.NextBackwardToken}
	for i, ev := range res.Events {
		out.Events[i] = outputLogEvent{Timestamp: ev.Timestamp, Message: ev.Message, IngestionTime: ev.IngestionTime}
	}
	return out, nil
}

func (s *Server) describeLogStreams(_ context.Context, account string, in *lw.DescribeLogStreamsRequest) (*lw.DescribeLogStreamsResponse, error) {
	group, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	p := logs.DescribeStreamsParams{Group: group, Prefix: in.LogStreamNamePrefix, OrderBy: logs.OrderBy(in.OrderBy),
		Descending: in.Descending != nil && *in.Descending, NextToken: in.NextToken}
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 50 {
			return nil, invalidParam("limit must be between 1 and 50")
		}
		p.Limit = int(*in.Limit)
	}
	res, err := s.cfg.Logs.DescribeStreams(account, p)
	if err != nil {
		if errors.Is(err, logs.ErrNotFound) {
			return nil, awserr.New(http.StatusBadRequest, "ResourceNotFoundException", "The specified log group does not exist.")
		}
		return nil, logsError(err)
	}
	out := &lw.DescribeLogStreamsResponse{LogStreams: make([]lw.LogStream, len(res.Streams)), NextToken: res.NextToken}
	for i, st := range res.Streams {
		ls := lw.LogStream{LogStreamName: st.Name, CreationTime: &st.CreationTime, StoredBytes: &st.StoredBytes,
			Arn: s.logsARN(account) + ":log-group:" + group + ":log-stream:" + st.Name}
		if st.LastEventTimestamp != 0 {
			ls.FirstEventTimestamp, ls.LastEventTimestamp, ls.LastIngestionTime = &st.FirstEventTimestamp, &st.LastEventTimestamp, &st.LastIngestionTime
		}
		out.LogStreams[i] = ls
	}
	return out, nil
}

// logsARN is the start of a CloudWatch Logs ARN of the scope key's account and region.
func (s *Server) logsARN(key string) string {
	acct, region := account.SplitScope(key, s.cfg.Region)
	return "arn:aws:logs:" + region + ":" + acct
}
