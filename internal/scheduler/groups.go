package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/barge-run/barge/internal/awstypes"
	sc "github.com/barge-run/barge/internal/awstypes/scheduler"
	"github.com/barge-run/barge/internal/store"
)

// groupRecord is a schedule group as stored.
type groupRecord struct {
	G    sc.GetScheduleGroupOutput `json:"g"`
	Tags []sc.Tag                  `json:"tags,omitempty"`
}

// getGroup reads a group; the default group is made on first use.
func (s *Service) getGroup(ctx context.Context, scope, name string) (*groupRecord, error) {
	r, err := s.cfg.Store.ResourceGet(ctx, scope, KindGroup, name, 0)
	if isNotFound(err) && name == DefaultGroup {
		if _, err := s.createGroup(ctx, scope, name, nil); err != nil && !errors.Is(err, store.ErrConflict) {
			return nil, err
		}
		r, err = s.cfg.Store.ResourceGet(ctx, scope, KindGroup, name, 0)
	}
	if isNotFound(err) {
		return nil, notFound("Schedule group %s does not exist.", name)
	}
	if err != nil {
		return nil, fmt.Errorf("read schedule group %s: %w", name, err)
	}
	return decode[groupRecord](r.Body, "schedule group")
}

func (s *Service) createGroup(ctx context.Context, scope, name string, tags []sc.Tag) (*groupRecord, error) {
	now := s.cfg.Engine.Now()
	rec := &groupRecord{Tags: tags, G: sc.GetScheduleGroupOutput{Arn: s.arn(scope, "schedule-group/"+name), Name: name,
		State: sc.ScheduleGroupStateActive, CreationDate: awstypes.NewTimestamp(now), LastModificationDate: awstypes.NewTimestamp(now)}}
	body, _ := json.Marshal(rec)
	err := s.cfg.Store.ResourceCreate(ctx, &store.Resource{Account: scope, Kind: KindGroup, Name: name, ARN: rec.G.Arn, Status: "ACTIVE", Body: body, CreatedAt: now})
	if err != nil {
		return nil, fmt.Errorf("create schedule group %s: %w", name, err)
	}
	return rec, nil
}

// CreateScheduleGroup implements the Scheduler operation.
func (s *Service) CreateScheduleGroup(ctx context.Context, scope string, in *sc.CreateScheduleGroupInput) (*sc.CreateScheduleGroupOutput, error) {
	if !nameRE.MatchString(in.Name) {
		return nil, validation("1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$", in.Name)
	}
	if in.Name == DefaultGroup {
		return nil, conflict("Schedule group %s already exists.", in.Name)
	}
	rec, err := s.createGroup(ctx, scope, in.Name, in.Tags)
	if errors.Is(err, store.ErrConflict) {
		return nil, conflict("Schedule group %s already exists.", in.Name)
	}
	if err != nil {
		return nil, err
	}
	return &sc.CreateScheduleGroupOutput{ScheduleGroupArn: rec.G.Arn}, nil
}

// GetScheduleGroup implements the Scheduler operation.
func (s *Service) GetScheduleGroup(ctx context.Context, scope string, in *sc.GetScheduleGroupInput) (*sc.GetScheduleGroupOutput, error) {
	rec, err := s.getGroup(ctx, scope, in.Name)
	if err != nil {
		return nil, err
	}
	return &rec.G, nil
}

// DeleteScheduleGroup implements the Scheduler operation: the group's schedules go with it.
func (s *Service) DeleteScheduleGroup(ctx context.Context, scope string, in *sc.DeleteScheduleGroupInput) (*sc.DeleteScheduleGroupOutput, error) {
	if in.Name == DefaultGroup {
		return nil, validation("The default schedule group cannot be deleted.")
	}
	if _, err := s.getGroup(ctx, scope, in.Name); err != nil {
		return nil, err
	}
	rs, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{Account: scope, Kind: KindSchedule})
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	for _, r := range rs {
		if strings.HasPrefix(r.Name, in.Name+"/") {
			s.cfg.Store.ResourceDelete(ctx, scope, KindSchedule, r.Name, 0)
		}
	}
	if err := s.cfg.Store.ResourceDelete(ctx, scope, KindGroup, in.Name, 0); err != nil && !isNotFound(err) {
		return nil, fmt.Errorf("delete schedule group: %w", err)
	}
	return &sc.DeleteScheduleGroupOutput{}, nil
}

// ListScheduleGroups implements the Scheduler operation.
func (s *Service) ListScheduleGroups(ctx context.Context, scope string, in *sc.ListScheduleGroupsInput) (*sc.ListScheduleGroupsOutput, error) {
	limit, after, err := paging(in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	if _, err := s.getGroup(ctx, scope, DefaultGroup); err != nil {
		return nil, err
	}
	rs, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{Account: scope, Kind: KindGroup, AfterName: after})
	if err != nil {
		return nil, fmt.Errorf("list schedule groups: %w", err)
	}
	out := &sc.ListScheduleGroupsOutput{ScheduleGroups: []sc.ScheduleGroupSummary{}}
	for _, r := range rs {
		if !strings.HasPrefix(r.Name, in.NamePrefix) {
			continue
		}
		rec, err := decode[groupRecord](r.Body, "schedule group")
		if err != nil {
			return nil, err
		}
		if len(out.ScheduleGroups) == limit {
			out.NextToken = encodeToken(out.ScheduleGroups[limit-1].Name)
			break
		}
		g := rec.G
		out.ScheduleGroups = append(out.ScheduleGroups, sc.ScheduleGroupSummary{Arn: g.Arn, CreationDate: g.CreationDate,
			LastModificationDate: g.LastModificationDate, Name: g.Name, State: g.State})
	}
	return out, nil
}

// groupByArn reads the group an ARN names (tags live on groups only).
func (s *Service) groupByArn(ctx context.Context, scope, arn string) (*groupRecord, *store.Resource, error) {
	name, ok := strings.CutPrefix(arn, s.arn(scope, "schedule-group/"))
	if !ok {
		return nil, nil, notFound("Resource %s does not exist.", arn)
	}
	if _, err := s.getGroup(ctx, scope, name); err != nil {
		return nil, nil, err
	}
	r, err := s.cfg.Store.ResourceGet(ctx, scope, KindGroup, name, 0)
	if err != nil {
		return nil, nil, notFound("Resource %s does not exist.", arn)
	}
	rec, err := decode[groupRecord](r.Body, "schedule group")
	return rec, r, err
}

func (s *Service) retag(ctx context.Context, scope, arn string, change func(*groupRecord)) error {
	rec, r, err := s.groupByArn(ctx, scope, arn)
	if err != nil {
		return err
	}
	change(rec)
	r.Body, _ = json.Marshal(rec)
	if err := s.cfg.Store.ResourceUpdate(ctx, r); err != nil {
		return fmt.Errorf("tag schedule group: %w", err)
	}
	return nil
}

// TagResource implements the Scheduler operation (schedule groups).
func (s *Service) TagResource(ctx context.Context, scope string, in *sc.TagResourceInput) (*sc.TagResourceOutput, error) {
	err := s.retag(ctx, scope, in.ResourceArn, func(g *groupRecord) {
		for _, t := range in.Tags {
			g.Tags = append(removeTags(g.Tags, []string{t.Key}), t)
		}
	})
	return &sc.TagResourceOutput{}, err
}

// UntagResource implements the Scheduler operation.
func (s *Service) UntagResource(ctx context.Context, scope string, in *sc.UntagResourceInput) (*sc.UntagResourceOutput, error) {
	err := s.retag(ctx, scope, in.ResourceArn, func(g *groupRecord) { g.Tags = removeTags(g.Tags, in.TagKeys) })
	return &sc.UntagResourceOutput{}, err
}

// ListTagsForResource implements the Scheduler operation.
func (s *Service) ListTagsForResource(ctx context.Context, scope string, in *sc.ListTagsForResourceInput) (*sc.ListTagsForResourceOutput, error) {
	rec, _, err := s.groupByArn(ctx, scope, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	return &sc.ListTagsForResourceOutput{Tags: append([]sc.Tag{}, rec.Tags...)}, nil
}

func removeTags(tags []sc.Tag, keys []string) []sc.Tag {
	var out []sc.Tag
	for _, t := range tags {
		drop := false
		for _, k := range keys {
			drop = drop || t.Key == k
		}
		if !drop {
			out = append(out, t)
		}
	}
	return out
}
