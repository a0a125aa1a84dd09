package api

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/barge-run/barge/internal/awserr"
	sfnw "github.com/barge-run/barge/internal/awstypes/sfn"
	"github.com/barge-run/barge/internal/sfn"
)

const sfnContentType = "application/x-amz-json-1.0"

// sfnBound is the bound of a Step Functions request: a 1 MiB definition, escaped, with room.
var sfnBound = fixedBound(defaultBodyLimit, awserr.New(http.StatusRequestEntityTooLarge, "ValidationException",
	"request body exceeds %d bytes", defaultBodyLimit))

// sfnCall is one Step Functions operation: decode the JSON request, call the service.
type sfnCall func(ctx context.Context, scope string, body []byte) (any, error)

func sfnOp[In, Out any](fn func(context.Context, string, *In) (*Out, error)) sfnCall {
	return func(ctx context.Context, scope string, body []byte) (any, error) {
		in := new(In)
		if e := decodeBody(body, in); e != nil {
			return nil, e
		}
		out, err := fn(ctx, scope, in)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

// sfnHandlers are the implemented Step Functions operations, by model name.
func sfnHandlers(f *sfn.Service) map[string]sfnCall {
	return map[string]sfnCall{
		"CreateStateMachine":               sfnOp(f.CreateStateMachine),
		"DescribeStateMachine":             sfnOp(f.DescribeStateMachine),
		"UpdateStateMachine":               sfnOp(f.UpdateStateMachine),
		"DeleteStateMachine":               sfnOp(f.DeleteStateMachine),
		"ListStateMachines":                sfnOp(f.ListStateMachines),
		"ValidateStateMachineDefinition":   sfnOp(f.ValidateStateMachineDefinition),
		"StartExecution":                   sfnOp(f.StartExecution),
		"StartSyncExecution":               sfnOp(f.StartSyncExecution),
		"DescribeExecution":                sfnOp(f.DescribeExecution),
		"StopExecution":                    sfnOp(f.StopExecution),
		"ListExecutions":                   sfnOp(f.ListExecutions),
		"GetExecutionHistory":              sfnOp(f.GetExecutionHistory),
		"DescribeStateMachineForExecution": sfnOp(f.DescribeStateMachineForExecution),
		"RedriveExecution":                 sfnOp(f.RedriveExecution),
		"TestState":                        sfnOp(f.TestState),
		"PublishStateMachineVersion":       sfnOp(f.PublishStateMachineVersion),
		"ListStateMachineVersions":         sfnOp(f.ListStateMachineVersions),
		"DeleteStateMachineVersion":        sfnOp(f.DeleteStateMachineVersion),
		"CreateStateMachineAlias":          sfnOp(f.CreateStateMachineAlias),
		"DescribeStateMachineAlias":        sfnOp(f.DescribeStateMachineAlias),
		"UpdateStateMachineAlias":          sfnOp(f.UpdateStateMachineAlias),
		"DeleteStateMachineAlias":          sfnOp(f.DeleteStateMachineAlias),
		"ListStateMachineAliases":          sfnOp(f.ListStateMachineAliases),
		"CreateActivity":                   sfnOp(f.CreateActivity),
		"DescribeActivity":                 sfnOp(f.DescribeActivity),
		"DeleteActivity":                   sfnOp(f.DeleteActivity),
		"ListActivities":                   sfnOp(f.ListActivities),
		"GetActivityTask":                  sfnOp(f.GetActivityTask),
		"SendTaskSuccess":                  sfnOp(f.SendTaskSuccess),
		"SendTaskFailure":                  sfnOp(f.SendTaskFailure),
		"SendTaskHeartbeat":                sfnOp(f.SendTaskHeartbeat),
		"TagResource":                      sfnOp(f.TagResource),
		"UntagResource":                    sfnOp(f.UntagResource),
		"ListTagsForResource":              sfnOp(f.ListTagsForResource),
	}
}

// ImplementedSFNOperations lists the Step Functions operations barge serves.
func ImplementedSFNOperations() []string { return slices.Sorted(maps.Keys(sfnHandlers(nil))) }

// routeSFN serves Step Functions on POST / (X-Amz-Target AWSStepFunctions.*, signed for
// "states"); other POST / requests go to next.
func (s *Server) routeSFN(next http.HandlerFunc) http.HandlerFunc {
	if s.cfg.StepFunctions == nil {
		return next
	}
	handlers := sfnHandlers(s.cfg.StepFunctions)
	serve := s.authed(sfnw.EndpointPrefix, sfnBound, func(w http.ResponseWriter, r *http.Request) {
		s.serveSFN(w, r, handlers)
	})
	return byTarget(sfnw.TargetPrefix, serve, next)
}

// serveSFN answers one authenticated Step Functions request.
func (s *Server) serveSFN(w http.ResponseWriter, r *http.Request, handlers map[string]sfnCall) {
	req := fromContext(r.Context())
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), sfnw.TargetPrefix+".")
	if i := infoOf(r.Context()); i != nil {
		i.service, i.operation = "states", op
	}
	call, ok := handlers[op]
	if !ok {
		for _, known := range sfnw.Operations {
			if known.Name == op {
				writeError(w, awserr.New(http.StatusBadRequest, "UnsupportedOperation",
					"barge does not implement the Step Functions operation %s yet (see docs/compatibility.md)", op))
				return
			}
		}
		writeError(w, awserr.New(http.StatusBadRequest, "UnknownOperationException", "The operation %s is not valid for Step Functions", op))
		return
	}
	out, err := call(r.Context(), req.account, req.body)
	if err != nil {
		writeError(w, awserr.As(err))
		return
	}
	writeJSON(w, sfnContentType, http.StatusOK, out)
}
