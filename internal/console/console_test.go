package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	wire "github.com/barge-run/barge/internal/awstypes/batch"
	"github.com/barge-run/barge/internal/logs"
)

// clock is a fake clock the tests move.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newConsole(t *testing.T) (*Console, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	c, err := New(Config{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return c, clk
}

func get(c *Console, path string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for _, k := range cookies {
		r.AddCookie(k)
	}
	w := httptest.NewRecorder()
	c.ServeHTTP(w, r)
	return w
}

// login exchanges a fresh token for account and returns the session cookie.
func login(t *testing.T, c *Console, account, next string) (*http.Cookie, *httptest.ResponseRecorder) {
	t.Helper()
	token, err := c.IssueToken(account)
	if err != nil {
		t.Fatal(err)
	}
	w := get(c, "/console/login?token="+token+"&next="+url.QueryEscape(next))
	for _, k := range w.Result().Cookies() {
		if k.Name == CookieName {
			return k, w
		}
	}
	return nil, w
}

func TestPagesRefuseWithoutSession(t *testing.T) {
	c, _ := newConsole(t)
	for _, p := range []string{"/console/", "/console/queues", "/console/jobs", "/console/jobs/abc", "/console/jobs/abc/graph", "/console/functions", "/console/nothing"} {
		w := get(c, p)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%s without a session: %d, want 401", p, w.Code)
		}
		if !strings.Contains(w.Body.String(), "barge console") {
			t.Errorf("%s: the page does not say to run barge console:\n%s", p, w.Body)
		}
		bogus := get(c, p, &http.Cookie{Name: CookieName, Value: "forged"})
		if bogus.Code != http.StatusUnauthorized {
			t.Errorf("%s with a forged session: %d, want 401", p, bogus.Code)
		}
	}
}

func TestLoginSetsSessionCookieAndRedirects(t *testing.T) {
	c, _ := newConsole(t)
	k, w := login(t, c, "111111111111", "/console/jobs/j-1")
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/jobs/j-1" {
		t.Fatalf("login: %d to %q, want 303 to /console/jobs/j-1", w.Code, w.Header().Get("Location"))
	}
	if k == nil || len(k.Value) != 64 || !k.HttpOnly || k.SameSite != http.SameSiteStrictMode || k.Path != "/console/" || k.MaxAge != 12*3600 {
		t.Fatalf("session cookie %+v: want 32 random bytes, HttpOnly, SameSite=Strict, Path=/console/, 12 h", k)
	}
	if got := c.auth.account(cookieRequest(k)); got != "111111111111" {
		t.Fatalf("session account %q", got)
	}
}

func cookieRequest(k *http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/console/jobs", nil)
	r.AddCookie(k)
	return r
}

func TestTokenIsOneUse(t *testing.T) {
	c, _ := newConsole(t)
	token, err := c.IssueToken("111111111111")
	if err != nil {
		t.Fatal(err)
	}
	if w := get(c, "/console/login?token="+token); w.Code != http.StatusSeeOther {
		t.Fatalf("first use: %d, want 303", w.Code)
	}
	w := get(c, "/console/login?token="+token)
	if w.Code != http.StatusUnauthorized || len(w.Result().Cookies()) != 0 {
		t.Fatalf("second use: %d with cookies %v, want 401 and none", w.Code, w.Result().Cookies())
	}
}

func TestTokenAndSessionExpire(t *testing.T) {
	c, clk := newConsole(t)
	token, _ := c.IssueToken("111111111111")
	clk.add(TokenTTL)
	if w := get(c, "/console/login?token="+token); w.Code != http.StatusUnauthorized {
		t.Fatalf("token after 2 minutes: %d, want 401", w.Code)
	}
	k, _ := login(t, c, "111111111111", "")
	clk.add(SessionTTL - time.Second)
	if c.auth.account(cookieRequest(k)) == "" {
		t.Fatal("session ended before 12 hours")
	}
	clk.add(time.Second)
	if w := get(c, "/console/functions", k); w.Code != http.StatusUnauthorized {
		t.Fatalf("session after 12 hours: %d, want 401", w.Code)
	}
}

func TestNextStaysOnTheConsole(t *testing.T) {
	for next, want := range map[string]string{"": "/console/jobs", "https://evil.example/": "/console/jobs",
		"//evil.example/console/": "/console/jobs", "/console/queues": "/console/queues", "/metrics": "/console/jobs"} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
	if _, err := (&auth{now: time.Now}).issue(""); err == nil {
		t.Error("a token for no account was issued")
	}
}

func TestFunctionsPageWithSession(t *testing.T) {
	c, _ := newConsole(t)
	k, _ := login(t, c, "111111111111", "")
	w := get(c, "/console/functions", k)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "no functions") {
		t.Fatalf("functions page: %d\n%s", w.Code, w.Body)
	}
	if w.Header().Get("Content-Security-Policy") == "" {
		t.Error("no Content-Security-Policy")
	}
}

func TestTemplatesRenderAndEscape(t *testing.T) {
	c, _ := newConsole(t)
	evil := "<script>alert(1)</script>"
	job := wire.JobDetail{JobId: "j-1", JobName: evil, Status: "RUNNING", CreatedAt: aws.Int64(1000), StartedAt: aws.Int64(2000),
		Attempts: []wire.AttemptDetail{{StartedAt: aws.Int64(1500), StoppedAt: aws.Int64(1800), StatusReason: "Essential container in task exited",
			Container: &wire.AttemptContainerDetail{ExitCode: aws.Int32(3), LogStreamName: "s/1"}}}}
	attempts, stream := attemptRows(job, "1")
	w := httptest.NewRecorder()
	c.render(w, http.StatusOK, "job.html", map[string]any{"Title": "Job", "Nav": true, "Account": "111111111111", "Job": job,
		"Attempts": attempts, "Stream": stream, "Refresh": true, "Array": bar(map[string]int{"SUCCEEDED": 3, "FAILED": 1}),
		"Log": []logs.Event{{Timestamp: 1600, Message: "hello " + evil}}})
	body := w.Body.String()
	for _, want := range []string{"hello &lt;script&gt;", "SUCCEEDED 3", "FAILED 1", "width:75.00%", "300ms", `http-equiv="refresh"`, "Essential container"} {
		if !strings.Contains(body, want) {
			t.Errorf("job page lacks %q", want)
		}
	}
	if strings.Contains(body, evil) {
		t.Error("user data is not escaped")
	}
	for _, p := range []string{"queues.html", "jobs.html", "graph.html", "functions.html", "login.html"} {
		w := httptest.NewRecorder()
		c.render(w, http.StatusOK, p, map[string]any{"Title": "T", "Root": &node{ID: "x", Found: true, Name: "root",
			Deps: []*node{{ID: "y", Cut: true}}}, "Jobs": []jobRow{{JobSummary: wire.JobSummary{JobId: "j-2", JobName: "n"}}}})
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "</html>") {
			t.Errorf("%s: %d\n%s", p, w.Code, w.Body)
		}
	}
}
