package e2e_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	stypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// passMachine is a chain of three Pass states.
const passMachine = `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"C"},"C":{"Type":"Pass","End":true}}}`

// BenchmarkSFNExecutions measures whole executions of a Pass-only machine through HTTP with
// aws-sdk-go-v2: STANDARD (StartExecution, then DescribeExecution until SUCCEEDED; durable in
// the store) from 16 clients at once, and EXPRESS (StartSyncExecution, in memory).
func BenchmarkSFNExecutions(b *testing.B) {
	srv := bargetest.Start(b)
	c := sfnClient(srv)
	create := func(name string, typ stypes.StateMachineType) string {
		out, err := c.CreateStateMachine(b.Context(), &sfn.CreateStateMachineInput{Name: aws.String(name), Definition: aws.String(passMachine),
			RoleArn: aws.String(sfnRole), Type: typ})
		if err != nil {
			b.Fatal(err)
		}
		return aws.ToString(out.StateMachineArn)
	}
	standard, express := create("bench-standard", ""), create("bench-express", stypes.StateMachineTypeExpress)
	b.Run("STANDARD", func(b *testing.B) {
		b.SetParallelism(8) // 8 × GOMAXPROCS clients
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				out, err := c.StartExecution(b.Context(), &sfn.StartExecutionInput{StateMachineArn: aws.String(standard)})
				if err != nil {
					b.Error(err)
					return
				}
				for {
					d, err := c.DescribeExecution(b.Context(), &sfn.DescribeExecutionInput{ExecutionArn: out.ExecutionArn})
					if err != nil {
						b.Error(err)
						return
					}
					if d.Status == stypes.ExecutionStatusSucceeded {
						break
					}
					if d.Status != stypes.ExecutionStatusRunning {
						b.Errorf("execution %s", d.Status)
						return
					}
					time.Sleep(time.Millisecond)
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "executions/s")
	})
	b.Run("EXPRESS-sync", func(b *testing.B) {
		b.SetParallelism(8)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				out, err := c.StartSyncExecution(b.Context(), &sfn.StartSyncExecutionInput{StateMachineArn: aws.String(express)})
				if err != nil || out.Status != stypes.SyncExecutionStatusSucceeded {
					b.Errorf("sync execution: %v", err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "executions/s")
	})
}
