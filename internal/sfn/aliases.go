package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"time"

	"github.com/barge-run/barge/internal/awstypes"
	sw "github.com/barge-run/barge/internal/awstypes/sfn"
	"github.com/barge-run/barge/internal/store"
)

// aliasRecord is an alias of a state machine: one or two versions with weights.
type aliasRecord struct {
	Name        string                            `json:"name"`
	ARN         string                            `json:"arn"`
	Description string                            `json:"description,omitempty"`
	Routing     []sw.RoutingConfigurationListItem `json:"routing"`
	Created     time.Time                         `json:"created"`
	Updated     time.Time                         `json:"updated,omitzero"`
}

// checkRouting validates a routing configuration and returns the machine it routes to.
func (s *Service) checkRouting(ctx context.Context, scope string, rcs []sw.RoutingConfigurationListItem) (string, error) {
	if len(rcs) == 0 || len(rcs) > 2 {
		return "", validation("1 validation error detected: Value at 'routingConfiguration' failed to satisfy constraint: Member must have length between 1 and 2")
	}
	name, sum := "", 0
	seen := map[string]bool{}
	for _, rc := range rcs {
		t, err := s.parseMachineARN(scope, rc.StateMachineVersionArn)
		if err != nil {
			return "", err
		}
		if t.version == 0 {
			return "", validation("Routing configuration must contain state machine version ARNs: '%s'", rc.StateMachineVersionArn)
		}
		if name != "" && t.name != name {
			return "", validation("Routing configuration must contain versions of the same state machine")
		}
		if seen[rc.StateMachineVersionArn] {
			return "", validation("Routing configuration must contain distinct state machine versions")
		}
		seen[rc.StateMachineVersionArn] = true
		name = t.name
		if rc.Weight == nil || *rc.Weight < 0 || *rc.Weight > 100 {
			return "", validation("Routing configuration weights must be between 0 and 100")
		}
		sum += int(*rc.Weight)
		if _, err := s.getVersion(ctx, scope, t.name, t.version); err != nil {
			return "", err
		}
	}
	if sum != 100 {
		return "", validation("Sum of routing configuration weights must equal 100")
	}
	return name, nil
}

// CreateStateMachineAlias creates an alias routing to one or two versions.
func (s *Service) CreateStateMachineAlias(ctx context.Context, scope string, in *sw.CreateStateMachineAliasInput) (*sw.CreateStateMachineAliasOutput, error) {
	if err := checkName(in.Name); err != nil {
		return nil, err
	}
	if _, isNum := versionNumber(in.Name); isNum || strings.Trim(in.Name, "0123456789") == "" {
		return nil, invalidName(in.Name)
	}
	machine, err := s.checkRouting(ctx, scope, in.RoutingConfiguration)
	if err != nil {
		return nil, err
	}
	t := now()
	a := &aliasRecord{Name: in.Name, ARN: s.arnOf(scope, "stateMachine:"+machine+":"+in.Name), Description: in.Description,
		Routing: in.RoutingConfiguration, Created: t}
	body, _ := json.Marshal(a)
	err = s.cfg.Store.ResourceCreate(ctx, &store.Resource{Account: scope, Kind: kindAlias, Name: machine + ":" + in.Name, ARN: a.ARN,
		Status: "ACTIVE", Body: body, CreatedAt: t})
	if errors.Is(err, store.ErrConflict) {
		old, _, gerr := s.getAlias(ctx, scope, machine, in.Name)
		if gerr != nil {
			return nil, gerr
		}
		if old.Description != a.Description || !reflect.DeepEqual(old.Routing, a.Routing) {
			return nil, conflict("Failed to create alias because an alias with the same name and a different routing configuration already exists.")
		}
		return &sw.CreateStateMachineAliasOutput{StateMachineAliasArn: old.ARN, CreationDate: awstypes.NewTimestamp(old.Created)}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("create alias %s: %w", in.Name, err)
	}
	return &sw.CreateStateMachineAliasOutput{StateMachineAliasArn: a.ARN, CreationDate: awstypes.NewTimestamp(t)}, nil
}

func (s *Service) getAlias(ctx context.Context, scope, machine, name string) (*aliasRecord, *store.Resource, error) {
	r, err := s.cfg.Store.ResourceGet(ctx, scope, kindAlias, machine+":"+name, 0)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, resourceNotFound(s.arnOf(scope, "stateMachine:"+machine+":"+name))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read alias %s: %w", name, err)
	}
	var a aliasRecord
	if err := json.Unmarshal(r.Body, &a); err != nil {
		return nil, nil, fmt.Errorf("decode alias %s: %w", name, err)
	}
	return &a, r, nil
}

func (s *Service) aliasTarget(scope, arn string) (machineTarget, error) {
	t, err := s.parseMachineARN(scope, arn)
	if err != nil {
		return t, err
	}
	if t.alias == "" {
		return t, invalidArn(arn)
	}
	return t, nil
}

// DescribeStateMachineAlias describes an alias.
func (s *Service) DescribeStateMachineAlias(ctx context.Context, scope string, in *sw.DescribeStateMachineAliasInput) (*sw.DescribeStateMachineAliasOutput, error) {
	t, err := s.aliasTarget(scope, in.StateMachineAliasArn)
	if err != nil {
		return nil, err
	}
	a, _, err := s.getAlias(ctx, scope, t.name, t.alias)
	if err != nil {
		return nil, err
	}
	out := &sw.DescribeStateMachineAliasOutput{StateMachineAliasArn: a.ARN, Name: a.Name, Description: a.Description,
		RoutingConfiguration: a.Routing, CreationDate: awstypes.NewTimestamp(a.Created)}
	if !a.Updated.IsZero() {
		out.UpdateDate = awstypes.NewTimestamp(a.Updated)
	}
	return out, nil
}

// UpdateStateMachineAlias changes an alias's description or routing.
func (s *Service) UpdateStateMachineAlias(ctx context.Context, scope string, in *sw.UpdateStateMachineAliasInput) (*sw.UpdateStateMachineAliasOutput, error) {
	t, err := s.aliasTarget(scope, in.StateMachineAliasArn)
	if err != nil {
		return nil, err
	}
	if in.Description == "" && len(in.RoutingConfiguration) == 0 {
		return nil, validation("Either the description or the routing configuration must be specified")
	}
	if len(in.RoutingConfiguration) > 0 {
		machine, err := s.checkRouting(ctx, scope, in.RoutingConfiguration)
		if err != nil {
			return nil, err
		}
		if machine != t.name {
			return nil, validation("Routing configuration must contain versions of state machine %s", t.name)
		}
	}
	a, res, err := s.getAlias(ctx, scope, t.name, t.alias)
	if err != nil {
		return nil, err
	}
	if in.Description != "" {
		a.Description = in.Description
	}
	if len(in.RoutingConfiguration) > 0 {
		a.Routing = in.RoutingConfiguration
	}
	a.Updated = now()
	res.Body, _ = json.Marshal(a)
	if err := s.cfg.Store.ResourceUpdate(ctx, res); err != nil {
		if errors.Is(err, store.ErrStale) {
			return nil, conflict("The alias %s changed while this request ran; try again", a.ARN)
		}
		return nil, fmt.Errorf("update alias %s: %w", a.Name, err)
	}
	return &sw.UpdateStateMachineAliasOutput{UpdateDate: awstypes.NewTimestamp(a.Updated)}, nil
}

// DeleteStateMachineAlias deletes an alias; deleting one that is gone succeeds.
func (s *Service) DeleteStateMachineAlias(ctx context.Context, scope string, in *sw.DeleteStateMachineAliasInput) (*sw.DeleteStateMachineAliasOutput, error) {
	t, err := s.aliasTarget(scope, in.StateMachineAliasArn)
	if err != nil {
		return nil, err
	}
	err = s.cfg.Store.ResourceDelete(ctx, scope, kindAlias, t.name+":"+t.alias, 0)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("delete alias %s: %w", t.alias, err)
	}
	return &sw.DeleteStateMachineAliasOutput{}, nil
}

// listAliases reads every alias of a machine.
func (s *Service) listAliases(ctx context.Context, scope, machine string) ([]*aliasRecord, error) {
	var out []*aliasRecord
	err := s.scanPrefix(ctx, scope, kindAlias, machine+":", func(r *store.Resource) error {
		var a aliasRecord
		if err := json.Unmarshal(r.Body, &a); err != nil {
			return fmt.Errorf("decode alias %s: %w", r.Name, err)
		}
		out = append(out, &a)
		return nil
	})
	return out, err
}

// ListStateMachineAliases lists a machine's aliases by name.
func (s *Service) ListStateMachineAliases(ctx context.Context, scope string, in *sw.ListStateMachineAliasesInput) (*sw.ListStateMachineAliasesOutput, error) {
	t, err := s.parseMachineARN(scope, in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	if _, _, err := s.getMachine(ctx, scope, t.name); err != nil {
		return nil, err
	}
	aliases, err := s.listAliases(ctx, scope, t.name)
	if err != nil {
		return nil, err
	}
	items := make([]sw.StateMachineAliasListItem, 0, len(aliases))
	for _, a := range aliases {
		items = append(items, sw.StateMachineAliasListItem{StateMachineAliasArn: a.ARN, CreationDate: awstypes.NewTimestamp(a.Created)})
	}
	page, next, err := pageOf(items, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &sw.ListStateMachineAliasesOutput{StateMachineAliases: page, NextToken: next}, nil
}

// pickVersion chooses a version of an alias's routing by weight.
func pickVersion(rcs []sw.RoutingConfigurationListItem) string {
	n := rand.IntN(100)
	for _, rc := range rcs {
		w := 0
		if rc.Weight != nil {
			w = int(*rc.Weight)
		}
		if n < w {
			return rc.StateMachineVersionArn
		}
		n -= w
	}
	return rcs[len(rcs)-1].StateMachineVersionArn
}

// scanPrefix calls fn for each resource of kind whose name starts with prefix, in name order.
func (s *Service) scanPrefix(ctx context.Context, scope string, kind store.Kind, prefix string, fn func(*store.Resource) error) error {
	after, afterRev := prefix, -1
	for {
		rs, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{Account: scope, Kind: kind, AfterName: after, AfterRevision: afterRev, Limit: 500})
		if err != nil {
			return fmt.Errorf("list %s: %w", kind, err)
		}
		for _, r := range rs {
			if !strings.HasPrefix(r.Name, prefix) {
				return nil
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(rs) < 500 {
			return nil
		}
		last := rs[len(rs)-1]
		after, afterRev = last.Name, last.Revision
	}
}
