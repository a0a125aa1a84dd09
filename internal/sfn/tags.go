package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	sw "github.com/barge-run/barge/internal/awstypes/sfn"
	"github.com/barge-run/barge/internal/store"
)

// taggable reads the resource an ARN names for a tag change: a state machine or an activity,
// with a pointer to its tags.
func (s *Service) taggable(ctx context.Context, scope, arn string) (*store.Resource, *map[string]string, func() []byte, error) {
	if arn == "" {
		return nil, nil, nil, missing("resourceArn")
	}
	if p, err := s.parseARN(scope, arn, "activity", resourceNotFound); err == nil {
		a, res, err := s.getActivity(ctx, scope, p.original)
		if err != nil {
			return nil, nil, nil, resourceNotFound(arn)
		}
		return res, &a.Tags, func() []byte { b, _ := json.Marshal(a); return b }, nil
	}
	t, err := s.parseMachineARN(scope, arn)
	if err != nil {
		return nil, nil, nil, err
	}
	if t.version > 0 || t.alias != "" {
		return nil, nil, nil, invalidArn(arn)
	}
	m, res, err := s.getMachine(ctx, scope, t.name)
	if err != nil {
		return nil, nil, nil, resourceNotFound(arn)
	}
	return res, &m.Tags, func() []byte { b, _ := json.Marshal(m); return b }, nil
}

// changeTags applies fn to a resource's tags and writes it back.
func (s *Service) changeTags(ctx context.Context, scope, arn string, fn func(map[string]string) error) error {
	res, tags, encode, err := s.taggable(ctx, scope, arn)
	if err != nil {
		return err
	}
	if *tags == nil {
		*tags = map[string]string{}
	}
	if err := fn(*tags); err != nil {
		return err
	}
	res.Body = encode()
	if err := s.cfg.Store.ResourceUpdate(ctx, res); err != nil {
		if errors.Is(err, store.ErrStale) {
			return conflict("The resource %s changed while this request ran; try again", arn)
		}
		return fmt.Errorf("tag %s: %w", arn, err)
	}
	return nil
}

// TagResource adds or replaces tags of a state machine or activity (at most 50).
func (s *Service) TagResource(ctx context.Context, scope string, in *sw.TagResourceInput) (*sw.TagResourceOutput, error) {
	return &sw.TagResourceOutput{}, s.changeTags(ctx, scope, in.ResourceArn, func(tags map[string]string) error {
		for _, t := range in.Tags {
			tags[t.Key] = t.Value
		}
		if len(tags) > 50 {
			return apiErr("TooManyTags", "Too many tags on %s: at most 50", in.ResourceArn)
		}
		return nil
	})
}

// UntagResource removes tags by key.
func (s *Service) UntagResource(ctx context.Context, scope string, in *sw.UntagResourceInput) (*sw.UntagResourceOutput, error) {
	return &sw.UntagResourceOutput{}, s.changeTags(ctx, scope, in.ResourceArn, func(tags map[string]string) error {
		for _, k := range in.TagKeys {
			delete(tags, k)
		}
		return nil
	})
}

// ListTagsForResource lists a resource's tags by key.
func (s *Service) ListTagsForResource(ctx context.Context, scope string, in *sw.ListTagsForResourceInput) (*sw.ListTagsForResourceOutput, error) {
	_, tags, _, err := s.taggable(ctx, scope, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	out := &sw.ListTagsForResourceOutput{Tags: []sw.Tag{}}
	for k, v := range *tags {
		out.Tags = append(out.Tags, sw.Tag{Key: k, Value: v})
	}
	sort.Slice(out.Tags, func(i, j int) bool { return out.Tags[i].Key < out.Tags[j].Key })
	return out, nil
}
