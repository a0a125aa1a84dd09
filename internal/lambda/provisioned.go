package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	lw "github.com/barge-run/barge/internal/awstypes/lambda"
	"github.com/barge-run/barge/internal/store"
)

// KindProvisioned is the store kind of provisioned concurrency configs, named "function:qualifier".
const KindProvisioned store.Kind = "function-provisioned-concurrency"

// provisioned is a stored provisioned concurrency config.
type provisioned struct {
	Requested    int32  `json:"requested"`
	LastModified string `json:"lastModified"`
}

// provisionTarget resolves the version a provisioned concurrency config keeps warm: a published
// version, or the one an alias points to (its primary version), as in AWS; never $LATEST.
func (s *Service) provisionTarget(ctx context.Context, account string, rec *record, qualifier string) (*record, error) {
	switch {
	case qualifier == "":
		return nil, invalid("Qualifier is required: a version number or an alias")
	case qualifier == "$LATEST":
		return nil, invalid("Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
	case isVersion(qualifier):
		return s.version(ctx, account, rec.Config.FunctionName, qualifier)
	}
	a, err := s.alias(ctx, account, rec.Config.FunctionName, qualifier)
	if err != nil {
		return nil, err
	}
	if a.FunctionVersion == "$LATEST" {
		return nil, invalid("Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
	}
	return s.version(ctx, account, rec.Config.FunctionName, a.FunctionVersion)
}

// PutProvisionedConcurrencyConfig implements the Lambda operation: barge starts the instances at
// once and keeps them warm until the config is deleted.
func (s *Service) PutProvisionedConcurrencyConfig(ctx context.Context, account string, in *lw.PutProvisionedConcurrencyConfigRequest) (*lw.PutProvisionedConcurrencyConfigResponse, error) {
	if in.ProvisionedConcurrentExecutions == nil || *in.ProvisionedConcurrentExecutions < 1 {
		return nil, invalid("ProvisionedConcurrentExecutions must be at least 1")
	}
	n := *in.ProvisionedConcurrentExecutions
	if n > 1000 {
		return nil, invalid("ProvisionedConcurrentExecutions must be at most 1000, got %d", n)
	}
	latest, err := s.latest(ctx, account, in.FunctionName)
	if err != nil {
		return nil, err
	}
	rec, err := s.provisionTarget(ctx, account, latest, in.Qualifier)
	if err != nil {
		return nil, err
	}
	if rec.Reserved != nil && n > *rec.Reserved {
		return nil, invalid("ProvisionedConcurrentExecutions %d exceeds the function's reserved concurrency %d", n, *rec.Reserved)
	}
	p := provisioned{Requested: n, LastModified: time.Now().UTC().Format("2006-01-02T15:04:05+0000")}
	body, _ := json.Marshal(p)
	r := &store.Resource{Account: account, Kind: KindProvisioned, Name: rec.Config.FunctionName + ":" + in.Qualifier, Status: "READY", Body: body, CreatedAt: time.Now()}
	err = s.cfg.Store.ResourceUpdate(ctx, r)
	if errors.Is(err, store.ErrNotFound) {
		err = s.cfg.Store.ResourceCreate(ctx, r)
	}
	if err != nil {
		return nil, serviceErr("storing the provisioned concurrency config failed", err)
	}
	spec, _ := s.spec(account, rec)
	s.cfg.Pool.Provision(spec, int(n))
	allocated := int32(min(s.cfg.Pool.Ready(spec), int(n)))
	status := lw.ProvisionedConcurrencyStatusEnumInProgress
	if allocated >= n {
		status = lw.ProvisionedConcurrencyStatusEnumReady
	}
	return &lw.PutProvisionedConcurrencyConfigResponse{RequestedProvisionedConcurrentExecutions: &n, AllocatedProvisionedConcurrentExecutions: &allocated,
		AvailableProvisionedConcurrentExecutions: &allocated, Status: status, LastModified: p.LastModified}, nil
}

// GetProvisionedConcurrencyConfig implements the Lambda operation: READY once every requested
// instance has initialised.
func (s *Service) GetProvisionedConcurrencyConfig(ctx context.Context, account string, in *lw.GetProvisionedConcurrencyConfigRequest) (*lw.GetProvisionedConcurrencyConfigResponse, error) {
	rec, err := s.latest(ctx, account, in.FunctionName)
	if err != nil {
		return nil, err
	}
	item, err := s.provisionedItem(ctx, account, rec, in.Qualifier)
	if err != nil {
		return nil, err
	}
	return &lw.GetProvisionedConcurrencyConfigResponse{RequestedProvisionedConcurrentExecutions: item.RequestedProvisionedConcurrentExecutions,
		AllocatedProvisionedConcurrentExecutions: item.AllocatedProvisionedConcurrentExecutions, AvailableProvisionedConcurrentExecutions: item.AvailableProvisionedConcurrentExecutions,
		Status: item.Status, LastModified: item.LastModified}, nil
}

// provisionedItem describes the provisioned concurrency config of $LATEST rec's function and a
// qualifier, with how many of its instances are ready now.
func (s *Service) provisionedItem(ctx context.Context, account string, rec *record, qualifier string) (*lw.ProvisionedConcurrencyConfigListItem, error) {
	name := rec.Config.FunctionName
	r, err := s.cfg.Store.ResourceGet(ctx, account, KindProvisioned, name+":"+qualifier, 0)
	if err != nil {
		return nil, userErr(http.StatusNotFound, "ProvisionedConcurrencyConfigNotFoundException", "No Provisioned Concurrency Config found for this function")
	}
	var p provisioned
	json.Unmarshal(r.Body, &p)
	item := &lw.ProvisionedConcurrencyConfigListItem{FunctionArn: s.arn(account, name) + ":" + qualifier,
		RequestedProvisionedConcurrentExecutions: &p.Requested, LastModified: p.LastModified, Status: lw.ProvisionedConcurrencyStatusEnumInProgress}
	allocated := int32(0)
	if target, err := s.provisionTarget(ctx, account, rec, qualifier); err == nil {
		spec, _ := s.spec(account, target)
		allocated = int32(min(s.cfg.Pool.Ready(spec), int(p.Requested)))
	}
	item.AllocatedProvisionedConcurrentExecutions, item.AvailableProvisionedConcurrentExecutions = &allocated, &allocated
	if allocated >= p.Requested {
		item.Status = lw.ProvisionedConcurrencyStatusEnumReady
	}
	return item, nil
}

// DeleteProvisionedConcurrencyConfig implements the Lambda operation; the instances then age out
// like any idle ones.
func (s *Service) DeleteProvisionedConcurrencyConfig(ctx context.Context, account string, in *lw.DeleteProvisionedConcurrencyConfigRequest) (*Empty, error) {
	rec, err := s.latest(ctx, account, in.FunctionName)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Store.ResourceDelete(ctx, account, KindProvisioned, rec.Config.FunctionName+":"+in.Qualifier, 0); err != nil {
		return nil, userErr(http.StatusNotFound, "ProvisionedConcurrencyConfigNotFoundException", "No Provisioned Concurrency Config found for this function")
	}
	if target, err := s.provisionTarget(ctx, account, rec, in.Qualifier); err == nil {
		spec, _ := s.spec(account, target)
		s.cfg.Pool.Provision(spec, 0)
	}
	return &Empty{}, nil
}

// ListProvisionedConcurrencyConfigs implements the Lambda operation (one page).
func (s *Service) ListProvisionedConcurrencyConfigs(ctx context.Context, account string, in *lw.ListProvisionedConcurrencyConfigsRequest) (*lw.ListProvisionedConcurrencyConfigsResponse, error) {
	rec, err := s.latest(ctx, account, in.FunctionName)
	if err != nil {
		return nil, err
	}
	name := rec.Config.FunctionName
	rs, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{Account: account, Kind: KindProvisioned})
	if err != nil {
		return nil, serviceErr("listing provisioned concurrency configs failed", err)
	}
	out := &lw.ListProvisionedConcurrencyConfigsResponse{ProvisionedConcurrencyConfigs: []lw.ProvisionedConcurrencyConfigListItem{}}
	for _, r := range rs {
		q, ok := strings.CutPrefix(r.Name, name+":")
		if !ok {
			continue
		}
		if item, err := s.provisionedItem(ctx, account, rec, q); err == nil {
			out.ProvisionedConcurrencyConfigs = append(out.ProvisionedConcurrencyConfigs, *item)
		}
	}
	return out, nil
}

// restoreProvisioned starts the instances of every stored provisioned concurrency config (after
// a restart).
func (s *Service) restoreProvisioned() {
	ctx := context.Background()
	rs, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{AllAccounts: true, Kind: KindProvisioned})
	if err != nil {
		return
	}
	for _, r := range rs {
		i := strings.LastIndexByte(r.Name, ':')
		if i < 0 {
			continue
		}
		var p provisioned
		if json.Unmarshal(r.Body, &p) != nil {
			continue
		}
		latest, err := s.latest(ctx, r.Account, r.Name[:i])
		if err != nil {
			continue
		}
		if target, err := s.provisionTarget(ctx, r.Account, latest, r.Name[i+1:]); err == nil {
			spec, _ := s.spec(r.Account, target)
			s.cfg.Pool.Provision(spec, int(p.Requested))
		}
	}
}
