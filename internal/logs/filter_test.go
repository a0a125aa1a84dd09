package logs

import (
	"errors"
	"testing"
)

func TestCompilePattern(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		match   []string
		miss    []string
	}{
		{"", []string{"anything", ""}, nil},
		{"ERROR", []string{"an ERROR here"}, []string{"an error here"}},
		{"ERROR disk", []string{"ERROR: disk full"}, []string{"ERROR: net down", "disk full"}},
		{`"disk full"`, []string{"ERROR: disk full now"}, []string{"disk is full"}},
		{"?ERROR ?WARN", []string{"ERROR x", "WARN y"}, []string{"INFO z"}},
		{"ERROR -retrying", []string{"ERROR fatal"}, []string{"ERROR retrying soon"}},
		{`?"time out" ?refused`, []string{"a time out", "conn refused"}, []string{"timeout"}},
		{`{ $.level = "ERROR" }`, []string{`{"level":"ERROR"}`}, []string{`{"level":"INFO"}`, "ERROR plain text", `{"other":"ERROR"}`}},
		{`{ $.latency > 100 && $.path = "/api/*" }`, []string{`{"latency":150,"path":"/api/v1/x"}`}, []string{`{"latency":50,"path":"/api/x"}`, `{"latency":150,"path":"/web"}`}},
		{`{ $.code = 500 || $.user.admin = true }`, []string{`{"code":500}`, `{"user":{"admin":true}}`}, []string{`{"code":200,"user":{"admin":false}}`}},
		{`{ $.items[1] = "b" }`, []string{`{"items":["a","b"]}`}, []string{`{"items":["b"]}`}},
		{`{ $.level != "DEBUG" }`, []string{`{"level":"INFO"}`}, []string{`{"level":"DEBUG"}`}},
		{`[ip, user, username, timestamp, request, status_code=4*, bytes>1000]`,
			[]string{`127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 404 1534`},
			[]string{`127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534`,
				`127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 404 15`, "too few fields"}},
		{`[..., status=500]`, []string{"a b c 500", "500"}, []string{"a b c 200"}},
		{`[level="ERROR", ...]`, []string{"ERROR disk full", "ERROR"}, []string{"INFO ERROR"}},
		{`[a, b!=x]`, []string{"1 y"}, []string{"1 x", "1 y z"}},
	} {
		m, err := CompilePattern(tc.pattern)
		if err != nil {
			t.Fatalf("%q: %v", tc.pattern, err)
		}
		for _, s := range tc.match {
			if !m(s) {
				t.Errorf("%q does not match %q", tc.pattern, s)
			}
		}
		for _, s := range tc.miss {
			if m(s) {
				t.Errorf("%q matches %q", tc.pattern, s)
			}
		}
	}
	for _, bad := range []string{`{ ($.a = 1 }`, `{ level = 1 }`, "[..., a, ...]", "[a b]", "[n>x]", `"unclosed`} {
		if _, err := CompilePattern(bad); !errors.Is(err, ErrInvalidParameter) {
			t.Errorf("%q: %v, want ErrInvalidParameter", bad, err)
		}
	}
}
