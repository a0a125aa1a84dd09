package bench

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// TestLogsSmall runs `barge bench-logs` small against a real server over HTTP: 30,000 events by
// 3 writers, two ingest rounds and two runs of each query, and checks the counts it reports
// against the events it sent, counted here again, and against the server read back on its own.
func TestLogsSmall(t *testing.T) {
	if _, err := exec.LookPath("grep"); err != nil {
		t.Skip("no grep for the floor")
	}
	ctx := context.Background()
	o := startServer(t)
	lo := LogsOptions{Events: 30_000, Writers: 3, Runs: 2, IngestRuns: 2, Dir: t.TempDir()}
	r, err := Logs(ctx, o, lo)
	if err != nil {
		t.Fatal(err)
	}
	d := makeLogsData(lo.Events, lo.Writers, 0) // the same messages whatever the base
	if r.Events != 30_000 || r.Writers != 3 || r.MessageBytes != d.bytes || len(r.Ingest) != 2 {
		t.Fatalf("result: %d events, %d writers, %d bytes (want %d), %d ingest rounds", r.Events, r.Writers, r.MessageBytes, d.bytes, len(r.Ingest))
	}
	if r.Batches < 3 || r.Batches > 3+int(d.bytes)/(1<<20)+3 {
		t.Errorf("%d batches for %d bytes by 3 writers", r.Batches, d.bytes)
	}
	if r.RecordBytes <= r.MessageBytes {
		t.Errorf("the floor's files hold %d bytes, less than the %d of the messages", r.RecordBytes, r.MessageBytes)
	}
	for _, ir := range r.Ingest {
		if ir.Floor <= 0 || ir.FloorSync <= 0 || ir.Barge <= 0 {
			t.Errorf("ingest round: %+v", ir)
		}
	}

	// Each query's count, recounted here over the messages.
	want := map[string]int{}
	for i, m := range d.msgs {
		for _, word := range []string{"WARN", "ERROR", `"status":500,`} {
			if strings.Contains(m, word) {
				want[word]++
			}
		}
		if strings.Contains(m, "ERROR") && strings.Contains(m, "4242") {
			want["ERROR 4242"]++
			if d.ts[i] >= d.window[0] && d.ts[i] < d.window[1] { // the window lies alike whatever the base
				want["window"]++
			}
		}
	}
	if want["WARN"] < 1000 || want[`"status":500,`] < 30 || want["ERROR"] < 200 {
		t.Fatalf("the data lacks matches: %v", want)
	}
	if len(r.Queries) != len(logsQueries)+1 {
		t.Fatalf("%d query results", len(r.Queries))
	}
	for _, q := range r.Queries {
		if len(q.Barge) != 2 || len(q.Floor) != 2 {
			t.Errorf("%s: %d and %d runs", q.Name, len(q.Barge), len(q.Floor))
		}
		switch {
		case q.Pattern == "ERROR 4242" && !q.Window && q.Matches != want["ERROR 4242"],
			q.Pattern == "{ $.status = 500 }" && q.Matches != want[`"status":500,`],
			q.Pattern == "NOSUCHTERM" && q.Matches != 0,
			q.Pattern == "WARN" && q.Matches != want["WARN"]:
			t.Errorf("%s: %d matches, want %v", q.Name, q.Matches, want)
		case q.Pages < 1:
			t.Errorf("%s: %d pages", q.Name, q.Pages)
		}
	}
	if last := r.Queries[len(r.Queries)-1]; last.Matches < 1 || last.Matches > d.count(0) {
		t.Errorf("GetLogEvents' last page: %d events of the stream's %d", last.Matches, d.count(0))
	}

	// The server read back on its own: every event of the first round is in its group, the
	// second round's group is gone.
	c := logsClient(o.withDefaults(0, ""), 1)
	total, pages := 0, 0
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(LogsGroup + "-1")}
	for {
		out, err := c.FilterLogEvents(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		total, pages = total+len(out.Events), pages+1
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	if total != lo.Events || pages < 2 {
		t.Errorf("group %s-1 holds %d events in %d pages, want %d in several", LogsGroup, total, pages, lo.Events)
	}
	if _, err := c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(LogsGroup + "-2")}); err == nil {
		t.Errorf("group %s-2 still exists after its round", LogsGroup)
	}
}
