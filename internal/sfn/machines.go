package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/barge-run/barge/internal/awstypes"
	sw "github.com/barge-run/barge/internal/awstypes/sfn"
	"github.com/barge-run/barge/internal/sfn/asl"
	"github.com/barge-run/barge/internal/store"
)

// machineRecord is a state machine as stored.
type machineRecord struct {
	Name        string                   `json:"name"`
	ARN         string                   `json:"arn"`
	Definition  string                   `json:"definition"`
	RoleArn     string                   `json:"roleArn"`
	Type        sw.StateMachineType      `json:"type"`
	Created     time.Time                `json:"created"`
	Updated     time.Time                `json:"updated,omitzero"`
	RevisionID  string                   `json:"revisionId"`
	Logging     *sw.LoggingConfiguration `json:"logging,omitempty"`
	Tracing     *sw.TracingConfiguration `json:"tracing,omitempty"`
	Tags        map[string]string        `json:"tags,omitempty"`
	LastVersion int                      `json:"lastVersion,omitempty"`
}

// parseDefinition parses a definition, answering InvalidDefinition with every diagnostic.
func parseDefinition(def string) (*asl.Definition, error) {
	d, err := asl.Parse(def)
	var de *asl.DefinitionError
	if errors.As(err, &de) {
		return nil, apiErr("InvalidDefinition", "%s", de.Error())
	}
	if err != nil {
		return nil, apiErr("InvalidDefinition", "Invalid State Machine Definition: '%v'", err)
	}
	if bad := unservedResources(&d.Machine); len(bad) > 0 {
		msgs := make([]string, len(bad))
		for i, b := range bad {
			msgs[i] = fmt.Sprintf("%s: %s at %s", b.Code, b.Message, b.Location)
		}
		return nil, apiErr("InvalidDefinition", "Invalid State Machine Definition: '%s'", strings.Join(msgs, ", "))
	}
	return d, nil
}

// unservedResources lists, as AWS words a schema problem, the Task and ItemReader resources of m
// (and of its branches and item processors) that barge does not serve: refused when the state
// machine is created rather than failing its executions.
func unservedResources(m *asl.Machine) []asl.Diagnostic {
	var out []asl.Diagnostic
	for _, name := range m.Order {
		st := m.States[name]
		if st == nil {
			continue
		}
		for _, ref := range []struct{ arn, field string }{{st.Resource, "Resource"}, {itemReaderResource(st), "ItemReader/Resource"}} {
			if ref.arn == "" {
				continue
			}
			if res, err := asl.ParseResource(ref.arn); err == nil && !served(res) {
				out = append(out, asl.Diagnostic{Code: "SCHEMA_VALIDATION_FAILED",
					Message: fmt.Sprintf("The resource %s is not supported by barge", ref.arn), Location: "/States/" + name + "/" + ref.field})
			}
		}
		for _, b := range st.Branches {
			out = append(out, unservedResources(b)...)
		}
		if st.Processor != nil {
			out = append(out, unservedResources(st.Processor)...)
		}
	}
	return out
}

func itemReaderResource(st *asl.State) string {
	if st.ItemReader == nil {
		return ""
	}
	return st.ItemReader.Resource
}

func checkRole(role string) error {
	if role == "" {
		return missing("roleArn")
	}
	if !strings.HasPrefix(role, "arn:") || len(strings.Split(role, ":")) < 6 {
		return invalidArn(role)
	}
	return nil
}

func tagMap(tags []sw.Tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

// CreateStateMachine creates a state machine; repeated with the same name, definition, role
// and configuration it answers the first call's ARN, as AWS does.
func (s *Service) CreateStateMachine(ctx context.Context, scope string, in *sw.CreateStateMachineInput) (*sw.CreateStateMachineOutput, error) {
	if err := checkName(in.Name); err != nil {
		return nil, err
	}
	if in.Definition == "" {
		return nil, missing("definition")
	}
	if err := checkRole(in.RoleArn); err != nil {
		return nil, err
	}
	typ := in.Type
	switch typ {
	case "":
		typ = sw.StateMachineTypeStandard
	case sw.StateMachineTypeStandard, sw.StateMachineTypeExpress:
	default:
		return nil, validation("1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]", typ)
	}
	if _, err := parseDefinition(in.Definition); err != nil {
		return nil, err
	}
	t := now()
	rec := &machineRecord{Name: in.Name, ARN: s.arnOf(scope, "stateMachine:"+in.Name), Definition: in.Definition,
		RoleArn: in.RoleArn, Type: typ, Created: t, RevisionID: uuid.NewString(), Logging: in.LoggingConfiguration,
		Tracing: in.TracingConfiguration, Tags: tagMap(in.Tags)}
	body, _ := json.Marshal(rec)
	res := &store.Resource{Account: scope, Kind: kindMachine, Name: in.Name, ARN: rec.ARN, Status: "ACTIVE", Body: body, CreatedAt: t}
	err := s.cfg.Store.ResourceCreate(ctx, res)
	if errors.Is(err, store.ErrConflict) {
		old, _, gerr := s.getMachine(ctx, scope, in.Name)
		if gerr != nil {
			return nil, gerr
		}
		if old.Definition != rec.Definition || old.RoleArn != rec.RoleArn || old.Type != rec.Type ||
			!reflect.DeepEqual(old.Logging, rec.Logging) {
			return nil, apiErr("StateMachineAlreadyExists", "State Machine Already Exists: '%s'", rec.ARN)
		}
		return &sw.CreateStateMachineOutput{StateMachineArn: old.ARN, CreationDate: awstypes.NewTimestamp(old.Created)}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("create state machine %s: %w", in.Name, err)
	}
	out := &sw.CreateStateMachineOutput{StateMachineArn: rec.ARN, CreationDate: awstypes.NewTimestamp(t)}
	if in.Publish != nil && *in.Publish {
		v, err := s.publish(ctx, scope, in.Name, "", in.VersionDescription)
		if err != nil {
			return nil, err
		}
		out.StateMachineVersionArn = v.ARN
	}
	return out, nil
}

// getMachine reads a state machine by name.
func (s *Service) getMachine(ctx context.Context, scope, name string) (*machineRecord, *store.Resource, error) {
	r, err := s.cfg.Store.ResourceGet(ctx, scope, kindMachine, name, 0)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, machineDoesNotExist(s.arnOf(scope, "stateMachine:"+name))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read state machine %s: %w", name, err)
	}
	var rec machineRecord
	if err := json.Unmarshal(r.Body, &rec); err != nil {
		return nil, nil, fmt.Errorf("decode state machine %s: %w", name, err)
	}
	return &rec, r, nil
}

// putMachine writes a state machine read with getMachine, if nobody wrote it meanwhile.
func (s *Service) putMachine(ctx context.Context, rec *machineRecord, res *store.Resource) error {
	res.Body, _ = json.Marshal(rec)
	if err := s.cfg.Store.ResourceUpdate(ctx, res); err != nil {
		if errors.Is(err, store.ErrStale) {
			return conflict("The state machine %s changed while this request ran; try again", rec.ARN)
		}
		return fmt.Errorf("write state machine %s: %w", rec.Name, err)
	}
	return nil
}

// machineTarget is what a state machine ARN names: the machine, one of its versions, or an
// alias.
type machineTarget struct {
	name    string
	version int    // > 0: a version
	alias   string // an alias
}

func (s *Service) parseMachineARN(scope, arn string) (machineTarget, error) {
	if arn == "" {
		return machineTarget{}, missing("stateMachineArn")
	}
	p, err := s.parseARN(scope, arn, "stateMachine", machineDoesNotExist)
	if err != nil {
		return machineTarget{}, err
	}
	t := machineTarget{name: p.parts[0]}
	switch len(p.parts) {
	case 1:
	case 2:
		if n, ok := versionNumber(p.parts[1]); ok {
			t.version = n
		} else {
			t.alias = p.parts[1]
		}
	default:
		return machineTarget{}, invalidArn(arn)
	}
	return t, nil
}

// DescribeStateMachine describes a state machine, one of its versions or (as its version
// would) an alias's.
func (s *Service) DescribeStateMachine(ctx context.Context, scope string, in *sw.DescribeStateMachineInput) (*sw.DescribeStateMachineOutput, error) {
	t, err := s.parseMachineARN(scope, in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	if t.alias != "" {
		return nil, invalidArn(in.StateMachineArn)
	}
	if t.version > 0 {
		v, err := s.getVersion(ctx, scope, t.name, t.version)
		if err != nil {
			return nil, err
		}
		return &sw.DescribeStateMachineOutput{StateMachineArn: v.ARN, Name: t.name, Status: sw.StateMachineStatusActive,
			Definition: v.Definition, RoleArn: v.RoleArn, Type: v.Type, CreationDate: awstypes.NewTimestamp(v.Created),
			RevisionId: v.RevisionID, Description: v.Description, LoggingConfiguration: loggingOf(v.Logging),
			TracingConfiguration: v.Tracing}, nil
	}
	rec, _, err := s.getMachine(ctx, scope, t.name)
	if err != nil {
		return nil, err
	}
	return describeMachine(rec), nil
}

func describeMachine(rec *machineRecord) *sw.DescribeStateMachineOutput {
	return &sw.DescribeStateMachineOutput{StateMachineArn: rec.ARN, Name: rec.Name, Status: sw.StateMachineStatusActive,
		Definition: rec.Definition, RoleArn: rec.RoleArn, Type: rec.Type, CreationDate: awstypes.NewTimestamp(rec.Created),
		RevisionId: rec.RevisionID, LoggingConfiguration: loggingOf(rec.Logging), TracingConfiguration: rec.Tracing}
}

// loggingOf is the logging configuration AWS reports: OFF unless one was given.
func loggingOf(l *sw.LoggingConfiguration) *sw.LoggingConfiguration {
	if l != nil {
		return l
	}
	f := false
	return &sw.LoggingConfiguration{Level: sw.LogLevelOff, IncludeExecutionData: &f}
}

// UpdateStateMachine changes a machine's definition, role or configuration; running
// executions keep the definition they started with.
func (s *Service) UpdateStateMachine(ctx context.Context, scope string, in *sw.UpdateStateMachineInput) (*sw.UpdateStateMachineOutput, error) {
	t, err := s.parseMachineARN(scope, in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	if t.version > 0 || t.alias != "" {
		return nil, validation("Updating a state machine version or alias is not allowed: '%s'", in.StateMachineArn)
	}
	if in.Definition == "" && in.RoleArn == "" && in.LoggingConfiguration == nil && in.TracingConfiguration == nil &&
		in.EncryptionConfiguration == nil {
		return nil, apiErr("MissingRequiredParameter", "Either the definition, the role ARN, the LoggingConfiguration, the EncryptionConfiguration or the TracingConfiguration must be specified")
	}
	if in.Definition != "" {
		if _, err := parseDefinition(in.Definition); err != nil {
			return nil, err
		}
	}
	if in.RoleArn != "" {
		if err := checkRole(in.RoleArn); err != nil {
			return nil, err
		}
	}
	rec, res, err := s.getMachine(ctx, scope, t.name)
	if err != nil {
		return nil, err
	}
	changed := (in.Definition != "" && in.Definition != rec.Definition) || (in.RoleArn != "" && in.RoleArn != rec.RoleArn)
	if in.Definition != "" {
		rec.Definition = in.Definition
	}
	if in.RoleArn != "" {
		rec.RoleArn = in.RoleArn
	}
	if in.LoggingConfiguration != nil {
		rec.Logging = in.LoggingConfiguration
	}
	if in.TracingConfiguration != nil {
		rec.Tracing = in.TracingConfiguration
	}
	if changed {
		rec.RevisionID = uuid.NewString()
	}
	rec.Updated = now()
	if err := s.putMachine(ctx, rec, res); err != nil {
		return nil, err
	}
	out := &sw.UpdateStateMachineOutput{UpdateDate: awstypes.NewTimestamp(rec.Updated), RevisionId: rec.RevisionID}
	if in.Publish != nil && *in.Publish {
		v, err := s.publish(ctx, scope, t.name, "", in.VersionDescription)
		if err != nil {
			return nil, err
		}
		out.StateMachineVersionArn = v.ARN
	} else if in.VersionDescription != "" {
		return nil, validation("versionDescription can only be set when publish is true")
	}
	return out, nil
}

// DeleteStateMachine deletes a machine with its versions and aliases (or, given a version's
// or alias's ARN, just that). Its executions run on with the definition they started with.
func (s *Service) DeleteStateMachine(ctx context.Context, scope string, in *sw.DeleteStateMachineInput) (*sw.DeleteStateMachineOutput, error) {
	t, err := s.parseMachineARN(scope, in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	switch {
	case t.version > 0:
		_, err = s.DeleteStateMachineVersion(ctx, scope, &sw.DeleteStateMachineVersionInput{StateMachineVersionArn: in.StateMachineArn})
		return &sw.DeleteStateMachineOutput{}, err
	case t.alias != "":
		_, err = s.DeleteStateMachineAlias(ctx, scope, &sw.DeleteStateMachineAliasInput{StateMachineAliasArn: in.StateMachineArn})
		return &sw.DeleteStateMachineOutput{}, err
	}
	err = s.cfg.Store.ResourceDelete(ctx, scope, kindMachine, t.name, 0)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("delete state machine %s: %w", t.name, err)
	}
	if err := s.cfg.Store.ResourceDelete(ctx, scope, kindVersion, t.name, 0); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("delete versions of %s: %w", t.name, err)
	}
	aliases, err := s.listAliases(ctx, scope, t.name)
	if err != nil {
		return nil, err
	}
	for _, a := range aliases {
		if err := s.cfg.Store.ResourceDelete(ctx, scope, kindAlias, t.name+":"+a.Name, 0); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("delete alias %s: %w", a.Name, err)
		}
	}
	return &sw.DeleteStateMachineOutput{}, nil
}

// ListStateMachines lists the scope's machines by name, in pages.
func (s *Service) ListStateMachines(ctx context.Context, scope string, in *sw.ListStateMachinesInput) (*sw.ListStateMachinesOutput, error) {
	limit, err := pageSize(in.MaxResults)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	rs, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{Account: scope, Kind: kindMachine, AfterName: after, Limit: limit + 1})
	if err != nil {
		return nil, fmt.Errorf("list state machines: %w", err)
	}
	out := &sw.ListStateMachinesOutput{StateMachines: []sw.StateMachineListItem{}}
	for i, r := range rs {
		if i == limit {
			out.NextToken = encodeToken(rs[i-1].Name)
			break
		}
		var rec machineRecord
		if err := json.Unmarshal(r.Body, &rec); err != nil {
			return nil, fmt.Errorf("decode state machine %s: %w", r.Name, err)
		}
		out.StateMachines = append(out.StateMachines, sw.StateMachineListItem{StateMachineArn: rec.ARN, Name: rec.Name,
			Type: rec.Type, CreationDate: awstypes.NewTimestamp(rec.Created)})
	}
	return out, nil
}

// ValidateStateMachineDefinition reports a definition's problems as diagnostics.
func (s *Service) ValidateStateMachineDefinition(ctx context.Context, scope string, in *sw.ValidateStateMachineDefinitionInput) (*sw.ValidateStateMachineDefinitionOutput, error) {
	if in.Definition == "" {
		return nil, missing("definition")
	}
	diags := asl.Validate(in.Definition)
	if len(diags) == 0 {
		if d, err := asl.Parse(in.Definition); err == nil {
			diags = unservedResources(&d.Machine)
		}
	}
	out := &sw.ValidateStateMachineDefinitionOutput{Result: sw.ValidateStateMachineDefinitionResultCodeOk,
		Diagnostics: []sw.ValidateStateMachineDefinitionDiagnostic{}}
	f := false
	out.Truncated = &f
	max := 100
	if in.MaxResults != nil && *in.MaxResults > 0 {
		max = int(*in.MaxResults)
	}
	for i, d := range diags {
		if i == max {
			t := true
			out.Truncated = &t
			break
		}
		out.Diagnostics = append(out.Diagnostics, sw.ValidateStateMachineDefinitionDiagnostic{
			Severity: sw.ValidateStateMachineDefinitionSeverityError, Code: d.Code, Message: d.Message, Location: d.Location})
	}
	if len(diags) > 0 {
		out.Result = sw.ValidateStateMachineDefinitionResultCodeFail
	}
	return out, nil
}
