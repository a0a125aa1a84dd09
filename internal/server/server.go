// Package server assembles a running barge: data directory, store, log streams, credentials,
// executor, domain services and the HTTP listener. cmd/barge and the integration tests use it.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/netutil"

	"github.com/barge-run/barge/internal/account"
	apipkg "github.com/barge-run/barge/internal/api"
	"github.com/barge-run/barge/internal/batch"
	"github.com/barge-run/barge/internal/console"
	"github.com/barge-run/barge/internal/esm"
	"github.com/barge-run/barge/internal/events"
	bexec "github.com/barge-run/barge/internal/exec"
	"github.com/barge-run/barge/internal/exec/local"
	"github.com/barge-run/barge/internal/fn"
	"github.com/barge-run/barge/internal/lambda"
	"github.com/barge-run/barge/internal/logs"
	"github.com/barge-run/barge/internal/metrics"
	"github.com/barge-run/barge/internal/scheduler"
	"github.com/barge-run/barge/internal/sfn"
	"github.com/barge-run/barge/internal/sigv4"
	"github.com/barge-run/barge/internal/sqs"
	"github.com/barge-run/barge/internal/store"
)

// DefaultLogLimit is the most output stored per job attempt or function instance.
const DefaultLogLimit = 1 << 30

// DefaultAddr is where barge listens unless told otherwise: loopback only.
const DefaultAddr = "127.0.0.1:7700"

// DefaultEphemeralStorage is the bound of what one job attempt can write unless the operator
// (--ephemeral-storage) or the job definition (containerProperties.ephemeralStorage) says
// otherwise: 20 GiB, as a Fargate task gets.
const DefaultEphemeralStorage int64 = 20 << 30

// Options configure a server.
type Options struct {
	Addr    string // host:port; port 0 picks a free one
	DataDir string
	Region  string
	Logger  *slog.Logger
	// KillGrace overrides the SIGTERM-to-SIGKILL grace of terminated attempts (default 30 s).
	KillGrace time.Duration
	// ReserveAfter is how long a job that does not fit waits before capacity is held back for it
	// (0: 5 minutes; negative: never). See docs/scheduler.md.
	ReserveAfter time.Duration
	// FunctionIdle is how long an idle function instance stays warm (0: 5 minutes).
	FunctionIdle time.Duration
	// FunctionConcurrency is the account-wide limit of concurrent invocations (0: 1000).
	FunctionConcurrency int
	// Isolation is "auto" (the default: sandbox when the host allows, else plain processes with a
	// warning), "sandbox" (refuse to start without one) or "none".
	Isolation string
	// InsecureRegistries are registries ("host:port") pulled from over plain HTTP; loopback ones
	// always are.
	InsecureRegistries []string
	// AllowPrivileged lets job definitions ask for privileged containers.
	AllowPrivileged bool
	// PidsLimit caps the processes of one sandbox (0: 1024).
	PidsLimit int64
	// VolumeRoots are the host directories job volumes may come from (--volume-root); none
	// means job definitions cannot name host paths.
	VolumeRoots []string
	// LogLimit caps the stored output of one job attempt or function instance, in bytes
	// (--log-limit; 0: DefaultLogLimit): past it one event says so and the rest is dropped.
	LogLimit int64
	// HostUsers turns user namespaces off (--userns host): root in a sandbox is root on the host.
	HostUsers bool
	// HostNetwork shares the host's network with sandboxes (--job-network host).
	HostNetwork bool
	// NetworkNAT gives sandboxes outbound network through pasta's user-mode NAT (--job-network
	// nat); barge refuses to start without pasta or without a sandbox to give it to.
	NetworkNAT bool
	// UnsafeSandbox turns named sandbox protections off (--unsafe-sandbox): only for the tests
	// that show what each protection stops. "userns" and "netns" are HostUsers and HostNetwork;
	// the rest are sandbox.Options.Unsafe ("volumes" also lifts the API's volume checks).
	UnsafeSandbox []string
	// EphemeralStorage is the default bound, in bytes, of what one job attempt can write
	// (--ephemeral-storage; 0: DefaultEphemeralStorage); containerProperties.ephemeralStorage
	// overrides it.
	EphemeralStorage int64
	// GPUs is how many GPUs compute environments offer; negative: the host's NVIDIA devices
	// (/dev/nvidia0, /dev/nvidia1, …).
	GPUs int
	// S3Endpoint is the S3-compatible endpoint Lambda code and layers given by S3 location are
	// read from (--s3-endpoint), with the server's own credentials; "" refuses S3 locations.
	S3Endpoint string
	// Limits bound what clients can hold of the API listener; zero fields take DefaultLimits'.
	Limits Limits
	// Store names the store: "" or "sqlite" is the SQLite file in the data directory; a
	// postgres:// URL a PostgreSQL database several servers may share.
	Store string
	// Name is this server's name among the servers on its store (serverName's default).
	Name string
	// LeaseTTL is how long the engine's lease lasts unrenewed (renewed every third of it): how
	// soon another server takes over from a dead leader. 0: 15 s.
	LeaseTTL time.Duration
	// Kubeconfigs are kubeconfig files ("in-cluster": the cluster barge runs in) whose contexts
	// compute environments with an eksConfiguration may run their jobs on; KubeTolerations
	// (KEY=VALUE:EFFECT) are added to every Pod.
	Kubeconfigs     []string
	KubeTolerations []string
	// KubeEndpoint is barge's API as Pods reach it (--kube-endpoint, e.g. a Service's URL): the
	// AWS_ENDPOINT_URL of the attempts that run as Pods. "": the address local attempts get.
	KubeEndpoint string
}

// Server is a running barge.
type Server struct {
	opts  Options
	ln    net.Listener
	http  *http.Server
	batch *batch.Service
	pool  *fn.Pool
	fns   *lambda.Service
	sqs   *sqs.Service
	// steps is Step Functions: its executions run on every server, each claimed by one.
	steps *sfn.Service
	// clusters are the Kubernetes clusters of --kubeconfig (nil: none).
	clusters *kubeClusters
	esm      *esm.Service // event source mappings' pollers (docs/triggers.md)
	db       store.Store
	logs     *logs.Store
	creds    *account.Set
	exec     bexec.Executor
	errc     chan error
	lock     *os.File // the data directory's, held while the server runs

	// schedules fires EventBridge Scheduler schedules and scheduled rules (docs/triggers.md).
	schedules *scheduler.Engine
	scheduler *scheduler.Service
	events    *events.Service
	// bus carries Batch's (and Step Functions') events to the rules whose pattern they match.
	bus *events.Bus

	// hostEndpoint is the API's URL from this host (callbackEndpoint), set once it listens.
	hostEndpoint atomic.Value
	stopExpiry   chan struct{} // ends expireLogs
	expiryDone   chan struct{}
}

// Start brings barge up and starts serving; it returns once the listener accepts connections.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if opts.DataDir == "" {
		opts.DataDir = ".barge"
	}
	// Absolute, because instances and job attempts run with their own working directory (and
	// in a sandbox, their own root) and are handed paths under it.
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	opts.DataDir = dataDir
	if opts.Region == "" {
		opts.Region = RecordedRegion(opts.DataDir)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	lock, err := lockDataDir(opts.DataDir)
	if err != nil {
		return nil, err
	}
	recordRegion(opts.DataDir, opts.Region)
	s, err := start(ctx, opts, lock)
	if err != nil {
		lock.Close()
		return nil, err
	}
	return s, nil
}

// start is Start once the data directory is this process's.
func start(ctx context.Context, opts Options, lock *os.File) (*Server, error) {
	log := opts.Logger
	var err error
	// Checked before anything starts, so that a wrong root stops barge rather than its jobs.
	if opts.VolumeRoots, err = batch.CheckVolumeRoots(opts.VolumeRoots, opts.DataDir); err != nil {
		return nil, err
	}
	m := metrics.New()
	var code lambda.CodeSource
	if opts.S3Endpoint != "" {
		if code, err = lambda.NewS3Source(ctx, opts.S3Endpoint, opts.Region); err != nil {
			return nil, err
		}
	}
	switch {
	case opts.EphemeralStorage == 0:
		opts.EphemeralStorage = DefaultEphemeralStorage
	case opts.EphemeralStorage < 0:
		return nil, fmt.Errorf("ephemeral storage: %d bytes is not a size", opts.EphemeralStorage)
	}
	creds, err := account.LoadOrCreate(opts.DataDir)
	if err != nil {
		return nil, err
	}
	name := serverName(opts)
	db, err := openStore(ctx, opts)
	if err != nil {
		return nil, err
	}
	ls, err := logs.Open(filepath.Join(opts.DataDir, "logs"), nil)
	if err != nil {
		db.Close()
		return nil, err
	}
	if opts.LogLimit <= 0 {
		opts.LogLimit = DefaultLogLimit
	}
	ls.SetLimit(opts.LogLimit)
	s := &Server{opts: opts, db: db, logs: ls, creds: creds, errc: make(chan error, 1), lock: lock,
		stopExpiry: make(chan struct{}), expiryDone: make(chan struct{})}
	go func() {
		defer close(s.expiryDone)
		expireLogs(ls, log.With("component", "logs"), s.stopExpiry)
	}()
	workDir := filepath.Join(opts.DataDir, "work")
	// Working directories of attempts that died with a previous process are garbage now.
	os.RemoveAll(workDir)
	// Sandboxes reach barge's API on a listener inside their own network; attempts may start
	// (recovery) before the API is assembled, so they are served through a late binding.
	var api lateHandler
	executor, err := newExecutor(opts, &api, log)
	if err != nil {
		s.closeStores()
		return nil, err
	}
	s.exec = executor
	// Jobs and functions call barge back with credentials of their own, minted per attempt and
	// per instance, at the endpoint they can reach.
	sessions := account.NewSessions()
	endpoint := func() string {
		if inside, ok := executor.(apiInside); ok && inside.ServesAPIInside() {
			return "http://" + local.APIAddr
		}
		return s.callbackEndpoint()
	}
	if s.clusters, err = newKubeClusters(opts.Kubeconfigs, opts.KubeTolerations, opts.Region, log.With("component", "kube")); err != nil {
		s.closeStores()
		return nil, err
	}
	if err := s.clusters.reachAPI(opts.KubeEndpoint, endpoint); err != nil {
		s.closeStores()
		return nil, err
	}
	var clusters batch.Clusters
	if s.clusters != nil {
		clusters = s.clusters
	}
	s.bus = events.NewBus()
	s.batch, err = batch.New(batch.Config{Clusters: clusters, Events: s.bus,
		Credentials: sessions, APIEndpoint: endpoint,
		Region: opts.Region, Store: db, Executor: executor, Logs: ls, WorkDir: workDir,
		Logger: log.With("component", "batch"), KillGrace: opts.KillGrace, ReserveAfter: opts.ReserveAfter,
		AllowPrivileged: opts.AllowPrivileged, Host: batch.HostCapacity{GPUs: gpuCount(opts.GPUs)},
		DataDir: opts.DataDir, VolumeRoots: opts.VolumeRoots, UncheckedVolumes: slices.Contains(opts.UnsafeSandbox, "volumes"),
		Metrics: m, Holder: name, LeaseTTL: opts.LeaseTTL,
	})
	if err != nil {
		s.closeStores()
		return nil, err
	}
	if err := s.batch.Start(ctx); err != nil {
		s.closeStores()
		return nil, err
	}
	for _, acct := range creds.Accounts() {
		if err := s.batch.EnsureDefaults(ctx, acct); err != nil {
			s.batch.Stop()
			s.closeStores()
			return nil, err
		}
	}
	s.pool, err = fn.New(fn.Config{Executor: executor, Logs: ls, Region: opts.Region, Credentials: sessions, APIEndpoint: endpoint,
		IdleTimeout: opts.FunctionIdle, AccountConcurrency: opts.FunctionConcurrency, Metrics: m,
		// Limits are divided with any other server on the store through its ledger.
		Shares: lambda.NewShares(db, name, 0, nil)})
	if err != nil {
		s.batch.Stop()
		s.closeStores()
		return nil, err
	}
	lcfg := lambda.Config{Region: opts.Region, Store: db, Pool: s.pool, CodeDir: filepath.Join(opts.DataDir, "functions"), Holder: name,
		URLBase: func() string { return s.Endpoint() }}
	lcfg.Images = imagesOf(executor)
	lcfg.Code = code
	functions := lambda.New(lcfg)
	functions.Start()
	s.fns = functions
	// SQS: queues and messages in the store; Start resumes message move tasks.
	s.sqs = sqs.New(sqs.Config{Store: db, Region: opts.Region, Logger: log.With("component", "sqs"), LookEvery: sharedLook(opts)})
	if err := s.sqs.Start(ctx); err != nil {
		log.Error("resuming SQS message move tasks", "err", err)
	}
	s.sqs.RegisterMetrics(m)
	// Event source mappings: SQS queues drained into functions (started once serving).
	s.esm = esm.New(esm.Config{Store: db, Functions: functions, Queues: s.sqs, Region: opts.Region, Holder: name,
		Logger: log.With("component", "esm")})
	s.esm.RegisterMetrics(m)
	// Step Functions: executions resume from their checkpoints (docs/stepfunctions.md).
	s.steps = sfn.New(sfn.Config{Store: db, Region: opts.Region, Holder: name, Lambda: functions, Batch: s.batch,
		SQS: s.sqs, Events: s.bus, Logger: log.With("component", "states")})
	if err := s.steps.Start(ctx); err != nil {
		log.Error("resuming Step Functions executions", "err", err)
	}
	s.newSchedules(db, functions, opts.Region, name, log)
	limits := opts.Limits.withDefaults()
	// Keys of accounts added while the server runs (barge account add) are found by reading
	// credentials.json again; their account gets its default queue first.
	live := account.NewLive(opts.DataDir, creds, func(acct string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return s.batch.EnsureDefaults(ctx, acct)
	})
	// On a shared store every server accepts the keys of every server's credentials.json.
	var shared *account.Stored
	if storeKind(opts.Store) != "sqlite" {
		shared = account.NewStored(db)
		if err := shared.Import(ctx, name, creds); err != nil {
			log.Error("sharing this server's credentials through the store", "err", err)
		}
		live.OnReload = func(set *account.Set) {
			if err := shared.Import(context.Background(), name, set); err != nil {
				log.Error("sharing this server's credentials through the store", "err", err)
			}
		}
	}
	importer, importDir := imageImports(executor, opts.DataDir, log)
	cons, err := console.New(console.Config{Batch: s.batch, Lambda: functions, Logs: ls, SQS: s.sqs, ESM: s.esm, Steps: s.steps, Metrics: m.Gatherer(),
		Logger: log.With("component", "console")})
	if err != nil {
		s.batch.Stop()
		s.fns.Stop()
		s.pool.Close()
		s.closeStores()
		return nil, fmt.Errorf("console: %w", err)
	}
	handler := apipkg.New(apipkg.Config{Batch: s.batch, Lambda: functions, Logs: ls, SQS: s.sqs, ESM: s.esm, Scheduler: s.scheduler, Events: s.events, StepFunctions: s.steps, Lookup: func(key string) (sigv4.Credential, bool) {
		if c, ok := live.Lookup(key); ok {
			return c, true
		}
		if c, ok := sessions.Lookup(key); ok {
			return c, true
		}
		if c, ok := live.Reread(key); ok || shared == nil {
			return c, ok
		}
		return shared.Lookup(key)
	}, Logger: log.With("component", "api"), Region: opts.Region,
		MaxInflightBytes: limits.MaxInflightBytes, Metrics: m, Images: importer, ImportDir: importDir, Console: cons,
		Health: func() apipkg.Health {
			return apipkg.Health{Name: name, Leader: s.batch.Leader(), Store: storeKind(opts.Store)}
		}})
	api.set(handler)
	s.ln, err = net.Listen("tcp", opts.Addr)
	if err != nil {
		s.batch.Stop()
		s.fns.Stop()
		s.pool.Close()
		s.closeStores()
		return nil, fmt.Errorf("listen: %w", err)
	}
	s.setCallbackEndpoint()
	if host, _, _ := net.SplitHostPort(s.ln.Addr().String()); !net.ParseIP(host).IsLoopback() {
		log.Warn("listening beyond loopback: every request is still SigV4-authenticated; keep credentials.json secret", "addr", s.ln.Addr().String())
	}
	if sandboxed(executor) {
		log.Info("executor", "backend", executor.Describe())
	} else {
		log.Warn("JOBS AND FUNCTIONS ARE NOT ISOLATED", "backend", executor.Describe())
	}
	s.http = limits.httpServer(handler, slog.NewLogLogger(log.Handler(), slog.LevelWarn))
	// At most MaxConnections connections at once: past them new ones wait in the kernel's
	// backlog instead of each costing a goroutine and buffers.
	go func() { s.errc <- s.http.Serve(netutil.LimitListener(s.ln, limits.MaxConnections)) }()
	s.esm.Start()
	s.schedules.Start()
	s.events.Start()
	log.Info("barge serving", "addr", s.Addr(), "data", opts.DataDir, "region", opts.Region)
	return s, nil
}

// imageImports is where `barge image import` uploads go: the sandbox's image store, through a
// directory of the data dir (on its disk, never in memory; emptied of interrupted uploads). None
// without a sandbox, which is what runs images.
func imageImports(executor bexec.Executor, dataDir string, log *slog.Logger) (apipkg.ImageImporter, string) {
	images := imagesOf(executor)
	if images == nil {
		return nil, ""
	}
	dir := filepath.Join(dataDir, "images-import")
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		log.Error("image imports are off", "err", err)
		return nil, ""
	}
	return images, dir
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Isolated reports whether jobs and functions run in sandboxes.
func (s *Server) Isolated() bool { return sandboxed(s.exec) }

// Endpoint is the URL clients set as their endpoint.
func (s *Server) Endpoint() string { return "http://" + s.Addr() }

// callbackEndpoint is the server as a process on this host reaches it; "" before it listens
// (attempts recovered at start run before the listener exists, and get no endpoint).
func (s *Server) callbackEndpoint() string {
	ep, _ := s.hostEndpoint.Load().(string)
	return ep
}

// setCallbackEndpoint records where the server listens, with loopback for a wildcard address.
func (s *Server) setCallbackEndpoint() {
	host, port, _ := net.SplitHostPort(s.Addr())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	s.hostEndpoint.Store("http://" + net.JoinHostPort(host, port))
}

// Wait blocks until the server fails or ctx ends.
func (s *Server) Wait(ctx context.Context) error {
	select {
	case err := <-s.errc:
		return err
	case <-ctx.Done():
		return nil
	}
}

// Close stops serving, stops the engine (killing running attempts, which the next start records
// as lost and retries as their strategies allow) and closes the stores.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	s.esm.Stop() // before the services its pollers call
	s.events.Stop()
	s.schedules.Stop()
	// Step Functions before the services its tasks call.
	s.steps.Stop()
	s.batch.Stop()
	s.fns.Stop()
	s.sqs.Stop()
	perr := s.pool.Close()
	return errors.Join(err, perr, s.closeStores())
}

func (s *Server) closeStores() error {
	close(s.stopExpiry)
	<-s.expiryDone
	s.clusters.close()
	if c, ok := s.exec.(interface{ Close() }); ok {
		c.Close()
	}
	err := errors.Join(s.db.Close(), s.logs.Close())
	s.lock.Close() // last: nothing of this server touches the directory after it
	return err
}

// gpuCount is n, or the host's NVIDIA GPUs when n is negative: the /dev/nvidia<N> device nodes.
func gpuCount(n int) int {
	if n >= 0 {
		return n
	}
	devices, _ := filepath.Glob("/dev/nvidia[0-9]*")
	count := 0
	for _, d := range devices {
		if _, err := strconv.Atoi(strings.TrimPrefix(d, "/dev/nvidia")); err == nil {
			count++
		}
	}
	return count
}

// lateHandler serves the API once it is set, 503 before.
type lateHandler struct{ h atomic.Pointer[http.Handler] }

func (l *lateHandler) set(h http.Handler) { l.h.Store(&h) }

func (l *lateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := l.h.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	http.Error(w, "barge is starting", http.StatusServiceUnavailable)
}
