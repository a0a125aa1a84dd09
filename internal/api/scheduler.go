package api

import (
	"fmt"
	"net/http"

	"github.com/barge-run/barge/internal/awserr"
	sc "github.com/barge-run/barge/internal/awstypes/scheduler"
	"github.com/barge-run/barge/internal/scheduler"
)

// schedulerHandlers are the implemented EventBridge Scheduler operations, by model name.
func schedulerHandlers(s *scheduler.Service) map[string]http.HandlerFunc {
	ok := http.StatusOK
	return map[string]http.HandlerFunc{
		"CreateSchedule":      restHandler(s.CreateSchedule, ok, schedulerParamError),
		"GetSchedule":         restHandler(s.GetSchedule, ok, schedulerParamError),
		"UpdateSchedule":      restHandler(s.UpdateSchedule, ok, schedulerParamError),
		"DeleteSchedule":      restHandler(s.DeleteSchedule, ok, schedulerParamError),
		"ListSchedules":       restHandler(s.ListSchedules, ok, schedulerParamError),
		"CreateScheduleGroup": restHandler(s.CreateScheduleGroup, ok, schedulerParamError),
		"GetScheduleGroup":    restHandler(s.GetScheduleGroup, ok, schedulerParamError),
		"DeleteScheduleGroup": restHandler(s.DeleteScheduleGroup, ok, schedulerParamError),
		"ListScheduleGroups":  restHandler(s.ListScheduleGroups, ok, schedulerParamError),
		"TagResource":         restHandler(s.TagResource, ok, schedulerParamError),
		"UntagResource":       restHandler(s.UntagResource, ok, schedulerParamError),
		"ListTagsForResource": restHandler(s.ListTagsForResource, ok, schedulerParamError),
	}
}

// ImplementedSchedulerOperations lists the EventBridge Scheduler operations barge serves.
func ImplementedSchedulerOperations() []string { return names(schedulerHandlers(nil)) }

// routeScheduler registers EventBridge Scheduler's REST paths (/schedules/…, /schedule-groups/…,
// /tags/…; signing name "scheduler") when the service is wired.
func (s *Server) routeScheduler() {
	if s.cfg.Scheduler == nil {
		return
	}
	s.routeModel("scheduler", func(string) boundFor { return logsBound }, sc.Operations, schedulerHandlers(s.cfg.Scheduler), func(op string) *awserr.Error {
		return schedulerParamError(fmt.Errorf("barge does not implement the Scheduler operation %s yet (see docs/compatibility.md)", op))
	})
}

// schedulerParamError is Scheduler's error for a bad request member.
func schedulerParamError(err error) *awserr.Error {
	return awserr.New(http.StatusBadRequest, "ValidationException", "%v", err)
}
