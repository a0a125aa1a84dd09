package api_test

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/barge-run/barge/internal/api"
	"github.com/barge-run/barge/internal/exec/local"
	"github.com/barge-run/barge/internal/fn"
	"github.com/barge-run/barge/internal/lambda"
)

func newLambdaServer(t testing.TB) http.Handler {
	dir := t.TempDir()
	db, ls := openStores(t, dir)
	pool, err := fn.New(fn.Config{Executor: local.New(), Logs: ls})
	if err != nil {
		t.Fatal(err)
	}
	svc := lambda.New(lambda.Config{Region: "us-east-1", Store: db, Pool: pool, CodeDir: filepath.Join(dir, "functions")})
	svc.Start()
	t.Cleanup(func() { svc.Stop(); pool.Close(); db.Close(); ls.Close() })
	return api.New(api.Config{Lambda: svc, Logs: ls, Region: "us-east-1", Lookup: lookup})
}

// FuzzLambdaRequests sends arbitrary bodies (and query strings) to the Lambda operations: every
// answer must be well formed, and none a 5xx or a hang.
func FuzzLambdaRequests(f *testing.F) {
	// A real (tiny) package first, so that the seeds after it find function f.
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	w, _ := zw.Create("bootstrap")
	w.Write([]byte("#!/bin/sh\nexit 1\n"))
	zw.Close()
	pkg := base64.StdEncoding.EncodeToString(zbuf.Bytes())
	seeds := []struct{ method, path, body string }{
		{"POST", "/2015-03-31/functions", `{"FunctionName":"f","Runtime":"provided.al2023","Role":"arn:aws:iam::000000000000:role/r","Handler":"b","Code":{"ZipFile":"` + pkg + `"}}`},
		{"POST", "/2015-03-31/functions/f/versions", `{}`},
		{"POST", "/2015-03-31/functions", `{"FunctionName":"f","Runtime":"provided.al2023","Role":"arn:aws:iam::000000000000:role/r","Handler":"b","Code":{"ZipFile":"UEsDBA=="}}`},
		{"POST", "/2015-03-31/functions", `{"FunctionName":"f","PackageType":"Image","Role":"arn:aws:iam::000000000000:role/r","Code":{"ImageUri":"::bad::"}}`},
		{"POST", "/2015-03-31/functions", `{"FunctionName":"g","Runtime":"nodejs20.x","Role":"arn:aws:iam::000000000000:role/r","Handler":"i.h","Tags":{"aws:x":"y"},"DeadLetterConfig":{"TargetArn":"x"},"Code":{"ZipFile":""}}`},
		{"POST", "/2015-03-31/functions/f/invocations?Qualifier=live", `{"a":1}`},
		{"PUT", "/2017-10-31/functions/f/concurrency", `{"ReservedConcurrentExecutions":-1}`},
		{"POST", "/2015-03-31/functions/f/aliases", `{"Name":"a","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"2":7}}}`},
		{"PUT", "/2019-09-30/functions/f/provisioned-concurrency?Qualifier=1", `{"ProvisionedConcurrentExecutions":0}`},
		{"GET", "/2019-09-30/functions/f/provisioned-concurrency?List=ALL", ``},
		{"POST", "/2021-10-31/functions/f/url", `{"AuthType":"WHAT","Cors":{"AllowOrigins":["*"]}}`},
		{"POST", "/2017-03-31/tags/arn:aws:lambda:us-east-1:000000000000:function:f", `{"Tags":{"":"x"}}`},
		{"PUT", "/2015-03-31/functions/f/code", `{"ImageUri":"a","ZipFile":"AA=="}`},
		{"PUT", "/2015-03-31/functions/f/configuration", `{"MemorySize":1,"DeadLetterConfig":{"TargetArn":""}}`},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, []byte(s.body))
	}
	h := newLambdaServer(f)
	f.Fuzz(func(t *testing.T, method, path string, body []byte) {
		if !strings.HasPrefix(path, "/20") || strings.ContainsAny(path, " \r\n#") || len(path) > 300 {
			return
		}
		if _, err := url.ParseRequestURI(path); err != nil {
			return // not a request a client could send
		}
		switch method {
		case "GET", "POST", "PUT", "DELETE":
		default:
			return
		}
		r := signedAs(t, "lambda", method, path, body, nil)
		w := httptest.NewRecorder()
		watchdog := time.AfterFunc(10*time.Second, func() {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			panic(fmt.Sprintf("%s %s %q: no answer after 10s\n%s", method, path, body, buf[:n]))
		})
		h.ServeHTTP(w, r)
		watchdog.Stop()
		if w.Code >= 500 {
			t.Fatalf("%s %s %q: HTTP %d %s", method, path, body, w.Code, w.Body.String())
		}
		if w.Code >= 400 && w.Header().Get("x-amzn-ErrorType") == "" {
			t.Fatalf("%s %s %q: error without x-amzn-ErrorType: %d %s", method, path, body, w.Code, w.Body.String())
		}
	})
}
