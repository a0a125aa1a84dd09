package e2e_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/barge-run/barge/internal/bargetest"
)

// latencyFunction logs, per record, its queue and how long ago its body (a Unix time in ns) was
// taken; a body "0" (a warm-up) is logged as a latency of 0.
const latencyFunction = `import time
def handler(event, context):
    now = time.time_ns()
    for r in event.get("Records", []):
        sent = int(r["body"])
        print("LAT %s %d" % (r["eventSourceARN"].split(":")[-1], now - sent if sent else 0))
    return None
`

// BenchmarkSQSToFunction measures, in one run and one server, the latency from a SendMessage
// call's start to the function's handler through an event source mapping (BatchSize 1, no
// batching window, a warm instance), beside two floors: a direct synchronous Invoke of the same
// warm function (call to answer) and SendMessage to a long-polling receiver (call to receipt).
// Messages are sent one every 100 ms, so each finds the poller idle and the instance warm.
//
//	go test -run '^$' -bench BenchmarkSQSToFunction -benchtime 50x -count 2 ./internal/e2e/
func BenchmarkSQSToFunction(b *testing.B) {
	srv := bargetest.Start(b)
	ctx := context.Background()
	q, l := sqs.NewFromConfig(srv.Config()), lambda.NewFromConfig(srv.Config())
	logs := cloudwatchlogs.NewFromConfig(srv.Config())
	if _, err := l.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("lat"), Runtime: hostPython(b),
		Handler: aws.String("app.handler"), Role: aws.String("arn:aws:iam::000000000000:role/r"),
		Code: &ltypes.FunctionCode{ZipFile: zipSources(b, map[string]string{"app.py": latencyFunction})}}); err != nil {
		b.Fatal(err)
	}
	newQueue := func(name string) (url, arn string) {
		out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
		if err != nil {
			b.Fatal(err)
		}
		return *out.QueueUrl, "arn:aws:sqs:us-east-1:000000000000:" + name
	}
	send := func(url string, warmUp ...bool) {
		body := strconv.FormatInt(time.Now().UnixNano(), 10)
		if len(warmUp) > 0 {
			body = "0"
		}
		if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)}); err != nil {
			b.Fatal(err)
		}
	}
	report := func(b *testing.B, ds []time.Duration) {
		slices.Sort(ds)
		b.ReportMetric(float64(ds[len(ds)/2])/1e6, "p50-ms")
		b.ReportMetric(float64(ds[len(ds)*9/10])/1e6, "p90-ms")
	}

	b.Run("Floor/Invoke", func(b *testing.B) {
		ds := make([]time.Duration, 0, b.N)
		payload := []byte(`{"Records":[]}`)
		for i := 0; i < b.N+1; i++ {
			start := time.Now()
			out, err := l.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("lat"), Payload: payload})
			if err != nil || out.FunctionError != nil {
				b.Fatalf("Invoke: %v %v", err, out)
			}
			if i > 0 { // the first call may start the instance
				ds = append(ds, time.Since(start))
			}
		}
		report(b, ds)
	})

	b.Run("Floor/SendToLongPoll", func(b *testing.B) {
		url, _ := newQueue("lat-poll-" + strconv.Itoa(b.N))
		got := make(chan time.Duration, 1)
		go func() {
			for range b.N {
				for {
					out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 20})
					if err != nil {
						b.Error(err)
						close(got)
						return
					}
					if len(out.Messages) == 1 {
						sent, _ := strconv.ParseInt(aws.ToString(out.Messages[0].Body), 10, 64)
						got <- time.Since(time.Unix(0, sent))
						break
					}
				}
			}
		}()
		ds := make([]time.Duration, 0, b.N)
		for range b.N {
			send(url)
			d, ok := <-got
			if !ok {
				b.FailNow()
			}
			ds = append(ds, d)
		}
		report(b, ds)
	})

	b.Run("Mapping", func(b *testing.B) {
		name := "lat-map-" + strconv.Itoa(b.N)
		url, arn := newQueue(name)
		m, err := l.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("lat"),
			EventSourceArn: aws.String(arn), BatchSize: aws.Int32(1), MaximumBatchingWindowInSeconds: aws.Int32(0)})
		if err != nil {
			b.Fatal(err)
		}
		defer l.DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: m.UUID})
		send(url, true) // the instance's first batch: warm-up, not counted
		waitLatencies(b, logs, name, 1)
		b.ResetTimer()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for range b.N {
			send(url)
			<-tick.C
		}
		ds := waitLatencies(b, logs, name, 1+b.N)
		b.StopTimer()
		report(b, slices.DeleteFunc(ds, func(d time.Duration) bool { return d == 0 }))
	})
}

// latencies reads the latencies the function logged so far for the queue named queue.
func latencies(logs *cloudwatchlogs.Client, queue string) []time.Duration {
	var out []time.Duration
	var token *string
	for {
		page, err := logs.FilterLogEvents(context.Background(), &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/lat"),
			FilterPattern: aws.String(`"LAT ` + queue + ` "`), NextToken: token})
		if err != nil {
			return out // no group until the function first logs
		}
		for _, ev := range page.Events {
			_, v, _ := strings.Cut(aws.ToString(ev.Message), "LAT "+queue+" ")
			if ns, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				out = append(out, time.Duration(ns))
			}
		}
		if page.NextToken == nil {
			return out
		}
		token = page.NextToken
	}
}

// waitLatencies polls the function's log until it holds n latencies for queue.
func waitLatencies(b *testing.B, logs *cloudwatchlogs.Client, queue string, n int) []time.Duration {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if ds := latencies(logs, queue); len(ds) >= n {
			return ds
		}
		if time.Now().After(deadline) {
			b.Fatalf("the function logged fewer than %d latencies in 2 minutes", n)
		}
		time.Sleep(100 * time.Millisecond) // polling the log for the function's lines
	}
}
