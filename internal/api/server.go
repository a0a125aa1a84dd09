package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"golang.org/x/sync/semaphore"

	"github.com/barge-run/barge/internal/awserr"
	"github.com/barge-run/barge/internal/batch"
	"github.com/barge-run/barge/internal/esm"
	"github.com/barge-run/barge/internal/events"
	"github.com/barge-run/barge/internal/fn"
	"github.com/barge-run/barge/internal/lambda"
	"github.com/barge-run/barge/internal/logs"
	"github.com/barge-run/barge/internal/metrics"
	"github.com/barge-run/barge/internal/scheduler"
	"github.com/barge-run/barge/internal/sfn"
	"github.com/barge-run/barge/internal/sigv4"
	"github.com/barge-run/barge/internal/sqs"
)

// DefaultMaxInflightBytes bounds the request bodies read at once across all requests (Config).
const DefaultMaxInflightBytes = 256 << 20

// Config wires the edge to the services.
type Config struct {
	Batch  *batch.Service
	Lambda *lambda.Service
	Logs   *logs.Store
	// SQS serves Amazon SQS on POST / (by X-Amz-Target or a query-protocol form) and on queue
	// URLs; nil: not served.
	SQS    *sqs.Service
	Lookup func(accessKeyID string) (sigv4.Credential, bool)
	// Health is GET /health's answer (JSON, unauthenticated); nil: not served.
	Health func() Health
	Logger *slog.Logger
	Region string
	// Images imports image archives uploaded to ImagesPath into ImportDir first; nil: refused.
	Images    ImageImporter
	ImportDir string
	// Metrics receives every request's count and duration and is served at /metrics; nil: none.
	Metrics *metrics.Metrics
	// MaxInflightBytes bounds the request body bytes read at once across all requests; past it
	// requests get 503 with Retry-After (0: DefaultMaxInflightBytes).
	MaxInflightBytes int64
	// Console is the web console served under /console/, and the login tokens `barge console`
	// asks for at ConsoleTokenPath; nil: none.
	Console Console
	// StepFunctions serves AWS Step Functions on POST / (X-Amz-Target AWSStepFunctions.*);
	// nil: not served.
	StepFunctions *sfn.Service

	// ESM serves Lambda's event source mapping operations; nil: not served.
	ESM *esm.Service
	// Scheduler serves EventBridge Scheduler's REST paths (scheduler.go); nil: not served.
	Scheduler *scheduler.Service
	// Events serves EventBridge rules on POST / (X-Amz-Target AWSEvents.*, events.go); nil: not served.
	Events *events.Service
}

// Server is the HTTP handler for every AWS API barge serves.
type Server struct {
	cfg      Config
	verifier *sigv4.Verifier
	// inflight bounds the request body bytes being read at once, across all requests.
	inflight *semaphore.Weighted
	mux      *http.ServeMux
	log      *slog.Logger

	regionsMu sync.Mutex
	regions   map[string]bool // scope keys whose default compute environment and queue exist

	subs *subscriptions // log subscription filters' delivery; nil without Logs and Lambda

	insights insightsQueries // Logs Insights queries and their results

	sqs      map[string]sqsCall // SQS operations (sqs.go); nil without Config.SQS
	sqsServe http.HandlerFunc   // SQS's authenticated handler; nil without Config.SQS
}

// Health is what GET /health says of a server.
type Health struct {
	// Name is the server's name among those sharing its store.
	Name string `json:"name"`
	// Leader is true while this server runs the batch engine (the scheduler and the dispatch).
	Leader bool `json:"leader"`
	// Store is the kind of store: "sqlite" or "postgres".
	Store string `json:"store"`
}

// New builds the handler.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxInflightBytes <= 0 {
		cfg.MaxInflightBytes = DefaultMaxInflightBytes
	}
	s := &Server{cfg: cfg, verifier: &sigv4.Verifier{Lookup: cfg.Lookup}, mux: http.NewServeMux(), log: cfg.Logger,
		inflight: semaphore.NewWeighted(cfg.MaxInflightBytes)}
	if cfg.Logs != nil && cfg.Lambda != nil {
		s.subs = newSubscriptions(cfg.Lambda, cfg.Region, cfg.Logger.With("component", "subscriptions"))
		all, err := cfg.Logs.AllSubscriptions()
		if err != nil {
			cfg.Logger.Error("reading log subscription filters", "err", err)
		}
		for key, subs := range all {
			s.subs.set(key[0], key[1], subs)
		}
		cfg.Logs.SetAppendHook(s.subs)
	}
	s.routeBatch()
	s.routeLambda()
	s.routeScheduler()
	if cfg.Lambda != nil {
		s.mux.HandleFunc(lambda.URLPrefix+"{id}/{path...}", s.lambdaURL)
		s.mux.HandleFunc("GET "+lambda.CodePrefix+"{token}", serveCode)
	}
	// POST / is CloudWatch Logs' and SQS's: routeSQS takes SQS's requests (by X-Amz-Target
	// prefix or query-protocol form) and passes the rest on.
	// Step Functions' requests (by X-Amz-Target prefix) are taken first by routeSFN, and
	// EventBridge's (AWSEvents.*) before them by routeEvents.
	s.mux.HandleFunc("POST /{$}", s.routeEvents(s.routeSFN(s.routeSQS(s.authed("logs", logsBound, s.serveLogs)))))
	s.mux.HandleFunc("POST "+ImagesPath, s.importImage)
	if cfg.Console != nil {
		s.mux.HandleFunc("/console/", named("console", "Page", cfg.Console.ServeHTTP))
		s.mux.HandleFunc("POST "+ConsoleTokenPath, s.authed("barge", logsBound, s.consoleToken))
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	if cfg.Health != nil {
		// Unauthenticated, for load balancers and orchestrators: which server this is and whether
		// it runs the engine, never a tenant's data.
		s.mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(cfg.Health())
		})
	}
	if cfg.Metrics != nil {
		// Unauthenticated, as Prometheus scrapes: counts and timings, never a tenant's data.
		s.mux.Handle("GET /metrics", cfg.Metrics.Handler())
	}
	s.mux.HandleFunc("/", s.sqsQueuePaths(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, awserr.New(http.StatusNotFound, "UnknownOperationException",
			"barge serves no operation at %s %s (AWS Batch is under /v1/, Lambda under /2015-03-31/, CloudWatch Logs is POST / with X-Amz-Target)", r.Method, r.URL.Path))
	}))
	return s
}

// ServeHTTP implements http.Handler; no panic reaches a client as anything but a 500.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// One id per request: the answer's x-amzn-RequestId and, for Invoke, the invocation's own
	// request id, as on Lambda.
	id := uuid.NewString()
	w.Header().Set("x-amzn-RequestId", id)
	info := &reqInfo{}
	r = r.WithContext(context.WithValue(fn.WithRequestID(r.Context(), id), infoKey{}, info))
	sw := &statusWriter{ResponseWriter: w}
	begin := time.Now()
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			writeError(sw, awserr.Server("internal error"))
		}
		s.observe(r, id, info, sw.status, time.Since(begin))
	}()
	s.mux.ServeHTTP(sw, r)
}

type ctxKey struct{}

// request is what authentication learned, carried in the context.
type request struct {
	account string
	body    []byte
}

func fromContext(ctx context.Context) *request {
	r, _ := ctx.Value(ctxKey{}).(*request)
	return r
}

// authed verifies a request's signature (scoped to service) before reading its body within
// bound, and passes the account on.
func (s *Server) authed(service string, bound boundFor, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		scope, ok := s.authenticate(w, r, service, func(pre *sigv4.Prechecked) (sigv4.Result, error) {
			var read bool
			if body, read = s.readBody(w, r, bound(r)); !read {
				return sigv4.Result{}, errAnswered
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			return s.verifier.VerifyBody(pre, r, body)
		})
		if !ok {
			return
		}
		ctx := context.WithValue(r.Context(), ctxKey{}, &request{account: scope, body: body})
		next(w, r.WithContext(ctx))
	}
}

// errAnswered is a verify step's failure that has answered the request itself.
var errAnswered = errors.New("answered")

// authenticate finds who is asking: the key first (Precheck), so a client with no valid key
// never makes barge read — let alone buffer — a byte of its body; then verify, which reads what
// it needs and checks the signature; then the service the signature is scoped to and the
// caller's account and region. It returns the caller's scope key, or false once it has answered.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, service string, verify func(*sigv4.Prechecked) (sigv4.Result, error)) (string, bool) {
	pre, err := s.verifier.Precheck(r)
	if err != nil {
		writeSigError(w, err)
		return "", false
	}
	res, err := verify(pre)
	switch {
	case errors.Is(err, errAnswered):
		return "", false
	case err != nil:
		writeSigError(w, err)
		return "", false
	case res.Service != service:
		writeError(w, awserr.New(http.StatusForbidden, "InvalidSignatureException",
			"Credential should be scoped to correct service: '%s'. ", service))
		return "", false
	}
	scope, err := s.scopeOf(r.Context(), res)
	if err != nil {
		writeError(w, awserr.As(err))
		return "", false
	}
	if i := infoOf(r.Context()); i != nil {
		i.account = scope
	}
	return scope, true
}

// serveCode answers a GetFunction Code.Location link with the function's zip; the link is its own
// credential (signed by barge, valid for 10 minutes), as Lambda's presigned S3 URL is.
func serveCode(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if err := lambda.WriteCodePackage(&buf, r.PathValue("token")); err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, lambda.ErrCodeLink) {
			status = http.StatusForbidden
		}
		http.Error(w, err.Error(), status)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Write(buf.Bytes())
}

// writeSigError renders a signature failure as AWS does.
func writeSigError(w http.ResponseWriter, err error) {
	var se *sigv4.Error
	if errors.As(err, &se) {
		writeError(w, &awserr.Error{Code: se.Code, Message: se.Message, Status: se.Status})
		return
	}
	writeError(w, awserr.New(http.StatusForbidden, "InvalidSignatureException", "%v", err))
}

func writeJSON(w http.ResponseWriter, contentType string, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, awserr.Server("encoding response"))
		return
	}
	w.Header().Set("Content-Type", contentType)
	// Framed by its length, as AWS frames its answers (Go would chunk a body past its buffer).
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// writeError renders an AWS error: the code in x-amzn-ErrorType and in __type, which both the
// restJson1 and awsJson1_1 clients read.
func writeError(w http.ResponseWriter, e *awserr.Error) {
	body := map[string]string{"__type": e.Code, "message": e.Message}
	for k, v := range e.Fields {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	w.Header().Set("x-amzn-ErrorType", e.Code)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	w.Write(b)
}

// decodeBody unmarshals a JSON request body; an empty body is an empty object.
func decodeBody(body []byte, v any) *awserr.Error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return awserr.New(http.StatusBadRequest, "SerializationException", "%s: expected %s, got JSON %s", te.Field, te.Type, te.Value)
		}
		return awserr.New(http.StatusBadRequest, "SerializationException", "request body is not valid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}
