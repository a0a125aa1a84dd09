package api

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/barge-run/barge/internal/awserr"
	lw "github.com/barge-run/barge/internal/awstypes/logs"
	"github.com/barge-run/barge/internal/logs"
)

// CloudWatch Logs' limits on resource policies.
const (
	// maxAccountPolicies is how many account-scoped resource policies an account may have in a
	// region; a log group has at most one resource-scoped policy.
	maxAccountPolicies = 10
	// maxPolicyDocument is the longest policyDocument, in characters.
	maxPolicyDocument = 51200
)

// errPolicyNotFound answers a call on a resource policy that does not exist.
var errPolicyNotFound = awserr.New(http.StatusBadRequest, "ResourceNotFoundException", "The specified resource policy does not exist.")

// errRevision answers a change of a resource-scoped policy whose expectedRevisionId is not the
// policy's revision (or that names a revision of a policy that does not exist).
func errRevision(name string) error {
	return awserr.New(http.StatusBadRequest, "OperationAbortedException",
		"expectedRevisionId: resource policy %q has another revision (it changed meanwhile, or does not exist yet)", name)
}

// putResourcePolicy stores an account's resource policy, or one attached to a log group. barge
// keeps and returns policies but does not enforce them: it has one principal per account.
func (s *Server) putResourcePolicy(_ context.Context, account string, in *lw.PutResourcePolicyRequest) (*lw.PutResourcePolicyResponse, error) {
	if in.PolicyName == "" {
		return nil, invalidParam("policyName is required")
	}
	if err := checkPolicyDocument(in.PolicyDocument); err != nil {
		return nil, err
	}
	group := ""
	if in.ResourceArn != "" {
		var err error
		if group, err = s.logGroupOfARN(account, in.ResourceArn); err != nil {
			return nil, err
		}
	}
	now := time.Now().UnixMilli()
	var put logs.ResourcePolicy
	err := s.cfg.Logs.UpdateResourcePolicies(account, func(ps []logs.ResourcePolicy) ([]logs.ResourcePolicy, error) {
		if group != "" {
			return putGroupPolicy(ps, group, in, now, &put)
		}
		i := slices.IndexFunc(ps, func(p logs.ResourcePolicy) bool { return p.Group == "" && p.Name == in.PolicyName })
		if i < 0 && countAccountPolicies(ps) >= maxAccountPolicies {
			return nil, awserr.New(http.StatusBadRequest, "LimitExceededException",
				"Resource limit exceeded: an account has at most %d resource policies in a region.", maxAccountPolicies)
		}
		put = logs.ResourcePolicy{Name: in.PolicyName, Document: in.PolicyDocument, LastUpdated: now}
		if i < 0 {
			return append(ps, put), nil
		}
		ps[i] = put
		return ps, nil
	})
	if err != nil {
		return nil, logsError(err)
	}
	rp := s.wirePolicy(account, put)
	return &lw.PutResourcePolicyResponse{ResourcePolicy: &rp, RevisionId: put.Revision}, nil
}

// putGroupPolicy creates or (at the expected revision) replaces a log group's one policy.
func putGroupPolicy(ps []logs.ResourcePolicy, group string, in *lw.PutResourcePolicyRequest, now int64, put *logs.ResourcePolicy) ([]logs.ResourcePolicy, error) {
	i := slices.IndexFunc(ps, func(p logs.ResourcePolicy) bool { return p.Group == group })
	*put = logs.ResourcePolicy{Name: in.PolicyName, Document: in.PolicyDocument, LastUpdated: now, Group: group, Revision: logs.NewRevision()}
	if i < 0 {
		if in.ExpectedRevisionId != "" {
			return nil, errRevision(in.PolicyName)
		}
		return append(ps, *put), nil
	}
	switch {
	case ps[i].Name != in.PolicyName:
		return nil, awserr.New(http.StatusBadRequest, "LimitExceededException",
			"Resource limit exceeded: log group %q already has the resource policy %q (one per log group).", group, ps[i].Name)
	case in.ExpectedRevisionId == "":
		return nil, invalidParam("expectedRevisionId is required to change the resource policy of log group %q", group)
	case in.ExpectedRevisionId != ps[i].Revision:
		return nil, errRevision(in.PolicyName)
	}
	put.GroupCreated = ps[i].GroupCreated
	ps[i] = *put
	return ps, nil
}

// describeResourcePolicies lists the account-scoped policies (policyScope ACCOUNT, the default),
// the resource-scoped ones (RESOURCE), or the one of the log group resourceArn names.
func (s *Server) describeResourcePolicies(_ context.Context, account string, in *lw.DescribeResourcePoliciesRequest) (*lw.DescribeResourcePoliciesResponse, error) {
	limit := 50
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 50 {
			return nil, invalidParam("limit must be between 1 and 50")
		}
		limit = int(*in.Limit)
	}
	scope := cmp.Or(in.PolicyScope, lw.PolicyScopeAccount)
	if !slices.Contains(scope.Values(), scope) {
		return nil, invalidParam("policyScope must be ACCOUNT or RESOURCE, not %q", in.PolicyScope)
	}
	group := ""
	if in.ResourceArn != "" {
		var err error
		if group, err = s.logGroupOfARN(account, in.ResourceArn); err != nil {
			return nil, err
		}
		scope = lw.PolicyScopeResource
	}
	after := ""
	if in.NextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		if err != nil {
			return nil, invalidParam("The specified nextToken is invalid.")
		}
		after = string(b)
	}
	ps, err := s.cfg.Logs.ResourcePolicies(account)
	if err != nil {
		return nil, err
	}
	ps = slices.DeleteFunc(ps, func(p logs.ResourcePolicy) bool {
		return (p.Group != "") != (scope == lw.PolicyScopeResource) || group != "" && p.Group != group || policyKey(p) <= after && after != ""
	})
	slices.SortFunc(ps, func(a, b logs.ResourcePolicy) int { return strings.Compare(policyKey(a), policyKey(b)) })
	out := &lw.DescribeResourcePoliciesResponse{ResourcePolicies: []lw.ResourcePolicy{}}
	for i, p := range ps {
		if i == limit {
			out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(policyKey(ps[i-1])))
			break
		}
		out.ResourcePolicies = append(out.ResourcePolicies, s.wirePolicy(account, p))
	}
	return out, nil
}

// deleteResourcePolicy removes an account-scoped policy by name, or a log group's policy (at the
// expected revision).
func (s *Server) deleteResourcePolicy(_ context.Context, account string, in *lw.DeleteResourcePolicyRequest) (*logsEmpty, error) {
	group := ""
	if in.ResourceArn != "" {
		var err error
		if group, err = s.logGroupOfARN(account, in.ResourceArn); err != nil {
			return nil, err
		}
	} else if in.PolicyName == "" {
		return nil, invalidParam("policyName is required")
	}
	err := s.cfg.Logs.UpdateResourcePolicies(account, func(ps []logs.ResourcePolicy) ([]logs.ResourcePolicy, error) {
		i := slices.IndexFunc(ps, func(p logs.ResourcePolicy) bool {
			if group != "" {
				return p.Group == group && (in.PolicyName == "" || p.Name == in.PolicyName)
			}
			return p.Group == "" && p.Name == in.PolicyName
		})
		switch {
		case i < 0:
			return nil, errPolicyNotFound
		case group != "" && in.ExpectedRevisionId == "":
			return nil, invalidParam("expectedRevisionId is required to delete the resource policy of log group %q", group)
		case group != "" && in.ExpectedRevisionId != ps[i].Revision:
			return nil, errRevision(ps[i].Name)
		}
		return slices.Delete(ps, i, i+1), nil
	})
	if err != nil {
		return nil, logsError(err)
	}
	return &logsEmpty{}, nil
}

// checkPolicyDocument refuses a policyDocument that is empty, too long or not a JSON object.
func checkPolicyDocument(doc string) error {
	if doc == "" {
		return invalidParam("policyDocument is required")
	}
	if len(doc) > maxPolicyDocument {
		return invalidParam("policyDocument: at most %d characters, not %d", maxPolicyDocument, len(doc))
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(doc), &obj); err != nil {
		return invalidParam("policyDocument is not a JSON object: %v", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// countAccountPolicies counts the account-scoped policies among ps.
func countAccountPolicies(ps []logs.ResourcePolicy) int {
	n := 0
	for _, p := range ps {
		if p.Group == "" {
			n++
		}
	}
	return n
}

// policyKey orders policies for DescribeResourcePolicies' pages: account-scoped ones by name,
// resource-scoped ones by log group.
func policyKey(p logs.ResourcePolicy) string { return cmp.Or(p.Group, p.Name) }

// wirePolicy is a stored policy as CloudWatch Logs answers it.
func (s *Server) wirePolicy(account string, p logs.ResourcePolicy) lw.ResourcePolicy {
	rp := lw.ResourcePolicy{PolicyName: p.Name, PolicyDocument: p.Document, LastUpdatedTime: ptr(p.LastUpdated), PolicyScope: lw.PolicyScopeAccount}
	if p.Group != "" {
		rp.PolicyScope, rp.ResourceArn, rp.RevisionId = lw.PolicyScopeResource, s.logsARN(account)+":log-group:"+p.Group, p.Revision
	}
	return rp
}
