package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/barge-run/barge/internal/api"
	"github.com/barge-run/barge/internal/batch"
	"github.com/barge-run/barge/internal/exec/local"
	"github.com/barge-run/barge/internal/logs"
	"github.com/barge-run/barge/internal/sigv4"
	"github.com/barge-run/barge/internal/store/sqlite"
)

var cred = sigv4.Credential{AccessKeyID: "AKIAFUZZ", SecretAccessKey: "fuzzsecret", AccountID: "000000000000"}

// lookup knows the one fuzzing credential.
func lookup(k string) (sigv4.Credential, bool) { return cred, k == cred.AccessKeyID }

// openStores opens a fresh store and log store in dir.
func openStores(t testing.TB, dir string) (*sqlite.Store, *logs.Store) {
	db, err := sqlite.Open(filepath.Join(dir, "barge.db"))
	if err != nil {
		t.Fatal(err)
	}
	ls, err := logs.Open(filepath.Join(dir, "logs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return db, ls
}

func newServer(t testing.TB) http.Handler {
	dir := t.TempDir()
	db, ls := openStores(t, dir)
	svc, err := batch.New(batch.Config{Store: db, Executor: local.New(), Logs: ls, WorkDir: filepath.Join(dir, "work")})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := svc.EnsureDefaults(context.Background(), cred.AccountID); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Stop(); db.Close(); ls.Close() })
	return api.New(api.Config{Batch: svc, Logs: ls, Region: "us-east-1", Lookup: lookup})
}

// signed is a Batch request, or a Logs one when target is set.
func signed(t testing.TB, method, path, target string, body []byte) *http.Request {
	if target != "" {
		return signedAs(t, "logs", method, path, body, map[string]string{"X-Amz-Target": target})
	}
	return signedAs(t, "batch", method, path, body, nil)
}

// signedAs is a request SigV4-signed for service with the fuzzing credential.
func signedAs(t testing.TB, service, method, path string, body []byte, header map[string]string) *http.Request {
	r := httptest.NewRequest(method, "http://barge.test"+path, bytes.NewReader(body))
	for k, v := range header {
		r.Header.Set(k, v)
	}
	sum := sha256.Sum256(body)
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: cred.AccessKeyID, SecretAccessKey: cred.SecretAccessKey},
		r, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// FuzzBatchRequests sends arbitrary bodies to the Batch and Logs operations: the server must
// answer every one with a well-formed response and never a 5xx (bad input is the client's fault).
func FuzzBatchRequests(f *testing.F) {
	seeds := []struct {
		op, body string
	}{
		{"submitjob", `{"jobName":"j","jobQueue":"default","jobDefinition":"d"}`},
		{"registerjobdefinition", `{"jobDefinitionName":"d","type":"container","containerProperties":{"command":["true"],"resourceRequirements":[{"type":"VCPU","value":"0.5"},{"type":"MEMORY","value":"64"}]},"retryStrategy":{"attempts":2,"evaluateOnExit":[{"onExitCode":"1*","action":"retry"}]}}`},
		{"createcomputeenvironment", `{"computeEnvironmentName":"c","type":"MANAGED","computeResources":{"type":"EC2","maxvCpus":2}}`},
		{"createjobqueue", `{"jobQueueName":"q","priority":1,"computeEnvironmentOrder":[{"order":1,"computeEnvironment":"default"}]}`},
		{"listjobs", `{"jobQueue":"default","filters":[{"name":"JOB_NAME","values":["a*"]}],"nextToken":"zz"}`},
		{"describejobs", `{"jobs":["a","arn:aws:batch:us-east-1:000000000000:job/x"]}`},
		{"describejobdefinitions", `{"jobDefinitions":["d:1","arn:aws:batch:us-east-1:000000000000:job-definition/d"],"nextToken":"@@"}`},
		{"terminatejob", `{"jobId":"x","reason":"r"}`},
		{"logs:GetLogEvents", `{"logGroupName":"/aws/batch/job","logStreamName":"../../etc/passwd","nextToken":"f/1"}`},
		{"logs:DescribeLogStreams", `{"logGroupName":"/aws/batch/job","orderBy":"Nope"}`},
	}
	for _, s := range seeds {
		f.Add(s.op, []byte(s.body))
	}
	h := newServer(f)
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		var r *http.Request
		if target, ok := cutPrefix(op, "logs:"); ok {
			r = signed(t, "POST", "/", "Logs_20140328."+target, body)
		} else {
			if len(op) > 64 || !isPathSafe(op) {
				return
			}
			r = signed(t, "POST", "/v1/"+op, "", body)
		}
		w := httptest.NewRecorder()
		// A request that hangs is a bug too: dump every goroutine to show where.
		watchdog := time.AfterFunc(5*time.Second, func() {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			panic(fmt.Sprintf("%s %q: no answer after 5s\n%s", op, body, buf[:n]))
		})
		h.ServeHTTP(w, r)
		watchdog.Stop()
		if w.Code >= 500 {
			t.Fatalf("%s %q: HTTP %d %s", op, body, w.Code, w.Body.String())
		}
		if w.Code >= 400 && w.Header().Get("x-amzn-ErrorType") == "" {
			t.Fatalf("%s %q: error without x-amzn-ErrorType: %d %s", op, body, w.Code, w.Body.String())
		}
	})
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}

func isPathSafe(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z') {
			return false
		}
	}
	return s != ""
}
