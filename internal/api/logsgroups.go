package api

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/barge-run/barge/internal/awserr"
	lw "github.com/barge-run/barge/internal/awstypes/logs"
	"github.com/barge-run/barge/internal/logs"
)

// logsEmpty is the answer of the CloudWatch Logs operations that return nothing.
type logsEmpty struct{}

var (
	logGroupNameRE  = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]{1,512}$`)
	logStreamNameRE = regexp.MustCompile(`^[^:*]{1,512}$`)
	// retentionDays are the values PutRetentionPolicy takes.
	retentionDays = []int32{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)

// PutLogEvents' batch rules, as CloudWatch Logs documents them.
const (
	maxPutEvents   = 10000
	maxPutBytes    = 1048576
	putEventBytes  = 26 // counted per event besides its message
	maxPutSpan     = 24 * time.Hour
	maxEventAge    = 14 * 24 * time.Hour
	maxEventFuture = 2 * time.Hour
)

func alreadyExists(what string) error {
	return awserr.New(http.StatusBadRequest, "ResourceAlreadyExistsException", "The specified %s already exists", what)
}

func checkGroupName(name string) error {
	if !logGroupNameRE.MatchString(name) {
		return invalidParam("logGroupName: %q must be 1 to 512 characters of letters, digits, '_', '-', '/', '.' and '#'", name)
	}
	return nil
}

func (s *Server) createLogGroup(_ context.Context, account string, in *lw.CreateLogGroupRequest) (*logsEmpty, error) {
	if err := checkGroupName(in.LogGroupName); err != nil {
		return nil, err
	}
	if len(in.Tags) > 50 {
		return nil, invalidParam("tags: at most 50")
	}
	class := string(in.LogGroupClass)
	if class == "" {
		class = "STANDARD"
	}
	err := s.cfg.Logs.CreateGroup(account, logs.GroupInfo{Name: in.LogGroupName, KmsKeyID: in.KmsKeyId, Class: class, Tags: in.Tags})
	if errors.Is(err, logs.ErrAlreadyExists) {
		return nil, alreadyExists("log group")
	}
	return &logsEmpty{}, logsError(err)
}

func (s *Server) deleteLogGroup(_ context.Context, account string, in *lw.DeleteLogGroupRequest) (*logsEmpty, error) {
	if err := checkGroupName(in.LogGroupName); err != nil {
		return nil, err
	}
	return &logsEmpty{}, logsError(s.cfg.Logs.DeleteGroup(account, in.LogGroupName))
}

func (s *Server) describeLogGroups(_ context.Context, account string, in *lw.DescribeLogGroupsRequest) (*lw.DescribeLogGroupsResponse, error) {
	p := logs.DescribeGroupsParams{Prefix: in.LogGroupNamePrefix, Pattern: in.LogGroupNamePattern, NextToken: in.NextToken}
	if in.LogGroupNamePrefix != "" && in.LogGroupNamePattern != "" {
		return nil, invalidParam("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 50 {
			return nil, invalidParam("limit must be between 1 and 50")
		}
		p.Limit = int(*in.Limit)
	}
	res, err := s.cfg.Logs.DescribeGroups(account, p)
	if err != nil {
		return nil, logsError(err)
	}
	out := &lw.DescribeLogGroupsResponse{LogGroups: []lw.LogGroup{}, NextToken: res.NextToken}
	for _, g := range res.Groups {
		lg := lw.LogGroup{LogGroupName: g.Name, CreationTime: ptr(g.CreationTime), MetricFilterCount: ptr(int32(0)),
			StoredBytes: ptr(g.StoredBytes), KmsKeyId: g.KmsKeyID, LogGroupClass: lw.LogGroupClass(g.Class),
			LogGroupArn: s.logsARN(account) + ":log-group:" + g.Name}
		lg.Arn = lg.LogGroupArn + ":*"
		if lg.LogGroupClass == "" {
			lg.LogGroupClass = "STANDARD"
		}
		if g.RetentionInDays > 0 {
			lg.RetentionInDays = ptr(g.RetentionInDays)
		}
		out.LogGroups = append(out.LogGroups, lg)
	}
	return out, nil
}

func (s *Server) putRetentionPolicy(_ context.Context, account string, in *lw.PutRetentionPolicyRequest) (*logsEmpty, error) {
	if in.RetentionInDays == nil || !slices.Contains(retentionDays, *in.RetentionInDays) {
		return nil, invalidParam("retentionInDays: must be one of %v", retentionDays)
	}
	return &logsEmpty{}, logsError(s.cfg.Logs.UpdateGroup(account, in.LogGroupName, func(g *logs.GroupInfo) { g.RetentionInDays = *in.RetentionInDays }))
}

func (s *Server) deleteRetentionPolicy(_ context.Context, account string, in *lw.DeleteRetentionPolicyRequest) (*logsEmpty, error) {
	return &logsEmpty{}, logsError(s.cfg.Logs.UpdateGroup(account, in.LogGroupName, func(g *logs.GroupInfo) { g.RetentionInDays = 0 }))
}

func (s *Server) createLogStream(_ context.Context, account string, in *lw.CreateLogStreamRequest) (*logsEmpty, error) {
	if !logStreamNameRE.MatchString(in.LogStreamName) {
		return nil, invalidParam("logStreamName: %q must be 1 to 512 characters, without ':' or '*'", in.LogStreamName)
	}
	err := s.cfg.Logs.CreateStream(account, in.LogGroupName, in.LogStreamName)
	if errors.Is(err, logs.ErrAlreadyExists) {
		return nil, alreadyExists("log stream")
	}
	return &logsEmpty{}, logsError(err)
}

func (s *Server) deleteLogStream(_ context.Context, account string, in *lw.DeleteLogStreamRequest) (*logsEmpty, error) {
	return &logsEmpty{}, logsError(s.cfg.Logs.DeleteStream(account, in.LogGroupName, in.LogStreamName))
}

// putLogEvents stores a batch of events under CloudWatch Logs' rules: 1 to 10,000 events and at
// most 1 MiB (each event counting 26 bytes more than its message), in chronological order,
// spanning at most 24 hours; events more than 14 days old (or than the group's retention), or
// older than the stream's newest event, are rejected as too old, events more than 2 hours ahead
// as too new, and reported in rejectedLogEventsInfo.
func (s *Server) putLogEvents(_ context.Context, account string, in *lw.PutLogEventsRequest) (*lw.PutLogEventsResponse, error) {
	n := len(in.LogEvents)
	if n < 1 || n > maxPutEvents {
		return nil, invalidParam("logEvents: 1 to %d events, got %d", maxPutEvents, n)
	}
	size := 0
	events := make([]logs.InputEvent, n)
	for i, e := range in.LogEvents {
		if e.Timestamp == nil {
			return nil, invalidParam("logEvents[%d].timestamp is required", i)
		}
		if e.Message == "" {
			return nil, invalidParam("logEvents[%d].message: 1 or more characters", i)
		}
		if i > 0 && *e.Timestamp < events[i-1].Timestamp {
			return nil, invalidParam("Log events in a single PutLogEvents request must be in chronological order.")
		}
		size += len(e.Message) + putEventBytes
		events[i] = logs.InputEvent{Timestamp: *e.Timestamp, Message: e.Message}
	}
	if size > maxPutBytes {
		return nil, invalidParam("Upload too large: %d bytes exceeds limit of %d", size, maxPutBytes)
	}
	if events[n-1].Timestamp-events[0].Timestamp > maxPutSpan.Milliseconds() {
		return nil, invalidParam("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	}
	now := time.Now()
	oldest := now.Add(-maxEventAge).UnixMilli()
	if g, err := s.cfg.Logs.Group(account, in.LogGroupName); err == nil && g.RetentionInDays > 0 {
		oldest = max(oldest, now.Add(-time.Duration(g.RetentionInDays)*24*time.Hour).UnixMilli())
	}
	res, err := s.cfg.Logs.Put(account, in.LogGroupName, in.LogStreamName, events, oldest, now.Add(maxEventFuture).UnixMilli())
	if err != nil {
		return nil, logsError(err)
	}
	out := &lw.PutLogEventsResponse{NextSequenceToken: strconv.FormatInt(now.UnixNano(), 10)}
	if res.TooOldEnd >= 0 || res.TooNewStart >= 0 {
		out.RejectedLogEventsInfo = &lw.RejectedLogEventsInfo{}
		if res.TooOldEnd >= 0 {
			out.RejectedLogEventsInfo.TooOldLogEventEndIndex = ptr(int32(res.TooOldEnd))
		}
		if res.TooNewStart >= 0 {
			out.RejectedLogEventsInfo.TooNewLogEventStartIndex = ptr(int32(res.TooNewStart))
		}
	}
	return out, nil
}

func ptr[T any](v T) *T { return &v }
