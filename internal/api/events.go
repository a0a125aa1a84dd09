package api

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/barge-run/barge/internal/awserr"
	ew "github.com/barge-run/barge/internal/awstypes/events"
	"github.com/barge-run/barge/internal/events"
)

const eventsContentType = "application/x-amz-json-1.1"

// eventsCall is one EventBridge operation on a JSON request body.
type eventsCall func(ctx context.Context, scope string, body []byte) (any, error)

func eventsOp[In, Out any](fn func(context.Context, string, *In) (*Out, error)) eventsCall {
	return func(ctx context.Context, scope string, body []byte) (any, error) {
		in := new(In)
		if e := decodeBody(body, in); e != nil {
			return nil, e
		}
		return fn(ctx, scope, in)
	}
}

// eventsHandlers are the implemented EventBridge operations, by model name.
func eventsHandlers(e *events.Service) map[string]eventsCall {
	return map[string]eventsCall{
		"PutRule":               eventsOp(e.PutRule),
		"DescribeRule":          eventsOp(e.DescribeRule),
		"DeleteRule":            eventsOp(e.DeleteRule),
		"EnableRule":            eventsOp(e.EnableRule),
		"DisableRule":           eventsOp(e.DisableRule),
		"ListRules":             eventsOp(e.ListRules),
		"PutTargets":            eventsOp(e.PutTargets),
		"RemoveTargets":         eventsOp(e.RemoveTargets),
		"ListTargetsByRule":     eventsOp(e.ListTargetsByRule),
		"ListRuleNamesByTarget": eventsOp(e.ListRuleNamesByTarget),
		"TagResource":           eventsOp(e.TagResource),
		"UntagResource":         eventsOp(e.UntagResource),
		"ListTagsForResource":   eventsOp(e.ListTagsForResource),
		"PutEvents":             eventsOp(e.PutEvents),
	}
}

// ImplementedEventsOperations lists the EventBridge operations barge serves.
func ImplementedEventsOperations() []string { return slices.Sorted(maps.Keys(eventsHandlers(nil))) }

// routeEvents serves EventBridge on POST / (X-Amz-Target AWSEvents.*, signing name "events");
// other POST / requests go to next.
func (s *Server) routeEvents(next http.HandlerFunc) http.HandlerFunc {
	if s.cfg.Events == nil {
		return next
	}
	ops := eventsHandlers(s.cfg.Events)
	serve := s.authed("events", func(*http.Request) bodyBound { return logsBound(nil) }, func(w http.ResponseWriter, r *http.Request) {
		req := fromContext(r.Context())
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), ew.TargetPrefix+".")
		if i := infoOf(r.Context()); i != nil {
			i.service, i.operation = "events", op
		}
		call, ok := ops[op]
		if !ok {
			writeError(w, awserr.New(http.StatusBadRequest, "UnknownOperationException", "barge does not implement the EventBridge operation %s yet (see docs/compatibility.md)", op))
			return
		}
		out, err := call(r.Context(), req.account, req.body)
		if err != nil {
			writeError(w, awserr.As(err))
			return
		}
		writeJSON(w, eventsContentType, http.StatusOK, out)
	})
	return byTarget(ew.TargetPrefix, serve, next)
}

// byTarget sends POST / requests whose X-Amz-Target names an operation of the service with
// prefix to serve, and the others to next: the JSON services share that path.
func byTarget(prefix string, serve, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("X-Amz-Target"), prefix+".") {
			serve(w, r)
			return
		}
		next(w, r)
	}
}
