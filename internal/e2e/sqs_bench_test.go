package e2e_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// BenchmarkSQS measures durable SendMessage(Batch) and ReceiveMessage+DeleteMessage(Batch)
// round trips through barge's HTTP API with aws-sdk-go-v2, in messages per second.
//
//	go test -run '^$' -bench BenchmarkSQS$ ./internal/e2e/
func BenchmarkSQS(b *testing.B) {
	srv := bargetest.Start(b)
	benchSQSOps(b, sqs.NewFromConfig(srv.Config()), false, 1, 10)
}

// BenchmarkSQSBesideFloors measures, in one run, barge's batched send and receive+delete beside
// two references: the floor of barge's own API path (GetQueueUrl: SigV4, routing, a read, no
// store write) and moto_server, an in-memory peer, driven by the same client. Run with -count N
// to alternate barge and moto A B A B.
//
//	go test -run '^$' -bench BenchmarkSQSBesideFloors -count 3 ./internal/e2e/
func BenchmarkSQSBesideFloors(b *testing.B) {
	srv := bargetest.Start(b)
	moto := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(motoServer(b)),
		Credentials: credentials.NewStaticCredentialsProvider("moto", "moto", "")})
	b.Run("barge", func(b *testing.B) { benchSQSOps(b, sqs.NewFromConfig(srv.Config()), true, 10) })
	b.Run("moto", func(b *testing.B) { benchSQSOps(b, moto, true, 10) })
}

// benchSQSOps runs the send and receive+delete benchmarks of c for each batch size, from eight
// clients at once; with floor, first the GetQueueUrl floor in requests per second.
func benchSQSOps(b *testing.B, c *sqs.Client, floor bool, sizes ...int) {
	ctx := context.Background()
	var n atomic.Int64
	queue := func() string {
		out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("bench-" + strconv.FormatInt(n.Add(1), 10))})
		if err != nil {
			b.Fatal(err)
		}
		return *out.QueueUrl
	}
	batch := make([]types.SendMessageBatchRequestEntry, 10)
	for i := range batch {
		batch[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String("payload " + strconv.Itoa(i))}
	}
	if floor {
		b.Run("Floor/GetQueueUrl", func(b *testing.B) {
			queue()
			name := "bench-" + strconv.FormatInt(n.Load(), 10)
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
	for _, size := range sizes {
		b.Run("Send/batch="+strconv.Itoa(size), func(b *testing.B) {
			url := queue()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					var err error
					if size == 1 {
						_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("payload")})
					} else {
						_, err = c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: batch})
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "msgs/s")
		})
		b.Run("ReceiveDelete/batch="+strconv.Itoa(size), func(b *testing.B) {
			url := queue()
			for range (b.N*size+9)/10 + 8 {
				if _, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: batch}); err != nil {
					b.Fatal(err)
				}
			}
			var got atomic.Int64
			b.ResetTimer()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: int32(size)})
					if err != nil {
						b.Error(err)
						return
					}
					got.Add(int64(len(out.Messages)))
					if size == 1 && len(out.Messages) == 1 {
						_, err = c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: out.Messages[0].ReceiptHandle})
					} else if len(out.Messages) > 0 {
						entries := make([]types.DeleteMessageBatchRequestEntry, len(out.Messages))
						for i, m := range out.Messages {
							entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle}
						}
						_, err = c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(got.Load())/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
