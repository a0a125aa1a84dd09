package lambda

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"

	lw "github.com/barge-run/barge/internal/awstypes/lambda"
)

// layerPrincipalRE is who a layer version can be shared with: an account, or everyone.
var (
	layerPrincipalRE = regexp.MustCompile(`^([0-9]{12}|\*|arn:aws[a-zA-Z-]*:iam::[0-9]{12}:root)$`)
	orgIDRE          = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
)

// ownLayerVersion reads one of the caller's own layer versions, for the operations that change
// or show its policy.
func (s *Service) ownLayerVersion(ctx context.Context, account, layerName string, version *int64) (layerRef, *layerRecord, error) {
	ref, err := s.parseLayer(account, layerName, "LayerName", false)
	if err != nil {
		return ref, nil, err
	}
	if ref.owner != account {
		return ref, nil, userErr(http.StatusForbidden, "AccessDeniedException", "LayerName: %s belongs to another account", layerName)
	}
	ref.version = deref(version, 0)
	rec, err := s.layerVersion(ctx, account, ref)
	return ref, rec, err
}

// AddLayerVersionPermission implements the Lambda operation: a statement that lets another
// account (or every account) use the layer version.
func (s *Service) AddLayerVersionPermission(ctx context.Context, account string, in *lw.AddLayerVersionPermissionRequest) (*lw.AddLayerVersionPermissionResponse, error) {
	switch {
	case !statementIDRE.MatchString(in.StatementId):
		return nil, invalid("StatementId: %q must be 1 to 100 letters, digits, '-' or '_'", in.StatementId)
	case in.Action != "lambda:GetLayerVersion":
		return nil, invalid("Action: %q must be lambda:GetLayerVersion", in.Action)
	case !layerPrincipalRE.MatchString(in.Principal):
		return nil, invalid("Principal: %q must be an account id or *", in.Principal)
	case in.OrganizationId != "" && in.Principal != "*":
		return nil, invalid("OrganizationId: only with Principal *")
	case in.OrganizationId != "" && !orgIDRE.MatchString(in.OrganizationId):
		return nil, invalid("OrganizationId: %q is not an organization id (o-…)", in.OrganizationId)
	}
	ref, rec, err := s.ownLayerVersion(ctx, account, in.LayerName, in.VersionNumber)
	if err != nil {
		return nil, err
	}
	principal, _ := principalOf(in.Principal)
	st := statement{Sid: in.StatementId, Effect: "Allow", Principal: principal, Action: in.Action, Resource: rec.Info.LayerVersionArn}
	if in.OrganizationId != "" {
		// Recorded as Lambda writes it; barge has no organizations, so such a statement grants
		// nobody.
		st.Condition = map[string]map[string]string{"StringEquals": {"aws:PrincipalOrgID": in.OrganizationId}}
	}
	p, err := s.addStatement(ctx, KindLayerPolicy, account, layerPolicyName(ref.name, ref.version), in.RevisionId, st)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(st)
	return &lw.AddLayerVersionPermissionResponse{Statement: string(b), RevisionId: p.Revision}, nil
}

// GetLayerVersionPolicy implements the Lambda operation.
func (s *Service) GetLayerVersionPolicy(ctx context.Context, account string, in *lw.GetLayerVersionPolicyRequest) (*lw.GetLayerVersionPolicyResponse, error) {
	ref, _, err := s.ownLayerVersion(ctx, account, in.LayerName, in.VersionNumber)
	if err != nil {
		return nil, err
	}
	p, err := s.loadPolicy(ctx, KindLayerPolicy, account, layerPolicyName(ref.name, ref.version))
	if err != nil {
		return nil, err
	}
	if len(p.Statement) == 0 {
		return nil, layerNotFound()
	}
	b, _ := json.Marshal(p)
	return &lw.GetLayerVersionPolicyResponse{Policy: string(b), RevisionId: p.Revision}, nil
}

// RemoveLayerVersionPermission implements the Lambda operation.
func (s *Service) RemoveLayerVersionPermission(ctx context.Context, account string, in *lw.RemoveLayerVersionPermissionRequest) (*Empty, error) {
	ref, _, err := s.ownLayerVersion(ctx, account, in.LayerName, in.VersionNumber)
	if err != nil {
		return nil, err
	}
	if err := s.removeStatement(ctx, KindLayerPolicy, account, layerPolicyName(ref.name, ref.version), in.StatementId, in.RevisionId); err != nil {
		return nil, err
	}
	return &Empty{}, nil
}
