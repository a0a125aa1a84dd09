package lambda

import (
	"context"
	"encoding/json"

	lw "github.com/barge-run/barge/internal/awstypes/lambda"
	"github.com/barge-run/barge/internal/store"
)

// Lambda's default code-storage limits, which barge reports (and enforces for one package).
const (
	totalCodeSizeLimit = 75 << 30
	zippedCodeLimit    = 50 << 20
)

// GetAccountSettings implements the Lambda operation: the account's limits (concurrency as barge
// is configured, `--function-concurrency`) and usage (functions, code size of every version).
func (s *Service) GetAccountSettings(ctx context.Context, account string, _ *lw.GetAccountSettingsRequest) (*lw.GetAccountSettingsResponse, error) {
	concurrency := int32(s.cfg.Pool.AccountConcurrency())
	reserved := int32(0)
	var functions, codeSize int64
	for _, kind := range []store.Kind{KindFunction, KindVersion} {
		rs, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{Account: account, Kind: kind})
		if err != nil {
			return nil, serviceErr("reading the account's functions failed", err)
		}
		for _, r := range rs {
			var rec record
			if json.Unmarshal(r.Body, &rec) != nil {
				continue
			}
			codeSize += deref(rec.Config.CodeSize, 0)
			if kind == KindFunction {
				functions++
				if rec.Reserved != nil {
					reserved += *rec.Reserved
				}
			}
		}
	}
	return &lw.GetAccountSettingsResponse{
		AccountLimit: &lw.AccountLimit{TotalCodeSize: ptr(int64(totalCodeSizeLimit)), CodeSizeUnzipped: ptr(int64(maxUnzipped)),
			CodeSizeZipped: ptr(int64(zippedCodeLimit)), ConcurrentExecutions: &concurrency, UnreservedConcurrentExecutions: ptr(concurrency - reserved)},
		AccountUsage: &lw.AccountUsage{TotalCodeSize: &codeSize, FunctionCount: &functions},
	}, nil
}
