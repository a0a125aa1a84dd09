package api

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	lw "github.com/barge-run/barge/internal/awstypes/lambda"
)

func TestZipFileFast(t *testing.T) {
	pkg := make([]byte, 200<<10)
	rand.Read(pkg)
	b64 := base64.StdEncoding.EncodeToString(pkg)
	create := func(code string, extra string) string {
		return `{"FunctionName":"f","Runtime":"provided.al2023"` + extra + `,"Code":` + code + `}`
	}
	cases := []struct {
		name string
		body string
		path []string
		ok   bool
	}{
		{"CreateFunction", create(`{"ZipFile":"`+b64+`"}`, ""), []string{"Code"}, true},
		{"spaces around the colon", create(`{"ZipFile" :  "`+b64+`"}`, ""), []string{"Code"}, true},
		{"UpdateFunctionCode", `{"ZipFile":"` + b64 + `","Publish":true}`, nil, true},
		{"small package: the ordinary path", create(`{"ZipFile":"AAAA"}`, ""), []string{"Code"}, false},
		{"an escaped slash", create(`{"ZipFile":"`+strings.Replace(b64, "/", `\/`, 1)+`"}`, ""), []string{"Code"}, strings.Contains(b64, "/") == false},
		{"ZipFile as an environment variable only", create(`{"S3Bucket":"b"}`, `,"Environment":{"Variables":{"ZipFile":"`+b64+`"}}`), []string{"Code"}, false},
		{"ZipFile twice", create(`{"ZipFile":"`+b64+`"}`, `,"Tags":{"ZipFile":"x"}`), []string{"Code"}, false},
		{"not base64", create(`{"ZipFile":"`+strings.Repeat("!", 70000)+`"}`, ""), []string{"Code"}, false},
		{"not a string", create(`{"ZipFile":12}`, ""), []string{"Code"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rest, got, ok := zipFileFast([]byte(c.body), c.path...)
			if ok != c.ok {
				t.Fatalf("ok = %v, want %v", ok, c.ok)
			}
			if ok && (!bytes.Equal(got, pkg) || bytes.Contains(rest, []byte(b64[:100]))) {
				t.Fatalf("package of %d bytes, rest %d bytes", len(got), len(rest))
			}
		})
	}
}

// TestDecodeWithZipMatchesJSON: the fast path and encoding/json agree on every request shape.
func TestDecodeWithZipMatchesJSON(t *testing.T) {
	pkg := make([]byte, 100<<10)
	rand.Read(pkg)
	b64 := base64.StdEncoding.EncodeToString(pkg)
	decode := decodeWithZip(func(in *lw.CreateFunctionRequest, p []byte) {
		if in.Code == nil {
			in.Code = &lw.FunctionCode{}
		}
		in.Code.ZipFile = p
	}, "Code")
	for _, body := range []string{
		`{"FunctionName":"f","Code":{"ZipFile":"` + b64 + `"},"Environment":{"Variables":{"A":"1"}}}`,
		`{"FunctionName":"f","Environment":{"Variables":{"ZipFile":"` + b64 + `"}},"Code":{"S3Bucket":"b"}}`,
		`{"FunctionName":"f","Code":{"ZipFile":"` + b64 + `","ImageUri":"x"},"Tags":{"k":"v"}}`,
	} {
		var want, got lw.CreateFunctionRequest
		if err := json.Unmarshal([]byte(body), &want); err != nil {
			t.Fatal(err)
		}
		if e := decode([]byte(body), &got); e != nil {
			t.Fatal(e)
		}
		if !reflect.DeepEqual(want, got) {
			t.Errorf("fast decoding differs for %.80s…", body)
		}
	}
}
