package lambda

import (
	"context"
	"maps"
	"strings"

	lw "github.com/barge-run/barge/internal/awstypes/lambda"
)

// maxTags is Lambda's limit of tags per function.
const maxTags = 50

// checkTags applies Lambda's rules for tag keys and values.
func checkTags(tags map[string]string) error {
	for k, v := range tags {
		switch {
		case len(k) < 1 || len(k) > 128:
			return invalid("Tags: key %q must be 1 to 128 characters", k)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return invalid("Tags: key %q: the aws: prefix is reserved", k)
		case len(v) > 256:
			return invalid("Tags: the value of %q is longer than 256 characters", k)
		}
	}
	return nil
}

// TagResource implements the Lambda operation for functions (named by ARN, without qualifier).
func (s *Service) TagResource(ctx context.Context, account string, in *lw.TagResourceRequest) (*Empty, error) {
	rec, err := s.latest(ctx, account, in.Resource)
	if err != nil {
		return nil, err
	}
	if len(in.Tags) == 0 {
		return nil, invalid("Tags: at least one tag is required")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	tags := maps.Clone(rec.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	maps.Copy(tags, in.Tags)
	if len(tags) > maxTags {
		return nil, invalid("Tags: a function can have at most %d tags", maxTags)
	}
	rec.Tags = tags
	return &Empty{}, s.put(ctx, account, rec)
}

// UntagResource implements the Lambda operation; removing a key that is not there is no error.
func (s *Service) UntagResource(ctx context.Context, account string, in *lw.UntagResourceRequest) (*Empty, error) {
	rec, err := s.latest(ctx, account, in.Resource)
	if err != nil {
		return nil, err
	}
	if len(in.TagKeys) == 0 {
		return nil, invalid("TagKeys: at least one key is required")
	}
	for _, k := range in.TagKeys {
		delete(rec.Tags, k)
	}
	return &Empty{}, s.put(ctx, account, rec)
}

// ListTags implements the Lambda operation.
func (s *Service) ListTags(ctx context.Context, account string, in *lw.ListTagsRequest) (*lw.ListTagsResponse, error) {
	rec, err := s.latest(ctx, account, in.Resource)
	if err != nil {
		return nil, err
	}
	tags := rec.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return &lw.ListTagsResponse{Tags: tags}, nil
}
