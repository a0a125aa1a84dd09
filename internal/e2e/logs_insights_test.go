package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestLogsInsights runs Logs Insights queries (StartQuery, GetQueryResults, DescribeQueries,
// StopQuery) through aws-sdk-go-v2 and boto3 over events put with PutLogEvents: filters on JSON
// fields and regexes, stats by a field, sort and limit, and Insights' errors.
func TestLogsInsights(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := b.Logs(), context.Background()
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/app/web")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("/app/web"), LogStreamName: aws.String("i-1")}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	var events []cwtypes.InputLogEvent
	for i := range 30 {
		events = append(events, cwtypes.InputLogEvent{Timestamp: aws.Int64(now - 30_000 + int64(i)*1000),
			Message: aws.String(fmt.Sprintf(`{"path":"/p%d","status":%d,"ms":%d}`, i%3, []int{200, 404, 500}[i%3], i))})
	}
	if _, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("/app/web"), LogStreamName: aws.String("i-1"), LogEvents: events}); err != nil {
		t.Fatal(err)
	}
	start, end := aws.Int64(now/1000-3600), aws.Int64(now/1000+60)
	q, err := c.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{LogGroupName: aws.String("/app/web"), StartTime: start, EndTime: end,
		QueryString: aws.String(`filter status >= 400 | stats count(*) as n, max(ms) as slowest by status | sort status asc`)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: q.QueryId})
	if err != nil || res.Status != cwtypes.QueryStatusComplete || len(res.Results) != 2 {
		t.Fatalf("GetQueryResults: %v %+v", err, res)
	}
	if got := resultText(res.Results); got != "status=404 n=10 slowest=28; status=500 n=10 slowest=29" {
		t.Fatalf("stats rows: %s", got)
	}
	if res.Statistics.RecordsScanned != 30 {
		t.Errorf("recordsScanned %v, want 30", res.Statistics.RecordsScanned)
	}
	_, err = c.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{LogGroupName: aws.String("/app/web"), StartTime: start, EndTime: end, QueryString: aws.String(`frobnicate`)})
	if errorCode(err) != "MalformedQueryException" {
		t.Errorf("a malformed query: %v", err)
	}
	_, err = c.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{LogGroupName: aws.String("/nope"), StartTime: start, EndTime: end, QueryString: aws.String(`fields @message`)})
	if errorCode(err) != "ResourceNotFoundException" {
		t.Errorf("a query of a missing group: %v", err)
	}

	python := boto3Python(t)
	script := fmt.Sprintf(`
import boto3
from botocore.exceptions import ClientError
logs = boto3.client("logs")
qid = logs.start_query(logGroupName="/app/web", startTime=%d, endTime=%d,
    queryString='fields path, ms | filter path = "/p1" and @message like /"ms":(1|4)}/ | sort ms desc | limit 5')["queryId"]
res = logs.get_query_results(queryId=qid)
rows = [{f["field"]: f["value"] for f in row} for row in res["results"]]
assert res["status"] == "Complete" and rows == [{"path": "/p1", "ms": "4"}, {"path": "/p1", "ms": "1"}], rows
qs = logs.describe_queries(logGroupName="/app/web")["queries"]
assert qs[0]["queryId"] == qid and qs[0]["status"] == "Complete", qs
assert logs.stop_query(queryId=qid)["success"] is False
try:
    logs.get_query_results(queryId="00000000-0000-0000-0000-000000000000")
    raise AssertionError("no error for an unknown query")
except ClientError as e:
    assert e.response["Error"]["Code"] == "ResourceNotFoundException", e.response
print("insights ok")
`, *start, *end)
	runSelfCheckingScript(t, b, python, "", script, "insights ok")
}

func resultText(rows [][]cwtypes.ResultField) string {
	var parts []string
	for _, row := range rows {
		var fs []string
		for _, f := range row {
			fs = append(fs, aws.ToString(f.Field)+"="+aws.ToString(f.Value))
		}
		parts = append(parts, strings.Join(fs, " "))
	}
	return strings.Join(parts, "; ")
}
