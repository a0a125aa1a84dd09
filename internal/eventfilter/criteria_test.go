package eventfilter

import (
	"errors"
	"testing"
)

// sqsRecord is a record as Lambda delivers it from SQS, with the given JSON body value.
func sqsRecord(body string) string {
	return `{"messageId":"059f36b4-87a3-44ab-83d2-661975830a7d","body":` + body +
		`,"attributes":{"ApproximateReceiveCount":"1","SenderId":"AIDAIENQZJOLO23YVJ4VO"},` +
		`"messageAttributes":{},"eventSource":"aws:sqs","awsRegion":"us-west-2"}`
}

func TestMatchSQSRecord(t *testing.T) {
	t.Parallel()
	jsonBody := sqsRecord(`"{\n \"RecordNumber\": 1234,\n \"RequestCode\": \"BBBB\"\n}"`)
	plainBody := sqsRecord(`"BBBB is not JSON"`)
	numberBody := sqsRecord(`"1234"`)
	cases := []struct {
		name, pattern, record string
		want                  bool
	}{
		{"JSON body, JSON pattern", `{"body":{"RequestCode":["BBBB"]}}`, jsonBody, true},
		{"JSON body, JSON pattern fails", `{"body":{"RequestCode":["AAAA"]}}`, jsonBody, false},
		{"JSON body, numeric in body", `{"body":{"RecordNumber":[{"numeric":[">",1000]}]}}`, jsonBody, true},
		{"JSON body, plain-string pattern: dropped", `{"body":[{"prefix":"{"}]}`, jsonBody, false},
		{"plain body, plain-string pattern", `{"body":[{"prefix":"BBBB"}]}`, plainBody, true},
		{"plain body, plain-string pattern fails", `{"body":["AAAA"]}`, plainBody, false},
		{"plain body, JSON pattern: dropped", `{"body":{"RequestCode":["BBBB"]}}`, plainBody, false},
		{"a number body is JSON", `{"body":[{"numeric":["=",1234]}]}`, numberBody, true},
		{"no body pattern: metadata only", `{"attributes":{"ApproximateReceiveCount":["1"]}}`, plainBody, true},
		{"not a record", `{"body":["x"]}`, `"x"`, false},
	}
	for _, c := range cases {
		p, err := Compile(c.pattern)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := MatchSQSRecord(p, []byte(c.record)); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCriteria(t *testing.T) {
	t.Parallel()
	c, err := CompileCriteria([]string{`{"body":{"kind":["a"]}}`, `{"body":{"kind":["b"]}}`})
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != 2 {
		t.Errorf("Len = %d", c.Len())
	}
	cases := []struct {
		body string
		want bool
	}{{`"{\"kind\":\"a\"}"`, true}, {`"{\"kind\":\"b\"}"`, true}, {`"{\"kind\":\"c\"}"`, false}, {`"kind a"`, false}}
	for _, tc := range cases {
		if got := MatchSQSRecord(c, []byte(sqsRecord(tc.body))); got != tc.want {
			t.Errorf("body %s: got %v, want %v", tc.body, got, tc.want)
		}
	}
	if got := c.Match([]byte(`{"body":{"kind":"b"}}`)); !got {
		t.Error("Match on a decoded body: got false")
	}

	none, err := CompileCriteria(nil)
	if err != nil || !none.Match([]byte(`{"anything":1}`)) || !none.Match([]byte(`not json`)) {
		t.Errorf("no filters must pass everything (err %v)", err)
	}

	_, err = CompileCriteria([]string{`{"a":["x"]}`, `{"a":[]}`})
	var e *Error
	if !errors.As(err, &e) || e.Key != "a" ||
		err.Error() != `filter 1: Invalid filter pattern definition: key "a": empty arrays are not allowed` {
		t.Errorf("CompileCriteria with a bad filter = %v", err)
	}
}

func TestConcurrentMatch(t *testing.T) {
	t.Parallel()
	p, err := Compile(`{"a":[{"wildcard":"x*"}],"$or":[{"b":[1]},{"c":[{"exists":true}]}]}`)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan bool)
	for i := 0; i < 4; i++ {
		go func() { done <- p.Match([]byte(`{"a":"xy","c":0}`)) }()
	}
	for i := 0; i < 4; i++ {
		if !<-done {
			t.Error("concurrent Match = false")
		}
	}
}
