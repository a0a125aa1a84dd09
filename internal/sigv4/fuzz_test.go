package sigv4

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary Authorization headers, X-Amz-Date values and query strings to
// Precheck and Verify: no input may panic, and every refusal is an *Error (what the API edge
// renders as AWS's error) — never a success for an unsigned request.
func FuzzParse(f *testing.F) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	f.Add("AWS4-HMAC-SHA256 Credential=AKIAFUZZ/20261207/us-east-1/batch/aws4_request, SignedHeaders=host;x-amz-date, Signature="+strings.Repeat("0", 64), "20261207T100000Z", "")
	f.Add("", "", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAFUZZ%2F20261207%2Fus-east-1%2Flambda%2Faws4_request&X-Amz-Date=20261207T100000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00")
	f.Add("AWS4-HMAC-SHA256 Credential=/,,,SignedHeaders=;;;", "garbage", "%zz&&==")
	v := &Verifier{Lookup: func(k string) (Credential, bool) {
		return Credential{AccessKeyID: k, SecretAccessKey: "s", AccountID: "000000000000"}, k == "AKIAFUZZ"
	}, Now: func() time.Time { return now }}
	f.Fuzz(func(t *testing.T, auth, date, query string) {
		r := httptest.NewRequest("POST", "http://barge.test/v1/submitjob", strings.NewReader("{}"))
		r.URL.RawQuery = query
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		if date != "" {
			r.Header.Set("X-Amz-Date", date)
		}
		var se *Error
		if _, err := v.Precheck(r); err != nil && !errors.As(err, &se) {
			t.Fatalf("Precheck: %T %v", err, err)
		}
		if _, err := v.Verify(r, []byte("{}")); err == nil {
			t.Fatalf("an unsigned request verified: auth %q date %q query %q", auth, date, query)
		} else if !errors.As(err, &se) {
			t.Fatalf("Verify: %T %v", err, err)
		}
	})
}
