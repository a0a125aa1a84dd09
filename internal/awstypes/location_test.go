package awstypes

import (
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"
)

type mode string

// boundRequest mirrors what the generator emits for location-bound members.
type boundRequest struct {
	Name     string            `json:"-" location:"uri" locationName:"Name"`
	Key      string            `json:"-" location:"uri" locationName:"Key"`
	Max      *int32            `json:"-" location:"querystring" locationName:"MaxItems"`
	Big      *int64            `json:"-" location:"querystring" locationName:"big"`
	All      *bool             `json:"-" location:"querystring" locationName:"all"`
	Ratio    *float64          `json:"-" location:"querystring" locationName:"ratio"`
	Mode     mode              `json:"-" location:"querystring" locationName:"mode"`
	Filters  []string          `json:"-" location:"querystring" locationName:"filter"`
	Modes    []mode            `json:"-" location:"querystring" locationName:"modes"`
	After    *Timestamp        `json:"-" location:"querystring" locationName:"after"`
	Token    string            `json:"-" location:"header" locationName:"X-Amz-Token"`
	Flag     *bool             `json:"-" location:"header" locationName:"X-Flag"`
	Meta     map[string]string `json:"-" location:"headers" locationName:"X-Meta-"`
	Body     string            `json:"body,omitempty"`
	Untagged string
}

func TestBindLocation(t *testing.T) {
	path := map[string]string{"Name": "my-func", "Key": "a/b c"}
	q := url.Values{
		"MaxItems": {"50"},
		"big":      {"9000000000"},
		"all":      {"TRUE"},
		"ratio":    {"0.5"},
		"mode":     {"FAST"},
		"filter":   {"a", "b"},
		"modes":    {"X", "Y"},
		"after":    {"2023-11-14T22:13:20Z"},
		"body":     {"ignored"},
	}
	h := http.Header{}
	h.Set("X-Amz-Token", "tok")
	h.Set("X-Flag", "false")
	h.Set("X-Meta-Color", "blue")
	h.Set("Other", "x")

	req := boundRequest{Body: "kept"}
	if err := BindLocation(&req, func(n string) string { return path[n] }, q, h); err != nil {
		t.Fatal(err)
	}
	after := NewTimestamp(time.Unix(1700000000, 0).UTC())
	want := boundRequest{
		Name: "my-func", Key: "a/b c",
		Max: ptr[int32](50), Big: ptr[int64](9000000000), All: ptr(true), Ratio: ptr(0.5),
		Mode: "FAST", Filters: []string{"a", "b"}, Modes: []mode{"X", "Y"}, After: after,
		Token: "tok", Flag: ptr(false), Meta: map[string]string{"Color": "blue"},
		Body: "kept",
	}
	if !reflect.DeepEqual(req, want) {
		t.Errorf("got  %+v\nwant %+v", req, want)
	}
}

func TestBindLocationAbsentLeavesDefaults(t *testing.T) {
	req := boundRequest{Max: ptr[int32](7), Token: "default"}
	if err := BindLocation(&req, nil, url.Values{"all": {""}}, nil); err != nil {
		t.Fatal(err)
	}
	if *req.Max != 7 || req.Token != "default" || req.All != nil || req.Filters != nil {
		t.Errorf("absent values changed fields: %+v", req)
	}
}

func TestBindLocationErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		q    url.Values
		h    http.Header
		name string
	}{
		{url.Values{"MaxItems": {"ten"}}, nil, "MaxItems"},
		{url.Values{"MaxItems": {"99999999999"}}, nil, "MaxItems"},
		{url.Values{"all": {"yes"}}, nil, "all"},
		{url.Values{"ratio": {"half"}}, nil, "ratio"},
		{url.Values{"after": {"soon"}}, nil, "after"},
		{nil, http.Header{"X-Flag": {"1"}}, "X-Flag"},
	} {
		var req boundRequest
		err := BindLocation(&req, nil, tc.q, tc.h)
		var le *LocationError
		if !errors.As(err, &le) {
			t.Errorf("%v %v: want *LocationError, got %v", tc.q, tc.h, err)
			continue
		}
		if le.Name != tc.name {
			t.Errorf("error names %q, want %q (%v)", le.Name, tc.name, err)
		}
	}
}

func TestBindLocationRejectsNonPointer(t *testing.T) {
	if err := BindLocation(boundRequest{}, nil, nil, nil); err == nil {
		t.Error("binding into a value must fail")
	}
	if err := BindLocation((*boundRequest)(nil), nil, nil, nil); err == nil {
		t.Error("binding into nil must fail")
	}
}

type boundResponse struct {
	Status   *int32            `json:"-" location:"statusCode" locationName:"StatusCode"`
	Err      string            `json:"-" location:"header" locationName:"X-Amz-Function-Error"`
	Empty    string            `json:"-" location:"header" locationName:"X-Empty"`
	Count    *int64            `json:"-" location:"header" locationName:"X-Count"`
	Ok       *bool             `json:"-" location:"header" locationName:"X-Ok"`
	Unset    *int32            `json:"-" location:"header" locationName:"X-Unset"`
	Modified *Timestamp        `json:"-" location:"header" locationName:"Last-Modified"`
	List     []string          `json:"-" location:"header" locationName:"X-List"`
	Meta     map[string]string `json:"-" location:"headers" locationName:"X-Meta-"`
	Body     string            `json:"body,omitempty"`
}

func TestLocationHeaders(t *testing.T) {
	out := &boundResponse{
		Status:   ptr[int32](202),
		Err:      "Unhandled",
		Count:    ptr[int64](3),
		Ok:       ptr(false),
		Modified: NewTimestamp(time.Unix(1700000000, 0)),
		List:     []string{"a", "b"},
		Meta:     map[string]string{"Color": "blue"},
		Body:     "not a header",
	}
	status, h := LocationHeaders(out)
	if status != 202 {
		t.Errorf("status = %d", status)
	}
	want := http.Header{
		"X-Amz-Function-Error": {"Unhandled"},
		"X-Count":              {"3"},
		"X-Ok":                 {"false"},
		"Last-Modified":        {"Tue, 14 Nov 2023 22:13:20 GMT"},
		"X-List":               {"a", "b"},
		"X-Meta-Color":         {"blue"},
	}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("headers = %v\nwant      %v", h, want)
	}

	// A value works as well as a pointer, and an unset status means "use the default".
	status, h = LocationHeaders(boundResponse{Err: "x"})
	if status != 0 || h.Get("X-Amz-Function-Error") != "x" {
		t.Errorf("value: status %d headers %v", status, h)
	}
	status, h = LocationHeaders((*boundResponse)(nil))
	if status != 0 || h == nil || len(h) != 0 {
		t.Errorf("nil: status %d headers %v", status, h)
	}
}

func TestHeadersRoundTrip(t *testing.T) {
	_, h := LocationHeaders(&boundRequest{Token: "t", Flag: ptr(true), Meta: map[string]string{"A": "1"}})
	var back boundRequest
	if err := BindLocation(&back, nil, nil, h); err != nil {
		t.Fatal(err)
	}
	if back.Token != "t" || back.Flag == nil || !*back.Flag || back.Meta["A"] != "1" {
		t.Errorf("round trip lost headers: %+v", back)
	}
}

func ptr[T any](v T) *T { return &v }
