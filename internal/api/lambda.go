package api

import (
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/barge-run/barge/internal/awserr"
	"github.com/barge-run/barge/internal/awstypes"
	lw "github.com/barge-run/barge/internal/awstypes/lambda"
)

// maxLambdaBody bounds Lambda request bodies: CreateFunction carries a base64 zip of up to 50 MB.
const maxLambdaBody = 70 << 20

// lambdaHandlers are the implemented Lambda operations, by model name.
func (s *Server) lambdaHandlers() map[string]http.HandlerFunc {
	l := s.cfg.Lambda
	return map[string]http.HandlerFunc{
		"CreateFunction":                  lambdaJSON(l.CreateFunction, http.StatusCreated),
		"GetFunction":                     lambdaJSON(l.GetFunction, http.StatusOK),
		"GetFunctionConfiguration":        lambdaJSON(l.GetFunctionConfiguration, http.StatusOK),
		"ListFunctions":                   lambdaJSON(l.ListFunctions, http.StatusOK),
		"DeleteFunction":                  lambdaJSON(l.DeleteFunction, http.StatusNoContent),
		"Invoke":                          lambdaInvoke(l.Invoke),
		"UpdateFunctionCode":              lambdaJSON(l.UpdateFunctionCode, http.StatusOK),
		"UpdateFunctionConfiguration":     lambdaJSON(l.UpdateFunctionConfiguration, http.StatusOK),
		"PutFunctionConcurrency":          lambdaJSON(l.PutFunctionConcurrency, http.StatusOK),
		"GetFunctionConcurrency":          lambdaJSON(l.GetFunctionConcurrency, http.StatusOK),
		"DeleteFunctionConcurrency":       lambdaJSON(l.DeleteFunctionConcurrency, http.StatusNoContent),
		"PublishVersion":                  lambdaJSON(l.PublishVersion, http.StatusCreated),
		"ListVersionsByFunction":          lambdaJSON(l.ListVersionsByFunction, http.StatusOK),
		"CreateAlias":                     lambdaJSON(l.CreateAlias, http.StatusCreated),
		"GetAlias":                        lambdaJSON(l.GetAlias, http.StatusOK),
		"UpdateAlias":                     lambdaJSON(l.UpdateAlias, http.StatusOK),
		"DeleteAlias":                     lambdaJSON(l.DeleteAlias, http.StatusNoContent),
		"ListAliases":                     lambdaJSON(l.ListAliases, http.StatusOK),
		"PutFunctionEventInvokeConfig":    lambdaJSON(l.PutFunctionEventInvokeConfig, http.StatusOK),
		"GetFunctionEventInvokeConfig":    lambdaJSON(l.GetFunctionEventInvokeConfig, http.StatusOK),
		"DeleteFunctionEventInvokeConfig": lambdaJSON(l.DeleteFunctionEventInvokeConfig, http.StatusNoContent),
	}
}

// ImplementedLambdaOperations lists the Lambda operations barge serves.
func ImplementedLambdaOperations() []string {
	var s Server
	var out []string
	for name := range s.lambdaHandlers() {
		out = append(out, name)
	}
	return out
}

// routeLambda registers every operation of the Lambda model; the unimplemented ones answer a
// clear error. Model paths carry literal query parts and greedy labels, which the mux pattern
// drops or spells its own way; operations that then collide keep the first registration.
func (s *Server) routeLambda() {
	impl := map[string]http.HandlerFunc{}
	if s.cfg.Lambda != nil {
		impl = s.lambdaHandlers()
	}
	seen := map[string]bool{}
	for _, op := range lw.Operations {
		path, _, _ := strings.Cut(op.RequestURI, "?")
		path = strings.ReplaceAll(path, "+}", "...}")
		pattern := op.Method + " " + path
		if seen[pattern] {
			continue
		}
		seen[pattern] = true
		h, ok := impl[op.Name]
		if !ok {
			name := op.Name
			h = func(w http.ResponseWriter, r *http.Request) {
				e := awserr.New(http.StatusBadRequest, "InvalidParameterValueException", "barge does not implement the Lambda operation %s yet (see docs/compatibility.md)", name)
				e.Fields = map[string]string{"Type": "User"}
				writeError(w, e)
			}
		}
		s.mux.HandleFunc(pattern, s.authedLimit("lambda", maxLambdaBody, h))
	}
}

// lambdaJSON adapts a service method to a restJson1 handler with the model's success status.
func lambdaJSON[In, Out any](fn func(context.Context, string, *In) (*Out, error), status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req := fromContext(r.Context())
		in := new(In)
		if e := decodeBody(req.body, in); e != nil {
			writeError(w, e)
			return
		}
		if err := awstypes.BindLocation(in, r.PathValue, r.URL.Query(), r.Header); err != nil {
			writeError(w, awserr.New(http.StatusBadRequest, "InvalidParameterValueException", "%v", err))
			return
		}
		out, err := fn(r.Context(), req.account, in)
		if err != nil {
			writeError(w, awserr.As(err))
			return
		}
		code, h := awstypes.LocationHeaders(out)
		for k, vs := range h {
			w.Header()[k] = vs
		}
		if code == 0 {
			code = status
		}
		if code == http.StatusNoContent {
			w.WriteHeader(code)
			return
		}
		writeJSON(w, "application/json", code, out)
	}
}

// lambdaInvoke serves Invoke: the request body is the event, the response body the function's
// answer, metadata in headers.
func lambdaInvoke(fn func(context.Context, string, *lw.InvocationRequest) (*lw.InvocationResponse, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req := fromContext(r.Context())
		in := &lw.InvocationRequest{Payload: req.body}
		if err := awstypes.BindLocation(in, r.PathValue, r.URL.Query(), r.Header); err != nil {
			writeError(w, awserr.New(http.StatusBadRequest, "InvalidParameterValueException", "%v", err))
			return
		}
		out, err := fn(r.Context(), req.account, in)
		if err != nil {
			writeError(w, awserr.As(err))
			return
		}
		code, h := awstypes.LocationHeaders(out)
		for k, vs := range h {
			w.Header()[k] = vs
		}
		if code == 0 {
			code = http.StatusOK
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		io.Copy(w, strings.NewReader(string(out.Payload)))
	}
}
