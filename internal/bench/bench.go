// Package bench owns barge's end-to-end benchmarks, the ones `barge bench` runs and
// docs/benchmarks.md records: SubmitJob throughput over HTTP (the API edge, SigV4 and the durable
// SQLite store) and end-to-end throughput of `true` jobs from the first SubmitJob to the last
// SUCCEEDED (scheduler, local executor, log streams and every state change on the way). It also
// owns the resources those benchmarks create on the server they measure — the bench-parked and
// bench-e2e compute environments and job queues and the bench-true job definition — and the
// table `barge bench` prints. It talks to barge only through the AWS Batch API with
// aws-sdk-go-v2, as any client would, so it measures a local or a remote server alike.
//
// Nothing the benchmarks create is deleted afterwards: the jobs SubmitThroughput submits stay
// RUNNABLE in bench-parked, whose compute environment is DISABLED, and the finished end-to-end
// jobs stay in their queue's history. `barge bench` without --endpoint runs against a throwaway
// in-process server, so this only matters when pointing it at a server you keep.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/smithy-go"
)

// Names of what the benchmarks create on the server.
const (
	// ParkedQueue is the job queue SubmitThroughput submits to, and the name of its compute
	// environment, which is DISABLED so its jobs stay RUNNABLE and start no process.
	ParkedQueue = "bench-parked"
	// SlotsQueue is the job queue (and compute environment) SetupSlots creates for EndToEnd
	// runs with a chosen number of vCPU slots.
	SlotsQueue = "bench-e2e"
	// DefaultQueue is the queue every barge server creates; EndToEnd uses it unless told
	// otherwise.
	DefaultQueue = "default"
	// Definition is the job definition both benchmarks submit: command ["true"], 1 vCPU,
	// 16 MiB.
	Definition = "bench-true"
)

// Default sizes of the benchmarks.
const (
	DefaultConcurrency = 32
	DefaultSubmitJobs  = 5000
	DefaultE2EJobs     = 1000
)

// pollInterval is how often EndToEnd looks for finished jobs.
const pollInterval = 50 * time.Millisecond

// sweepEvery is how often EndToEnd counts completions while the newest job is unfinished, to
// notice a stall.
const sweepEvery = 10 * time.Second

// stallTimeout ends EndToEnd with an error when no job finished for this long.
const stallTimeout = 2 * time.Minute

// Options say which server to measure and how hard.
type Options struct {
	Endpoint  string // e.g. http://127.0.0.1:7700
	AccessKey string
	Secret    string
	Region    string // default us-east-1
	// Queue overrides the job queue: SubmitThroughput defaults to ParkedQueue (created on
	// demand), EndToEnd to DefaultQueue. A queue given here must exist.
	Queue string
	// Concurrency is the number of goroutines calling SubmitJob (default 32).
	Concurrency int
	// Jobs is the number of jobs to submit (default 5000 for SubmitThroughput, 1000 for
	// EndToEnd).
	Jobs int
	// Out receives progress notes; nil is silent.
	Out io.Writer
}

func (o Options) withDefaults(jobs int, queue string) Options {
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Jobs <= 0 {
		o.Jobs = jobs
	}
	if o.Queue == "" {
		o.Queue = queue
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	return o
}

// Result is one benchmark's measurement.
type Result struct {
	Name        string
	Queue       string
	Jobs        int           // jobs submitted (and, for EndToEnd, seen SUCCEEDED)
	Concurrency int           // SubmitJob callers; 0 when the row shows none
	Elapsed     time.Duration // first submit to last response (SubmitThroughput) or last SUCCEEDED seen (EndToEnd)
	// P50 and P99 are SubmitJob call latencies (SubmitThroughput only).
	P50, P99 time.Duration
	// SubmitElapsed is how long submitting took within an EndToEnd run.
	SubmitElapsed time.Duration
	// MachineCPU is the CPU time this machine spent per job during an EndToEnd run, all
	// processes together (machinecpu.go): the server's when it runs here, and the client's.
	MachineCPU time.Duration
}

// JobsPerSecond is the measured throughput.
func (r Result) JobsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Jobs) / r.Elapsed.Seconds()
}

// Client is an AWS Batch client for the options' server whose HTTP transport keeps a connection
// per concurrent caller alive (the SDK's default keeps 10 per host, which would make the
// benchmark measure TCP connection setup), and which retries nothing the server answered: a
// failed call fails the benchmark instead of hiding in its latency (retryClientClosed).
func Client(o Options) *batch.Client {
	o = o.withDefaults(0, "")
	idle := o.Concurrency + 4
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = idle
	tr.MaxIdleConnsPerHost = idle
	hc := &http.Client{Transport: tr}
	return batch.NewFromConfig(aws.Config{
		Region:       o.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(o.AccessKey, o.Secret, ""),
		BaseEndpoint: aws.String(o.Endpoint),
		HTTPClient:   hc,
		Retryer:      retryClientClosed,
	})
}

// retryClientClosed retries a call once, and only when the client's own transport closed the
// connection under a response the server had sent (net.ErrClosed: aws-sdk-go-v2 issue #2737,
// which the SDK's default retryer also retries; see docs/benchmarks.md); anything the server
// answers fails the benchmark.
func retryClientClosed() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 2
		o.RateLimiter = ratelimit.None
		o.Retryables = []retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			return aws.BoolTernary(errors.Is(err, net.ErrClosed))
		})}
	})
}

// CloseIdle closes the idle connections of a client made by Client. Concurrent callers leave
// connections the transport dialed but never used; an http.Server shutting down waits up to 5 s
// for those, so close them when done.
func CloseIdle(c *batch.Client) {
	if hc, ok := c.Options().HTTPClient.(interface{ CloseIdleConnections() }); ok {
		hc.CloseIdleConnections()
	}
}

// SubmitThroughput makes o.Jobs SubmitJob calls over HTTP from o.Concurrency goroutines and
// measures jobs/s and per-call latency. Unless o.Queue says otherwise the jobs go to
// ParkedQueue, whose compute environment is DISABLED: they are durable and RUNNABLE when the
// call returns and never start, so the measurement is the API and store path alone and the
// machine is not flooded with processes. The jobs are left there.
func SubmitThroughput(ctx context.Context, o Options) (Result, error) {
	o = o.withDefaults(DefaultSubmitJobs, ParkedQueue)
	c := Client(o)
	defer CloseIdle(c)
	if o.Queue == ParkedQueue {
		if err := EnsureParked(ctx, c); err != nil {
			return Result{}, err
		}
	}
	if err := EnsureDefinition(ctx, c); err != nil {
		return Result{}, err
	}
	fmt.Fprintf(o.Out, "submit: %d SubmitJob calls from %d goroutines to queue %s\n", o.Jobs, o.Concurrency, o.Queue)
	_, lat, elapsed, err := submitAll(ctx, c, o, "bench-submit")
	if err != nil {
		return Result{}, err
	}
	slices.Sort(lat)
	return Result{
		Name: "submit (HTTP+SQLite)", Queue: o.Queue, Jobs: o.Jobs, Concurrency: o.Concurrency,
		Elapsed: elapsed, P50: percentile(lat, 0.50), P99: percentile(lat, 0.99),
	}, nil
}

// EndToEnd submits o.Jobs jobs of `true` (job definition Definition: 1 vCPU, 16 MiB) from
// o.Concurrency goroutines to o.Queue (default: the default queue, whose compute environment has
// as many vCPUs as the server's host has cores) and waits until every one is SUCCEEDED. The
// throughput is the jobs over the time from the first submit to the moment all are seen
// SUCCEEDED; a FAILED job ends the benchmark with an error. The end is the latest stoppedAt of
// the jobs (the server's clock: the moment the last one finished, not when polling noticed it),
// unless that lies outside the run as this client saw it (a remote server with another clock),
// when it is the moment the last one was seen finished.
//
// Waiting must not load the server it measures, so it polls every 50 ms with DescribeJobs of one
// job, the newest unfinished one: jobs start in submission order, so it is about the last to
// finish. Once it has finished, every unfinished job is described, 100 per call, and the
// completions counted; the jobs still unfinished, if any, are waited for the same way.
func EndToEnd(ctx context.Context, o Options) (Result, error) {
	o = o.withDefaults(DefaultE2EJobs, DefaultQueue)
	c := Client(o)
	defer CloseIdle(c)
	if err := EnsureDefinition(ctx, c); err != nil {
		return Result{}, err
	}
	fmt.Fprintf(o.Out, "e2e: %d jobs of `true` from %d goroutines to queue %s\n", o.Jobs, o.Concurrency, o.Queue)
	cpu := startCPU()
	start := time.Now()
	ids, _, submitElapsed, err := submitAll(ctx, c, o, "bench-e2e")
	if err != nil {
		return Result{}, err
	}
	pending := ids
	succeeded := 0
	var lastStop int64 // latest stoppedAt seen, ms since the epoch
	lastSweep, lastProgress := time.Now(), time.Now()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for len(pending) > 0 {
		select {
		case <-ctx.Done():
			return Result{}, ctx.Err()
		case <-tick.C:
		}
		newest := pending[len(pending)-1]
		done, _, err := describe(ctx, c, []string{newest})
		if err != nil {
			return Result{}, err
		}
		if !done[newest] && time.Since(lastSweep) < sweepEvery {
			continue
		}
		before := len(pending)
		var stop int64
		if pending, stop, err = sweep(ctx, c, pending); err != nil {
			return Result{}, err
		}
		lastStop = max(lastStop, stop)
		lastSweep = time.Now()
		if n := before - len(pending); n > 0 {
			succeeded += n
			lastProgress = lastSweep
		} else if time.Since(lastProgress) > stallTimeout {
			return Result{}, fmt.Errorf("e2e: no job finished for %v; %d of %d still unfinished (first: %s)", stallTimeout, len(pending), len(ids), pending[0])
		}
	}
	elapsed := time.Since(start)
	if end := time.UnixMilli(lastStop); end.After(start) && end.Before(start.Add(elapsed)) {
		elapsed = end.Sub(start)
	}
	if succeeded != len(ids) {
		return Result{}, fmt.Errorf("e2e: counted %d SUCCEEDED jobs of %d", succeeded, len(ids))
	}
	return Result{Name: "end-to-end `true`", Queue: o.Queue, Jobs: succeeded, Elapsed: elapsed, SubmitElapsed: submitElapsed,
		MachineCPU: cpu.perJob(succeeded)}, nil
}

// sweep describes the pending jobs, 100 per call, and returns those not finished yet and the
// latest stoppedAt of those that are.
func sweep(ctx context.Context, c *batch.Client, pending []string) ([]string, int64, error) {
	var left []string
	var lastStop int64
	for i := 0; i < len(pending); i += 100 {
		chunk := pending[i:min(i+100, len(pending))]
		done, stop, err := describe(ctx, c, chunk)
		if err != nil {
			return nil, 0, err
		}
		lastStop = max(lastStop, stop)
		for _, id := range chunk {
			if !done[id] {
				left = append(left, id)
			}
		}
	}
	return left, lastStop, nil
}

// describe reports which of ids (up to 100) are SUCCEEDED, and the latest stoppedAt among them;
// a FAILED one is an error.
func describe(ctx context.Context, c *batch.Client, ids []string) (map[string]bool, int64, error) {
	out, err := c.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: ids})
	if err != nil {
		return nil, 0, fmt.Errorf("e2e: DescribeJobs: %w", err)
	}
	done := make(map[string]bool, len(out.Jobs))
	var lastStop int64
	for _, j := range out.Jobs {
		switch j.Status {
		case types.JobStatusSucceeded:
			done[aws.ToString(j.JobId)] = true
			lastStop = max(lastStop, aws.ToInt64(j.StoppedAt))
		case types.JobStatusFailed:
			return nil, 0, fmt.Errorf("e2e: job %s FAILED: %s", aws.ToString(j.JobId), aws.ToString(j.StatusReason))
		}
	}
	return done, lastStop, nil
}

// submitAll makes o.Jobs SubmitJob calls from o.Concurrency goroutines. It returns the job ids in
// submission-index order, every call's latency, and the time from the first call to the last
// response. The first error cancels the rest.
func submitAll(ctx context.Context, c *batch.Client, o Options, name string) ([]string, []time.Duration, time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ids := make([]string, o.Jobs)
	lat := make([]time.Duration, o.Jobs)
	var next atomic.Int64
	var once sync.Once
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for range min(o.Concurrency, o.Jobs) {
		wg.Go(func() {
			in := &batch.SubmitJobInput{JobName: aws.String(name), JobQueue: aws.String(o.Queue), JobDefinition: aws.String(Definition)}
			for {
				i := int(next.Add(1)) - 1
				if i >= o.Jobs || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				out, err := c.SubmitJob(ctx, in)
				lat[i] = time.Since(t0)
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("SubmitJob to %s: %w", o.Queue, err); cancel() })
					return
				}
				ids[i] = aws.ToString(out.JobId)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return nil, nil, 0, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, 0, err
	}
	return ids, lat, elapsed, nil
}

// percentile of sorted durations, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(p*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(k, len(sorted)-1))]
}

// EnsureParked creates ParkedQueue and its compute environment (UNMANAGED, 1 vCPU, DISABLED)
// unless they exist, and makes sure the compute environment is DISABLED and the queue ENABLED.
func EnsureParked(ctx context.Context, c *batch.Client) error {
	_, err := c.CreateComputeEnvironment(ctx, &batch.CreateComputeEnvironmentInput{
		ComputeEnvironmentName: aws.String(ParkedQueue),
		Type:                   types.CETypeUnmanaged,
		State:                  types.CEStateDisabled,
		UnmanagedvCpus:         aws.Int32(1),
	})
	if alreadyExists(err) {
		_, err = c.UpdateComputeEnvironment(ctx, &batch.UpdateComputeEnvironmentInput{
			ComputeEnvironment: aws.String(ParkedQueue), State: types.CEStateDisabled,
		})
	}
	if err != nil {
		return fmt.Errorf("compute environment %s: %w", ParkedQueue, err)
	}
	return ensureQueue(ctx, c, ParkedQueue)
}

// SetupSlots creates (or resizes) the compute environment SlotsQueue, UNMANAGED with slots
// vCPUs and ENABLED, and its job queue, and returns the queue's name for Options.Queue. Each
// EndToEnd job asks 1 vCPU, so slots is how many run at once.
func SetupSlots(ctx context.Context, o Options, slots int) (string, error) {
	if slots <= 0 {
		return "", fmt.Errorf("slots must be positive, got %d", slots)
	}
	c := Client(o)
	defer CloseIdle(c)
	_, err := c.CreateComputeEnvironment(ctx, &batch.CreateComputeEnvironmentInput{
		ComputeEnvironmentName: aws.String(SlotsQueue),
		Type:                   types.CETypeUnmanaged,
		State:                  types.CEStateEnabled,
		UnmanagedvCpus:         aws.Int32(int32(slots)),
	})
	if alreadyExists(err) {
		_, err = c.UpdateComputeEnvironment(ctx, &batch.UpdateComputeEnvironmentInput{
			ComputeEnvironment: aws.String(SlotsQueue), State: types.CEStateEnabled, UnmanagedvCpus: aws.Int32(int32(slots)),
		})
	}
	if err != nil {
		return "", fmt.Errorf("compute environment %s: %w", SlotsQueue, err)
	}
	return SlotsQueue, ensureQueue(ctx, c, SlotsQueue)
}

// ensureQueue creates an ENABLED job queue named like its only compute environment, or enables
// the existing one.
func ensureQueue(ctx context.Context, c *batch.Client, name string) error {
	_, err := c.CreateJobQueue(ctx, &batch.CreateJobQueueInput{
		JobQueueName: aws.String(name),
		State:        types.JQStateEnabled,
		Priority:     aws.Int32(1),
		ComputeEnvironmentOrder: []types.ComputeEnvironmentOrder{
			{Order: aws.Int32(1), ComputeEnvironment: aws.String(name)},
		},
	})
	if alreadyExists(err) {
		_, err = c.UpdateJobQueue(ctx, &batch.UpdateJobQueueInput{JobQueue: aws.String(name), State: types.JQStateEnabled})
	}
	if err != nil {
		return fmt.Errorf("job queue %s: %w", name, err)
	}
	return nil
}

// EnsureDefinition registers Definition unless an ACTIVE revision exists.
func EnsureDefinition(ctx context.Context, c *batch.Client) error {
	res, err := c.DescribeJobDefinitions(ctx, &batch.DescribeJobDefinitionsInput{JobDefinitionName: aws.String(Definition), Status: aws.String("ACTIVE")})
	if err != nil {
		return fmt.Errorf("job definition %s: %w", Definition, err)
	}
	if len(res.JobDefinitions) > 0 {
		return nil
	}
	_, err = c.RegisterJobDefinition(ctx, &batch.RegisterJobDefinitionInput{
		JobDefinitionName: aws.String(Definition),
		Type:              types.JobDefinitionTypeContainer,
		ContainerProperties: &types.ContainerProperties{
			Command: []string{"true"},
			ResourceRequirements: []types.ResourceRequirement{
				{Type: types.ResourceTypeVcpu, Value: aws.String("1")},
				{Type: types.ResourceTypeMemory, Value: aws.String("16")},
			},
		},
	})
	if err != nil {
		return fmt.Errorf("job definition %s: %w", Definition, err)
	}
	return nil
}

// alreadyExists reports whether err is the ClientException barge (and AWS) answers when creating
// a resource that exists.
func alreadyExists(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ClientException" && strings.Contains(strings.ToLower(ae.ErrorMessage()), "already exists")
}

// WriteTable prints results as the table `barge bench` shows.
func WriteTable(w io.Writer, results []Result) error {
	const row = "%-22s %-6s %-12s %-8s %-8s %-7s %s\n"
	if _, err := fmt.Fprintf(w, row, "benchmark", "jobs", "concurrency", "seconds", "jobs/s", "p50 ms", "p99 ms"); err != nil {
		return err
	}
	for _, r := range results {
		conc, p50, p99 := "-", "-", "-"
		if r.Concurrency > 0 {
			conc = fmt.Sprint(r.Concurrency)
		}
		if r.P50 > 0 {
			p50, p99 = ms(r.P50), ms(r.P99)
		}
		if _, err := fmt.Fprintf(w, row, r.Name, fmt.Sprint(r.Jobs), conc, fmt.Sprintf("%.2f", r.Elapsed.Seconds()),
			fmt.Sprintf("%.0f", r.JobsPerSecond()), p50, p99); err != nil {
			return err
		}
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }

// Machine describes the machine running the benchmark client.
func Machine() string {
	return fmt.Sprintf("%s/%s, %d CPUs (NumCPU), %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
}
