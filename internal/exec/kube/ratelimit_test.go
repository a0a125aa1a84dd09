package kube

import (
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

// TestRateLimit: a configuration with no limit of its own (a kubeconfig's, the in-cluster one)
// gets DefaultQPS/DefaultBurst, or what BARGE_KUBE_QPS says, not client-go's 5/10; one that sets
// a limit keeps it.
func TestRateLimit(t *testing.T) {
	for _, tc := range []struct {
		env   string
		cfg   rest.Config
		qps   float32
		burst int
		bad   bool
	}{
		{cfg: rest.Config{}, qps: DefaultQPS, burst: DefaultBurst},
		{env: "5/10", cfg: rest.Config{}, qps: 5, burst: 10},
		{env: "50", cfg: rest.Config{}, qps: 50, burst: 100},
		{env: "-1", cfg: rest.Config{}, qps: -1, burst: 1},
		{env: "50", cfg: rest.Config{QPS: 20, Burst: 30}, qps: 20, burst: 30},
		{cfg: rest.Config{RateLimiter: flowcontrol.NewFakeAlwaysRateLimiter()}, qps: 0, burst: 0},
		{env: "0", cfg: rest.Config{}, bad: true},
		{env: "fast", cfg: rest.Config{}, bad: true},
		{env: "5/x", cfg: rest.Config{}, bad: true},
	} {
		t.Setenv(QPSEnv, tc.env)
		in := tc.cfg
		got, err := withRateLimit(&in)
		if tc.bad {
			if err == nil {
				t.Errorf("%s=%q: no error", QPSEnv, tc.env)
			}
			continue
		}
		if err != nil || got.QPS != tc.qps || got.Burst != tc.burst {
			t.Errorf("%s=%q, QPS %v: got %v/%d (%v), want %v/%d", QPSEnv, tc.env, tc.cfg.QPS, got.QPS, got.Burst, err, tc.qps, tc.burst)
		}
		if in.QPS != tc.cfg.QPS {
			t.Errorf("the caller's configuration was changed")
		}
	}
}
