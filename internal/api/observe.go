package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// reqInfo is what the edge learns of a request as it is served — which operation, for which
// account — for its log line and its metrics.
type reqInfo struct {
	service, operation, account string
}

type infoKey struct{}

func infoOf(ctx context.Context) *reqInfo {
	i, _ := ctx.Value(infoKey{}).(*reqInfo)
	return i
}

// named records the operation a handler serves.
func named(service, operation string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if i := infoOf(r.Context()); i != nil {
			i.service, i.operation = service, operation
		}
		h(w, r)
	}
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush passes flushes on (StartLiveTail streams its events).
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe logs a served request (at debug level: one line per request is the operator's choice,
// --log-level debug) and counts it in the metrics.
func (s *Server) observe(r *http.Request, id string, info *reqInfo, status int, took time.Duration) {
	service, op := info.service, info.operation
	if service == "" {
		// Requests no operation claimed: never their path as a label, which a client could
		// make unbounded.
		service, op = "other", "other"
		if p := r.URL.Path; p == "/metrics" || p == "/healthz" || p == "/health" {
			op = p
		}
	}
	if status == 0 {
		status = http.StatusOK
	}
	s.cfg.Metrics.APIRequest(service, op, status, took)
	if s.log.Enabled(r.Context(), slog.LevelDebug) {
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "request", slog.String("id", id), slog.String("service", service),
			slog.String("operation", op), slog.String("account", info.account), slog.Int("status", status),
			slog.Duration("duration", took))
	}
}
