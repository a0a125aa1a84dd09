package logs

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/barge-run/barge/internal/awstypes"
)

// roundTrip decodes doc into v, refusing unknown fields, and checks that encoding v gives the
// same document back: a renamed or dropped member would lose data on the wire.
func roundTrip(t *testing.T, doc string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode into %T: %v", v, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	if err := json.Unmarshal([]byte(doc), &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("%T did not round-trip:\n in: %s\nout: %s", v, doc, out)
	}
}

func TestGetLogEventsRoundTrip(t *testing.T) {
	var req GetLogEventsRequest
	roundTrip(t, `{
		"logGroupName": "/aws/batch/job",
		"logStreamName": "etl/default/6f3c1c1e",
		"startTime": 1700000000000,
		"endTime": 1700003600000,
		"nextToken": "f/00000000000000000000000000000000000000000000000000000000",
		"limit": 100,
		"startFromHead": true,
		"unmask": false
	}`, &req)
	if req.LogStreamName != "etl/default/6f3c1c1e" || *req.Limit != 100 || !*req.StartFromHead {
		t.Errorf("decoded %+v", req)
	}

	var resp GetLogEventsResponse
	roundTrip(t, `{
		"events": [
			{"timestamp": 1700000000123, "message": "starting", "ingestionTime": 1700000000200},
			{"timestamp": 1700000000456, "message": "done\n", "ingestionTime": 1700000000500}
		],
		"nextForwardToken": "f/1",
		"nextBackwardToken": "b/1"
	}`, &resp)
	if len(resp.Events) != 2 || *resp.Events[1].Timestamp != 1700000000456 {
		t.Errorf("decoded %+v", resp)
	}

	// An empty page is still a list on the wire; SDK callers index "events" unguarded.
	out, err := json.Marshal(GetLogEventsResponse{Events: []OutputLogEvent{}, NextForwardToken: "f/1"})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"events":[],"nextForwardToken":"f/1"}` {
		t.Errorf("empty page = %s", out)
	}
}

func TestDescribeLogStreamsRoundTrip(t *testing.T) {
	var req DescribeLogStreamsRequest
	roundTrip(t, `{"logGroupName": "/aws/batch/job", "logStreamNamePrefix": "etl/", "orderBy": "LogStreamName",
		"descending": false, "nextToken": "t", "limit": 50}`, &req)
	if req.OrderBy != OrderByLogStreamName {
		t.Errorf("orderBy = %q", req.OrderBy)
	}

	var resp DescribeLogStreamsResponse
	roundTrip(t, `{"logStreams": [{
		"logStreamName": "etl/default/6f3c1c1e",
		"creationTime": 1700000000000,
		"firstEventTimestamp": 1700000000123,
		"lastEventTimestamp": 1700000000456,
		"lastIngestionTime": 1700000000500,
		"uploadSequenceToken": "49039859",
		"arn": "arn:aws:logs:us-east-1:123456789012:log-group:/aws/batch/job:log-stream:etl/default/6f3c1c1e",
		"storedBytes": 0
	}], "nextToken": "n"}`, &resp)
}

func TestPutLogEventsRoundTrip(t *testing.T) {
	var req PutLogEventsRequest
	roundTrip(t, `{"logGroupName": "g", "logStreamName": "s", "sequenceToken": "1",
		"logEvents": [{"timestamp": 1700000000000, "message": "hello"}]}`, &req)
	var resp PutLogEventsResponse
	roundTrip(t, `{"nextSequenceToken": "2", "rejectedLogEventsInfo": {"tooNewLogEventStartIndex": 1, "tooOldLogEventEndIndex": 0, "expiredLogEventEndIndex": 0}}`, &resp)
}

func TestTables(t *testing.T) {
	if TargetPrefix != "Logs_20140328" || Protocol != "json" || APIVersion != "2014-03-28" || EndpointPrefix != "logs" {
		t.Errorf("metadata %s %s %s %s", TargetPrefix, Protocol, APIVersion, EndpointPrefix)
	}
	i := slices.IndexFunc(Operations, func(o awstypes.Operation) bool { return o.Name == "GetLogEvents" })
	if i < 0 {
		t.Fatal("GetLogEvents missing")
	}
	op := Operations[i]
	// The json protocol routes by X-Amz-Target, so there is no method or path to match.
	if op.Method != "" || op.RequestURI != "" || op.Input != "GetLogEventsRequest" || op.Output != "GetLogEventsResponse" {
		t.Errorf("GetLogEvents = %+v", op)
	}
	if !slices.Contains(op.Errors, "ResourceNotFoundException") {
		t.Errorf("errors = %v", op.Errors)
	}
	if Exceptions["ResourceNotFoundException"] != 400 || Exceptions["ServiceUnavailableException"] != 500 {
		t.Errorf("Exceptions = %v", Exceptions)
	}
	if got := Required["GetLogEventsRequest"]; !slices.Equal(got, []string{"logStreamName"}) {
		t.Errorf("Required[GetLogEventsRequest] = %v", got)
	}
	if got := Required["PutLogEventsRequest"]; !slices.Equal(got, []string{"logGroupName", "logStreamName", "logEvents"}) {
		t.Errorf("Required[PutLogEventsRequest] = %v", got)
	}
}
