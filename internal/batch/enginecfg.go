package batch

import (
	"context"

	wire "github.com/barge-run/barge/internal/awstypes/batch"
	"github.com/barge-run/barge/internal/sched"
)

// The configuration changes below are stored by the caller first; each is applied to this
// engine at once (where it runs) and recorded (bumpConfig) for an engine running on another
// server, which reloads it.

func (e *engine) setComputeEnv(ce sched.ComputeEnv) {
	e.s.bumpConfig(context.Background())
	e.do(func() { e.sched.SetComputeEnv(ce) })
}

func (e *engine) removeComputeEnv(key string) {
	e.s.bumpConfig(context.Background())
	e.do(func() { e.sched.RemoveComputeEnv(key) })
}

func (e *engine) removeQueue(key string) {
	e.s.bumpConfig(context.Background())
	e.do(func() { e.sched.RemoveQueue(key); delete(e.limits, key) })
}

func (e *engine) setQueue(q sched.Queue, limits []wire.JobStateTimeLimitAction) {
	e.s.bumpConfig(context.Background())
	e.do(func() {
		e.sched.SetQueue(q)
		if len(limits) > 0 {
			e.limits[q.Key] = limits
		} else {
			delete(e.limits, q.Key)
		}
	})
}
