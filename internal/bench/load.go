package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Defaults of the mixed load.
const (
	DefaultLoadClients  = 100
	DefaultLoadDuration = 60 * time.Second
)

// LoadOptions size the mixed load.
type LoadOptions struct {
	Clients  int           // concurrent clients (default 100)
	Duration time.Duration // how long they call (default 60 s)
	Out      io.Writer     // progress
}

// OpStats are one operation's calls in a load run.
type OpStats struct {
	Name   string
	Calls  int
	Errors int
	// ClientClosed counts the calls the client's own HTTP transport failed after the server had
	// answered them: aws-sdk-go-v2 closes a request's body as soon as the response arrives, and
	// Go's transport, still finishing the request's write, then closes the connection under the
	// response being read ("use of closed network connection", aws-sdk-go-v2 issue #2737). The
	// SDK retries these by default; Load makes no retries, so it counts them apart from Errors.
	ClientClosed int
	P50, P99     time.Duration
	FirstError   string
}

// LoadResult is a load run.
type LoadResult struct {
	Clients int
	Elapsed time.Duration
	Ops     []OpStats // by operation, in loadMix's order, then "all"
}

// Total is the row of every call together.
func (r LoadResult) Total() OpStats { return r.Ops[len(r.Ops)-1] }

// loadOp is one operation of the mix: its share of the calls and how to make one.
type loadOp struct {
	name   string
	weight int
	call   func(ctx context.Context, cl *loadClient) error
}

// loadClient is one simulated client: the AWS clients (shared) and what it submitted.
type loadClient struct {
	b      *batch.Client
	l      *lambda.Client
	logs   *cloudwatchlogs.Client
	stream string   // a log stream of the echo function
	mine   []string // jobs this client submitted, newest last
}

// loadMix is what the clients call: writes and reads of Batch, synchronous invokes and reads of
// Lambda, and reads of CloudWatch Logs, in proportions a busy team's scripts and dashboards
// might make.
var loadMix = []loadOp{
	{"batch:SubmitJob", 20, func(ctx context.Context, cl *loadClient) error {
		out, err := cl.b.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("load"), JobQueue: aws.String(ParkedQueue), JobDefinition: aws.String(Definition)})
		if err == nil {
			cl.mine = append(cl.mine, aws.ToString(out.JobId))
		}
		return err
	}},
	{"batch:DescribeJobs", 20, func(ctx context.Context, cl *loadClient) error {
		ids := cl.mine[max(0, len(cl.mine)-20):]
		if len(ids) == 0 {
			return nil
		}
		out, err := cl.b.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: ids})
		if err == nil && len(out.Jobs) != len(ids) {
			err = fmt.Errorf("DescribeJobs: %d of %d jobs", len(out.Jobs), len(ids))
		}
		return err
	}},
	{"batch:ListJobs", 10, func(ctx context.Context, cl *loadClient) error {
		_, err := cl.b.ListJobs(ctx, &batch.ListJobsInput{JobQueue: aws.String(ParkedQueue), JobStatus: types.JobStatusRunnable, MaxResults: aws.Int32(50)})
		return err
	}},
	{"lambda:Invoke", 25, func(ctx context.Context, cl *loadClient) error {
		out, err := cl.l.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(LambdaFunction), Payload: noopPayload})
		if err == nil && out.FunctionError != nil {
			err = fmt.Errorf("Invoke: function error %s: %s", aws.ToString(out.FunctionError), out.Payload)
		}
		return err
	}},
	{"lambda:GetFunction", 5, func(ctx context.Context, cl *loadClient) error {
		_, err := cl.l.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(LambdaFunction)})
		return err
	}},
	{"logs:GetLogEvents", 10, func(ctx context.Context, cl *loadClient) error {
		_, err := cl.logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/aws/lambda/" + LambdaFunction),
			LogStreamName: aws.String(cl.stream), Limit: aws.Int32(100)})
		return err
	}},
	{"logs:DescribeLogStreams", 10, func(ctx context.Context, cl *loadClient) error {
		_, err := cl.logs.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/lambda/" + LambdaFunction)})
		return err
	}},
}

// Load runs lo.Clients clients against the server for lo.Duration, each calling loadMix's
// operations back to back in random order by weight, and measures every call. The AWS clients
// do not retry: a failed call is counted, not hidden in a latency. It first creates what the
// mix needs: the parked queue and job definition, and the echo function from code.
func Load(ctx context.Context, o Options, lo LoadOptions, code []byte) (LoadResult, error) {
	if lo.Clients <= 0 {
		lo.Clients = DefaultLoadClients
	}
	if lo.Duration <= 0 {
		lo.Duration = DefaultLoadDuration
	}
	if lo.Out == nil {
		lo.Out = io.Discard
	}
	o.Concurrency = lo.Clients
	o = o.withDefaults(0, "")
	cfg := aws.Config{Region: o.Region, Credentials: credentials.NewStaticCredentialsProvider(o.AccessKey, o.Secret, ""),
		BaseEndpoint: aws.String(o.Endpoint), HTTPClient: newHTTPClient(lo.Clients), RetryMaxAttempts: 1}
	shared := loadClient{b: batch.NewFromConfig(cfg), l: lambda.NewFromConfig(cfg), logs: cloudwatchlogs.NewFromConfig(cfg)}
	defer cfg.HTTPClient.(*http.Client).CloseIdleConnections()
	if err := loadSetup(ctx, &shared, code); err != nil {
		return LoadResult{}, err
	}

	total := 0
	for _, op := range loadMix {
		total += op.weight
	}
	samples := make([][]loadSample, lo.Clients)
	start := time.Now()
	deadline := start.Add(lo.Duration)
	var wg sync.WaitGroup
	for i := range lo.Clients {
		cl := shared
		cl.mine = nil
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			for time.Now().Before(deadline) && ctx.Err() == nil {
				k, pick := 0, rng.IntN(total)
				for pick >= loadMix[k].weight {
					pick -= loadMix[k].weight
					k++
				}
				t := time.Now()
				err := loadMix[k].call(ctx, &cl)
				samples[i] = append(samples[i], loadSample{k, time.Since(t), err})
			}
		})
	}
	wg.Wait()
	return summarize(lo.Clients, time.Since(start), samples), nil
}

// loadSample is one call: its operation (an index of loadMix), latency and outcome.
type loadSample struct {
	op  int
	d   time.Duration
	err error
}

// summarize turns every client's calls into per-operation statistics and a total.
func summarize(clients int, elapsed time.Duration, samples [][]loadSample) LoadResult {
	r := LoadResult{Clients: clients, Elapsed: elapsed}
	per := make([][]time.Duration, len(loadMix)+1)
	r.Ops = make([]OpStats, len(loadMix)+1)
	for k, op := range loadMix {
		r.Ops[k].Name = op.name
	}
	r.Ops[len(loadMix)].Name = "all"
	for _, ss := range samples {
		for _, s := range ss {
			for _, k := range []int{s.op, len(loadMix)} {
				st := &r.Ops[k]
				st.Calls++
				per[k] = append(per[k], s.d)
				switch {
				case s.err == nil:
				case errors.Is(s.err, net.ErrClosed):
					st.ClientClosed++
				default:
					st.Errors++
					if st.FirstError == "" {
						st.FirstError = s.err.Error()
					}
				}
			}
		}
	}
	for k := range r.Ops {
		slices.Sort(per[k])
		r.Ops[k].P50, r.Ops[k].P99 = percentile(per[k], 0.50), percentile(per[k], 0.99)
	}
	return r
}

// loadSetup creates the parked queue, the job definition and the echo function, and invokes
// the function once so that its log stream exists.
func loadSetup(ctx context.Context, cl *loadClient, code []byte) error {
	if err := EnsureParked(ctx, cl.b); err != nil {
		return err
	}
	if err := EnsureDefinition(ctx, cl.b); err != nil {
		return err
	}
	_, _ = cl.l.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(LambdaFunction)})
	if _, err := cl.l.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(LambdaFunction), Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Role: aws.String("arn:aws:iam::000000000000:role/bench"), Code: &ltypes.FunctionCode{ZipFile: code}, Timeout: aws.Int32(10),
	}); err != nil {
		return fmt.Errorf("create %s: %w", LambdaFunction, err)
	}
	if _, err := cl.l.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(LambdaFunction), Payload: noopPayload}); err != nil {
		return fmt.Errorf("first invoke: %w", err)
	}
	out, err := cl.logs.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/lambda/" + LambdaFunction)})
	if err != nil {
		return err
	}
	if len(out.LogStreams) == 0 {
		return fmt.Errorf("the echo function has no log stream after an invoke")
	}
	cl.stream = aws.ToString(out.LogStreams[0].LogStreamName)
	return nil
}

// ProcessMemory is a process's resident memory now and at its peak (VmRSS, VmHWM), in KiB.
func ProcessMemory(pid int) (rss, peak int64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		fmt.Sscanf(line, "VmRSS: %d kB", &rss)
		fmt.Sscanf(line, "VmHWM: %d kB", &peak)
	}
	return rss, peak, nil
}
