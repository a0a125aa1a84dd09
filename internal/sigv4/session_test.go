package sigv4

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func TestSessionToken(t *testing.T) {
	temp := Credential{AccessKeyID: "ASIABARGETEST", SecretAccessKey: "temp/Secret", SessionToken: "the-token", AccountID: "123456789012"}
	ended := Credential{AccessKeyID: "ASIAENDED", Expired: true}
	v := &Verifier{Now: func() time.Time { return testNow }, Lookup: func(id string) (Credential, bool) {
		switch id {
		case temp.AccessKeyID:
			return temp, true
		case ended.AccessKeyID:
			return ended, true
		}
		return lookup(id)
	}}
	for _, tc := range []struct {
		name   string
		key    aws.Credentials
		header string // X-Amz-Security-Token sent but not signed ("" sends none)
		code   string // "" when accepted
	}{
		{"temporary key with its token", aws.Credentials{AccessKeyID: temp.AccessKeyID, SecretAccessKey: temp.SecretAccessKey, SessionToken: "the-token"}, "", ""},
		{"temporary key without a token", aws.Credentials{AccessKeyID: temp.AccessKeyID, SecretAccessKey: temp.SecretAccessKey}, "", "UnrecognizedClientException"},
		{"temporary key with another token", aws.Credentials{AccessKeyID: temp.AccessKeyID, SecretAccessKey: temp.SecretAccessKey, SessionToken: "other"}, "", "UnrecognizedClientException"},
		{"ended session", aws.Credentials{AccessKeyID: ended.AccessKeyID, SecretAccessKey: "x", SessionToken: "t"}, "", "ExpiredTokenException"},
		{"long-term key", testAWS, "", ""},
		{"long-term key with a token", testAWS, "forged", "UnrecognizedClientException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, "https://batch.us-east-1.amazonaws.com/v1/describejobs", nil)
			setBody(req, "{}")
			if err := v4.NewSigner().SignHTTP(context.Background(), tc.key, req, sha256Hex("{}"), "batch", "us-east-1", testNow); err != nil {
				t.Fatal(err)
			}
			if tc.header != "" {
				req.Header.Set("X-Amz-Security-Token", tc.header)
			}
			sr, body := serverSide(t, req)
			res, err := v.Verify(sr, body)
			var se *Error
			switch {
			case tc.code == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.code == "" && res.Credential.AccessKeyID != tc.key.AccessKeyID:
				t.Fatalf("verified as %q", res.Credential.AccessKeyID)
			case tc.code != "" && (!errors.As(err, &se) || se.Code != tc.code || se.Status != http.StatusForbidden):
				t.Fatalf("got %v, want %s (403)", err, tc.code)
			}
		})
	}
}
