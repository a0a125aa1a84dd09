package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	wire "github.com/barge-run/barge/internal/awstypes/batch"
	"github.com/barge-run/barge/internal/sched"
	"github.com/barge-run/barge/internal/store"
)

// KindConfigVersion counts changes of compute environments, job queues and scheduling policies
// (account "", name "batch"): its Version tells the engine, wherever it runs, that the
// scheduler's configuration is to be read again.
const KindConfigVersion store.Kind = "config-version"

// schedConfig is the scheduler's configuration as the store holds it.
type schedConfig struct {
	ces    []sched.ComputeEnv
	queues []sched.Queue
	limits map[string][]wire.JobStateTimeLimitAction // queue ARN → its time-limit actions
}

// loadConfig reads every compute environment, scheduling policy and job queue, of every account.
func (s *Service) loadConfig(ctx context.Context) (*schedConfig, error) {
	cfg := &schedConfig{limits: map[string][]wire.JobStateTimeLimitAction{}}
	ces, err := s.store.ResourceList(ctx, &store.ResourceListParams{AllAccounts: true, Kind: store.KindComputeEnvironment})
	if err != nil {
		return nil, err
	}
	for _, r := range ces {
		var d wire.ComputeEnvironmentDetail
		if err := json.Unmarshal(r.Body, &d); err != nil {
			return nil, fmt.Errorf("compute environment %s: %w", r.ARN, err)
		}
		cfg.ces = append(cfg.ces, s.schedComputeEnv(&d))
	}
	policies := map[string]*wire.FairsharePolicy{}
	prs, err := s.store.ResourceList(ctx, &store.ResourceListParams{AllAccounts: true, Kind: store.KindSchedulingPolicy})
	if err != nil {
		return nil, err
	}
	for _, r := range prs {
		var d wire.SchedulingPolicyDetail
		if err := json.Unmarshal(r.Body, &d); err != nil {
			return nil, fmt.Errorf("scheduling policy %s: %w", r.ARN, err)
		}
		if d.FairsharePolicy == nil {
			d.FairsharePolicy = &wire.FairsharePolicy{}
		}
		policies[r.ARN] = d.FairsharePolicy
	}
	queues, err := s.store.ResourceList(ctx, &store.ResourceListParams{AllAccounts: true, Kind: store.KindJobQueue})
	if err != nil {
		return nil, err
	}
	for _, r := range queues {
		var d wire.JobQueueDetail
		if err := json.Unmarshal(r.Body, &d); err != nil {
			return nil, fmt.Errorf("job queue %s: %w", r.ARN, err)
		}
		cfg.queues = append(cfg.queues, s.schedQueue(&d, policies[d.SchedulingPolicyArn]))
		if len(d.JobStateTimeLimitActions) > 0 {
			cfg.limits[d.JobQueueArn] = d.JobStateTimeLimitActions
		}
	}
	return cfg, nil
}

// applyConfig makes the scheduler's configuration cfg, on the loop: what cfg lacks is removed.
func (e *engine) applyConfig(cfg *schedConfig) {
	keep := map[string]bool{}
	for _, ce := range cfg.ces {
		e.sched.SetComputeEnv(ce)
		keep[ce.Key] = true
	}
	for _, ce := range e.sched.ComputeEnvs() {
		if !keep[ce.Key] {
			e.sched.RemoveComputeEnv(ce.Key)
		}
	}
	keep = map[string]bool{}
	for _, q := range cfg.queues {
		e.sched.SetQueue(q)
		keep[q.Key] = true
	}
	for _, key := range e.sched.QueueKeys() {
		if !keep[key] {
			e.sched.RemoveQueue(key)
		}
	}
	e.limits = cfg.limits
}

// bumpConfig records that the scheduler's configuration changed, for an engine on another
// server (this server's engine was told directly). Best effort: the change itself is stored.
func (s *Service) bumpConfig(ctx context.Context) {
	r := &store.Resource{Kind: KindConfigVersion, Name: "batch", Status: "ACTIVE", Body: []byte(`{}`)}
	err := s.store.ResourceUpdate(ctx, r)
	if errors.Is(err, store.ErrNotFound) {
		err = s.store.ResourceCreate(ctx, r)
	}
	if err != nil && !errors.Is(err, store.ErrConflict) {
		s.log.Warn("recording a configuration change", "err", err)
	}
}

// configVersion is the stored configuration version (0: never changed).
func (s *Service) configVersion(ctx context.Context) int64 {
	r, err := s.store.ResourceGet(ctx, "", KindConfigVersion, "batch", 0)
	if err != nil {
		return 0
	}
	return r.Version
}

// reloadConfig reads the configuration again when another server changed it.
func (e *engine) reloadConfig(ctx context.Context) {
	v := e.s.configVersion(ctx)
	if v == e.configSeen.Load() {
		return
	}
	cfg, err := e.s.loadConfig(ctx)
	if err != nil {
		e.s.log.Warn("reloading the scheduler's configuration", "err", err)
		return
	}
	e.do(func() { e.applyConfig(cfg) })
	e.configSeen.Store(v)
}
