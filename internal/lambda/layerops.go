package lambda

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strconv"

	lw "github.com/barge-run/barge/internal/awstypes/lambda"
	"github.com/barge-run/barge/internal/store"
)

// GetLayerVersion implements the Lambda operation.
func (s *Service) GetLayerVersion(ctx context.Context, account string, in *lw.GetLayerVersionRequest) (*lw.GetLayerVersionResponse, error) {
	ref, err := s.parseLayer(account, in.LayerName, "LayerName", false)
	if err != nil {
		return nil, err
	}
	ref.version = deref(in.VersionNumber, 0)
	rec, err := s.layerVersion(ctx, account, ref)
	if err != nil {
		return nil, err
	}
	out := s.layerInfo(rec)
	return &out, nil
}

// GetLayerVersionByArn implements the Lambda operation.
func (s *Service) GetLayerVersionByArn(ctx context.Context, account string, in *lw.GetLayerVersionByArnRequest) (*lw.GetLayerVersionResponse, error) {
	ref, err := s.parseLayer(account, in.Arn, "Arn", true)
	if err != nil {
		return nil, err
	}
	rec, err := s.layerVersion(ctx, account, ref)
	if err != nil {
		return nil, err
	}
	out := s.layerInfo(rec)
	return &out, nil
}

// liveVersions lists a layer's live versions that match the compatibility filters, newest
// first, as Lambda lists them.
func (s *Service) liveVersions(ctx context.Context, owner, name string, rt lw.Runtime, arch lw.Architecture) ([]lw.LayerVersionsListItem, error) {
	p := &store.ResourceListParams{Account: owner, Kind: KindLayerVersion}
	if name != "" {
		p.Names = []string{name}
	}
	rs, err := s.cfg.Store.ResourceList(ctx, p)
	if err != nil {
		return nil, serviceErr("listing layer versions failed", err)
	}
	var out []lw.LayerVersionsListItem
	for i := len(rs) - 1; i >= 0; i-- {
		var rec layerRecord
		if json.Unmarshal(rs[i].Body, &rec) != nil || rec.Deleted {
			continue
		}
		info := rec.Info
		if (rt != "" && !slices.Contains(info.CompatibleRuntimes, rt)) || (arch != "" && !slices.Contains(info.CompatibleArchitectures, arch)) {
			continue
		}
		out = append(out, lw.LayerVersionsListItem{LayerVersionArn: info.LayerVersionArn, Version: info.Version, Description: info.Description,
			CreatedDate: info.CreatedDate, CompatibleRuntimes: info.CompatibleRuntimes, LicenseInfo: info.LicenseInfo,
			CompatibleArchitectures: info.CompatibleArchitectures})
	}
	return out, nil
}

// pageLayers cuts one page of at most maxItems (1–50, default 50) after marker, the key of the
// last item of the previous page.
func pageLayers[T any](items []T, key func(T) string, marker string, maxItems *int32) ([]T, string, error) {
	n := int(deref(maxItems, 50))
	if n < 1 || n > 50 {
		return nil, "", invalid("MaxItems: must be between 1 and 50, got %d", n)
	}
	start := 0
	if marker != "" {
		start = slices.IndexFunc(items, func(it T) bool { return key(it) == marker }) + 1
		if start == 0 {
			return nil, "", invalid("Marker: %q is not a marker this listing gave", marker)
		}
	}
	items = items[start:]
	if len(items) <= n {
		return items, "", nil
	}
	return items[:n], key(items[n-1]), nil
}

// ListLayerVersions implements the Lambda operation.
func (s *Service) ListLayerVersions(ctx context.Context, account string, in *lw.ListLayerVersionsRequest) (*lw.ListLayerVersionsResponse, error) {
	ref, err := s.parseLayer(account, in.LayerName, "LayerName", false)
	if err != nil {
		return nil, err
	}
	versions, err := s.liveVersions(ctx, ref.owner, ref.name, in.CompatibleRuntime, in.CompatibleArchitecture)
	if err != nil {
		return nil, err
	}
	if ref.owner != account { // only those the owner shared
		versions = slices.DeleteFunc(versions, func(v lw.LayerVersionsListItem) bool {
			_, err := s.layerVersion(ctx, account, layerRef{ref.owner, ref.name, *v.Version})
			return err != nil
		})
	}
	page, next, err := pageLayers(versions, func(v lw.LayerVersionsListItem) string { return strconv.FormatInt(*v.Version, 10) }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &lw.ListLayerVersionsResponse{LayerVersions: nonNil(page), NextMarker: next}, nil
}

// ListLayers implements the Lambda operation: the account's layers, each with its newest
// version matching the filters.
func (s *Service) ListLayers(ctx context.Context, account string, in *lw.ListLayersRequest) (*lw.ListLayersResponse, error) {
	versions, err := s.liveVersions(ctx, account, "", in.CompatibleRuntime, in.CompatibleArchitecture)
	if err != nil {
		return nil, err
	}
	var layers []lw.LayersListItem
	seen := map[string]bool{}
	for _, v := range versions { // newest first within each layer, layers by name
		ref, _ := s.parseLayer(account, v.LayerVersionArn, "", true)
		if seen[ref.name] {
			continue
		}
		seen[ref.name] = true
		latest := v
		layers = append(layers, lw.LayersListItem{LayerName: ref.name, LayerArn: s.layerARN(account, ref.name), LatestMatchingVersion: &latest})
	}
	slices.SortFunc(layers, func(a, b lw.LayersListItem) int { return cmp.Compare(a.LayerName, b.LayerName) })
	page, next, err := pageLayers(layers, func(l lw.LayersListItem) string { return l.LayerName }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &lw.ListLayersResponse{Layers: nonNil(page), NextMarker: next}, nil
}

// DeleteLayerVersion implements the Lambda operation. Functions that use the version keep their
// copy; the number is never given again. Deleting a version that does not exist succeeds, as in
// Lambda.
func (s *Service) DeleteLayerVersion(ctx context.Context, account string, in *lw.DeleteLayerVersionRequest) (*Empty, error) {
	ref, err := s.parseLayer(account, in.LayerName, "LayerName", false)
	if err != nil {
		return nil, err
	}
	if ref.owner != account {
		return nil, userErr(http.StatusForbidden, "AccessDeniedException", "LayerName: %s belongs to another account", in.LayerName)
	}
	ref.version = deref(in.VersionNumber, 0)
	rec, err := s.layerVersion(ctx, account, ref)
	if err != nil {
		if isNotFound(err) {
			return &Empty{}, nil
		}
		return nil, err
	}
	rec.Deleted = true
	body, _ := json.Marshal(rec)
	err = s.cfg.Store.ResourceUpdate(ctx, &store.Resource{Account: account, Kind: KindLayerVersion, Name: ref.name, Revision: int(ref.version), Status: "Deleted", Body: body})
	if err != nil {
		return nil, serviceErr("deleting the layer version failed", err)
	}
	s.cfg.Store.ResourceDelete(ctx, account, KindLayerPolicy, layerPolicyName(ref.name, ref.version), 0)
	os.RemoveAll(rec.Dir)
	return &Empty{}, nil
}

// nonNil is items, or an empty list where Lambda answers one.
func nonNil[T any](items []T) []T {
	if items == nil {
		return []T{}
	}
	return items
}
