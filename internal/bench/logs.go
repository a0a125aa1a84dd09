package bench

// CloudWatch Logs benchmarks (`barge bench-logs`, issue 16): PutLogEvents ingest, then
// FilterLogEvents and GetLogEvents latency over the log group it filled, through aws-sdk-go-v2's
// cloudwatchlogs client (HTTP, SigV4), as any client calls them. Each figure has a floor measured
// in the same run, alternately with it:
//
//   - ingest: a plain Go loop appending the same records (barge's on-disk form) to one file per
//     writer with one write(2) per batch, as barge's store does (it does not fsync log writes),
//     and the same loop with an fsync after each batch;
//   - FilterLogEvents: grep (LC_ALL=C) over those files, its output read through a pipe, with a
//     regular expression matching exactly what the pattern matches in this data; a query with a
//     time window is given the window's records alone, as if grep had a perfect time index;
//   - GetLogEvents of a stream's last page: tail -n of as many lines from that stream's file.
//
// Every count is checked three ways: what barge returned, what grep found, and what the
// benchmark knows it sent; a difference fails the run.

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"golang.org/x/sync/errgroup"
)

// Default sizes of the CloudWatch Logs benchmarks.
const (
	DefaultLogsEvents     = 1_000_000
	DefaultLogsWriters    = 4
	DefaultLogsRuns       = 5
	DefaultLogsIngestRuns = 3
)

// LogsGroup names the log groups the benchmark creates: LogsGroup-1 is filled by the first
// ingest round and queried; the later rounds' groups are deleted after their round.
const LogsGroup = "bench-logs"

// PutLogEvents' limits (AWS's): events per call, and bytes per call counting each event's message
// and 26 bytes more; and how much time the events' timestamps cover, ending logsSpanEnd before the run.
const (
	logsMaxBatchEvents = 10_000
	logsMaxBatchBytes  = 1 << 20
	logsEventOverhead  = 26
	logsSpan           = time.Hour
	logsSpanEnd        = 30 * time.Minute
)

// LogsOptions say how much to measure.
type LogsOptions struct {
	Events     int    // events ingested per round (default 1,000,000)
	Writers    int    // concurrent writers, each to its own stream (default 4)
	Runs       int    // runs of each query (default 5)
	IngestRuns int    // ingest rounds (default 3)
	Dir        string // scratch directory for the floor's files (default: a temporary one, removed)
	ServerPID  int    // the server's process, to report its CPU time; 0: not reported
	Out        io.Writer
}

func (o LogsOptions) withDefaults() LogsOptions {
	o.Events = cmp.Or(max(o.Events, 0), DefaultLogsEvents)
	o.Writers = cmp.Or(max(o.Writers, 0), DefaultLogsWriters)
	o.Runs = cmp.Or(max(o.Runs, 0), DefaultLogsRuns)
	o.IngestRuns = cmp.Or(max(o.IngestRuns, 0), DefaultLogsIngestRuns)
	if o.Out == nil {
		o.Out = io.Discard
	}
	return o
}

// IngestRound is one round of ingest: the floor without and with fsync, then barge.
type IngestRound struct {
	Floor     time.Duration `json:"floor_ns"`      // write(2) per batch, no fsync
	FloorSync time.Duration `json:"floor_sync_ns"` // write(2) and fsync per batch
	Barge     time.Duration `json:"barge_ns"`      // PutLogEvents, first call to last response
	// ServerCPU and ClientCPU are the server's and this process's CPU time (user and system)
	// during barge's part, when the server's pid is known.
	ServerCPU time.Duration `json:"server_cpu_ns,omitempty"`
	ClientCPU time.Duration `json:"client_cpu_ns,omitempty"`
}

// Ratio is barge's ingest rate over the floor's (write, no fsync) in this round.
func (r IngestRound) Ratio() float64 { return r.Floor.Seconds() / r.Barge.Seconds() }

// QueryResult is one query's runs: every run of barge beside the floor's run right after it.
type QueryResult struct {
	Name    string          `json:"name"`
	Pattern string          `json:"pattern"`
	Window  bool            `json:"window"`  // startTime/endTime: the middle tenth of the events' span
	Matches int             `json:"matches"` // events barge returned over all pages (= grep's = expected)
	Pages   int             `json:"pages"`
	Barge   []time.Duration `json:"barge_ns"` // per run, all pages
	Floor   []time.Duration `json:"floor_ns"` // per run
	// ServerCPU is the server's CPU time per run, when its pid is known.
	ServerCPU []time.Duration `json:"server_cpu_ns,omitempty"`
}

// Ratio is the median over runs of barge's latency over the floor's in the same run.
func (q QueryResult) Ratio() float64 {
	if len(q.Barge) == 0 || len(q.Floor) != len(q.Barge) {
		return 0
	}
	r := make([]float64, len(q.Barge))
	for i := range q.Barge {
		r[i] = q.Barge[i].Seconds() / q.Floor[i].Seconds()
	}
	slices.Sort(r)
	return r[len(r)/2]
}

// LatencyStats are the p50, p95 (nearest rank) and max of durations.
func LatencyStats(ds []time.Duration) (p50, p95, maxd time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	s := slices.Sorted(slices.Values(ds))
	return percentile(s, 0.50), percentile(s, 0.95), s[len(s)-1]
}

// LogsResult is a bench-logs run.
type LogsResult struct {
	Events       int           `json:"events"`
	Writers      int           `json:"writers"`
	Batches      int           `json:"batches"`       // PutLogEvents calls per round
	MessageBytes int64         `json:"message_bytes"` // of all messages, without the 26 bytes per event
	RecordBytes  int64         `json:"record_bytes"`  // as records on disk (timestamps, message), in the floor's files
	Ingest       []IngestRound `json:"ingest"`
	Queries      []QueryResult `json:"queries"` // the last one is GetLogEvents of the last page
}

// logsData is the benchmark's events, made before anything is timed: event i has message msgs[i]
// and timestamp ts[i]; writer w sends events w, w+writers, w+2·writers, … to its own stream, in
// batches within PutLogEvents' limits.
type logsData struct {
	msgs    []string
	ts      []int64
	bytes   int64 // of the messages
	records int64 // of the messages as records on disk (appendFloorRecord)
	writers int
	batches [][][2]int // per writer: [lo, hi) of its own events (its k-th is event w+k·writers)
	window  [2]int64   // [start, end) in ms: the middle tenth of the span
}

func (d *logsData) index(w, k int) int { return w + k*d.writers }

// count is how many events writer w sends.
func (d *logsData) count(w int) int {
	return max(0, (len(d.msgs)-w+d.writers-1)/d.writers)
}

// makeLogsData makes n events spread evenly over logsSpan from base (ms), the same for a given n.
func makeLogsData(n, writers int, base int64) *logsData {
	d := &logsData{msgs: make([]string, n), ts: make([]int64, n), writers: writers}
	span := logsSpan.Milliseconds()
	d.window = [2]int64{base + span*45/100, base + span*55/100}
	rng := rand.New(rand.NewPCG(16, uint64(n)))
	for i := range n {
		d.ts[i] = base + int64(i)*span/int64(n)
		d.msgs[i] = logLine(rng, d.ts[i])
		d.bytes += int64(len(d.msgs[i]))
		d.records += int64(len(d.msgs[i]) + 2*len(strconv.FormatInt(d.ts[i], 10)) + 3) // ingestion times have as many digits
	}
	for w := range writers {
		var bs [][2]int
		lo, size := 0, 0
		for k := range d.count(w) {
			m := len(d.msgs[d.index(w, k)]) + logsEventOverhead
			if k-lo == logsMaxBatchEvents || size+m > logsMaxBatchBytes {
				bs, lo, size = append(bs, [2]int{lo, k}), k, 0
			}
			size += m
		}
		if lo < d.count(w) {
			bs = append(bs, [2]int{lo, d.count(w)})
		}
		d.batches = append(d.batches, bs)
	}
	return d
}

var (
	logMethods  = []string{"GET", "GET", "GET", "POST", "PUT", "DELETE"}
	logPaths    = []string{"/api/v1/items", "/api/v1/orders", "/api/v1/users", "/api/v1/search", "/healthz"}
	logStatuses = []int{200, 200, 200, 200, 201, 204, 301, 400, 404, 503}
)

// logLine makes one message of about 100–200 bytes, as a web service logs: 60 % access-log INFO
// lines, 5 % WARN, 1 % ERROR with a code from 4200 to 4299, and 34 % JSON lines, 1 in 100 of them
// with "status":500. The words ERROR and WARN appear in no other line, "status":500 in no other.
func logLine(rng *rand.Rand, ts int64) string {
	when := time.UnixMilli(ts).UTC().Format("2006-01-02T15:04:05.000Z")
	worker, id, ms, req := rng.IntN(8), rng.IntN(100000), 1+rng.IntN(900), rng.Uint64()
	method, path := logMethods[rng.IntN(len(logMethods))], logPaths[rng.IntN(len(logPaths))]
	switch p := rng.IntN(100); {
	case p < 1:
		return fmt.Sprintf("%s ERROR [worker-%d] payment failed code=%d order=%06d req=%016x retrying in %dms",
			when, worker, 4200+rng.IntN(100), id, req, ms)
	case p < 6:
		return fmt.Sprintf("%s WARN  [worker-%d] slow upstream %s %s/%d took %dms (budget 250ms) req=%016x",
			when, worker, method, path, id, 250+ms, req)
	case p < 66:
		return fmt.Sprintf("%s INFO  [worker-%d] %s %s/%d %d %dms req=%016x user=u%05d bytes=%d",
			when, worker, method, path, id, logStatuses[rng.IntN(len(logStatuses))], ms, req, rng.IntN(50000), rng.IntN(65536))
	}
	status, level := logStatuses[rng.IntN(len(logStatuses))], "info"
	if rng.IntN(100) == 0 {
		status, level = 500, "error"
	}
	return fmt.Sprintf(`{"time":"%s","level":"%s","msg":"request done","method":"%s","path":"%s/%d","status":%d,"duration_ms":%d,"request_id":"%016x"}`,
		when, level, method, path, id, status, ms, req)
}

// logsQuery is one FilterLogEvents query and its grep floor.
type logsQuery struct {
	name, pattern string
	window        bool
	grep          []string // grep's arguments before the files
	words         []string // what the pattern matches in this data: messages holding all of these
}

// logsRecordPrefix is a regular expression of a record's timestamps, so that grep looks at messages.
const logsRecordPrefix = "^[0-9-]+\t[0-9-]+\t"

// logsQueries are the FilterLogEvents queries measured, in order.
var logsQueries = []logsQuery{
	{"term, rare", "ERROR 4242", false, []string{"-E", logsRecordPrefix + ".*(ERROR.*4242|4242.*ERROR)"}, []string{"ERROR", "4242"}},
	{"term, rare, 10 % window", "ERROR 4242", true, []string{"-E", logsRecordPrefix + ".*(ERROR.*4242|4242.*ERROR)"}, []string{"ERROR", "4242"}},
	{"JSON", "{ $.status = 500 }", false, []string{"-F", `"status":500,`}, []string{`"status":500,`}},
	{"no match", "NOSUCHTERM", false, []string{"-F", "NOSUCHTERM"}, []string{"NOSUCHTERM"}},
	{"term, 5 %, every page", "WARN", false, []string{"-F", "WARN"}, []string{"WARN"}},
}

// expected counts the events a query must find.
func (d *logsData) expected(q logsQuery) int {
	n := 0
	for i, m := range d.msgs {
		in := !q.window || d.ts[i] >= d.window[0] && d.ts[i] < d.window[1]
		for _, w := range q.words {
			in = in && strings.Contains(m, w)
		}
		if in {
			n++
		}
	}
	return n
}

// logsClient is a CloudWatch Logs client for o's server that retries only what the client's own
// transport failed (retryClientClosed).
func logsClient(o Options, conns int) *cloudwatchlogs.Client {
	return cloudwatchlogs.NewFromConfig(aws.Config{Region: o.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(o.AccessKey, o.Secret, ""),
		BaseEndpoint: aws.String(o.Endpoint), HTTPClient: newHTTPClient(conns), Retryer: retryClientClosed})
}

// Logs runs the CloudWatch Logs benchmarks against o's server: lo.IngestRuns rounds of ingest
// (floor, floor with fsync, barge, each round into a new log group), then lo.Runs runs of every
// query over the first round's group, each run of barge followed by its floor.
func Logs(ctx context.Context, o Options, lo LogsOptions) (LogsResult, error) {
	o, lo = o.withDefaults(0, ""), lo.withDefaults()
	if lo.Dir == "" {
		dir, err := os.MkdirTemp("", "barge-bench-logs-")
		if err != nil {
			return LogsResult{}, fmt.Errorf("scratch directory: %w", err)
		}
		defer os.RemoveAll(dir)
		lo.Dir = dir
	}
	c := logsClient(o, lo.Writers)
	defer c.Options().HTTPClient.(interface{ CloseIdleConnections() }).CloseIdleConnections()
	d := makeLogsData(lo.Events, lo.Writers, time.Now().Add(-logsSpanEnd-logsSpan).UnixMilli())
	r := LogsResult{Events: lo.Events, Writers: lo.Writers, MessageBytes: d.bytes, RecordBytes: d.records}
	for _, bs := range d.batches {
		r.Batches += len(bs)
	}
	for round := 1; round <= lo.IngestRuns; round++ {
		ir, err := ingestRound(ctx, c, d, lo, round)
		if err != nil {
			return r, fmt.Errorf("ingest round %d: %w", round, err)
		}
		r.Ingest = append(r.Ingest, ir)
	}
	qs, err := logsQueryRuns(ctx, c, d, lo)
	r.Queries = qs
	return r, err
}

// ingestRound writes d's events once to the floor's files without fsync, once with, and once to
// barge's log group LogsGroup-<round>. Only the first round's files and group are kept.
func ingestRound(ctx context.Context, c *cloudwatchlogs.Client, d *logsData, lo LogsOptions, round int) (IngestRound, error) {
	var ir IngestRound
	dir := filepath.Join(lo.Dir, fmt.Sprintf("r%d", round))
	var err error
	if ir.Floor, err = floorIngest(d, dir, false); err != nil {
		return ir, err
	}
	if ir.FloorSync, err = floorIngest(d, dir+"-fsync", true); err != nil {
		return ir, err
	}
	if err := os.RemoveAll(dir + "-fsync"); err != nil {
		return ir, err
	}
	group := fmt.Sprintf("%s-%d", LogsGroup, round)
	if err := createLogsGroup(ctx, c, group, d.writers); err != nil {
		return ir, err
	}
	srv0, cli0 := processCPU(lo.ServerPID), processCPU(os.Getpid())
	if ir.Barge, err = bargeIngest(ctx, c, d, group); err != nil {
		return ir, err
	}
	if lo.ServerPID > 0 {
		ir.ServerCPU, ir.ClientCPU = processCPU(lo.ServerPID)-srv0, processCPU(os.Getpid())-cli0
	}
	fmt.Fprintf(lo.Out, "ingest round %d: floor %v, floor with fsync %v, barge %v (server CPU %v, client CPU %v)\n",
		round, ir.Floor.Round(time.Millisecond), ir.FloorSync.Round(time.Millisecond), ir.Barge.Round(time.Millisecond),
		ir.ServerCPU.Round(time.Millisecond), ir.ClientCPU.Round(time.Millisecond))
	if round > 1 {
		if _, err := c.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
			return ir, fmt.Errorf("DeleteLogGroup %s: %w", group, err)
		}
		return ir, os.RemoveAll(dir)
	}
	return ir, nil
}

// processCPU is a process's CPU time so far; 0 for pid 0 or where there is no /proc.
func processCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	return processesCPU([]int{pid})
}

func logsStream(w int) string { return fmt.Sprintf("writer-%d", w) }

func createLogsGroup(ctx context.Context, c *cloudwatchlogs.Client, group string, writers int) error {
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		return fmt.Errorf("CreateLogGroup %s: %w", group, err)
	}
	for w := range writers {
		if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group),
			LogStreamName: aws.String(logsStream(w))}); err != nil {
			return fmt.Errorf("CreateLogStream %s: %w", logsStream(w), err)
		}
	}
	return nil
}

// bargeIngest sends d's events to group, one goroutine per writer each calling PutLogEvents batch
// after batch, and returns the time from the first call to the last response. The calls' inputs
// are made before the clock starts; marshalling and signing them is part of what is measured.
func bargeIngest(ctx context.Context, c *cloudwatchlogs.Client, d *logsData, group string) (time.Duration, error) {
	inputs := make([][]*cloudwatchlogs.PutLogEventsInput, d.writers)
	for w, bs := range d.batches {
		for _, b := range bs {
			evs := make([]types.InputLogEvent, 0, b[1]-b[0])
			for k := b[0]; k < b[1]; k++ {
				i := d.index(w, k)
				evs = append(evs, types.InputLogEvent{Message: &d.msgs[i], Timestamp: &d.ts[i]})
			}
			inputs[w] = append(inputs[w], &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group),
				LogStreamName: aws.String(logsStream(w)), LogEvents: evs})
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	start := time.Now()
	for w := range d.writers {
		g.Go(func() error {
			for k, in := range inputs[w] {
				out, err := c.PutLogEvents(gctx, in)
				if err != nil {
					return fmt.Errorf("PutLogEvents %s batch %d: %w", logsStream(w), k, err)
				}
				if out.RejectedLogEventsInfo != nil {
					return fmt.Errorf("PutLogEvents %s batch %d: events rejected: %+v", logsStream(w), k, *out.RejectedLogEventsInfo)
				}
			}
			return nil
		})
	}
	err := g.Wait()
	return time.Since(start), err
}

// floorIngest appends d's events as barge's records (timestamp, ingestion time, message) to one
// file per writer under dir, one goroutine per writer, one write(2) per batch and, with fsync, an
// fsync after each.
func floorIngest(d *logsData, dir string, fsync bool) (time.Duration, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("floor: %w", err)
	}
	files := make([]*os.File, d.writers)
	for w := range files {
		f, err := os.OpenFile(filepath.Join(dir, logsStream(w)+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_TRUNC, 0o600)
		if err != nil {
			return 0, fmt.Errorf("floor: %w", err)
		}
		defer f.Close()
		files[w] = f
	}
	var g errgroup.Group
	start := time.Now()
	for w, f := range files {
		g.Go(func() error {
			var buf []byte
			for _, b := range d.batches[w] {
				buf = buf[:0]
				now := time.Now().UnixMilli()
				for k := b[0]; k < b[1]; k++ {
					buf = appendFloorRecord(buf, d.ts[d.index(w, k)], now, d.msgs[d.index(w, k)])
				}
				if _, err := f.Write(buf); err != nil {
					return fmt.Errorf("floor: %w", err)
				}
				if fsync {
					if err := f.Sync(); err != nil {
						return fmt.Errorf("floor: fsync: %w", err)
					}
				}
			}
			return nil
		})
	}
	err := g.Wait()
	return time.Since(start), err
}

func appendFloorRecord(buf []byte, ts, ingested int64, msg string) []byte {
	buf = strconv.AppendInt(buf, ts, 10)
	buf = append(buf, '\t')
	buf = strconv.AppendInt(buf, ingested, 10)
	buf = append(buf, '\t')
	buf = append(buf, msg...)
	return append(buf, '\n')
}

// writeWindowFiles writes, for the floor of the window queries, the records of the window alone
// to one file per writer under dir.
func writeWindowFiles(d *logsData, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var paths []string
	for w := range d.writers {
		var buf []byte
		for k := range d.count(w) {
			if i := d.index(w, k); d.ts[i] >= d.window[0] && d.ts[i] < d.window[1] {
				buf = appendFloorRecord(buf, d.ts[i], d.ts[i], d.msgs[i])
			}
		}
		p := filepath.Join(dir, logsStream(w)+".log")
		if err := os.WriteFile(p, buf, 0o600); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// logsQueryRuns measures every query lo.Runs times over LogsGroup-1 and the floor's first-round
// files, barge then the floor in each run, and GetLogEvents of the last page of writer 0's stream.
func logsQueryRuns(ctx context.Context, c *cloudwatchlogs.Client, d *logsData, lo LogsOptions) ([]QueryResult, error) {
	group := LogsGroup + "-1"
	var all []string
	for w := range d.writers {
		all = append(all, filepath.Join(lo.Dir, "r1", logsStream(w)+".log"))
	}
	window, err := writeWindowFiles(d, filepath.Join(lo.Dir, "window"))
	if err != nil {
		return nil, fmt.Errorf("window files: %w", err)
	}
	res := make([]QueryResult, len(logsQueries)+1)
	for i, q := range logsQueries {
		res[i] = QueryResult{Name: q.name, Pattern: q.pattern, Window: q.window}
	}
	last := &res[len(logsQueries)]
	*last = QueryResult{Name: "GetLogEvents, last page of one stream"}
	for run := 1; run <= lo.Runs; run++ {
		for i, q := range logsQueries {
			files := all
			if q.window {
				files = window
			}
			if err := measureQuery(ctx, &res[i], lo.ServerPID, func() (int, int, error) { return bargeFilter(ctx, c, group, q, d) },
				func() (int, error) {
					return countLines(ctx, "grep", append(append([]string{"-h"}, q.grep...), files...), 1)
				}, d.expected(q)); err != nil {
				return res, fmt.Errorf("%s: %w", q.name, err)
			}
		}
		var tailN int
		if err := measureQuery(ctx, last, lo.ServerPID, func() (int, int, error) {
			n, err := bargeLastPage(ctx, c, group, d)
			tailN = n
			return n, 1, err
		}, func() (int, error) { return countLines(ctx, "tail", []string{"-n", strconv.Itoa(tailN), all[0]}, 0) }, -1); err != nil {
			return res, fmt.Errorf("GetLogEvents: %w", err)
		}
		fmt.Fprintf(lo.Out, "query run %d of %d done\n", run, lo.Runs)
	}
	return res, nil
}

// measureQuery times barge's call(s), then the floor's, appends both to q, and checks that both
// found the expected number of events (want < 0: that the floor found as many as barge).
func measureQuery(ctx context.Context, q *QueryResult, pid int, barge func() (int, int, error), floor func() (int, error), want int) error {
	cpu0 := processCPU(pid)
	t := time.Now()
	n, pages, err := barge()
	db := time.Since(t)
	cpu := processCPU(pid) - cpu0
	if err != nil {
		return err
	}
	t = time.Now()
	fn, err := floor()
	df := time.Since(t)
	if err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	if want < 0 {
		want = n
	}
	if n != want || fn != want {
		return fmt.Errorf("barge found %d events, the floor %d, expected %d", n, fn, want)
	}
	q.Matches, q.Pages = n, pages
	q.Barge, q.Floor = append(q.Barge, db), append(q.Floor, df)
	if pid > 0 {
		q.ServerCPU = append(q.ServerCPU, cpu)
	}
	return ctx.Err()
}

// bargeFilter runs q through FilterLogEvents over group, following nextToken to the end, and
// returns the events and pages it got.
func bargeFilter(ctx context.Context, c *cloudwatchlogs.Client, group string, q logsQuery, d *logsData) (events, pages int, err error) {
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), FilterPattern: aws.String(q.pattern)}
	if q.window {
		in.StartTime, in.EndTime = aws.Int64(d.window[0]), aws.Int64(d.window[1])
	}
	for {
		out, err := c.FilterLogEvents(ctx, in)
		if err != nil {
			return events, pages, fmt.Errorf("FilterLogEvents page %d: %w", pages+1, err)
		}
		pages++
		events += len(out.Events)
		if aws.ToString(out.NextToken) == "" {
			return events, pages, nil
		}
		in.NextToken = out.NextToken
	}
}

// bargeLastPage gets the newest page of writer 0's stream with GetLogEvents' defaults and checks
// that it ends with the last event that writer sent.
func bargeLastPage(ctx context.Context, c *cloudwatchlogs.Client, group string, d *logsData) (int, error) {
	out, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(logsStream(0))})
	if err != nil {
		return 0, fmt.Errorf("GetLogEvents: %w", err)
	}
	if len(out.Events) == 0 {
		return 0, fmt.Errorf("GetLogEvents: no events")
	}
	want := d.msgs[d.index(0, d.count(0)-1)]
	if got := aws.ToString(out.Events[len(out.Events)-1].Message); got != want {
		return 0, fmt.Errorf("GetLogEvents: the last event is %q, want %q", got, want)
	}
	return len(out.Events), nil
}

// countLines runs name (grep or tail, with LC_ALL=C) with args and counts the lines it prints,
// read through a pipe: GNU grep stops at the first match when its output is /dev/null. Exit status
// okExit (grep's 1: nothing found) is not an error.
func countLines(ctx context.Context, name string, args []string, okExit int) (int, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	n := 0
	buf := make([]byte, 256<<10)
	for {
		k, rerr := out.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if rerr != nil {
			break
		}
	}
	if err := cmd.Wait(); err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != okExit || okExit == 0 {
			return 0, fmt.Errorf("%s %s: %w", name, strings.Join(args[:min(len(args), 3)], " "), err)
		}
	}
	return n, nil
}
