package api

import (
	"context"
	"net/http"
	"sort"
	"strings"

	"github.com/barge-run/barge/internal/awserr"
	"github.com/barge-run/barge/internal/awstypes"
)

// routeModel registers every operation of one service's model on the mux: implemented ones call
// their handler, the others answer notImplemented's error, so no model path falls through to a
// 404 page. Model paths carry literal query parts and greedy labels ({Key+}), which the mux
// pattern drops or spells its own way; operations that then collide keep the first registration.
func (s *Server) routeModel(service string, bound func(op string) boundFor, ops []awstypes.Operation, impl map[string]http.HandlerFunc, notImplemented func(op string) *awserr.Error) {
	// Some operations share a method and path and differ by a query literal in the model
	// ("…/provisioned-concurrency?List=ALL"): each path gets one handler that picks by it.
	type route struct {
		key, value string // the query literal; "" for the operation without one
		h          http.HandlerFunc
		bound      boundFor
	}
	routes := map[string][]route{}
	var order []string
	for _, op := range ops {
		path, query, _ := strings.Cut(op.RequestURI, "?")
		pattern := op.Method + " " + strings.ReplaceAll(path, "+}", "...}")
		h, ok := impl[op.Name]
		if !ok {
			e := notImplemented(op.Name)
			h = func(w http.ResponseWriter, r *http.Request) { writeError(w, e) }
		}
		h = named(service, op.Name, h)
		key, value, _ := strings.Cut(query, "=")
		if _, seen := routes[pattern]; !seen {
			order = append(order, pattern)
		}
		routes[pattern] = append(routes[pattern], route{key, value, h, bound(op.Name)})
	}
	for _, pattern := range order {
		rs := routes[pattern]
		h := rs[0].h
		if len(rs) > 1 {
			h = func(w http.ResponseWriter, r *http.Request) {
				var fallback http.HandlerFunc
				for _, rt := range rs {
					switch {
					case rt.key == "" && fallback == nil:
						fallback = rt.h
					case rt.key != "" && r.URL.Query().Get(rt.key) == rt.value:
						rt.h(w, r)
						return
					}
				}
				if fallback == nil {
					fallback = rs[0].h
				}
				fallback(w, r)
			}
		}
		bounds := make([]boundFor, len(rs))
		for i, rt := range rs {
			bounds[i] = rt.bound
		}
		handler := s.authed(service, largestBound(bounds), h)
		s.mux.HandleFunc(pattern, handler)
		// The same path with a trailing slash, which some clients send (Debian's AWS CLI v2:
		// "GET /2015-03-31/functions/"); the signature is over the path as sent.
		if !strings.HasSuffix(pattern, "/") && !strings.HasSuffix(pattern, "...}") {
			s.mux.HandleFunc(pattern+"/{$}", handler)
		}
	}
}

// restHandler adapts a service method to a restJson1 handler: body and location members in,
// JSON out with the operation's success status (unless the output sets one; 204 answers no
// body). badParam renders a malformed URI, query or header member in the service's error type.
func restHandler[In, Out any](fn func(context.Context, string, *In) (*Out, error), status int, badParam func(error) *awserr.Error) http.HandlerFunc {
	return restHandlerDecode(fn, status, badParam, func(body []byte, in *In) *awserr.Error { return decodeBody(body, in) })
}

// restHandlerDecode is restHandler with its own decoding of the body.
func restHandlerDecode[In, Out any](fn func(context.Context, string, *In) (*Out, error), status int, badParam func(error) *awserr.Error, decode func([]byte, *In) *awserr.Error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req := fromContext(r.Context())
		in := new(In)
		if e := decode(req.body, in); e != nil {
			writeError(w, e)
			return
		}
		out, ok := callLocated(w, r, req, in, fn, badParam)
		if !ok {
			return
		}
		code := writeLocation(w, out, status)
		if code == http.StatusNoContent {
			w.WriteHeader(code)
			return
		}
		writeJSON(w, "application/json", code, out)
	}
}

// callLocated binds the request's URI, query and header members into in and calls fn; on a
// failure it writes the error and reports false.
func callLocated[In, Out any](w http.ResponseWriter, r *http.Request, req *request, in *In, fn func(context.Context, string, *In) (*Out, error), badParam func(error) *awserr.Error) (*Out, bool) {
	if err := awstypes.BindLocation(in, r.PathValue, r.URL.Query(), r.Header); err != nil {
		writeError(w, badParam(err))
		return nil, false
	}
	out, err := fn(r.Context(), req.account, in)
	if err != nil {
		writeError(w, awserr.As(err))
		return nil, false
	}
	return out, true
}

// writeLocation sets the output's header members and returns its status code, status when the
// output sets none.
func writeLocation(w http.ResponseWriter, out any, status int) int {
	code, h := awstypes.LocationHeaders(out)
	for k, vs := range h {
		w.Header()[k] = vs
	}
	if code == 0 {
		code = status
	}
	return code
}

// names lists a handler table's operation names, sorted.
func names(handlers map[string]http.HandlerFunc) []string {
	out := make([]string, 0, len(handlers))
	for name := range handlers {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
