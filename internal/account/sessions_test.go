package account

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/barge-run/barge/internal/sigv4"
)

func TestSessions(t *testing.T) {
	s := NewSessions()
	now := time.Unix(1000, 0)
	s.now = func() time.Time { return now }
	a, b := s.Mint("000000000000", "arn:aws:iam::000000000000:role/a"), s.Mint("111111111111", "")
	if !strings.HasPrefix(a.AccessKeyID, "ASIA") || len(a.AccessKeyID) != 20 || a.SessionToken == "" || a.AccessKeyID == b.AccessKeyID {
		t.Fatalf("minted %+v and %+v", a, b)
	}
	if c, ok := s.Lookup(a.AccessKeyID); !ok || c != a {
		t.Fatalf("lookup of a live session: %+v %v", c, ok)
	}
	s.Revoke(a.AccessKeyID)
	if c, ok := s.Lookup(a.AccessKeyID); !ok || !c.Expired || c.SecretAccessKey != "" {
		t.Fatalf("lookup of a revoked session: %+v %v", c, ok)
	}
	if c, ok := s.Lookup(b.AccessKeyID); !ok || c.Expired {
		t.Fatalf("revoking one session touched another: %+v %v", c, ok)
	}
	now = now.Add(endedKept + time.Second)
	if _, ok := s.Lookup(a.AccessKeyID); ok {
		t.Fatal("a session revoked long ago is still remembered")
	}
	if s.Live() != 1 {
		t.Fatalf("%d live sessions, want 1", s.Live())
	}
}

func TestEnv(t *testing.T) {
	c := sigv4.Credential{AccessKeyID: "ASIAX", SecretAccessKey: "s", SessionToken: "t"}
	for _, tc := range []struct {
		name     string
		env      []string
		endpoint string
		want     []string
	}{
		{"nothing set", []string{"A=1"}, "http://127.0.0.1:7700",
			[]string{"A=1", "AWS_ACCESS_KEY_ID=ASIAX", "AWS_SECRET_ACCESS_KEY=s", "AWS_SESSION_TOKEN=t", "AWS_ENDPOINT_URL=http://127.0.0.1:7700"}},
		{"the job's own keys win", []string{"AWS_ACCESS_KEY_ID=mine", "AWS_SECRET_ACCESS_KEY=x"}, "http://e",
			[]string{"AWS_ACCESS_KEY_ID=mine", "AWS_SECRET_ACCESS_KEY=x", "AWS_ENDPOINT_URL=http://e"}},
		{"the job's own endpoint wins", []string{"AWS_ENDPOINT_URL=http://mine"}, "http://e",
			[]string{"AWS_ENDPOINT_URL=http://mine", "AWS_ACCESS_KEY_ID=ASIAX", "AWS_SECRET_ACCESS_KEY=s", "AWS_SESSION_TOKEN=t"}},
		{"no endpoint", nil, "", []string{"AWS_ACCESS_KEY_ID=ASIAX", "AWS_SECRET_ACCESS_KEY=s", "AWS_SESSION_TOKEN=t"}},
	} {
		if got := Env(tc.env, c, tc.endpoint); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
