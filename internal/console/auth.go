package console

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

const (
	// TokenTTL is how long a login token printed by `barge console` may be used (once).
	TokenTTL = 2 * time.Minute
	// SessionTTL is how long a browser stays logged in.
	SessionTTL = 12 * time.Hour
	// CookieName is the session cookie's name.
	CookieName = "barge_console"
)

// grant is what a token or session stands for: an account (scope key) until a time.
type grant struct {
	account string
	expires time.Time
}

// auth holds the one-time login tokens and the sessions, in memory.
type auth struct {
	now      func() time.Time
	mu       sync.Mutex
	tokens   map[string]grant
	sessions map[string]grant
}

func newAuth(now func() time.Time) *auth {
	return &auth{now: now, tokens: map[string]grant{}, sessions: map[string]grant{}}
}

// randomID is 32 random bytes in hex.
func randomID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// issue makes a login token for account.
func (a *auth) issue(account string) (string, error) {
	if account == "" {
		return "", fmt.Errorf("no account")
	}
	t, err := randomID()
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.expire()
	a.tokens[t] = grant{account, a.now().Add(TokenTTL)}
	return t, nil
}

// exchange spends a token (whether or not it is still valid) and opens a session for its
// account: the session id, or false.
func (a *auth) exchange(token string) (string, bool) {
	id, err := randomID()
	if err != nil {
		return "", false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	g, ok := a.tokens[token]
	delete(a.tokens, token)
	if !ok || !a.now().Before(g.expires) {
		return "", false
	}
	a.sessions[id] = grant{g.account, a.now().Add(SessionTTL)}
	return id, true
}

// account is the account of the request's session, or "".
func (a *auth) account(r *http.Request) string {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return ""
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	g, ok := a.sessions[c.Value]
	if !ok || !a.now().Before(g.expires) {
		delete(a.sessions, c.Value)
		return ""
	}
	return g.account
}

// expire forgets expired tokens and sessions; a.mu is held.
func (a *auth) expire() {
	now := a.now()
	for k, g := range a.tokens {
		if !now.Before(g.expires) {
			delete(a.tokens, k)
		}
	}
	for k, g := range a.sessions {
		if !now.Before(g.expires) {
			delete(a.sessions, k)
		}
	}
}

// safeNext is where a login goes on to: a console page, never another site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/console/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/console/jobs"
	}
	return next
}

// login serves GET /console/login?token=…&next=…: the token for a session cookie, then the page.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	id, ok := c.auth.exchange(r.URL.Query().Get("token"))
	if !ok {
		c.loggedOut(w, "This login link is not valid: it was used already, or it is older than 2 minutes.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: id, Path: "/console/", MaxAge: int(SessionTTL / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
}

// loggedOut answers 401 with a page that says how to log in, and no data.
func (c *Console) loggedOut(w http.ResponseWriter, why string) {
	c.render(w, http.StatusUnauthorized, "login.html", map[string]any{"Title": "Log in", "Why": why})
}
