package server

import (
	"log/slog"

	"github.com/barge-run/barge/internal/events"
	"github.com/barge-run/barge/internal/lambda"
	"github.com/barge-run/barge/internal/scheduler"
	"github.com/barge-run/barge/internal/store"
)

// newSchedules assembles EventBridge Scheduler and EventBridge rules on one firing engine,
// delivering to barge's own Lambda, SQS, Batch and Step Functions in-process (started once
// serving).
func (s *Server) newSchedules(db store.Store, functions *lambda.Service, region, name string, log *slog.Logger) {
	s.schedules = scheduler.NewEngine(scheduler.EngineConfig{Store: db, Holder: name, Logger: log.With("component", "schedules")})
	delivery := &scheduler.Delivery{Functions: functions, Queues: s.sqs, Jobs: s.batch, Workflows: s.steps, Region: region}
	s.scheduler = scheduler.New(scheduler.Config{Store: db, Engine: s.schedules, Delivery: delivery, Region: region,
		Logger: log.With("component", "scheduler")})
	s.events = events.New(events.Config{Store: db, Engine: s.schedules, Delivery: delivery, Region: region,
		Bus: s.bus, Logger: log.With("component", "events")})
}
