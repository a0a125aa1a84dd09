package bench

// The Runtime API floor: how many invocations per second the function itself can go through on
// this machine, against the least a Runtime API server can do (hand out `{}` the moment the
// function asks for its next event, take the response, nothing else: no invoke client, no
// routing, no signatures, no logs). Every Runtime API implementation, barge and the peer
// included, pays at least this per invoke; it bounds what an invoke-throughput target can ask of
// this machine.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// RuntimeFloor runs, for each client count c in lo.Concurrency, c instances of bootstrap (plain
// processes) against a minimal in-process Runtime API for lo.Duration and reports the completed
// invocations per second as throughput rows.
func RuntimeFloor(ctx context.Context, bootstrap string, lo LambdaOptions) (LambdaResult, error) {
	lo = lo.withDefaults()
	r := LambdaResult{Name: "floor (function alone)",
		Note: "the function's own Runtime API loop against a minimal in-process server that hands out {} at once; no Invoke API: the most any Runtime API server gets from this machine"}
	for _, c := range lo.Concurrency {
		t, err := runtimeFloor(ctx, bootstrap, c, lo.Duration)
		if err != nil {
			return r, fmt.Errorf("floor c=%d: %w", c, err)
		}
		fmt.Fprintf(lo.Out, "floor: c=%d %d invocations in %v; the function's own CPU %v per invocation\n", c, t.OK, t.Elapsed, t.FunctionCPU)
		r.Throughput = append(r.Throughput, t)
	}
	return r, nil
}

// floorAPI is the minimal Runtime API: /next answers at once, /response counts.
type floorAPI struct {
	seq      atomic.Int64
	counting atomic.Bool
	done     atomic.Int64
	started  chan struct{} // one send per instance's first response
	stop     chan struct{}
}

func (a *floorAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const prefix = "/2018-06-01/runtime/"
	path := strings.TrimPrefix(r.URL.Path, prefix)
	switch {
	case r.Method == http.MethodGet && path == "invocation/next":
		select {
		case <-a.stop:
			<-r.Context().Done() // park the instance until it is killed
			return
		default:
		}
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", strconv.FormatInt(a.seq.Add(1), 10))
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:floor")
		h.Set("Content-Type", "application/json")
		w.Write(noopPayload)
	case r.Method == http.MethodPost && strings.HasSuffix(path, "/response"):
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
		if a.counting.Load() {
			a.done.Add(1)
		} else {
			select {
			case a.started <- struct{}{}:
			default:
			}
		}
	default:
		http.Error(w, "not in the floor API", http.StatusNotFound)
	}
}

func runtimeFloor(ctx context.Context, bootstrap string, c int, d time.Duration) (Throughput, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Throughput{}, err
	}
	api := &floorAPI{started: make(chan struct{}, c), stop: make(chan struct{})}
	srv := &http.Server{Handler: api}
	go srv.Serve(ln)
	defer srv.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var pids []int
	defer func() {
		cancel()
		wg.Wait()
	}()
	for range c {
		cmd := exec.CommandContext(ctx, bootstrap)
		cmd.Dir = filepath.Dir(bootstrap)
		cmd.Env = append(os.Environ(), "AWS_LAMBDA_RUNTIME_API="+ln.Addr().String(), "_HANDLER=bootstrap",
			"AWS_LAMBDA_FUNCTION_NAME=floor", "AWS_LAMBDA_FUNCTION_VERSION=$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128")
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			return Throughput{}, err
		}
		pids = append(pids, cmd.Process.Pid)
		wg.Go(func() { _ = cmd.Wait() })
	}
	// Every instance has answered once (initialised, connections open) before the clock starts.
	for range c {
		select {
		case <-api.started:
		case <-time.After(30 * time.Second):
			return Throughput{}, fmt.Errorf("the instances did not all answer a first event within 30s")
		case <-ctx.Done():
			return Throughput{}, ctx.Err()
		}
	}
	api.counting.Store(true)
	cpu0 := processesCPU(pids)
	start := time.Now()
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return Throughput{}, ctx.Err()
	}
	n := api.done.Load()
	elapsed := time.Since(start)
	cpu := processesCPU(pids) - cpu0
	close(api.stop)
	t := Throughput{Concurrency: c, OK: int(n), Elapsed: elapsed}
	if cpu > 0 && n > 0 {
		t.FunctionCPU = cpu / time.Duration(n)
	}
	return t, nil
}

// processesCPU sums the user and system CPU time of the processes from /proc/<pid>/stat; 0 where
// there is no /proc.
func processesCPU(pids []int) time.Duration {
	var total time.Duration
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0
		}
		// Fields after the command name (which may hold spaces) start at field 3; utime and
		// stime are fields 14 and 15.
		rest := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(rest) < 13 {
			return 0
		}
		u, _ := strconv.ParseInt(rest[11], 10, 64)
		s, _ := strconv.ParseInt(rest[12], 10, 64)
		total += time.Duration(u+s) * time.Second / userHZ
	}
	return total
}
