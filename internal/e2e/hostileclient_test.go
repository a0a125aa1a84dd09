package e2e_test

import (
	"bufio"
	"context"
	"fmt"
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

	"github.com/barge-run/barge/internal/bargetest"
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
	// Announced past the bound, with a valid key: 413 without reading it.
	status, body := signedRawAnnounced(t, b, "/v1/describejobqueues", 64<<20)
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(body, "RequestEntityTooLargeException") {
		t.Errorf("a 64 MB Batch body: %d %s", status, body)
	}
}

// signedRawAnnounced sends headers naming barge's own key (a signature is checked only once the
// body is read) and announcing a body of n bytes, and returns the answer to the headers alone.
func signedRawAnnounced(t *testing.T, b *bargetest.Barge, path string, n int64) (int, string) {
	t.Helper()
	addr := strings.TrimPrefix(b.Endpoint, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	now := time.Now().UTC()
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nX-Amz-Date: %s\r\n"+
		"Authorization: AWS4-HMAC-SHA256 Credential=%s/%s/us-east-1/batch/aws4_request, SignedHeaders=host;x-amz-date, Signature=%s\r\n"+
		"Content-Length: %d\r\n\r\n", path, addr, now.Format("20060102T150405Z"), b.Cred.AccessKeyID, now.Format("20060102"), strings.Repeat("0", 64), n)
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

// TestSlowHeadersCut: a client that sends its headers a line at a time and never ends them
// (slowloris) is cut off by the server's header timeout (10 s), not held forever.
func TestSlowHeadersCut(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, err := net.Dial("tcp", strings.TrimPrefix(b.Endpoint, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	fmt.Fprintf(c, "POST /v1/submitjob HTTP/1.1\r\nHost: barge\r\n")
	// Keep trickling a header line every second; the server must close the connection anyway.
	closed := make(chan struct{})
	go func() {
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(buf); err != nil {
				close(closed)
				return
			}
		}
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-closed:
			if d := time.Since(start); d < 9*time.Second || d > 20*time.Second {
				t.Errorf("cut after %v, want about the 10 s header timeout", d)
			}
			return
		case <-tick.C:
			if i > 30 {
				t.Fatal("a slowloris connection is still open after 30 s")
			}
			fmt.Fprintf(c, "X-Slow-%d: x\r\n", i)
		}
	}
}
