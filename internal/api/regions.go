package api

import (
	"context"
	"fmt"
	"net/http"
	"regexp"

	"github.com/barge-run/barge/internal/account"
	"github.com/barge-run/barge/internal/awserr"
	"github.com/barge-run/barge/internal/sigv4"
)

// regionRE is what an AWS region name looks like: us-east-1, eu-central-2, us-gov-west-1.
var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// scopeOf is the scope key a verified request acts in (account.Scope): its credential's account
// in the region its signature is scoped to, as AWS keeps regions apart. The first request in a
// region makes the account's default compute environment and job queue there.
func (s *Server) scopeOf(ctx context.Context, res sigv4.Result) (string, error) {
	if res.Region != s.cfg.Region && !regionRE.MatchString(res.Region) {
		return "", awserr.New(http.StatusForbidden, "InvalidSignatureException", "Credential should be scoped to a valid region. ")
	}
	key := account.Scope(res.Credential.AccountID, res.Region, s.cfg.Region)
	if key == res.Credential.AccountID || s.cfg.Batch == nil {
		return key, nil // the server's region: its defaults were made at start
	}
	s.regionsMu.Lock()
	defer s.regionsMu.Unlock()
	if s.regions[key] {
		return key, nil
	}
	if err := s.cfg.Batch.EnsureDefaults(ctx, key); err != nil {
		return "", fmt.Errorf("defaults of %s: %w", key, err)
	}
	if s.regions == nil {
		s.regions = map[string]bool{}
	}
	s.regions[key] = true
	return key, nil
}
