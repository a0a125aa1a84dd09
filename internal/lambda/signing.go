package lambda

import (
	"context"

	lw "github.com/barge-run/barge/internal/awstypes/lambda"
)

// GetFunctionCodeSigningConfig implements the Lambda operation. barge has no code signing
// configurations, so a function never has one: the answer Lambda gives for such a function,
// which Terraform's provider reads after every create and refresh.
func (s *Service) GetFunctionCodeSigningConfig(ctx context.Context, account string, in *lw.GetFunctionCodeSigningConfigRequest) (*lw.GetFunctionCodeSigningConfigResponse, error) {
	rec, err := s.latest(ctx, account, in.FunctionName)
	if err != nil {
		return nil, err
	}
	return &lw.GetFunctionCodeSigningConfigResponse{FunctionName: rec.Config.FunctionName}, nil
}
