package account

import (
	"strings"
	"sync"
	"time"

	"github.com/barge-run/barge/internal/sigv4"
)

// endedKept is how long a revoked session's key is remembered, so that a late call with it is
// told its token expired rather than that the key is unknown.
const endedKept = time.Hour

// Sessions are the temporary credentials barge hands to job attempts and function instances:
// an access key (ASIA…), a secret and a session token, scoped to one account and recorded with
// the role the job or function names. They live in memory only, from Mint until Revoke (the
// attempt or instance ended, or the server stopped); a revoked key is refused with
// ExpiredTokenException for an hour, then as unknown.
type Sessions struct {
	mu    sync.RWMutex
	live  map[string]sigv4.Credential
	ended map[string]time.Time
	now   func() time.Time
}

// NewSessions returns an empty set of sessions.
func NewSessions() *Sessions {
	return &Sessions{live: map[string]sigv4.Credential{}, ended: map[string]time.Time{}, now: time.Now}
}

// Mint makes a temporary credential of account, acting as role (an IAM role ARN, "" for none).
func (s *Sessions) Mint(account, role string) sigv4.Credential {
	c := sigv4.Credential{
		AccessKeyID:     "ASIA" + randomString(16, upperDigits),
		SecretAccessKey: randomString(40, secretChars),
		SessionToken:    randomString(128, secretChars),
		AccountID:       account,
		Role:            role,
	}
	s.mu.Lock()
	s.live[c.AccessKeyID] = c
	s.mu.Unlock()
	return c
}

// Revoke ends a session: requests signed with its key are refused from now on.
func (s *Sessions) Revoke(accessKeyID string) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.live[accessKeyID]; !ok {
		return
	}
	delete(s.live, accessKeyID)
	s.ended[accessKeyID] = now
	if len(s.ended) > 4096 {
		for k, at := range s.ended {
			if now.Sub(at) > endedKept {
				delete(s.ended, k)
			}
		}
	}
}

// Lookup finds a live session's credential; a recently revoked one comes back with Expired set.
func (s *Sessions) Lookup(accessKeyID string) (sigv4.Credential, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if c, ok := s.live[accessKeyID]; ok {
		return c, true
	}
	if at, ok := s.ended[accessKeyID]; ok && s.now().Sub(at) <= endedKept {
		return sigv4.Credential{AccessKeyID: accessKeyID, Expired: true}, true
	}
	return sigv4.Credential{}, false
}

// Live is how many sessions are live.
func (s *Sessions) Live() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.live)
}

// Env is the environment that hands a session to a process, as Lambda and the AWS SDKs' default
// chain expect it (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), plus
// AWS_ENDPOINT_URL so that unmodified SDKs and CLIs call barge. A name env already sets (the
// job's or function's own configuration) is left as it is.
func Env(env []string, c sigv4.Credential, endpoint string) []string {
	set := map[string]bool{}
	for _, kv := range env {
		if name, _, ok := strings.Cut(kv, "="); ok {
			set[name] = true
		}
	}
	if !set["AWS_ACCESS_KEY_ID"] && !set["AWS_SECRET_ACCESS_KEY"] && !set["AWS_PROFILE"] {
		env = append(env, "AWS_ACCESS_KEY_ID="+c.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+c.SecretAccessKey, "AWS_SESSION_TOKEN="+c.SessionToken)
	}
	if endpoint != "" && !set["AWS_ENDPOINT_URL"] {
		env = append(env, "AWS_ENDPOINT_URL="+endpoint)
	}
	return env
}
