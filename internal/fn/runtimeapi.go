package fn

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Runtime API paths, as served by AWS Lambda and its runtime interface emulator.
const (
	runtimeAPIPrefix = "/2018-06-01/runtime/"
	pathNext         = runtimeAPIPrefix + "invocation/next"
	pathInitError    = runtimeAPIPrefix + "init/error"
)

// maxResponseBytes is Lambda's limit on a synchronous response payload (6 MB).
const maxResponseBytes = 6 * 1024 * 1024

// Runtime API headers.
const (
	hdrRequestID   = "Lambda-Runtime-Aws-Request-Id"
	hdrDeadline    = "Lambda-Runtime-Deadline-Ms"
	hdrFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	hdrTraceID     = "Lambda-Runtime-Trace-Id"
	hdrErrorType   = "Lambda-Runtime-Function-Error-Type"
)

// invocation is one event handed to a runtime.
type invocation struct {
	requestID string
	deadline  time.Time
	arn       string
	traceID   string
	payload   []byte
	// done receives the runtime's answer; buffered so the handler never blocks on it.
	done chan outcome
}

// outcome is the runtime's answer to an invocation.
type outcome struct {
	payload   []byte
	errorType string // set for /error
	isError   bool
	// polled is closed when the runtime next asks for an event (it never is if the runtime
	// exits instead, as Node's does after an unhandled rejection).
	polled chan struct{}
}

// initFailure is what a runtime reported on /runtime/init/error.
type initFailure struct {
	errorType string
	payload   []byte
}

// RuntimeAPI serves the Lambda Runtime API for one function instance. The pool gives every
// instance its own listener — inside the instance's network namespace at 127.0.0.1:9001, or on a
// free loopback port without one (AWS_LAMBDA_RUNTIME_API must be host:port with no
// path, so an instance is identified by the port it connects to).
//
// The zero value is not usable; the pool builds it with newRuntimeAPI.
type RuntimeAPI struct {
	// queue holds the next event until the runtime's /next takes it.
	queue chan *invocation
	// ready is closed by the first /next: the runtime finished initialising.
	ready     chan struct{}
	readyOnce sync.Once
	// initErr receives a /runtime/init/error report.
	initErr chan initFailure
	// closed is closed when the instance is going away; pending /next calls return.
	closed    chan struct{}
	closeOnce sync.Once

	mu      sync.Mutex
	current *invocation   // handed out by /next, not yet answered
	polled  chan struct{} // the last answer's outcome.polled, until the next /next
}

func newRuntimeAPI() *RuntimeAPI {
	return &RuntimeAPI{
		queue:   make(chan *invocation, 1),
		ready:   make(chan struct{}),
		initErr: make(chan initFailure, 1),
		closed:  make(chan struct{}),
	}
}

func (a *RuntimeAPI) close() { a.closeOnce.Do(func() { close(a.closed) }) }

// ServeHTTP implements http.Handler.
func (a *RuntimeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == pathNext:
		if r.Method != http.MethodGet {
			methodNotAllowed(w)
			return
		}
		a.next(w, r)
	case p == pathInitError:
		if r.Method != http.MethodPost {
			methodNotAllowed(w)
			return
		}
		a.initError(w, r)
	case strings.HasPrefix(p, runtimeAPIPrefix+"invocation/"):
		rest := strings.TrimPrefix(p, runtimeAPIPrefix+"invocation/")
		id, verb, ok := strings.Cut(rest, "/")
		if !ok || id == "" || (verb != "response" && verb != "error") {
			notFound(w)
			return
		}
		if r.Method != http.MethodPost {
			methodNotAllowed(w)
			return
		}
		a.answer(w, r, id, verb == "error")
	default:
		notFound(w)
	}
}

// next long-polls for the next event.
func (a *RuntimeAPI) next(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	busy := a.current != nil
	if !busy && a.polled != nil {
		close(a.polled)
		a.polled = nil
	}
	a.mu.Unlock()
	if busy {
		// The runtime asked for another event without answering the one it holds.
		renderError(w, http.StatusForbidden, "Runtime.InvalidStateTransition",
			"State transition from RuntimeInvocationResponse to RuntimeNext failed: the current invocation has not been answered")
		return
	}
	a.readyOnce.Do(func() { close(a.ready) })
	var inv *invocation
	select {
	case inv = <-a.queue:
	case <-a.closed:
		// The instance is being stopped; the process is about to be killed.
		return
	case <-r.Context().Done():
		return
	}
	a.mu.Lock()
	a.current = inv
	a.mu.Unlock()
	h := w.Header()
	h.Set(hdrRequestID, inv.requestID)
	h.Set(hdrDeadline, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set(hdrFunctionARN, inv.arn)
	h.Set(hdrTraceID, inv.traceID)
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(inv.payload)))
	w.WriteHeader(http.StatusOK)
	w.Write(inv.payload)
}

// answer handles .../invocation/{id}/response and .../invocation/{id}/error.
func (a *RuntimeAPI) answer(w http.ResponseWriter, r *http.Request, id string, isError bool) {
	a.mu.Lock()
	inv := a.current
	switch {
	case inv == nil:
		a.mu.Unlock()
		renderError(w, http.StatusForbidden, "Runtime.InvalidStateTransition",
			"State transition from RuntimeReady to RuntimeResponseSent failed: no invocation is in progress")
		return
	case inv.requestID != id:
		a.mu.Unlock()
		renderError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	a.current = nil
	polled := make(chan struct{})
	a.polled = polled
	a.mu.Unlock()

	body, err := io.ReadAll(io.LimitReader(r.Body, maxResponseBytes+1))
	if err != nil {
		body = nil
	}
	switch {
	case !isError && len(body) > maxResponseBytes:
		msg := "Response payload size exceeded maximum allowed payload size (" + strconv.Itoa(maxResponseBytes) + " bytes)."
		inv.done <- outcome{isError: true, errorType: "Function.ResponseSizeTooLarge",
			payload: errorJSON(msg, "Function.ResponseSizeTooLarge"), polled: polled}
		renderError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", msg)
		return
	case isError:
		et := r.Header.Get(hdrErrorType)
		if len(body) > maxResponseBytes || !json.Valid(body) {
			if et == "" {
				et = "Runtime.Unknown"
			}
			body = errorJSON("Invalid error body", et)
		}
		inv.done <- outcome{isError: true, errorType: et, payload: body, polled: polled}
	default:
		inv.done <- outcome{payload: body, polled: polled}
	}
	renderAccepted(w)
}

// initError handles /runtime/init/error.
func (a *RuntimeAPI) initError(w http.ResponseWriter, r *http.Request) {
	select {
	case <-a.ready:
		renderError(w, http.StatusForbidden, "Runtime.InvalidStateTransition",
			"State transition from RuntimeReady to RuntimeInitError failed: the runtime already initialised")
		return
	default:
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxResponseBytes+1))
	et := r.Header.Get(hdrErrorType)
	if et == "" {
		et = "Runtime.Unknown"
	}
	if len(body) > maxResponseBytes || !json.Valid(body) {
		body = errorJSON("Invalid error body", et)
	}
	select {
	case a.initErr <- initFailure{errorType: et, payload: body}:
	default: // already reported once
	}
	renderAccepted(w)
}

func renderAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`+"\n")
}

func renderError(w http.ResponseWriter, code int, errType, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(errorJSON(msg, errType), '\n'))
}

func notFound(w http.ResponseWriter) {
	renderError(w, http.StatusNotFound, "NotFound", "Not found")
}

func methodNotAllowed(w http.ResponseWriter) {
	renderError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "Method not allowed")
}

// errorJSON is Lambda's error document: {"errorMessage":...,"errorType":...}.
func errorJSON(msg, errType string) []byte {
	b, _ := json.Marshal(struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}{msg, errType})
	return b
}
