package lambda

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestURLResponse(t *testing.T) {
	for _, c := range []struct {
		name, payload, wantBody, wantType string
		wantStatus                        int
	}{
		{"a plain object is a JSON 200", `{"a":1}`, `{"a":1}`, "application/json", 200},
		{"a string is a JSON 200", `"hi"`, `"hi"`, "application/json", 200},
		{"statusCode takes the answer apart", `{"statusCode":404,"headers":{"content-type":"text/plain"},"body":"nope"}`, "nope", "text/plain", 404},
		{"a base64 body is decoded", `{"statusCode":200,"body":"aGk=","isBase64Encoded":true}`, "hi", "application/json", 200},
		{"no body", `{"statusCode":204}`, "", "application/json", 204},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, h, body := URLResponse([]byte(c.payload))
			if status != c.wantStatus || string(body) != c.wantBody || h.Get("Content-Type") != c.wantType {
				t.Errorf("got %d %q %q", status, body, h.Get("Content-Type"))
			}
		})
	}
}

func TestURLEvent(t *testing.T) {
	r := httptest.NewRequest("PUT", "http://127.0.0.1:7700/lambda-url/abc/items/1?x=1&x=2&y=3", strings.NewReader("\xff\xfe"))
	r.Header.Set("Cookie", "a=1; b=2")
	r.Header.Set("X-Custom", "v")
	var ev struct {
		Version         string            `json:"version"`
		RawPath         string            `json:"rawPath"`
		RawQueryString  string            `json:"rawQueryString"`
		Cookies         []string          `json:"cookies"`
		Headers         map[string]string `json:"headers"`
		Query           map[string]string `json:"queryStringParameters"`
		Body            string            `json:"body"`
		IsBase64Encoded bool              `json:"isBase64Encoded"`
		RequestContext  struct {
			AccountID string            `json:"accountId"`
			HTTP      map[string]string `json:"http"`
		} `json:"requestContext"`
	}
	if err := json.Unmarshal(URLEvent(r, "abc", "/items/1", []byte("\xff\xfe"), "", time.Unix(0, 0)), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Version != "2.0" || ev.RawPath != "/items/1" || ev.RawQueryString != "x=1&x=2&y=3" || ev.Query["x"] != "1,2" ||
		len(ev.Cookies) != 2 || ev.Headers["x-custom"] != "v" || ev.Headers["cookie"] != "" || !ev.IsBase64Encoded || ev.Body != "//4=" ||
		ev.RequestContext.AccountID != "anonymous" || ev.RequestContext.HTTP["method"] != "PUT" {
		t.Errorf("event: %+v", ev)
	}
}
