package api

import (
	"net/http"

	"github.com/barge-run/barge/internal/awserr"
)

// ConsoleTokenPath is where `barge console` asks for a login token for the web console (a barge
// extension, SigV4-signed for the service "barge").
const ConsoleTokenPath = "/_barge/console/token"

// Console is the web console: its pages, and the one-time login tokens it hands out.
type Console interface {
	http.Handler
	// IssueToken makes a short-lived one-time token that logs a browser in as account (a scope key).
	IssueToken(account string) (string, error)
}

// consoleToken answers a signed POST to ConsoleTokenPath with a login token for the caller's
// account: {"token": "…"}.
func (s *Server) consoleToken(w http.ResponseWriter, r *http.Request) {
	if i := infoOf(r.Context()); i != nil {
		i.service, i.operation = "barge", "ConsoleToken"
	}
	token, err := s.cfg.Console.IssueToken(fromContext(r.Context()).account)
	if err != nil {
		writeError(w, awserr.Server("console token: %v", err))
		return
	}
	writeJSON(w, "application/json", http.StatusOK, map[string]string{"token": token})
}
