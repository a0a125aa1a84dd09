package api

import (
	"context"
	"strings"

	lw "github.com/barge-run/barge/internal/awstypes/logs"
	"github.com/barge-run/barge/internal/logs"
)

// maxLogGroupTags is CloudWatch Logs' limit of tags on a log group.
const maxLogGroupTags = 50

// logGroupOfARN is the log group a resource ARN of this account and region names
// (arn:aws:logs:<region>:<account>:log-group:<name>[:*]).
func (s *Server) logGroupOfARN(account, arn string) (string, error) {
	name, ok := strings.CutPrefix(arn, s.logsARN(account)+":log-group:")
	if !ok || name == "" {
		return "", invalidParam("resourceArn: %q is not a log group ARN of this account and region", arn)
	}
	return strings.TrimSuffix(name, ":*"), nil
}

// tagGroup adds (or, with remove, takes away) tags of a log group.
func (s *Server) tagGroup(account, group string, add map[string]string, remove []string) error {
	tooMany := false
	err := s.cfg.Logs.UpdateGroup(account, group, func(g *logs.GroupInfo) {
		tags := map[string]string{}
		for k, v := range g.Tags {
			tags[k] = v
		}
		for k, v := range add {
			tags[k] = v
		}
		for _, k := range remove {
			delete(tags, k)
		}
		if len(tags) > maxLogGroupTags {
			tooMany = true
			return
		}
		g.Tags = tags
	})
	if err != nil {
		return logsError(err)
	}
	if tooMany {
		return invalidParam("tags: a log group has at most %d", maxLogGroupTags)
	}
	return nil
}

func (s *Server) tagLogsResource(_ context.Context, account string, in *lw.TagResourceRequest) (*logsEmpty, error) {
	group, err := s.logGroupOfARN(account, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	return &logsEmpty{}, s.tagGroup(account, group, in.Tags, nil)
}

func (s *Server) untagLogsResource(_ context.Context, account string, in *lw.UntagResourceRequest) (*logsEmpty, error) {
	group, err := s.logGroupOfARN(account, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	return &logsEmpty{}, s.tagGroup(account, group, nil, in.TagKeys)
}

func (s *Server) listLogsResourceTags(_ context.Context, account string, in *lw.ListTagsForResourceRequest) (*lw.ListTagsForResourceResponse, error) {
	group, err := s.logGroupOfARN(account, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	g, err := s.cfg.Logs.Group(account, group)
	if err != nil {
		return nil, logsError(err)
	}
	return &lw.ListTagsForResourceResponse{Tags: nonNilTags(g.Tags)}, nil
}

func (s *Server) tagLogGroup(_ context.Context, account string, in *lw.TagLogGroupRequest) (*logsEmpty, error) {
	return &logsEmpty{}, s.tagGroup(account, in.LogGroupName, in.Tags, nil)
}

func (s *Server) untagLogGroup(_ context.Context, account string, in *lw.UntagLogGroupRequest) (*logsEmpty, error) {
	return &logsEmpty{}, s.tagGroup(account, in.LogGroupName, nil, in.Tags)
}

func (s *Server) listTagsLogGroup(_ context.Context, account string, in *lw.ListTagsLogGroupRequest) (*lw.ListTagsLogGroupResponse, error) {
	g, err := s.cfg.Logs.Group(account, in.LogGroupName)
	if err != nil {
		return nil, logsError(err)
	}
	return &lw.ListTagsLogGroupResponse{Tags: nonNilTags(g.Tags)}, nil
}

func nonNilTags(t map[string]string) map[string]string {
	if t == nil {
		return map[string]string{}
	}
	return t
}
