package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/barge-run/barge/internal/account"
	lw "github.com/barge-run/barge/internal/awstypes/lambda"
	"github.com/barge-run/barge/internal/store"
)

// KindPolicy is a function's resource-based policy (AddPermission), named function[:qualifier].
const KindPolicy store.Kind = "function-policy"

// policy is a resource-based policy document as GetPolicy returns it.
type policy struct {
	Version   string      `json:"Version"`
	ID        string      `json:"Id"`
	Statement []statement `json:"Statement"`
	Revision  string      `json:"-"`
}

type statement struct {
	Sid       string                       `json:"Sid"`
	Effect    string                       `json:"Effect"`
	Principal map[string]string            `json:"Principal"`
	Action    string                       `json:"Action"`
	Resource  string                       `json:"Resource"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

var (
	statementIDRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,100}$`)
	actionRE      = regexp.MustCompile(`^(lambda:[*]|lambda:[a-zA-Z]+|[*])$`)
	accountIDRE   = regexp.MustCompile(`^[0-9]{12}$`)
	servicePrinRE = regexp.MustCompile(`^[a-z0-9.-]+\.amazonaws\.com$`)
)

// principalOf is a statement's Principal for AddPermission's: an account (its id or root ARN),
// an IAM ARN, "*", or a service.
func principalOf(p string) (map[string]string, bool) {
	switch {
	case p == "*":
		return map[string]string{"AWS": "*"}, true
	case accountIDRE.MatchString(p):
		return map[string]string{"AWS": "arn:aws:iam::" + p + ":root"}, true
	case strings.HasPrefix(p, "arn:aws:iam::"):
		return map[string]string{"AWS": p}, true
	case servicePrinRE.MatchString(p):
		return map[string]string{"Service": p}, true
	}
	return nil, false
}

func (s *Service) policyName(rec *record, qualifier string) string {
	if qualifier == "" || qualifier == "$LATEST" {
		return rec.Config.FunctionName
	}
	return rec.Config.FunctionName + ":" + qualifier
}

// loadPolicy reads a resource-based policy (a function's, KindPolicy, or a layer version's,
// KindLayerPolicy); an empty one when it has none.
func (s *Service) loadPolicy(ctx context.Context, kind store.Kind, account, name string) (*policy, error) {
	r, err := s.cfg.Store.ResourceGet(ctx, account, kind, name, 0)
	if errors.Is(err, store.ErrNotFound) {
		return &policy{Version: "2012-10-17", ID: "default"}, nil
	}
	if err != nil {
		return nil, serviceErr("reading the policy failed", err)
	}
	p := &policy{}
	if err := json.Unmarshal(r.Body, p); err != nil {
		return nil, serviceErr("reading the policy failed", err)
	}
	p.Revision = r.Status
	return p, nil
}

// checkRevision refuses a change made against another revision than the policy's latest.
func (p *policy) checkRevision(id string) error {
	if id != "" && id != p.Revision {
		return userErr(http.StatusPreconditionFailed, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id")
	}
	return nil
}

// savePolicy stores p under a new revision; a policy loaded from the store has one already, a
// new one none.
func (s *Service) savePolicy(ctx context.Context, kind store.Kind, account, name string, p *policy) error {
	exists := p.Revision != ""
	p.Revision = uuid.NewString()
	body, _ := json.Marshal(p)
	r := &store.Resource{Account: account, Kind: kind, Name: name, Status: p.Revision, Body: body, CreatedAt: time.Now()}
	var err error
	if exists {
		err = s.cfg.Store.ResourceUpdate(ctx, r)
	} else {
		err = s.cfg.Store.ResourceCreate(ctx, r)
	}
	if err != nil {
		return serviceErr("storing the policy failed", err)
	}
	return nil
}

// AddPermission implements the Lambda operation: a statement of the function's resource-based
// policy, which lets another account (or a service) invoke it.
func (s *Service) AddPermission(ctx context.Context, account string, in *lw.AddPermissionRequest) (*lw.AddPermissionResponse, error) {
	rec, err := s.get(ctx, account, in.FunctionName, in.Qualifier)
	if err != nil {
		return nil, err
	}
	switch {
	case !statementIDRE.MatchString(in.StatementId):
		return nil, invalid("StatementId: %q must be 1 to 100 letters, digits, '-' or '_'", in.StatementId)
	case !actionRE.MatchString(in.Action):
		return nil, invalid("Action: %q must be lambda:<operation>, lambda:* or *", in.Action)
	}
	principal, ok := principalOf(in.Principal)
	if !ok {
		return nil, invalid("Principal: %q must be an account id, an IAM ARN, * or a service (…amazonaws.com)", in.Principal)
	}
	name := s.policyName(rec, in.Qualifier)
	resource := rec.Config.FunctionArn
	if name != rec.Config.FunctionName {
		resource = s.arn(account, name)
	}
	st := statement{Sid: in.StatementId, Effect: "Allow", Principal: principal, Action: in.Action, Resource: resource}
	cond := map[string]map[string]string{}
	if in.SourceArn != "" {
		cond["ArnLike"] = map[string]string{"AWS:SourceArn": in.SourceArn}
	}
	if in.SourceAccount != "" {
		cond["StringEquals"] = map[string]string{"AWS:SourceAccount": in.SourceAccount}
	}
	if in.FunctionUrlAuthType != "" {
		cond["StringEquals"] = map[string]string{"lambda:FunctionUrlAuthType": string(in.FunctionUrlAuthType)}
	}
	if len(cond) > 0 {
		st.Condition = cond
	}
	if _, err := s.addStatement(ctx, KindPolicy, account, name, in.RevisionId, st); err != nil {
		return nil, err
	}
	b, _ := json.Marshal(st)
	return &lw.AddPermissionResponse{Statement: string(b)}, nil
}

// addStatement adds st to a resource-based policy (a function's or a layer version's), made
// against revision (or any, when ""), and returns the policy as saved.
func (s *Service) addStatement(ctx context.Context, kind store.Kind, account, name, revision string, st statement) (*policy, error) {
	p, err := s.loadPolicy(ctx, kind, account, name)
	if err != nil {
		return nil, err
	}
	if err := p.checkRevision(revision); err != nil {
		return nil, err
	}
	if slices.ContainsFunc(p.Statement, func(have statement) bool { return have.Sid == st.Sid }) {
		return nil, userErr(http.StatusConflict, "ResourceConflictException", "The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", st.Sid)
	}
	p.Statement = append(p.Statement, st)
	if err := s.savePolicy(ctx, kind, account, name, p); err != nil {
		return nil, err
	}
	return p, nil
}

// GetPolicy implements the Lambda operation.
func (s *Service) GetPolicy(ctx context.Context, account string, in *lw.GetPolicyRequest) (*lw.GetPolicyResponse, error) {
	rec, err := s.get(ctx, account, in.FunctionName, in.Qualifier)
	if err != nil {
		return nil, err
	}
	p, err := s.loadPolicy(ctx, KindPolicy, account, s.policyName(rec, in.Qualifier))
	if err != nil {
		return nil, err
	}
	if len(p.Statement) == 0 {
		return nil, userErr(http.StatusNotFound, "ResourceNotFoundException", "The resource you requested does not exist.")
	}
	b, _ := json.Marshal(p)
	return &lw.GetPolicyResponse{Policy: string(b), RevisionId: p.Revision}, nil
}

// RemovePermission implements the Lambda operation.
func (s *Service) RemovePermission(ctx context.Context, account string, in *lw.RemovePermissionRequest) (*Empty, error) {
	rec, err := s.get(ctx, account, in.FunctionName, in.Qualifier)
	if err != nil {
		return nil, err
	}
	if err := s.removeStatement(ctx, KindPolicy, account, s.policyName(rec, in.Qualifier), in.StatementId, in.RevisionId); err != nil {
		return nil, err
	}
	return &Empty{}, nil
}

// removeStatement deletes statement sid from a resource-based policy (a function's or a layer
// version's), made against revision (or any, when "").
func (s *Service) removeStatement(ctx context.Context, kind store.Kind, account, name, sid, revision string) error {
	p, err := s.loadPolicy(ctx, kind, account, name)
	if err != nil {
		return err
	}
	if err := p.checkRevision(revision); err != nil {
		return err
	}
	i := slices.IndexFunc(p.Statement, func(st statement) bool { return st.Sid == sid })
	if i < 0 {
		return userErr(http.StatusNotFound, "ResourceNotFoundException", "Statement %s is not found in resource policy.", sid)
	}
	p.Statement = slices.Delete(p.Statement, i, i+1)
	return s.savePolicy(ctx, kind, account, name, p)
}

// allows reports whether a function's policy lets caller (an account id) take action on it.
func (p *policy) allows(caller, action string) bool {
	for _, st := range p.Statement {
		if st.Effect != "Allow" || !(st.Action == "*" || st.Action == "lambda:*" || st.Action == action) {
			continue
		}
		if _, org := st.Condition["StringEquals"]["aws:PrincipalOrgID"]; org {
			continue // barge has no organizations: nobody is in one
		}
		if aws := st.Principal["AWS"]; aws == "*" || aws == caller || aws == "arn:aws:iam::"+caller+":root" ||
			strings.HasPrefix(aws, "arn:aws:iam::"+caller+":") {
			return true
		}
	}
	return false
}

// invokeScope is the scope an Invoke acts in: the caller's own, or — for a function ARN of
// another account in the same region — the owner's, when the function's resource-based policy
// (of the qualifier, or of the function) allows the caller lambda:InvokeFunction.
func (s *Service) invokeScope(ctx context.Context, caller, ref, qualifier string) (string, error) {
	parts := strings.Split(ref, ":")
	if len(parts) < 7 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "function" {
		return caller, nil
	}
	callerID, region := s.scope(caller)
	ownerID := parts[4]
	if ownerID == callerID || parts[3] != region {
		return caller, nil // the caller's own function, or another region's, which functionName refuses
	}
	owner := account.Scope(ownerID, region, s.cfg.Region)
	rec, err := s.getShared(ctx, owner, ref, qualifier)
	if err != nil {
		return "", err
	}
	q := qualifier
	if len(parts) > 7 {
		q = parts[7]
	}
	for _, name := range []string{s.policyName(rec, q), rec.Config.FunctionName} {
		p, err := s.loadPolicy(ctx, KindPolicy, owner, name)
		if err != nil {
			return "", err
		}
		if p.allows(callerID, "lambda:InvokeFunction") {
			return owner, nil
		}
	}
	return "", userErr(http.StatusForbidden, "AccessDeniedException",
		"User: arn:aws:iam::%s:root is not authorized to perform: lambda:InvokeFunction on resource: %s because no resource-based policy allows the lambda:InvokeFunction action",
		callerID, ref)
}

// deletePolicies removes a function's policies, its qualifiers' too.
func (s *Service) deletePolicies(ctx context.Context, account, name string) {
	rs, _ := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{Account: account, Kind: KindPolicy})
	for _, r := range rs {
		if r.Name == name || strings.HasPrefix(r.Name, name+":") {
			s.cfg.Store.ResourceDelete(ctx, account, KindPolicy, r.Name, 0)
		}
	}
}
