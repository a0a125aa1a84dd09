package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	lw "github.com/barge-run/barge/internal/awstypes/lambda"
	"github.com/barge-run/barge/internal/store"
)

// Store kinds of published versions (revisioned by version number) and aliases ("fn:alias").
const (
	KindVersion store.Kind = "function-version"
	KindAlias   store.Kind = "function-alias"
)

var aliasRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,128}$`)

func isVersion(q string) bool {
	n, err := strconv.Atoi(q)
	return err == nil && n > 0 && strconv.Itoa(n) == q
}

// resolveQualifier finds the record a version number or alias names.
func (s *Service) resolveQualifier(ctx context.Context, account string, latest *record, q string) (*record, error) {
	name := latest.Config.FunctionName
	if isVersion(q) {
		return s.version(ctx, account, name, q)
	}
	alias, err := s.alias(ctx, account, name, q)
	if err != nil {
		return nil, err
	}
	v := routeAlias(alias)
	if v == "$LATEST" {
		return latest, nil
	}
	return s.version(ctx, account, name, v)
}

func (s *Service) version(ctx context.Context, account, name, v string) (*record, error) {
	n, _ := strconv.Atoi(v)
	r, err := s.cfg.Store.ResourceGet(ctx, account, KindVersion, name, n)
	if err != nil {
		return nil, userErr(http.StatusNotFound, "ResourceNotFoundException", "Function not found: %s:%s", s.arn(account, name), v)
	}
	var rec record
	if err := json.Unmarshal(r.Body, &rec); err != nil {
		return nil, serviceErr("reading the version failed", err)
	}
	return &rec, nil
}

func (s *Service) alias(ctx context.Context, account, name, alias string) (*lw.AliasConfiguration, error) {
	r, err := s.cfg.Store.ResourceGet(ctx, account, KindAlias, name+":"+alias, 0)
	if err != nil {
		return nil, userErr(http.StatusNotFound, "ResourceNotFoundException", "Alias not found: %s:%s", s.arn(account, name), alias)
	}
	var a lw.AliasConfiguration
	if err := json.Unmarshal(r.Body, &a); err != nil {
		return nil, serviceErr("reading the alias failed", err)
	}
	return &a, nil
}

// latest reads the unqualified function, refusing a qualifier: what changes a function changes
// $LATEST only, as in Lambda.
func (s *Service) latest(ctx context.Context, account, ref string) (*record, error) {
	if _, q, err := s.functionName(account, ref); err != nil {
		return nil, err
	} else if q != "" && q != "$LATEST" {
		return nil, invalid("FunctionName: this operation applies to the unqualified function, not %q", q)
	}
	return s.get(ctx, account, ref, "")
}

// PublishVersion implements the Lambda operation: an immutable copy of $LATEST, numbered from
// 1. Publishing again without a change since returns the last version, as Lambda does.
func (s *Service) PublishVersion(ctx context.Context, account string, in *lw.PublishVersionRequest) (*lw.FunctionConfiguration, error) {
	rec, err := s.latest(ctx, account, in.FunctionName)
	if err != nil {
		return nil, err
	}
	if in.CodeSha256 != "" && in.CodeSha256 != rec.Config.CodeSha256 {
		return nil, userErr(http.StatusPreconditionFailed, "PreconditionFailedException", "CodeSha256 %s does not match the function's %s", in.CodeSha256, rec.Config.CodeSha256)
	}
	name := rec.Config.FunctionName
	versions, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{Account: account, Kind: KindVersion, Names: []string{name}})
	if err != nil {
		return nil, serviceErr("listing versions failed", err)
	}
	if n := len(versions); n > 0 {
		var last record
		if json.Unmarshal(versions[n-1].Body, &last) == nil && last.PublishedFrom == rec.Config.LastModified {
			return &last.Config, nil
		}
	}
	v := *rec
	v.PublishedFrom = rec.Config.LastModified
	if in.Description != "" {
		v.Config.Description = in.Description
	}
	r := &store.Resource{Account: account, Kind: KindVersion, Name: name, Status: "Active", CreatedAt: time.Now()}
	err = s.cfg.Store.ResourceCreateNextRevision(ctx, r, func(n int) (string, []byte) {
		v.Config.Version = strconv.Itoa(n)
		v.Config.FunctionArn = s.arn(account, name) + ":" + v.Config.Version
		body, _ := json.Marshal(v)
		return v.Config.FunctionArn, body
	})
	if err != nil {
		return nil, serviceErr("publishing failed", err)
	}
	return &v.Config, nil
}

// ListVersionsByFunction implements the Lambda operation: $LATEST, then the versions in order.
func (s *Service) ListVersionsByFunction(ctx context.Context, account string, in *lw.ListVersionsByFunctionRequest) (*lw.ListVersionsByFunctionResponse, error) {
	rec, err := s.latest(ctx, account, in.FunctionName)
	if err != nil {
		return nil, err
	}
	versions, err := s.publishedVersions(ctx, account, rec.Config.FunctionName)
	if err != nil {
		return nil, err
	}
	// Lambda lists $LATEST by its qualified ARN, which Terraform's provider takes as the
	// function's qualified_arn while no version is published.
	latest := rec.Config
	latest.FunctionArn += ":$LATEST"
	all := append([]lw.FunctionConfiguration{latest}, versions...)
	return &lw.ListVersionsByFunctionResponse{Versions: pageOf(all, in.Marker, in.MaxItems, 50), NextMarker: nextMarker(len(all), in.Marker, in.MaxItems, 50)}, nil
}

// pageOf and nextMarker page a short in-memory list; the marker is the next index.
func pageOf[T any](all []T, marker string, maxItems *int32, def int) []T {
	from, _ := strconv.Atoi(marker)
	limit := def
	if maxItems != nil && *maxItems > 0 {
		limit = int(*maxItems)
	}
	from = min(max(from, 0), len(all))
	return all[from:min(len(all), from+limit)]
}

func nextMarker(n int, marker string, maxItems *int32, def int) string {
	from, _ := strconv.Atoi(marker)
	limit := def
	if maxItems != nil && *maxItems > 0 {
		limit = int(*maxItems)
	}
	if from+limit < n {
		return strconv.Itoa(from + limit)
	}
	return ""
}

// checkAliasTarget validates the version an alias points to and its routing: at most one
// additional version, published, other than the primary, with a weight between 0 and 1, as AWS
// requires.
func (s *Service) checkAliasTarget(ctx context.Context, account, name, version string, routing *lw.AliasRoutingConfiguration) error {
	switch {
	case version == "$LATEST" && len(weights(routing)) > 0:
		return invalid("RoutingConfig: $LATEST is not supported for an alias pointing to more than 1 version")
	case version == "$LATEST":
		return nil
	case !isVersion(version):
		return invalid("FunctionVersion: %q is not $LATEST or a version number", version)
	}
	if _, err := s.version(ctx, account, name, version); err != nil {
		return err
	}
	w := weights(routing)
	if len(w) > 1 {
		return invalid("RoutingConfig.AdditionalVersionWeights: at most one additional version, got %d", len(w))
	}
	for v, weight := range w {
		switch {
		case !isVersion(v):
			return invalid("RoutingConfig.AdditionalVersionWeights: %q is not a published version", v)
		case v == version:
			return invalid("RoutingConfig.AdditionalVersionWeights: version %s is already the alias's FunctionVersion", v)
		case weight < 0 || weight > 1:
			return invalid("RoutingConfig.AdditionalVersionWeights: weight %v of version %s is not between 0.0 and 1.0", weight, v)
		}
		if _, err := s.version(ctx, account, name, v); err != nil {
			return err
		}
	}
	return nil
}

// weights are an alias's additional version weights (nil when it routes to one version).
func weights(rc *lw.AliasRoutingConfiguration) map[string]float64 {
	if rc == nil {
		return nil
	}
	return rc.AdditionalVersionWeights
}

// routeAlias picks the version an invocation through alias a runs: the additional version with
// its weight's probability, else the primary one.
func routeAlias(a *lw.AliasConfiguration) string {
	for v, w := range weights(a.RoutingConfig) {
		if rand.Float64() < w {
			return v
		}
	}
	return a.FunctionVersion
}

// CreateAlias implements the Lambda operation.
func (s *Service) CreateAlias(ctx context.Context, account string, in *lw.CreateAliasRequest) (*lw.AliasConfiguration, error) {
	rec, err := s.latest(ctx, account, in.FunctionName)
	if err != nil {
		return nil, err
	}
	if !aliasRE.MatchString(in.Name) || isVersion(in.Name) || in.Name == "$LATEST" {
		return nil, invalid("Name: %q must be 1 to 128 letters, numbers, hyphens or underscores, and not a version number", in.Name)
	}
	name := rec.Config.FunctionName
	if err := s.checkAliasTarget(ctx, account, name, in.FunctionVersion, in.RoutingConfig); err != nil {
		return nil, err
	}
	a := lw.AliasConfiguration{AliasArn: s.arn(account, name) + ":" + in.Name, Name: in.Name, FunctionVersion: in.FunctionVersion,
		Description: in.Description, RevisionId: strconv.FormatInt(time.Now().UnixNano(), 36)}
	if len(weights(in.RoutingConfig)) > 0 {
		a.RoutingConfig = in.RoutingConfig
	}
	body, _ := json.Marshal(a)
	err = s.cfg.Store.ResourceCreate(ctx, &store.Resource{Account: account, Kind: KindAlias, Name: name + ":" + in.Name, ARN: a.AliasArn, Status: "Active", Body: body, CreatedAt: time.Now()})
	if errors.Is(err, store.ErrConflict) {
		return nil, userErr(http.StatusConflict, "ResourceConflictException", "Alias already exists: %s", a.AliasArn)
	}
	if err != nil {
		return nil, serviceErr("storing the alias failed", err)
	}
	return &a, nil
}

// GetAlias implements the Lambda operation.
func (s *Service) GetAlias(ctx context.Context, account string, in *lw.GetAliasRequest) (*lw.AliasConfiguration, error) {
	rec, err := s.latest(ctx, account, in.FunctionName)
	if err != nil {
		return nil, err
	}
	return s.alias(ctx, account, rec.Config.FunctionName, in.Name)
}

// UpdateAlias implements the Lambda operation.
func (s *Service) UpdateAlias(ctx context.Context, account string, in *lw.UpdateAliasRequest) (*lw.AliasConfiguration, error) {
	rec, err := s.latest(ctx, account, in.FunctionName)
	if err != nil {
		return nil, err
	}
	name := rec.Config.FunctionName
	a, err := s.alias(ctx, account, name, in.Name)
	if err != nil {
		return nil, err
	}
	if in.RevisionId != "" && in.RevisionId != a.RevisionId {
		return nil, userErr(http.StatusPreconditionFailed, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id.")
	}
	if in.FunctionVersion != "" || in.RoutingConfig != nil {
		version, routing := a.FunctionVersion, a.RoutingConfig
		if in.FunctionVersion != "" {
			version = in.FunctionVersion
		}
		if in.RoutingConfig != nil { // an empty one routes everything to the primary version again
			routing = in.RoutingConfig
		}
		if err := s.checkAliasTarget(ctx, account, name, version, routing); err != nil {
			return nil, err
		}
		a.FunctionVersion, a.RoutingConfig = version, routing
		if len(weights(routing)) == 0 {
			a.RoutingConfig = nil
		}
	}
	if in.Description != "" {
		a.Description = in.Description
	}
	a.RevisionId = strconv.FormatInt(time.Now().UnixNano(), 36)
	body, _ := json.Marshal(a)
	if err := s.cfg.Store.ResourceUpdate(ctx, &store.Resource{Account: account, Kind: KindAlias, Name: name + ":" + in.Name, Status: "Active", Body: body}); err != nil {
		return nil, userErr(http.StatusNotFound, "ResourceNotFoundException", "Alias not found: %s", a.AliasArn)
	}
	return a, nil
}

// DeleteAlias implements the Lambda operation.
func (s *Service) DeleteAlias(ctx context.Context, account string, in *lw.DeleteAliasRequest) (*Empty, error) {
	rec, err := s.latest(ctx, account, in.FunctionName)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Store.ResourceDelete(ctx, account, KindAlias, rec.Config.FunctionName+":"+in.Name, 0); err != nil {
		return nil, userErr(http.StatusNotFound, "ResourceNotFoundException", "Alias not found: %s:%s", rec.Config.FunctionArn, in.Name)
	}
	return &Empty{}, nil
}

// ListAliases implements the Lambda operation.
func (s *Service) ListAliases(ctx context.Context, account string, in *lw.ListAliasesRequest) (*lw.ListAliasesResponse, error) {
	rec, err := s.latest(ctx, account, in.FunctionName)
	if err != nil {
		return nil, err
	}
	aliases, err := s.aliasesOf(ctx, account, rec.Config.FunctionName)
	if err != nil {
		return nil, err
	}
	var all []lw.AliasConfiguration
	for _, a := range aliases {
		if in.FunctionVersion == "" || a.FunctionVersion == in.FunctionVersion {
			all = append(all, a)
		}
	}
	return &lw.ListAliasesResponse{Aliases: append([]lw.AliasConfiguration{}, pageOf(all, in.Marker, in.MaxItems, 50)...),
		NextMarker: nextMarker(len(all), in.Marker, in.MaxItems, 50)}, nil
}

func (s *Service) aliasesOf(ctx context.Context, account, name string) ([]lw.AliasConfiguration, error) {
	rs, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{Account: account, Kind: KindAlias})
	if err != nil {
		return nil, serviceErr("listing aliases failed", err)
	}
	var out []lw.AliasConfiguration
	for _, r := range rs {
		if !strings.HasPrefix(r.Name, name+":") {
			continue
		}
		var a lw.AliasConfiguration
		if json.Unmarshal(r.Body, &a) == nil {
			out = append(out, a)
		}
	}
	return out, nil
}

// codeInUse reports whether a published version runs from dir.
func (s *Service) codeInUse(ctx context.Context, account, name, dir string) bool {
	versions, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{Account: account, Kind: KindVersion, Names: []string{name}})
	if err != nil {
		return true // when unsure, keep the code
	}
	for _, r := range versions {
		var v record
		if json.Unmarshal(r.Body, &v) == nil && v.CodeDir == dir {
			return true
		}
	}
	return false
}

// publishedVersions are a function's published versions' configurations, oldest first.
func (s *Service) publishedVersions(ctx context.Context, account, name string) ([]lw.FunctionConfiguration, error) {
	versions, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{Account: account, Kind: KindVersion, Names: []string{name}})
	if err != nil {
		return nil, serviceErr("listing versions failed", err)
	}
	var out []lw.FunctionConfiguration
	for _, r := range versions {
		var v record
		if json.Unmarshal(r.Body, &v) == nil {
			out = append(out, v.Config)
		}
	}
	return out, nil
}
