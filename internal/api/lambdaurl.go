package api

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/barge-run/barge/internal/account"
	"github.com/barge-run/barge/internal/awserr"
	lw "github.com/barge-run/barge/internal/awstypes/lambda"
	"github.com/barge-run/barge/internal/lambda"
	"github.com/barge-run/barge/internal/sigv4"
)

// urlBound is a function URL request's: a synchronous invocation's payload.
var urlBound = bodyBound{maxSyncInvoke, awserr.New(http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", "Request Entity Too Large")}

// lambdaURL serves function URLs (/lambda-url/<id>/<path>): the HTTP request becomes the event,
// the function's answer the response. AuthType NONE needs no signature; AWS_IAM needs one from the
// function's own account.
func (s *Server) lambdaURL(w http.ResponseWriter, r *http.Request) {
	message := func(status int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, `{"Message":"`+msg+`"}`)
	}
	id := r.PathValue("id")
	t, ok := s.cfg.Lambda.ResolveURL(r.Context(), id)
	if !ok {
		message(http.StatusNotFound, "Not Found")
		return
	}
	if r.Method == http.MethodOptions && t.Cors != nil && r.Header.Get("Access-Control-Request-Method") != "" {
		corsHeaders(w.Header(), t.Cors, r.Header.Get("Origin"), true)
		w.WriteHeader(http.StatusOK)
		return
	}
	// An AWS_IAM URL learns who is asking before it reads the body, as the API does.
	var pre *sigv4.Prechecked
	if t.IAM {
		var err error
		if pre, err = s.verifier.Precheck(r); err != nil {
			message(http.StatusForbidden, "Forbidden")
			return
		}
	}
	body, ok := s.readBody(w, r, urlBound)
	if !ok {
		return
	}
	caller := ""
	if t.IAM {
		r.Body = io.NopCloser(bytes.NewReader(body))
		res, err := s.verifier.VerifyBody(pre, r, body)
		if err != nil || res.Service != "lambda" || account.Scope(res.Credential.AccountID, res.Region, s.cfg.Region) != t.Account {
			message(http.StatusForbidden, "Forbidden")
			return
		}
		caller = res.Credential.AccountID
	}
	event := lambda.URLEvent(r, id, "/"+r.PathValue("path"), body, caller, time.Now())
	out, err := s.cfg.Lambda.Invoke(r.Context(), t.Account, &lw.InvocationRequest{FunctionName: t.Function, Qualifier: t.Qualifier, Payload: event})
	var ae *awserr.Error
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests:
		message(http.StatusTooManyRequests, "Rate Exceeded.")
		return
	case err != nil:
		message(http.StatusBadGateway, "Internal Server Error")
		return
	case out.FunctionError != "":
		message(http.StatusBadGateway, "Internal Server Error")
		return
	}
	status, h, respBody := lambda.URLResponse(out.Payload)
	for k, vs := range h {
		w.Header()[k] = vs
	}
	if t.Cors != nil {
		corsHeaders(w.Header(), t.Cors, r.Header.Get("Origin"), false)
	}
	w.WriteHeader(status)
	w.Write(respBody)
}

// corsHeaders adds the Access-Control-* headers a function URL's Cors config grants origin.
func corsHeaders(h http.Header, c *lw.Cors, origin string, preflight bool) {
	if origin == "" || !(slices.Contains(c.AllowOrigins, "*") || slices.Contains(c.AllowOrigins, origin)) {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if c.AllowCredentials != nil && *c.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if len(c.ExposeHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposeHeaders, ","))
	}
	if !preflight {
		return
	}
	if len(c.AllowMethods) > 0 {
		h.Set("Access-Control-Allow-Methods", strings.Join(c.AllowMethods, ","))
	}
	if len(c.AllowHeaders) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowHeaders, ","))
	}
	if c.MaxAge != nil {
		h.Set("Access-Control-Max-Age", strconv.Itoa(int(*c.MaxAge)))
	}
}
