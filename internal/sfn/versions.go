package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/barge-run/barge/internal/awstypes"
	sw "github.com/barge-run/barge/internal/awstypes/sfn"
	"github.com/barge-run/barge/internal/store"
)

// versionRecord is a published, immutable version of a state machine.
type versionRecord struct {
	Version     int                      `json:"version"`
	ARN         string                   `json:"arn"`
	Definition  string                   `json:"definition"`
	RoleArn     string                   `json:"roleArn"`
	Type        sw.StateMachineType      `json:"type"`
	RevisionID  string                   `json:"revisionId"`
	Description string                   `json:"description,omitempty"`
	Created     time.Time                `json:"created"`
	Logging     *sw.LoggingConfiguration `json:"logging,omitempty"`
	Tracing     *sw.TracingConfiguration `json:"tracing,omitempty"`
}

// publish makes a version of the machine's current revision, or answers the latest version
// when it already has that revision.
func (s *Service) publish(ctx context.Context, scope, name, revisionID, description string) (*versionRecord, error) {
	rec, res, err := s.getMachine(ctx, scope, name)
	if err != nil {
		return nil, err
	}
	if revisionID != "" && revisionID != rec.RevisionID {
		return nil, conflict("Failed to publish the State Machine version for revision %s. The current State Machine revision is %s.", revisionID, rec.RevisionID)
	}
	if rec.LastVersion > 0 {
		latest, err := s.getVersion(ctx, scope, name, rec.LastVersion)
		if err == nil && latest.RevisionID == rec.RevisionID {
			return latest, nil
		}
	}
	rec.LastVersion++
	if err := s.putMachine(ctx, rec, res); err != nil {
		return nil, err
	}
	v := &versionRecord{Version: rec.LastVersion, ARN: rec.ARN + ":" + strconv.Itoa(rec.LastVersion), Definition: rec.Definition,
		RoleArn: rec.RoleArn, Type: rec.Type, RevisionID: rec.RevisionID, Description: description, Created: now(),
		Logging: rec.Logging, Tracing: rec.Tracing}
	body, _ := json.Marshal(v)
	if err := s.cfg.Store.ResourceCreate(ctx, &store.Resource{Account: scope, Kind: kindVersion, Name: name, Revision: v.Version,
		ARN: v.ARN, Status: "ACTIVE", Body: body, CreatedAt: v.Created}); err != nil {
		return nil, fmt.Errorf("publish version %d of %s: %w", v.Version, name, err)
	}
	return v, nil
}

func (s *Service) getVersion(ctx context.Context, scope, name string, n int) (*versionRecord, error) {
	r, err := s.cfg.Store.ResourceGet(ctx, scope, kindVersion, name, n)
	if errors.Is(err, store.ErrNotFound) {
		return nil, resourceNotFound(s.arnOf(scope, fmt.Sprintf("stateMachine:%s:%d", name, n)))
	}
	if err != nil {
		return nil, fmt.Errorf("read version %d of %s: %w", n, name, err)
	}
	var v versionRecord
	if err := json.Unmarshal(r.Body, &v); err != nil {
		return nil, fmt.Errorf("decode version %d of %s: %w", n, name, err)
	}
	return &v, nil
}

// PublishStateMachineVersion publishes the machine's current revision as a version.
func (s *Service) PublishStateMachineVersion(ctx context.Context, scope string, in *sw.PublishStateMachineVersionInput) (*sw.PublishStateMachineVersionOutput, error) {
	t, err := s.parseMachineARN(scope, in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	if t.version > 0 || t.alias != "" {
		return nil, invalidArn(in.StateMachineArn)
	}
	v, err := s.publish(ctx, scope, t.name, in.RevisionId, in.Description)
	if err != nil {
		return nil, err
	}
	return &sw.PublishStateMachineVersionOutput{StateMachineVersionArn: v.ARN, CreationDate: awstypes.NewTimestamp(v.Created)}, nil
}

// ListStateMachineVersions lists a machine's versions, newest first.
func (s *Service) ListStateMachineVersions(ctx context.Context, scope string, in *sw.ListStateMachineVersionsInput) (*sw.ListStateMachineVersionsOutput, error) {
	t, err := s.parseMachineARN(scope, in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	if _, _, err := s.getMachine(ctx, scope, t.name); err != nil {
		return nil, err
	}
	rs, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{Account: scope, Kind: kindVersion, Names: []string{t.name}})
	if err != nil {
		return nil, fmt.Errorf("list versions of %s: %w", t.name, err)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].Revision > rs[j].Revision })
	items := make([]sw.StateMachineVersionListItem, 0, len(rs))
	for _, r := range rs {
		items = append(items, sw.StateMachineVersionListItem{StateMachineVersionArn: r.ARN, CreationDate: awstypes.NewTimestamp(r.CreatedAt)})
	}
	page, next, err := pageOf(items, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &sw.ListStateMachineVersionsOutput{StateMachineVersions: page, NextToken: next}, nil
}

// DeleteStateMachineVersion deletes a version no alias routes to.
func (s *Service) DeleteStateMachineVersion(ctx context.Context, scope string, in *sw.DeleteStateMachineVersionInput) (*sw.DeleteStateMachineVersionOutput, error) {
	t, err := s.parseMachineARN(scope, in.StateMachineVersionArn)
	if err != nil {
		return nil, err
	}
	if t.version == 0 {
		return nil, invalidArn(in.StateMachineVersionArn)
	}
	aliases, err := s.listAliases(ctx, scope, t.name)
	if err != nil {
		return nil, err
	}
	for _, a := range aliases {
		for _, rc := range a.Routing {
			if rc.StateMachineVersionArn == in.StateMachineVersionArn {
				return nil, conflict("Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [%s]", a.Name)
			}
		}
	}
	err = s.cfg.Store.ResourceDelete(ctx, scope, kindVersion, t.name, t.version)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("delete version %d of %s: %w", t.version, t.name, err)
	}
	return &sw.DeleteStateMachineVersionOutput{}, nil
}

// pageOf pages a listing held in memory with an offset token.
func pageOf[T any](items []T, token string, max *int32) ([]T, string, error) {
	limit, err := pageSize(max)
	if err != nil {
		return nil, "", err
	}
	cur, err := decodeToken(token)
	if err != nil {
		return nil, "", err
	}
	off := 0
	if cur != "" {
		if off, err = strconv.Atoi(cur); err != nil || off < 0 {
			return nil, "", apiErr("InvalidToken", "Invalid Token: '%s'", token)
		}
	}
	if off > len(items) {
		off = len(items)
	}
	end := min(off+limit, len(items))
	next := ""
	if end < len(items) {
		next = encodeToken(strconv.Itoa(end))
	}
	return items[off:end], next, nil
}
