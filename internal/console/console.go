package console

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/barge-run/barge/internal/batch"
	"github.com/barge-run/barge/internal/esm"
	"github.com/barge-run/barge/internal/lambda"
	"github.com/barge-run/barge/internal/logs"
	"github.com/barge-run/barge/internal/sfn"
	"github.com/barge-run/barge/internal/sqs"
)

//go:embed templates/*.html
var templateFS embed.FS

// Config is what the console reads its pages from.
type Config struct {
	Batch  *batch.Service
	Lambda *lambda.Service // nil: the functions page says there are none
	Logs   *logs.Store     // nil: job pages show no log
	SQS    *sqs.Service    // nil: the messages page lists no queues
	ESM    *esm.Service    // nil: the messages page lists no mappings
	Steps  *sfn.Service    // nil: the workflows page says Step Functions is not served
	// Metrics gives compute environments' vCPUs and functions' invocations and instances; nil:
	// those columns are empty.
	Metrics prometheus.Gatherer
	Logger  *slog.Logger
	// Now is the clock of tokens and sessions (tests set it); nil: time.Now.
	Now func() time.Time
}

// Console is the web console's http.Handler for the paths under /console/.
type Console struct {
	cfg  Config
	auth *auth
	tmpl map[string]*template.Template
	mux  *http.ServeMux
}

// pages are the templates rendered inside layout.html.
var pages = []string{"login.html", "queues.html", "jobs.html", "job.html", "graph.html", "functions.html",
	"messages.html", "workflows.html", "execution.html"}

// New builds the console; its templates are parsed here, so a broken one fails at start.
func New(cfg Config) (*Console, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Console{cfg: cfg, auth: newAuth(cfg.Now), tmpl: map[string]*template.Template{}, mux: http.NewServeMux()}
	for _, p := range pages {
		t, err := template.New(p).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+p)
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", p, err)
		}
		c.tmpl[p] = t
	}
	c.mux.HandleFunc("GET /console/login", c.login)
	c.mux.HandleFunc("GET /console/{$}", c.authed(c.queues))
	c.mux.HandleFunc("GET /console/queues", c.authed(c.queues))
	c.mux.HandleFunc("GET /console/jobs", c.authed(c.jobs))
	c.mux.HandleFunc("GET /console/jobs/{id}", c.authed(c.job))
	c.mux.HandleFunc("GET /console/jobs/{id}/graph", c.authed(c.graph))
	c.mux.HandleFunc("GET /console/functions", c.authed(c.functions))
	c.mux.HandleFunc("GET /console/messages", c.authed(c.messages))
	c.mux.HandleFunc("GET /console/workflows", c.authed(c.workflows))
	c.mux.HandleFunc("GET /console/execution", c.authed(c.execution))
	c.mux.HandleFunc("/console/", c.authed(func(w http.ResponseWriter, r *http.Request, _ string) {
		c.fail(w, http.StatusNotFound, fmt.Errorf("no console page at %s", r.URL.Path))
	}))
	return c, nil
}

// IssueToken makes a one-time login token for account, valid TokenTTL.
func (c *Console) IssueToken(account string) (string, error) {
	return c.auth.issue(account)
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}

// authed runs page with the session's account, or answers 401 with the login page.
func (c *Console) authed(page func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		account := c.auth.account(r)
		if account == "" {
			c.loggedOut(w, "You are not logged in, or your session ended (sessions last 12 hours and end when the server restarts).")
			return
		}
		page(w, r, account)
	}
}

// render executes page into a buffer first, so a failing template answers a clean 500.
func (c *Console) render(w http.ResponseWriter, status int, page string, data map[string]any) {
	var buf bytes.Buffer
	if err := c.tmpl[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		c.cfg.Logger.Error("console page", "page", page, "err", err)
		http.Error(w, "the console could not render this page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	buf.WriteTo(w)
}

// fail renders an error page (still logged in: the navigation stays).
func (c *Console) fail(w http.ResponseWriter, status int, err error) {
	c.render(w, status, "login.html", map[string]any{"Title": "Error", "Error": err.Error(), "Nav": true})
}

// ctx bounds the service calls of one page.
func pageContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 10*time.Second)
}
