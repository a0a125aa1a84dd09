package awstypes

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTimestampMarshal(t *testing.T) {
	for _, tc := range []struct {
		in   time.Time
		want string
	}{
		{time.Unix(1700000000, 0), "1700000000"},
		{time.Unix(1700000000, 500_000_000), "1700000000.5"},
		{time.Unix(1700000000, 123_456_789), "1700000000.123"},
		{time.Unix(1700000000, 20_000_000), "1700000000.02"},
		{time.Unix(-2, 500_000_000), "-1.5"},
		{time.Unix(0, 0), "0"},
	} {
		b, err := json.Marshal(NewTimestamp(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("Marshal(%v) = %s, want %s", tc.in, b, tc.want)
		}
	}
}

func TestTimestampUnmarshal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{`1700000000`, time.Unix(1700000000, 0)},
		{`1700000000.5`, time.Unix(1700000000, 500_000_000)},
		{`1700000000.123456789`, time.Unix(1700000000, 123_456_789)},
		{`-1.5`, time.Unix(-2, 500_000_000)},
		{`1.7e9`, time.Unix(1700000000, 0)},
		{`"2023-11-14T22:13:20Z"`, time.Unix(1700000000, 0)},
		{`"2023-11-14T22:13:20.25+00:00"`, time.Unix(1700000000, 250_000_000)},
		{`"2023-11-14T23:13:20.000+0100"`, time.Unix(1700000000, 0)},
		{`"2023-11-14T22:13:20"`, time.Unix(1700000000, 0)},
		{`"1700000000.5"`, time.Unix(1700000000, 500_000_000)},
	} {
		var ts Timestamp
		if err := json.Unmarshal([]byte(tc.in), &ts); err != nil {
			t.Errorf("Unmarshal(%s): %v", tc.in, err)
			continue
		}
		if !ts.Equal(tc.want) {
			t.Errorf("Unmarshal(%s) = %v, want %v", tc.in, ts.Time, tc.want)
		}
	}
	for _, bad := range []string{`"yesterday"`, `true`, `"1.2.3"`, `{}`, `1e999`} {
		var ts Timestamp
		if err := json.Unmarshal([]byte(bad), &ts); err == nil {
			t.Errorf("Unmarshal(%s) succeeded: %v", bad, ts.Time)
		}
	}
}

func TestTimestampInStruct(t *testing.T) {
	type shape struct {
		At   *Timestamp `json:"at,omitempty"`
		Skip *Timestamp `json:"skip,omitempty"`
	}
	var s shape
	if err := json.Unmarshal([]byte(`{"at": 1700000000.25, "skip": null}`), &s); err != nil {
		t.Fatal(err)
	}
	if s.Skip != nil {
		t.Error("null must leave the pointer nil")
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"at":1700000000.25}` {
		t.Errorf("got %s", b)
	}
}

func TestParseTimestampHeaderForm(t *testing.T) {
	got, err := ParseTimestamp("Tue, 14 Nov 2023 22:13:20 GMT")
	if err != nil || !got.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("ParseTimestamp http-date = %v, %v", got, err)
	}
}
