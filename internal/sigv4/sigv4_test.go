package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var (
	testNow  = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	testCred = Credential{AccessKeyID: "AKIDBARGETEST", SecretAccessKey: "barge/Secret+Key0123456789", AccountID: "123456789012"}
	testAWS  = aws.Credentials{AccessKeyID: testCred.AccessKeyID, SecretAccessKey: testCred.SecretAccessKey}
)

func lookup(id string) (Credential, bool) {
	if id == testCred.AccessKeyID {
		return testCred, true
	}
	return Credential{}, false
}

func newVerifier() *Verifier {
	return &Verifier{Lookup: lookup, Now: func() time.Time { return testNow }}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// serverSide puts a client request on the wire and parses it back the way
// net/http's server does, returning the server's view of it and its body.
func serverSide(t testing.TB, req *http.Request) (*http.Request, []byte) {
	t.Helper()
	var wire bytes.Buffer
	if err := req.Write(&wire); err != nil {
		t.Fatalf("write request: %v", err)
	}
	sr, err := http.ReadRequest(bufio.NewReader(&wire))
	if err != nil {
		t.Fatalf("read request: %v", err)
	}
	body, err := io.ReadAll(sr.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return sr, body
}

func setBody(r *http.Request, body string) {
	r.Body = io.NopCloser(strings.NewReader(body))
	r.ContentLength = int64(len(body))
}

var signedHeadersRE = regexp.MustCompile(`SignedHeaders=[^,]*`)

func TestVerify(t *testing.T) {
	const jsonBody = `{"jobName":"a","jobQueue":"q","jobDefinition":"d"}`
	arnPath := "/2015-03-31/functions/" + strings.ReplaceAll("arn:aws:lambda:us-east-1:123456789012:function:hello", ":", "%3A") + "/invocations"
	if !strings.Contains(arnPath, "arn%3Aaws") {
		t.Fatalf("test setup: %s", arnPath)
	}
	weirdQuery := url.Values{
		"key with space": {"v 1"},
		"ünï":            {"çødé ☃"},
		"k=eq":           {"a=b"},
		"multi":          {"2", "1", "a/b", "a-b"},
		"empty":          {""},
		"plus":           {"1+1"},
	}.Encode()

	cases := []struct {
		name        string
		method, url string
		body        string
		header      map[string][]string // set before signing
		payloadHash string              // "" = sha256(body)
		creds       *aws.Credentials    // nil = testAWS
		region      string              // "" = us-east-1
		signedAt    time.Time           // zero = testNow - 1 minute
		unsigned    bool
		presign     bool
		expires     string // X-Amz-Expires for presign
		tamper      func(r *http.Request)
		wantCode    string
		wantMsg     string // substring
	}{
		{name: "POST JSON", method: "POST", url: "/v1/submitjob", body: jsonBody,
			header: map[string][]string{"Content-Type": {"application/json"}}},
		{name: "awsJson1.1 with X-Amz-Target", method: "POST", url: "/", body: `{"logGroupNamePrefix":"/aws/batch"}`,
			header: map[string][]string{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amz-Target": {"Logs_20140328.DescribeLogGroups"}}},
		{name: "GET query with spaces unicode and =", method: "GET", url: "/v1/describejobs?" + weirdQuery},
		{name: "GET query with %20 and bare key", method: "GET", url: "/list?a%20b=c%20d&flag&z=%2F&tilde=~x"},
		{name: "empty POST body", method: "POST", url: "/v1/listjobs", body: ""},
		{name: "GET no body", method: "GET", url: "/"},
		{name: "header with repeated spaces and repeated values", method: "POST", url: "/x", body: "{}",
			header: map[string][]string{"X-Barge-Note": {"  a   b    c  "}, "X-Barge-Multi": {"one", "  two   three "}}},
		{name: "path with ARN is double encoded", method: "POST", url: arnPath, body: `{"k":"v"}`},
		{name: "path with unicode and reserved chars", method: "GET", url: "/a%20b/%C3%BC/c%2Fd/e:f@g"},
		{name: "other region and service", method: "GET", url: "/", region: "eu-west-3"},
		{name: "UNSIGNED-PAYLOAD", method: "PUT", url: "/obj", body: "data", payloadHash: "UNSIGNED-PAYLOAD",
			header: map[string][]string{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}}},
		{name: "explicit content sha256", method: "PUT", url: "/obj", body: "data",
			header: map[string][]string{"X-Amz-Content-Sha256": {sha256Hex("data")}}},
		{name: "unsigned header added after signing", method: "GET", url: "/",
			tamper: func(r *http.Request) { r.Header.Set("X-Forwarded-For", "10.0.0.1") }},
		{name: "within skew (past)", method: "GET", url: "/", signedAt: testNow.Add(-14 * time.Minute)},
		{name: "within skew (future)", method: "GET", url: "/", signedAt: testNow.Add(14 * time.Minute)},

		// Tampering.
		{name: "tampered body", method: "POST", url: "/v1/submitjob", body: jsonBody,
			tamper:   func(r *http.Request) { setBody(r, strings.Replace(jsonBody, `"a"`, `"b"`, 1)) },
			wantCode: "InvalidSignatureException", wantMsg: "does not match the signature you provided"},
		{name: "tampered signed header", method: "POST", url: "/", body: "{}",
			header:   map[string][]string{"X-Amz-Target": {"Logs_20140328.DescribeLogGroups"}},
			tamper:   func(r *http.Request) { r.Header.Set("X-Amz-Target", "Logs_20140328.DeleteLogGroup") },
			wantCode: "InvalidSignatureException"},
		{name: "tampered host", method: "GET", url: "/",
			tamper:   func(r *http.Request) { r.Host = "evil.example" },
			wantCode: "InvalidSignatureException"},
		{name: "tampered query", method: "GET", url: "/v1/x?a=1",
			tamper:   func(r *http.Request) { r.URL.RawQuery = "a=2" },
			wantCode: "InvalidSignatureException"},
		{name: "tampered path", method: "GET", url: "/v1/x",
			tamper:   func(r *http.Request) { r.URL.Path = "/v1/y" },
			wantCode: "InvalidSignatureException"},
		{name: "tampered method", method: "GET", url: "/v1/x",
			tamper:   func(r *http.Request) { r.Method = "DELETE" },
			wantCode: "InvalidSignatureException"},
		{name: "body swapped with matching X-Amz-Content-Sha256 added", method: "POST", url: "/", body: "good",
			tamper: func(r *http.Request) {
				r.Header.Set("X-Amz-Content-Sha256", sha256Hex("good"))
				setBody(r, "evil")
			},
			wantCode: "XAmzContentSHA256Mismatch"},
		{name: "wrong secret", method: "GET", url: "/", creds: &aws.Credentials{AccessKeyID: testCred.AccessKeyID, SecretAccessKey: "nope"},
			wantCode: "InvalidSignatureException", wantMsg: "Check your AWS Secret Access Key"},
		{name: "unknown key", method: "GET", url: "/", creds: &aws.Credentials{AccessKeyID: "AKIDUNKNOWN", SecretAccessKey: "x"},
			wantCode: "UnrecognizedClientException", wantMsg: "The security token included in the request is invalid."},
		{name: "missing auth", method: "GET", url: "/", unsigned: true,
			wantCode: "MissingAuthenticationTokenException", wantMsg: "Missing Authentication Token"},
		{name: "skew past", method: "GET", url: "/", signedAt: testNow.Add(-16 * time.Minute),
			wantCode: "InvalidSignatureException",
			wantMsg:  "Signature expired: 20261123T114400Z is now earlier than 20261123T114500Z (20261123T120000Z - 15 min.)"},
		{name: "skew future", method: "GET", url: "/", signedAt: testNow.Add(16 * time.Minute),
			wantCode: "InvalidSignatureException",
			wantMsg:  "Signature not yet current: 20261123T121600Z is still later than 20261123T121500Z (20261123T120000Z + 15 min.)"},

		// Malformed.
		{name: "not SigV4", method: "GET", url: "/",
			tamper:   func(r *http.Request) { r.Header.Set("Authorization", "Basic dXNlcjpwYXNz") },
			wantCode: "IncompleteSignatureException", wantMsg: "Unsupported AWS 'algorithm': 'Basic'"},
		{name: "missing signature", method: "GET", url: "/",
			tamper: func(r *http.Request) {
				r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDBARGETEST/20261123/us-east-1/batch/aws4_request, SignedHeaders=host;x-amz-date")
			},
			wantCode: "IncompleteSignatureException", wantMsg: "Authorization header requires 'Signature' parameter."},
		{name: "missing date", method: "GET", url: "/",
			tamper:   func(r *http.Request) { r.Header.Del("X-Amz-Date") },
			wantCode: "IncompleteSignatureException", wantMsg: "requires existence of either a 'X-Amz-Date' or a 'Date' header"},
		{name: "bad date", method: "GET", url: "/",
			tamper:   func(r *http.Request) { r.Header.Set("X-Amz-Date", "2026-11-23T12:00:00Z") },
			wantCode: "IncompleteSignatureException", wantMsg: "Date must be in ISO-8601 'basic format'"},
		{name: "short credential", method: "GET", url: "/",
			tamper:   func(r *http.Request) { editAuth(r, "/us-east-1/batch/aws4_request", "/us-east-1/aws4_request") },
			wantCode: "IncompleteSignatureException", wantMsg: "Credential must have exactly 5 slash-delimited elements"},
		{name: "scope date mismatch", method: "GET", url: "/",
			tamper:   func(r *http.Request) { editAuth(r, "/20261123/", "/20261122/") },
			wantCode: "IncompleteSignatureException",
			wantMsg:  "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261122' != '20261123', from '20261123T115900Z'."},
		{name: "bad terminator", method: "GET", url: "/",
			tamper:   func(r *http.Request) { editAuth(r, "/aws4_request", "/aws4_reqest") },
			wantCode: "IncompleteSignatureException", wantMsg: "valid terminator"},
		{name: "empty region", method: "GET", url: "/",
			tamper:   func(r *http.Request) { editAuth(r, "/us-east-1/", "//") },
			wantCode: "IncompleteSignatureException", wantMsg: "valid region"},
		{name: "host not signed", method: "GET", url: "/",
			tamper: func(r *http.Request) {
				r.Header.Set("Authorization", signedHeadersRE.ReplaceAllString(r.Header.Get("Authorization"), "SignedHeaders=x-amz-date"))
			},
			wantCode: "IncompleteSignatureException", wantMsg: "'Host' or ':authority' must be a 'SignedHeader'"},
		{name: "pair without equal sign", method: "GET", url: "/",
			tamper:   func(r *http.Request) { r.Header.Set("Authorization", r.Header.Get("Authorization")+", junk") },
			wantCode: "IncompleteSignatureException", wantMsg: "'junk' not a valid key=value pair"},

		// Presigned.
		{name: "presigned", method: "GET", url: "/v1/describejobs?jobs=1&x=a b", presign: true, expires: "300"},
		{name: "presigned without X-Amz-Expires", method: "GET", url: "/v1/x", presign: true},
		{name: "presigned POST with body", method: "POST", url: "/v1/submitjob", body: jsonBody, presign: true, expires: "60"},
		{name: "presigned expired", method: "GET", url: "/v1/x", presign: true, expires: "30",
			wantCode: "AccessDeniedException", wantMsg: "Request has expired"},
		{name: "presigned long-lived but not expired", method: "GET", url: "/v1/x", presign: true, expires: "86400",
			signedAt: testNow.Add(-23 * time.Hour)},
		{name: "presigned without expires beyond skew", method: "GET", url: "/v1/x", presign: true,
			signedAt: testNow.Add(-20 * time.Minute), wantCode: "InvalidSignatureException", wantMsg: "Signature expired"},
		{name: "presigned tampered query", method: "GET", url: "/v1/x?jobs=1", presign: true, expires: "300",
			tamper:   func(r *http.Request) { r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "jobs=1", "jobs=2", 1) },
			wantCode: "InvalidSignatureException"},
		{name: "presigned expires too long", method: "GET", url: "/v1/x", presign: true, expires: "604801",
			wantCode: "IncompleteSignatureException", wantMsg: "604800"},
		{name: "presigned missing signature", method: "GET", url: "/v1/x", presign: true, expires: "300",
			tamper: func(r *http.Request) {
				q := r.URL.Query()
				q.Del("X-Amz-Signature")
				r.URL.RawQuery = q.Encode()
			},
			wantCode: "IncompleteSignatureException", wantMsg: "AWS query-string parameters must include"},
		{name: "presigned and Authorization header", method: "GET", url: "/v1/x", presign: true, expires: "300",
			tamper:   func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x") },
			wantCode: "IncompleteSignatureException", wantMsg: "Only one auth mechanism allowed"},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, err := http.NewRequest(tc.method, "http://barge.example:9000"+tc.url, body)
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range tc.header {
				req.Header[k] = vs
			}
			creds := testAWS
			if tc.creds != nil {
				creds = *tc.creds
			}
			region := tc.region
			if region == "" {
				region = "us-east-1"
			}
			signedAt := tc.signedAt
			if signedAt.IsZero() {
				signedAt = testNow.Add(-time.Minute)
			}
			payload := tc.payloadHash
			if payload == "" {
				payload = sha256Hex(tc.body)
			}
			signer := v4.NewSigner()
			switch {
			case tc.unsigned:
			case tc.presign:
				if tc.expires != "" {
					q := req.URL.Query()
					q.Set("X-Amz-Expires", tc.expires)
					req.URL.RawQuery = q.Encode()
				}
				uri, hdr, err := signer.PresignHTTP(context.Background(), creds, req, payload, "batch", region, signedAt)
				if err != nil {
					t.Fatal(err)
				}
				preq, err := http.NewRequest(tc.method, uri, strings.NewReader(tc.body))
				if err != nil {
					t.Fatal(err)
				}
				for k, vs := range hdr {
					if k != "Host" {
						preq.Header[k] = vs
					}
				}
				req = preq
			default:
				if err := signer.SignHTTP(context.Background(), creds, req, payload, "batch", region, signedAt); err != nil {
					t.Fatal(err)
				}
			}
			if tc.tamper != nil {
				tc.tamper(req)
			}
			sr, sbody := serverSide(t, req)

			res, err := newVerifier().Verify(sr, sbody)
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("Verify: %v\nrequest: %s %s\nheaders: %v", err, sr.Method, sr.RequestURI, sr.Header)
				}
				want := Result{Credential: testCred, Region: region, Service: "batch", SignedAt: signedAt.UTC().Truncate(time.Second)}
				if res != want {
					t.Fatalf("result = %+v, want %+v", res, want)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Verify error = %v, want *Error %s", err, tc.wantCode)
			}
			if e.Code != tc.wantCode || !strings.Contains(e.Message, tc.wantMsg) {
				t.Fatalf("Verify error = %q / %q, want %q containing %q", e.Code, e.Message, tc.wantCode, tc.wantMsg)
			}
			wantStatus := http.StatusForbidden
			if e.Code == "XAmzContentSHA256Mismatch" {
				wantStatus = http.StatusBadRequest
			}
			if e.Status != wantStatus {
				t.Fatalf("status = %d, want %d", e.Status, wantStatus)
			}
		})
	}
}

func editAuth(r *http.Request, old, new string) {
	r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
}

// TestAWSTestSuiteGetVanilla checks the "get-vanilla" case of the AWS SigV4
// test suite, a known answer independent of any SDK.
func TestAWSTestSuiteGetVanilla(t *testing.T) {
	v := &Verifier{
		Lookup: func(id string) (Credential, bool) {
			return Credential{AccessKeyID: id, SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}, id == "AKIDEXAMPLE"
		},
		Now: func() time.Time { return time.Date(2015, 8, 30, 12, 40, 0, 0, time.UTC) },
	}
	raw := "GET / HTTP/1.1\r\n" +
		"Host: example.amazonaws.com\r\n" +
		"X-Amz-Date: 20150830T123600Z\r\n" +
		"Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\r\n\r\n"
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.Verify(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Region != "us-east-1" || res.Service != "service" {
		t.Fatalf("result = %+v", res)
	}
}

// TestDateHeaderFallback signs, by hand, a request that carries only a Date
// header (no X-Amz-Date): the string to sign uses the ISO 8601 form of it.
func TestDateHeaderFallback(t *testing.T) {
	date := "Mon, 23 Nov 2026 11:59:00 GMT"
	canonical := "GET\n/\n\n" +
		"date:" + date + "\n" +
		"host:barge.example\n\n" +
		"date;host\n" +
		sha256Hex("")
	cr := sha256.Sum256([]byte(canonical))
	sts := "AWS4-HMAC-SHA256\n20261123T115900Z\n20261123/us-east-1/lambda/aws4_request\n" + hex.EncodeToString(cr[:])
	mac := func(k []byte, s string) []byte { h := hmac.New(sha256.New, k); h.Write([]byte(s)); return h.Sum(nil) }
	key := mac(mac(mac(mac([]byte("AWS4"+testCred.SecretAccessKey), "20261123"), "us-east-1"), "lambda"), "aws4_request")
	sig := hex.EncodeToString(mac(key, sts))

	raw := "GET / HTTP/1.1\r\nHost: barge.example\r\nDate: " + date + "\r\n" +
		"Authorization: AWS4-HMAC-SHA256 Credential=AKIDBARGETEST/20261123/us-east-1/lambda/aws4_request,SignedHeaders=date;host,Signature=" + sig + "\r\n\r\n"
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := newVerifier().Verify(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 11, 23, 11, 59, 0, 0, time.UTC); !res.SignedAt.Equal(want) || res.Service != "lambda" {
		t.Fatalf("result = %+v", res)
	}
}

// TestBotocorePathNormalisation: botocore drops empty and dot segments from
// the path before signing; the Go SDK signs the path as sent. Both verify.
func TestBotocorePathNormalisation(t *testing.T) {
	req, _ := http.NewRequest("GET", "http://barge.example/a//b/./c/", nil)
	// Sign as botocore would: over the normalised path.
	norm, _ := http.NewRequest("GET", "http://barge.example/a/b/c/", nil)
	if err := v4.NewSigner().SignHTTP(context.Background(), testAWS, norm, sha256Hex(""), "batch", "us-east-1", testNow); err != nil {
		t.Fatal(err)
	}
	req.Header = norm.Header
	sr, body := serverSide(t, req)
	if sr.RequestURI != "/a//b/./c/" {
		t.Fatalf("request URI = %q", sr.RequestURI)
	}
	if _, err := newVerifier().Verify(sr, body); err != nil {
		t.Fatal(err)
	}
}

func TestEscapePath(t *testing.T) {
	for in, want := range map[string]string{
		"":  "/",
		"/": "/",
		"/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ahello/invocations": "/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-east-1%253A123456789012%253Afunction%253Ahello/invocations",
		"/a b/ü~_.-": "/a%20b/%C3%BC~_.-",
	} {
		if got := escapePath(in); got != want {
			t.Errorf("escapePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRemoveDotSegments(t *testing.T) {
	for in, want := range map[string]string{
		"":           "/",
		"/":          "/",
		"/a/b":       "/a/b",
		"//a//b//":   "/a/b/",
		"/a/./b/../": "/a/",
		"/..":        "/",
	} {
		if got := removeDotSegments(in); got != want {
			t.Errorf("removeDotSegments(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCustomMaxSkew(t *testing.T) {
	req, _ := http.NewRequest("GET", "http://barge.example/", nil)
	if err := v4.NewSigner().SignHTTP(context.Background(), testAWS, req, sha256Hex(""), "batch", "us-east-1", testNow.Add(-2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	sr, body := serverSide(t, req)
	v := newVerifier()
	v.MaxSkew = time.Minute
	_, err := v.Verify(sr, body)
	var e *Error
	if !errors.As(err, &e) || e.Message != "Signature expired: 20261123T115800Z is now earlier than 20261123T115900Z (20261123T120000Z - 1 min.)" {
		t.Fatalf("err = %v", err)
	}
}

// TestKeyCacheBoundedAndConcurrent exercises the derived key cache from many
// goroutines with more distinct scopes than it holds.
func TestKeyCacheBoundedAndConcurrent(t *testing.T) {
	v := newVerifier()
	type signed struct {
		r    *http.Request
		body []byte
	}
	var reqs []signed
	for i := range keyCacheSize + 40 {
		req, _ := http.NewRequest("POST", "http://barge.example/v1/listjobs", strings.NewReader("{}"))
		region := fmt.Sprintf("test-region-%d", i)
		if err := v4.NewSigner().SignHTTP(context.Background(), testAWS, req, sha256Hex("{}"), "batch", region, testNow); err != nil {
			t.Fatal(err)
		}
		sr, body := serverSide(t, req)
		reqs = append(reqs, signed{sr, body})
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(reqs))
	for g := range 4 {
		wg.Go(func() {
			for i := range reqs {
				s := reqs[(i+g*37)%len(reqs)]
				if _, err := v.Verify(s.r, s.body); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	v.mu.Lock()
	n := len(v.keys)
	v.mu.Unlock()
	if n > keyCacheSize {
		t.Fatalf("cache holds %d keys, bound is %d", n, keyCacheSize)
	}
}

func BenchmarkVerify(b *testing.B) {
	body := `{"jobName":"nightly-etl","jobQueue":"default","jobDefinition":"etl:3","containerOverrides":{"command":["python","etl.py","--date","2026-11-23"],"environment":[{"name":"STAGE","value":"prod"}]},"retryStrategy":{"attempts":2}}`
	req, _ := http.NewRequest("POST", "http://localhost:9000/v1/submitjob", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Amz-Sdk-Invocation-Id", "0b9d3b0e-4f8e-4b5e-9b0a-3f2b1c7d9e11")
	req.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	req.Header.Set("User-Agent", "aws-sdk-go-v2/1.48.0 os/linux lang/go#1.26 api/batch#1.65.2")
	if err := v4.NewSigner().SignHTTP(context.Background(), testAWS, req, sha256Hex(body), "batch", "us-east-1", testNow); err != nil {
		b.Fatal(err)
	}
	sr, sbody := serverSide(b, req)
	v := newVerifier()
	if _, err := v.Verify(sr, sbody); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(sr, sbody); err != nil {
			b.Fatal(err)
		}
	}
}
