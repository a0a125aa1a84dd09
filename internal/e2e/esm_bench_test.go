package e2e_test

import (
	"archive/zip"
	"bytes"
	"context"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// BenchmarkESM measures how many messages per second an event source mapping drains from a
// full queue through a trivial Python function, BatchSize 10, default scaling; each iteration
// is one message.
//
//	go test -run '^$' -bench BenchmarkESM -benchtime 5000x ./internal/e2e/
func BenchmarkESM(b *testing.B) {
	out, err := exec.Command("/usr/bin/python3", "-c", "import sys; print('python3.%d' % sys.version_info[1])").Output()
	if err != nil {
		b.Skipf("no system python3: %v", err)
	}
	rt := ltypes.Runtime(strings.TrimSpace(string(out)))
	var pkg bytes.Buffer
	zw := zip.NewWriter(&pkg)
	w, _ := zw.Create("app.py")
	w.Write([]byte("def handler(event, context):\n    return None\n"))
	zw.Close()
	srv := bargetest.Start(b)
	ctx := context.Background()
	c, l := sqs.NewFromConfig(srv.Config()), lambda.NewFromConfig(srv.Config())
	if _, err := l.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("noop"), Runtime: rt, Handler: aws.String("app.handler"),
		Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &ltypes.FunctionCode{ZipFile: pkg.Bytes()}}); err != nil {
		b.Fatal(err)
	}
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("bench-esm")})
	if err != nil {
		b.Fatal(err)
	}
	fillESMQueue(b, c, *q.QueueUrl, b.N)
	b.ResetTimer()
	if _, err := l.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("noop"),
		EventSourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:bench-esm"), BatchSize: aws.Int32(10)}); err != nil {
		b.Fatal(err)
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []types.QueueAttributeName{"All"}})
		if err != nil {
			b.Fatal(err)
		}
		if out.Attributes["ApproximateNumberOfMessages"] == "0" && out.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0" {
			break
		}
		<-tick.C
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// fillESMQueue sends n messages to url in batches of ten from eight clients.
func fillESMQueue(b *testing.B, c *sqs.Client, url string, n int) {
	var wg sync.WaitGroup
	work := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for size := range work {
				entries := make([]types.SendMessageBatchRequestEntry, size)
				for i := range entries {
					entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(`{"n":` + strconv.Itoa(i) + `}`)}
				}
				if _, err := c.SendMessageBatch(context.Background(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries}); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for n > 0 {
		work <- min(n, 10)
		n -= min(n, 10)
	}
	close(work)
	wg.Wait()
}
