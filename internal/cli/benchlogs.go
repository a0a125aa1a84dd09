package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/barge-run/barge/internal/bench"
)

// cmdBenchLogs measures CloudWatch Logs (bench.Logs): PutLogEvents ingest beside a plain Go loop
// writing the same records to files, then FilterLogEvents and GetLogEvents latency beside grep and
// tail over those files, alternately, and prints both with their ratios. Without --endpoint it
// starts `barge server` as a child process with a temporary data directory, so that the CPU time
// it reports is the server's alone.
func cmdBenchLogs(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench-logs", flag.ContinueOnError)
	events := fs.Int("events", bench.DefaultLogsEvents, "events ingested per round")
	writers := fs.Int("writers", bench.DefaultLogsWriters, "concurrent writers, each to its own log stream")
	runs := fs.Int("runs", bench.DefaultLogsRuns, "runs of each query (p50, p95 and max over them)")
	ingestRuns := fs.Int("ingest-runs", bench.DefaultLogsIngestRuns, "ingest rounds, each floor then barge")
	asJSON := fs.Bool("json", false, "print the result as JSON (durations in nanoseconds) instead of tables")
	endpoint := fs.String("endpoint", "", "measure the barge at this `URL` (default: a barge server child process with a temporary data directory)")
	dataDir := fs.String("data-dir", envOr("BARGE_DATA_DIR", ".barge"), "with --endpoint: data directory to read the credential from when AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set")
	serverPid := fs.Int("server-pid", 0, "with --endpoint: the server's pid, to report its CPU time")
	region := fs.String("region", envOr("AWS_REGION", "us-east-1"), "AWS region")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	case *events < 1 || *writers < 1 || *runs < 1 || *ingestRuns < 1:
		return usageError{"--events, --writers, --runs and --ingest-runs must be at least 1"}
	case *writers > *events:
		return usageError{"--writers must not exceed --events"}
	}
	tmp, err := os.MkdirTemp("", "barge-bench-logs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	o := bench.Options{Endpoint: *endpoint, Region: *region}
	pid, where, stop, err := benchServer(ctx, &o, *dataDir, *serverPid, tmp)
	if err != nil {
		return err
	}
	defer stop()
	lo := bench.LogsOptions{Events: *events, Writers: *writers, Runs: *runs, IngestRuns: *ingestRuns,
		Dir: filepath.Join(tmp, "floor"), ServerPID: pid, Out: os.Stderr}
	r, err := bench.Logs(ctx, o, lo)
	if err != nil {
		return apiError(err)
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	writeLogsIngest(out, r)
	fmt.Fprintln(out)
	writeLogsQueries(out, r)
	fmt.Fprintf(out, "server:  %s\nmachine: %s\n", where, bench.Machine())
	return nil
}

// writeLogsIngest prints the ingest rounds: each method's events/s and MB/s of messages, and
// barge's rate over the floor's (write, no fsync) in the same round.
func writeLogsIngest(out io.Writer, r bench.LogsResult) {
	mb := float64(r.MessageBytes) / 1e6
	fmt.Fprintf(out, "PutLogEvents ingest: %d events, %.1f MB of messages (%.1f MB as records on disk), %d writers, %d calls\n",
		r.Events, mb, float64(r.RecordBytes)/1e6, r.Writers, r.Batches)
	fmt.Fprintf(out, "%-6s %-26s %-26s %-26s %-12s %s\n", "round", "floor: write/batch", "floor: write+fsync/batch", "barge PutLogEvents", "barge÷floor¹", "CPU s server / client")
	rate := func(d time.Duration) string {
		return fmt.Sprintf("%8.0f ev/s %6.1f MB/s", float64(r.Events)/d.Seconds(), mb/d.Seconds())
	}
	for i, ir := range r.Ingest {
		cpu := "-"
		if ir.ServerCPU > 0 {
			cpu = fmt.Sprintf("%.2f / %.2f of %.2f wall", ir.ServerCPU.Seconds(), ir.ClientCPU.Seconds(), ir.Barge.Seconds())
		}
		fmt.Fprintf(out, "%-6d %-26s %-26s %-26s %-12.3f %s\n", i+1, rate(ir.Floor), rate(ir.FloorSync), rate(ir.Barge), ir.Ratio(), cpu)
	}
	fmt.Fprintln(out, "¹ barge's events/s over the floor's without fsync (barge does not fsync log writes either), same round")
}

// writeLogsQueries prints each query's latency over the runs, barge's and the floor's, and the
// median of barge's over the floor's run by run.
func writeLogsQueries(out io.Writer, r bench.LogsResult) {
	fmt.Fprintf(out, "queries over the %d events (barge: all pages; floor: grep, or tail for GetLogEvents), each query run %d times, alternately with its floor\n",
		r.Events, len(r.Queries[0].Barge))
	fmt.Fprintf(out, "%-40s %-22s %8s %6s %-24s %-24s %-11s %s\n", "query", "pattern", "matches", "pages",
		"barge p50/p95/max ms", "floor p50/p95/max ms", "barge÷floor²", "server CPU ms p50")
	ms := func(ds []time.Duration) string {
		p50, p95, mx := bench.LatencyStats(ds)
		return fmt.Sprintf("%.1f / %.1f / %.1f", msOf(p50), msOf(p95), msOf(mx))
	}
	for _, q := range r.Queries {
		cpu := "-"
		if len(q.ServerCPU) > 0 {
			p50, _, _ := bench.LatencyStats(q.ServerCPU)
			cpu = fmt.Sprintf("%.0f", msOf(p50))
		}
		fmt.Fprintf(out, "%-40s %-22s %8d %6d %-24s %-24s %-11.1f %s\n", q.Name, q.Pattern, q.Matches, q.Pages, ms(q.Barge), ms(q.Floor), q.Ratio(), cpu)
	}
	fmt.Fprintln(out, "² median over the runs of barge's time over the floor's in the same run; a window's floor is grep over the window's records alone")
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
