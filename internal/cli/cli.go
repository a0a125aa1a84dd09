// Package cli implements the barge command line: `barge server`, `barge env`, and the commands
// for humans (submit, jobs, describe, logs, cancel, terminate) that talk to a barge server
// through the same AWS API every other client uses.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/barge-run/barge/internal/awserr"
	"github.com/barge-run/barge/internal/server"
)

// Main runs the command line and returns the process exit code: 0, 1 when the command failed
// (a job it follows FAILED, the server cannot be reached, an API error), 2 for a usage error.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		return help(args[1:], stdout, stderr)
	}
	c, rest, ok := lookupCommand(args)
	if !ok {
		if subs := subcommands(args[0]); len(subs) > 0 {
			fmt.Fprintf(stderr, "barge %s: which one? %s\n", args[0], strings.Join(subs, ", "))
			return 2
		}
		fmt.Fprintf(stderr, "barge: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return exitCode(c.name, c.run(ctx, rest, stdout), stderr)
}

// help prints the overview, or one command's help.
func help(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return 0
	}
	c, _, ok := lookupCommand(args)
	if !ok {
		fmt.Fprintf(stderr, "barge help: unknown command %q\n", strings.Join(args, " "))
		return 2
	}
	fs, err := flagSetOf(c)
	if err != nil {
		fmt.Fprintf(stderr, "barge help: %v\n", err)
		return 1
	}
	printCommandHelp(stdout, fs)
	return 0
}

// subcommands lists the commands whose name starts with the word first ("account add").
func subcommands(first string) []string {
	var out []string
	for _, c := range commands() {
		if f := strings.Fields(c.name); len(f) > 1 && f[0] == first {
			out = append(out, "barge "+c.name+" "+c.args)
		}
	}
	return out
}

// exitCode prints a command's error as one line and maps it to the exit code.
func exitCode(name string, err error, stderr io.Writer) int {
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "barge %s: %v\n", name, err)
		return 2
	case errors.Is(err, context.Canceled):
		return 130 // interrupted (Ctrl-C), as a shell reports it
	}
	if msg, ok := unreachable(err); ok {
		fmt.Fprintln(stderr, msg)
		return 1
	}
	fmt.Fprintf(stderr, "barge %s: %v\n", name, err)
	return 1
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// commonFlags are the flags every command shares: where the server and its data are.
type commonFlags struct {
	addr    string
	dataDir string
	region  string
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "addr", envOr("BARGE_ADDR", server.DefaultAddr), "server address (host:port)")
	fs.StringVar(&c.dataDir, "data-dir", envOr("BARGE_DATA_DIR", ".barge"), "data directory")
	fs.StringVar(&c.region, "region", os.Getenv("AWS_REGION"), "AWS region: the server's default one (server), the one client commands act in (default: AWS_REGION, else the server's, recorded in the data directory, else us-east-1)")
}

// resolveRegion fills in the region when neither --region nor AWS_REGION gave one: the region
// the server on this data directory last ran with (server.RegionFile), else us-east-1.
func (c *commonFlags) resolveRegion() string {
	if c.region == "" {
		c.region = server.RecordedRegion(c.dataDir)
	}
	return c.region
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func cmdServer(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	grace := fs.Duration("kill-grace", 30*time.Second, "time between SIGTERM and SIGKILL when a job is terminated or times out")
	reserveAfter := fs.Duration("reserve-after", 5*time.Minute, "starvation avoidance: hold capacity back for a job that has waited this long without fitting (0 turns it off)")
	fnIdle := fs.Duration("function-idle", 5*time.Minute, "stop a function instance idle this long (scale to zero)")
	fnConcurrency := fs.Int("function-concurrency", 1000, "account-wide limit of concurrent function invocations")
	isolation := fs.String("isolation", "auto", "auto: sandbox jobs and functions when the host allows (Linux, root, cgo), else run them as plain processes with a warning; sandbox: refuse to start without one; none: plain processes")
	var insecure stringList
	fs.Var(&insecure, "insecure-registry", "registry `HOST:PORT` to pull images from over plain HTTP (repeatable; loopback registries always are)")
	allowPrivileged := fs.Bool("allow-privileged", false, "let job definitions ask for privileged containers (all capabilities, the host's devices)")
	pidsLimit := fs.Int64("pids-limit", 1024, "most processes one job or function instance may have")
	var volumeRoots stringList
	fs.Var(&volumeRoots, "volume-root", "let job volumes (host.sourcePath) name the host directory `DIR` and what lies under it (repeatable; none: jobs get no host volumes)")
	ephemeral := sizeFlag(server.DefaultEphemeralStorage)
	fs.Var(&ephemeral, "ephemeral-storage", "most one job attempt may write unless its definition's ephemeralStorage says otherwise (a `SIZE` in bytes, or with KiB, MiB, GiB, TiB)")
	userns := fs.String("userns", "private", "private: root in a job or function is an unprivileged host user of its account's own range (user namespaces); host: root in a sandbox is the host's root — unsafe for untrusted code")
	jobNetwork := fs.String("job-network", "isolated", "isolated: each job and function instance has a network namespace of its own (loopback only; barge's API at 127.0.0.1:7700 inside); nat: as isolated, plus outbound network through pasta's user-mode NAT (package passt; nothing inbound, the host's loopback unreachable); host: the host's network — unsafe for untrusted code")
	var unsafeSandbox stringList
	fs.Var(&unsafeSandbox, "unsafe-sandbox", "FOR TESTS ONLY: turn a sandbox protection off (userns, netns, masks, seccomp, mknod, volumes, disk; repeatable)")
	logLimit := sizeFlag(server.DefaultLogLimit)
	fs.Var(&logLimit, "log-limit", "most output stored per job attempt or function instance (a `SIZE`, e.g. 1GiB); past it one event says so and the rest is dropped")
	gpus := fs.Int("gpus", -1, "GPUs each compute environment offers to jobs asking for them (-1: count the host's /dev/nvidiaN devices)")
	s3Endpoint := fs.String("s3-endpoint", "", "fetch Lambda code and layers given as S3Bucket/S3Key from this S3-compatible `URL` (path-style, with the server's own AWS credentials from its environment; every account can then deploy any object those credentials read); none: S3 locations are refused")
	storeURL := fs.String("store", "", "where state lives: empty for the SQLite file in the data directory, or `postgres://user:password@host:port/db?sslmode=verify-full` for a PostgreSQL database several servers share (one runs the scheduler at a time; the others serve the API and take over when it dies)")
	name := fs.String("name", "", "this server's `NAME` among the servers on its store, stable across its restarts (default: local with the SQLite store; the host name and a hash of the data directory with PostgreSQL)")
	leaseTTL := fs.Duration("lease-ttl", 15*time.Second, "how long the scheduler's lease lasts unrenewed (renewed every third of it): with several servers on PostgreSQL, how soon another takes over from a dead leader")
	var kubeconfigs, kubeTolerations stringList
	fs.Var(&kubeconfigs, "kubeconfig", "a kubeconfig `FILE` whose contexts are Kubernetes clusters compute environments may run jobs on, as arn:aws:eks:<region>:<account>:cluster/<context> (repeatable; \"in-cluster\" for the cluster barge runs in)")
	fs.Var(&kubeTolerations, "kube-toleration", "a toleration `KEY=VALUE:EFFECT` (or KEY:EFFECT) added to every Pod barge creates (repeatable)")
	kubeEndpoint := fs.String("kube-endpoint", "", "barge's API as Pods reach it (a `URL`, e.g. http://barge.barge-system.svc:7700): the AWS_ENDPOINT_URL of jobs running on Kubernetes compute environments (default: the address jobs on this host get, which Pods cannot reach)")
	limits := limitFlags(fs)
	pprofAddr := fs.String("pprof", "", "serve Go profiling endpoints (net/http/pprof) on this loopback address, for debugging")
	logLevel := fs.String("log-level", "info", "server log level: debug (adds a line per API request and per job transition), info, warn or error")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *userns != "private" && *userns != "host" {
		return usageError{"--userns must be private or host"}
	}
	if !slices.Contains([]string{"isolated", "nat", "host"}, *jobNetwork) {
		return usageError{"--job-network must be isolated, nat or host"}
	}
	var unsafeList []string
	for _, u := range unsafeSandbox {
		for _, name := range strings.Split(u, ",") {
			if !slices.Contains([]string{"userns", "netns", "masks", "seccomp", "mknod", "volumes", "disk"}, name) {
				return usageError{fmt.Sprintf("--unsafe-sandbox: unknown protection %q", name)}
			}
			unsafeList = append(unsafeList, name)
		}
	}
	if err := servePprof(*pprofAddr); err != nil {
		return err
	}
	// `go run` dies of SIGTERM without passing it on: the server then follows its parent.
	stopWithGoRun()
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageError{"--log-level must be debug, info, warn or error"}
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	s, err := server.Start(ctx, server.Options{Addr: c.addr, DataDir: c.dataDir, Region: c.resolveRegion(), Logger: logger, KillGrace: *grace, ReserveAfter: reserveAfterOption(*reserveAfter),
		FunctionIdle: *fnIdle, FunctionConcurrency: *fnConcurrency, Isolation: *isolation,
		InsecureRegistries: insecure, AllowPrivileged: *allowPrivileged, PidsLimit: *pidsLimit, GPUs: *gpus,
		VolumeRoots: volumeRoots, EphemeralStorage: int64(ephemeral), LogLimit: int64(logLimit),
		HostUsers: *userns == "host", HostNetwork: *jobNetwork == "host", NetworkNAT: *jobNetwork == "nat", UnsafeSandbox: unsafeList,
		S3Endpoint: *s3Endpoint, Limits: limits(), Store: *storeURL, Name: *name,
		Kubeconfigs: kubeconfigs, KubeTolerations: kubeTolerations, KubeEndpoint: *kubeEndpoint, LeaseTTL: *leaseTTL})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "barge listening on %s (data in %s)\nclients: eval \"$(barge env --addr %s --data-dir %s)\"\n", s.Endpoint(), c.dataDir, s.Addr(), c.dataDir)
	werr := s.Wait(ctx)
	return errors.Join(werr, s.Close())
}

// servePprof serves Go's profiling endpoints on addr, a loopback address ("": none).
func servePprof(addr string) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("pprof: %w", err)
	}
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); !net.ParseIP(host).IsLoopback() {
		ln.Close()
		return usageError{"--pprof must be a loopback address"}
	}
	// The profiling handlers live on their own mux and listener, never on the API's.
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go http.Serve(ln, mux)
	return nil
}

// apiError shortens SDK errors to the AWS code and message.
func apiError(err error) error {
	var ae interface {
		ErrorCode() string
		ErrorMessage() string
	}
	if errors.As(err, &ae) {
		return &awserr.Error{Code: ae.ErrorCode(), Message: ae.ErrorMessage()}
	}
	return err
}

// reserveAfterOption maps the flag (0 = off) onto server.Options (0 = default, negative = off).
func reserveAfterOption(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}
