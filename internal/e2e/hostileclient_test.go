package e2e_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/barge-run/barge/internal/bargetest"
	"github.com/barge-run/barge/internal/server"
)

// TestAuthenticateFirst: 50 connections announce 70 MB Lambda bodies with a key barge does not
// know (or none) and send none of it; each is answered 403 at once — barge authenticates before
// it reads a byte of a body, so they hold no buffer — while an authenticated client is still
// answered. A body announced past the operation's bound is refused with 413 before it is read.
func TestAuthenticateFirst(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	addr := strings.TrimPrefix(b.Endpoint, "http://")
	const announce = 70 << 20
	header := func(auth string) string {
		return "POST /2015-03-31/functions HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\n" +
			auth + fmt.Sprintf("Content-Length: %d\r\n\r\n", announce)
	}
	unknownKey := "Authorization: AWS4-HMAC-SHA256 Credential=AKIAUNKNOWNKEY000000/" + time.Now().UTC().Format("20060102") +
		"/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("0", 64) + "\r\n" +
		"X-Amz-Date: " + time.Now().UTC().Format("20060102T150405Z") + "\r\n"
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range 50 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		auth := unknownKey
		if i%2 == 1 {
			auth = "" // no signature at all
		}
		if _, err := c.Write([]byte(header(auth))); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("connection %d: no answer without its body: %v", i, err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("connection %d: status %d, want 403", i, res.StatusCode)
		}
	}
	// An authenticated client is answered meanwhile.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := b.Batch().DescribeJobQueues(ctx, &batch.DescribeJobQueuesInput{}); err != nil {
		t.Fatalf("an authenticated client beside them: %v", err)
	}
	// Profiling is never on the API's listener (only on --pprof's own).
	if res, err := http.Get(b.Endpoint + "/debug/pprof/"); err != nil || res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /debug/pprof/ on the API: %v %v", res, err)
	} else {
		res.Body.Close()
	}
}

// TestBodyBounds: each operation's body is bounded as AWS bounds it, and a body announced past
// its bound is refused with 413, in the service's own error, before a byte of it is read.
func TestBodyBounds(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	for _, tc := range []struct {
		name, service, path, header string
		size                        int64
		code                        string
	}{
		{"batch", "batch", "/v1/submitjob", "", 5 << 20, "ClientException"},
		{"logs", "logs", "/", "X-Amz-Target: Logs_20140328.PutLogEvents\r\n", 5 << 20, "InvalidParameterException"},
		{"sync invoke", "lambda", "/2015-03-31/functions/f/invocations", "", 6<<20 + 1, "RequestTooLargeException"},
		{"event invoke", "lambda", "/2015-03-31/functions/f/invocations", "X-Amz-Invocation-Type: Event\r\n", 256<<10 + 1, "RequestTooLargeException"},
		{"create function", "lambda", "/2015-03-31/functions", "", 70167212, "RequestEntityTooLargeException"},
		{"update code", "lambda", "/2015-03-31/functions/f/code", "", 70167212, "RequestEntityTooLargeException"},
		{"other lambda", "lambda", "/2015-03-31/functions/f/configuration", "", 5 << 20, "RequestEntityTooLargeException"},
	} {
		method := "POST"
		if strings.HasSuffix(tc.path, "/code") || strings.HasSuffix(tc.path, "/configuration") {
			method = "PUT"
		}
		status, body := signedRawAnnounced(t, b, method, tc.path, tc.service, tc.header, tc.size)
		if status != http.StatusRequestEntityTooLarge || !strings.Contains(body, tc.code) {
			t.Errorf("%s: %d bytes announced: %d %s", tc.name, tc.size, status, body)
		}
	}
	// Sent rather than announced (the SDK's own request), past the sync bound.
	ctx := context.Background()
	_, err := lambda.NewFromConfig(b.Config()).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("f"), Payload: []byte(`"` + strings.Repeat("x", 6<<20) + `"`)})
	var tooLarge *ltypes.RequestTooLargeException
	if !errors.As(err, &tooLarge) {
		t.Errorf("a 6 MB sync payload: %v", err)
	}
}

// TestOversizedBodiesBounded: 50 connections with a valid key each announce a 60 MB function
// package and send a little of it; the bytes in flight stay within --max-inflight-bytes (the
// rest are turned away with 503 and Retry-After), the server's memory stays bounded, and an
// authenticated client is answered within a second meanwhile.
func TestOversizedBodiesBounded(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	addr := strings.TrimPrefix(b.Endpoint, "http://")
	_, before := b.MemoryKiB()
	type answer struct {
		status int
		retry  string
	}
	answers := make(chan answer, 50)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 50 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		writeSignedHeaders(c, b, "POST", "/2015-03-31/functions", "lambda", "", 60<<20)
		c.Write(make([]byte, 1<<20))
		go func() {
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				return // still reading its body: the connection stays open until the test ends
			}
			res.Body.Close()
			answers <- answer{res.StatusCode, res.Header.Get("Retry-After")}
		}()
	}
	// Those past the bound are answered at once; those within it wait for bodies never sent.
	admitted := 50
	for range 50 - int(server.DefaultLimits.MaxInflightBytes/(60<<20)) {
		select {
		case a := <-answers:
			if a.status != http.StatusServiceUnavailable || a.retry == "" {
				t.Errorf("an oversized body past the in-flight bound: %d, Retry-After %q", a.status, a.retry)
			}
			admitted--
		case <-time.After(30 * time.Second):
			t.Fatalf("only %d connections were turned away", 50-admitted)
		}
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := b.Batch().DescribeJobQueues(ctx, &batch.DescribeJobQueuesInput{}); err != nil {
		t.Fatalf("an authenticated client beside them: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("an authenticated client was answered after %v", d)
	}
	rss, peak := b.MemoryKiB()
	t.Logf("%d connections admitted; server memory %d KiB before, %d KiB now, peak %d KiB", admitted, before, rss, peak)
	if peak > before+100<<10 {
		t.Errorf("server memory peaked at %d KiB (from %d KiB): more than the in-flight bound", peak, before)
	}
}

// signedRawAnnounced sends headers naming barge's own key (a signature is checked only once the
// body is read) and announcing a body of n bytes, and returns the answer to the headers alone.
func signedRawAnnounced(t *testing.T, b *bargetest.Barge, method, path, service, extra string, n int64) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(b.Endpoint, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	writeSignedHeaders(c, b, method, path, service, extra, n)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer without the body: %v", err)
	}
	defer res.Body.Close()
	var sb strings.Builder
	bufio.NewReader(res.Body).WriteTo(&sb)
	return res.StatusCode, sb.String()
}

// writeSignedHeaders writes a request's headers with a valid key for service (the signature
// itself is checked only once the body is read) and a Content-Length of n.
func writeSignedHeaders(c net.Conn, b *bargetest.Barge, method, path, service, extra string, n int64) {
	now := time.Now().UTC()
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nX-Amz-Date: %s\r\n%s"+
		"Authorization: AWS4-HMAC-SHA256 Credential=%s/%s/us-east-1/%s/aws4_request, SignedHeaders=host;x-amz-date, Signature=%s\r\n"+
		"Content-Length: %d\r\n\r\n", method, path, strings.TrimPrefix(b.Endpoint, "http://"), now.Format("20060102T150405Z"), extra,
		b.Cred.AccessKeyID, now.Format("20060102"), service, strings.Repeat("0", 64), n)
}

// TestLogLimit: a job printing without end is stored up to --log-limit, then one event says
// the log was cut; the job itself runs on to success.
func TestLogLimit(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t, bargetest.WithArgs("--log-limit", "4KiB"))
	c := b.Batch()
	register(t, c, "chatty", &types.ContainerProperties{Command: []string{"sh", "-c", "yes line-of-output | head -n 100000; echo finished"}})
	id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("chatty"), JobDefinition: aws.String("chatty")})
	j := bargetest.WaitJob(t, c, id, jobWait, terminal)
	if j.Status != types.JobStatusSucceeded {
		t.Fatalf("the job: %s %q", j.Status, aws.ToString(j.StatusReason))
	}
	lines := logLines(t, b.Logs(), aws.ToString(j.Container.LogStreamName))
	if len(lines) < 10 || len(lines) > 200 || !strings.Contains(lines[len(lines)-1], "reached its limit of 4096 bytes") {
		t.Fatalf("%d lines stored, ending %q", len(lines), lines[len(lines)-1])
	}
}

// TestBackupAndDamagedStore: `barge backup` copies a running server's data into a directory a
// new server starts from with the same jobs and output; a server refuses a damaged store at
// start, saying what to do.
func TestBackupAndDamagedStore(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c := b.Batch()
	register(t, c, "kept", &types.ContainerProperties{Command: []string{"echo", "kept-output"}})
	id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("kept"), JobDefinition: aws.String("kept")})
	j := bargetest.WaitJob(t, c, id, jobWait, terminal)

	dest := filepath.Join(t.TempDir(), "copy")
	if out, err := exec.Command(bargetest.Binary(t), "backup", "--data-dir", b.DataDir, dest).CombinedOutput(); err != nil {
		t.Fatalf("barge backup of a running server: %v\n%s", err, out)
	}
	restored := bargetest.Start(t, bargetest.WithDataDir(dest))
	got := describe(t, restored.Batch(), id)
	if len(got) != 1 || got[0].Status != types.JobStatusSucceeded {
		t.Fatalf("the restored server's job: %+v", got)
	}
	if lines := logLines(t, restored.Logs(), aws.ToString(j.Container.LogStreamName)); len(lines) != 1 || lines[0] != "kept-output" {
		t.Fatalf("the restored server's log: %q", lines)
	}

	// A damaged store: the server refuses to start and says what to do.
	damaged := t.TempDir()
	if out, err := exec.Command(bargetest.Binary(t), "backup", "--data-dir", b.DataDir, filepath.Join(damaged, "d")).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	dbPath := filepath.Join(damaged, "d", "barge.db")
	f, err := os.OpenFile(dbPath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	f.WriteAt([]byte(strings.Repeat("\xde\xad\xbe\xef", 1024)), fi.Size()-4096)
	f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bargetest.Binary(t), "server", "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(damaged, "d")).CombinedOutput()
	if err == nil || ctx.Err() != nil || !strings.Contains(string(out), "damaged") || !strings.Contains(string(out), "barge backup") {
		t.Fatalf("a server on a damaged store (err %v):\n%s", err, out)
	}
}

// TestSlowClientsCut: with the listener's timeouts set by their flags, a client that trickles
// its headers (slowloris), one that trickles a body after valid headers, and an idle keep-alive
// connection are each closed once their timeout passes, not held forever.
func TestSlowClientsCut(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t, bargetest.WithArgs("--read-header-timeout", "2s", "--read-timeout", "4s", "--idle-timeout", "3s"))
	addr := strings.TrimPrefix(b.Endpoint, "http://")
	now := time.Now().UTC()
	signed := fmt.Sprintf("POST /v1/describejobqueues HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nX-Amz-Date: %s\r\n"+
		"Authorization: AWS4-HMAC-SHA256 Credential=%s/%s/us-east-1/batch/aws4_request, SignedHeaders=host;x-amz-date, Signature=%s\r\n",
		addr, now.Format("20060102T150405Z"), b.Cred.AccessKeyID, now.Format("20060102"), strings.Repeat("0", 64))
	for _, tc := range []struct {
		name    string
		first   string             // sent at once
		trickle func(i int) string // sent every half second ("" sends nothing)
		timeout time.Duration
	}{
		{"headers", "POST /v1/submitjob HTTP/1.1\r\nHost: barge\r\n", func(i int) string { return fmt.Sprintf("X-Slow-%d: x\r\n", i) }, 2 * time.Second},
		{"body", signed + "Content-Length: 1000000\r\n\r\n{", func(int) string { return " " }, 4 * time.Second},
		{"idle", "GET /healthz HTTP/1.1\r\nHost: barge\r\n\r\n", func(int) string { return "" }, 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			io.WriteString(c, tc.first)
			closed := make(chan struct{})
			go func() {
				io.Copy(io.Discard, c)
				close(closed)
			}()
			tick := time.NewTicker(500 * time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-closed:
					if d := time.Since(start); d < tc.timeout-500*time.Millisecond {
						t.Errorf("cut after %v, before its %v timeout", d, tc.timeout)
					}
					return
				case <-tick.C:
					if time.Since(start) > tc.timeout+30*time.Second {
						t.Fatalf("still open %v past its %v timeout", time.Since(start), tc.timeout)
					}
					io.WriteString(c, tc.trickle(i))
				}
			}
		})
	}
}
