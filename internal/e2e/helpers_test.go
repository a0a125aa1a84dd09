package e2e_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/barge-run/barge/internal/account"
	"github.com/barge-run/barge/internal/sigv4"
)

// twoAccounts is a data directory with the default account's credential first and account
// 111111111111's (returned) second, for a server where one account tries the other's things.
func twoAccounts(t *testing.T) (dir string, other sigv4.Credential) {
	t.Helper()
	dir = t.TempDir()
	if _, err := account.Add(dir, account.DefaultAccount); err != nil {
		t.Fatal(err)
	}
	other, err := account.Add(dir, "111111111111")
	if err != nil {
		t.Fatal(err)
	}
	return dir, other
}

// errorCode is the AWS error code of err, or "" when it is no API error.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// zipSources zips source files (name → text) as a function package.
func zipSources(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, text := range files {
		w, err := zw.Create(name)
		if err == nil {
			_, err = w.Write([]byte(text))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zipFiles reads a zip's regular files (name → text).
func zipFiles(t *testing.T, data []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	files := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name] = string(b)
	}
	return files
}
