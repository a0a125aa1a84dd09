package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	stypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/barge-run/barge/internal/bargetest"
	"github.com/barge-run/barge/internal/sfn/asl"
)

// chainLength is the number of Pass states of the transitions benchmark's machine.
const chainLength = 1000

// passChain is a machine of n Pass states in a row.
func passChain(n int) string {
	var b strings.Builder
	b.WriteString(`{"StartAt":"S0","States":{`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		if i == n-1 {
			fmt.Fprintf(&b, `"S%d":{"Type":"Pass","End":true}`, i)
		} else {
			fmt.Fprintf(&b, `"S%d":{"Type":"Pass","Next":"S%d"}`, i, i+1)
		}
	}
	b.WriteString("}}")
	return b.String()
}

// BenchmarkSFNTransitions measures state transitions per second through a chain of 1,000 Pass
// states, each iteration one execution: EXPRESS (StartSyncExecution, in memory) and STANDARD
// (StartExecution, then DescribeExecution until it ends: history durable in the store), beside
// the floor of barge's interpreter alone in this process (no HTTP, no history, no checkpoints).
//
//	go test -run '^$' -bench BenchmarkSFNTransitions -benchtime 20x -count 3 ./internal/e2e/
func BenchmarkSFNTransitions(b *testing.B) {
	def := passChain(chainLength)
	srv := bargetest.Start(b)
	c := sfnClient(srv)
	ctx := context.Background()
	express := createBenchMachine(b, c, "chain-express", def, stypes.StateMachineTypeExpress)
	standard := createBenchMachine(b, c, "chain-standard", def, stypes.StateMachineTypeStandard)
	transitions := func(b *testing.B) {
		b.ReportMetric(float64(b.N*chainLength)/b.Elapsed().Seconds(), "transitions/s")
	}
	b.Run("Floor/interpreter", func(b *testing.B) {
		parsed, err := asl.Parse(def)
		if err != nil {
			b.Fatal(err)
		}
		it := asl.New(parsed, asl.Config{})
		for range b.N {
			if res := it.Start(ctx, asl.Execution{Name: "floor"}, json.RawMessage(`{}`)); res.Status != asl.StatusSucceeded {
				b.Fatalf("interpreter: %+v", res)
			}
		}
		transitions(b)
	})
	b.Run("EXPRESS", func(b *testing.B) {
		for range b.N {
			out, err := c.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: aws.String(express), Input: aws.String(`{}`)})
			if err != nil || out.Status != stypes.SyncExecutionStatusSucceeded {
				b.Fatalf("sync execution: %v %v", err, out)
			}
		}
		transitions(b)
	})
	b.Run("STANDARD", func(b *testing.B) {
		for range b.N {
			out, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(standard), Input: aws.String(`{}`)})
			if err != nil {
				b.Fatal(err)
			}
			if d := waitBenchExecution(b, c, aws.ToString(out.ExecutionArn)); d.Status != stypes.ExecutionStatusSucceeded {
				b.Fatalf("execution %s", d.Status)
			}
		}
		transitions(b)
	})
}

// BenchmarkSFNFirstState measures the latency from a StartExecution call's start to its first
// state's StateEntered event (history timestamps have AWS's millisecond resolution: each sample
// is within 1 ms), executions one at a time, beside the floor of StartExecution's own round trip
// (call to answer: the execution made durable).
//
//	go test -run '^$' -bench BenchmarkSFNFirstState -benchtime 200x ./internal/e2e/
func BenchmarkSFNFirstState(b *testing.B) {
	srv := bargetest.Start(b)
	c := sfnClient(srv)
	ctx := context.Background()
	machine := createBenchMachine(b, c, "first-state", passMachine, stypes.StateMachineTypeStandard)
	var calls, first []time.Duration
	for range b.N {
		start := time.Now()
		out, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(machine), Input: aws.String(`{}`)})
		if err != nil {
			b.Fatal(err)
		}
		calls = append(calls, time.Since(start))
		waitBenchExecution(b, c, aws.ToString(out.ExecutionArn))
		h, err := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: out.ExecutionArn, MaxResults: 5})
		if err != nil {
			b.Fatal(err)
		}
		for _, ev := range h.Events {
			if ev.StateEnteredEventDetails != nil {
				first = append(first, aws.ToTime(ev.Timestamp).Sub(start.Truncate(time.Millisecond)))
				break
			}
		}
	}
	p50 := func(ds []time.Duration) float64 {
		slices.Sort(ds)
		return float64(ds[len(ds)/2]) / 1e6
	}
	b.ReportMetric(p50(calls), "floor-call-p50-ms")
	b.ReportMetric(p50(first), "first-state-p50-ms")
}

// mapItems is the number of items the Map benchmark maps.
const mapItems = 10000

// BenchmarkSFNMap measures a STANDARD execution's inline Map of 10,000 items over a warm
// function (a Go echo function, MaxConcurrency 16), in items per second, beside the floor of
// invoking the same function 10,000 times directly from 16 clients. Each iteration keeps only
// the reply's count (OutputPath): the 10,000 whole replies (~550 bytes each) would exceed the
// Map's 256 KiB output limit.
//
//	go test -run '^$' -bench BenchmarkSFNMap -benchtime 1x -count 3 ./internal/e2e/
func BenchmarkSFNMap(b *testing.B) {
	const concurrency = 16
	srv := bargetest.Start(b)
	c, l := sfnClient(srv), lambda.NewFromConfig(srv.Config())
	ctx := context.Background()
	fn, err := l.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("map-echo"), Runtime: ltypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &ltypes.FunctionCode{ZipFile: echoFunction(b)}})
	if err != nil {
		b.Fatal(err)
	}
	def := fmt.Sprintf(`{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":%d,"End":true,
 "ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"F","States":{"F":{"Type":"Task","Resource":%q,"OutputPath":"$.count","End":true}}}}}}`,
		concurrency, aws.ToString(fn.FunctionArn))
	machine := createBenchMachine(b, c, "map-bench", def, stypes.StateMachineTypeStandard)
	items := make([]int, mapItems)
	for i := range items {
		items[i] = i
	}
	input, _ := json.Marshal(items)
	invokeAll := func(b *testing.B) {
		work := make(chan int)
		var wg sync.WaitGroup
		for range concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					out, err := l.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("map-echo"), Payload: fmt.Appendf(nil, "%d", i)})
					if err != nil || out.FunctionError != nil {
						b.Errorf("Invoke: %v", err)
					}
				}
			}()
		}
		for i := range mapItems {
			work <- i
		}
		close(work)
		wg.Wait()
	}
	invokeAll(b) // warm the instances both sides use
	b.ResetTimer()
	b.Run("Floor/Invoke", func(b *testing.B) {
		for range b.N {
			invokeAll(b)
		}
		b.ReportMetric(float64(b.N*mapItems)/b.Elapsed().Seconds(), "items/s")
	})
	b.Run("Map", func(b *testing.B) {
		for range b.N {
			out, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(machine), Input: aws.String(string(input))})
			if err != nil {
				b.Fatal(err)
			}
			if d := waitBenchExecution(b, c, aws.ToString(out.ExecutionArn)); d.Status != stypes.ExecutionStatusSucceeded {
				b.Fatalf("map execution %s: %s", d.Status, aws.ToString(d.Cause))
			}
		}
		b.ReportMetric(float64(b.N*mapItems)/b.Elapsed().Seconds(), "items/s")
	})
}

func createBenchMachine(b *testing.B, c *sfn.Client, name, def string, typ stypes.StateMachineType) string {
	out, err := c.CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{Name: aws.String(name), Definition: aws.String(def),
		RoleArn: aws.String(sfnRole), Type: typ})
	if err != nil {
		b.Fatalf("CreateStateMachine %s: %v", name, err)
	}
	return aws.ToString(out.StateMachineArn)
}

// waitBenchExecution polls an execution until it leaves RUNNING.
func waitBenchExecution(b *testing.B, c *sfn.Client, arn string) *sfn.DescribeExecutionOutput {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		d, err := c.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			b.Fatal(err)
		}
		if d.Status != stypes.ExecutionStatusRunning {
			return d
		}
		if time.Now().After(deadline) {
			b.Fatalf("execution %s still RUNNING after 5 minutes", arn)
		}
		time.Sleep(time.Millisecond) // polling the execution's status through the API
	}
}
