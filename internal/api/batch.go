package api

import (
	"context"
	"net/http"

	"github.com/barge-run/barge/internal/awserr"
	wire "github.com/barge-run/barge/internal/awstypes/batch"
)

// batchHandlers are the implemented AWS Batch operations, by model name.
func (s *Server) batchHandlers() map[string]http.HandlerFunc {
	b := s.cfg.Batch
	return map[string]http.HandlerFunc{
		"CreateComputeEnvironment":    restJSON(b.CreateComputeEnvironment),
		"DescribeComputeEnvironments": restJSON(b.DescribeComputeEnvironments),
		"UpdateComputeEnvironment":    restJSON(b.UpdateComputeEnvironment),
		"DeleteComputeEnvironment":    restJSON(b.DeleteComputeEnvironment),
		"CreateJobQueue":              restJSON(b.CreateJobQueue),
		"DescribeJobQueues":           restJSON(b.DescribeJobQueues),
		"GetJobQueueSnapshot":         restJSON(b.GetJobQueueSnapshot),
		"UpdateJobQueue":              restJSON(b.UpdateJobQueue),
		"DeleteJobQueue":              restJSON(b.DeleteJobQueue),
		"RegisterJobDefinition":       restJSON(b.RegisterJobDefinition),
		"DescribeJobDefinitions":      restJSON(b.DescribeJobDefinitions),
		"DeregisterJobDefinition":     restJSON(b.DeregisterJobDefinition),
		"SubmitJob":                   restJSON(b.SubmitJob),
		"DescribeJobs":                restJSON(b.DescribeJobs),
		"ListJobs":                    restJSON(b.ListJobs),
		"CancelJob":                   restJSON(b.CancelJob),
		"TerminateJob":                restJSON(b.TerminateJob),
		"TagResource":                 restJSON(b.TagResource),
		"UntagResource":               restJSON(b.UntagResource),
		"ListTagsForResource":         restJSON(b.ListTagsForResource),
		"CreateSchedulingPolicy":      restJSON(b.CreateSchedulingPolicy),
		"DescribeSchedulingPolicies":  restJSON(b.DescribeSchedulingPolicies),
		"ListSchedulingPolicies":      restJSON(b.ListSchedulingPolicies),
		"UpdateSchedulingPolicy":      restJSON(b.UpdateSchedulingPolicy),
		"DeleteSchedulingPolicy":      restJSON(b.DeleteSchedulingPolicy),
	}
}

// ImplementedBatchOperations lists the Batch operations barge serves (for docs/compatibility.md).
func ImplementedBatchOperations() []string { return names((&Server{}).batchHandlers()) }

// routeBatch registers every operation of the Batch model: implemented ones call the service,
// the rest answer a clear ClientException instead of a 404.
func (s *Server) routeBatch() {
	impl := map[string]http.HandlerFunc{}
	if s.cfg.Batch != nil {
		impl = s.batchHandlers()
	}
	s.routeModel("batch", batchBound, wire.Operations, impl, func(op string) *awserr.Error {
		return awserr.Client("barge does not implement the Batch operation %s yet (see docs/compatibility.md)", op)
	})
}

// restJSON adapts a Batch service method: status 200, malformed parameters as ClientException.
func restJSON[In, Out any](fn func(context.Context, string, *In) (*Out, error)) http.HandlerFunc {
	return restHandler(fn, http.StatusOK, func(err error) *awserr.Error { return awserr.Client("%v", err) })
}
