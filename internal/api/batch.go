package api

import (
	"context"
	"net/http"

	"github.com/barge-run/barge/internal/awserr"
	"github.com/barge-run/barge/internal/awstypes"
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
func ImplementedBatchOperations() []string {
	var s Server
	var out []string
	for name := range s.batchHandlers() {
		out = append(out, name)
	}
	return out
}

// routeBatch registers every operation of the Batch model: implemented ones call the service,
// the rest answer a clear ClientException instead of a 404.
func (s *Server) routeBatch() {
	impl := map[string]http.HandlerFunc{}
	if s.cfg.Batch != nil {
		impl = s.batchHandlers()
	}
	for _, op := range wire.Operations {
		h, ok := impl[op.Name]
		if !ok {
			name := op.Name
			h = func(w http.ResponseWriter, r *http.Request) {
				writeError(w, awserr.Client("barge does not implement the Batch operation %s yet (see docs/compatibility.md)", name))
			}
		}
		s.mux.HandleFunc(op.Method+" "+op.RequestURI, s.authed("batch", h))
	}
}

// restJSON adapts a service method to a restJson1 handler: body and location members in, JSON out.
func restJSON[In, Out any](fn func(context.Context, string, *In) (*Out, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req := fromContext(r.Context())
		in := new(In)
		if e := decodeBody(req.body, in); e != nil {
			writeError(w, e)
			return
		}
		if err := awstypes.BindLocation(in, r.PathValue, r.URL.Query(), r.Header); err != nil {
			writeError(w, awserr.Client("%v", err))
			return
		}
		out, err := fn(r.Context(), req.account, in)
		if err != nil {
			writeError(w, awserr.As(err))
			return
		}
		status, h := awstypes.LocationHeaders(out)
		for k, vs := range h {
			w.Header()[k] = vs
		}
		if status == 0 {
			status = http.StatusOK
		}
		writeJSON(w, "application/json", status, out)
	}
}
