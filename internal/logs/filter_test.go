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
	for _, bad := range []string{`{ $.level = "ERROR" }`, "[ip, user]", `"unclosed`} {
		if _, err := CompilePattern(bad); !errors.Is(err, ErrInvalidParameter) {
			t.Errorf("%q: %v, want ErrInvalidParameter", bad, err)
		}
	}
}
