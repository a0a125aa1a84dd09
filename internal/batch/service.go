package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/barge-run/barge/internal/account"
	"github.com/barge-run/barge/internal/awserr"
	wire "github.com/barge-run/barge/internal/awstypes/batch"
	bexec "github.com/barge-run/barge/internal/exec"
	"github.com/barge-run/barge/internal/logs"
	"github.com/barge-run/barge/internal/metrics"
	"github.com/barge-run/barge/internal/sigv4"
	"github.com/barge-run/barge/internal/store"
)

// Clock is the service's source of time, injected so tests can control timeouts.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface{ Stop() bool }

type realClock struct{}

func (realClock) Now() time.Time                            { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// HostCapacity is what the default compute environment offers.
type HostCapacity struct {
	VCPUs     int32
	MemoryMiB int64
	// GPUs is how many GPUs every compute environment offers (as it offers all of the host's
	// memory); jobs asking for GPUs get device indices in NVIDIA_VISIBLE_DEVICES. 0: none, jobs
	// asking for GPUs cannot be placed.
	GPUs int
}

// Config wires the service to its collaborators.
type Config struct {
	Region   string
	Store    store.Store
	Executor bexec.Executor
	Logs     *logs.Store
	// WorkDir holds one working directory per running attempt.
	WorkDir string
	Clock   Clock
	Logger  *slog.Logger
	// Host is the capacity of this machine; zero values are read from the runtime.
	Host HostCapacity
	// ReserveAfter is how long a job that does not fit may wait before capacity is held back for
	// it (starvation avoidance, a barge extension; see docs/scheduler.md). 0 means 5 minutes;
	// negative turns it off.
	ReserveAfter time.Duration
	// KillGrace is how long a terminated or timed-out attempt gets between SIGTERM and SIGKILL
	// (AWS gives 30 s).
	KillGrace time.Duration
	// AllowPrivileged lets job definitions ask for privileged containers (all capabilities, the
	// host's devices); refused by default.
	AllowPrivileged bool
	// DataDir is barge's data directory (absolute): no volume may be it, lie in it or hold it.
	DataDir string
	// VolumeRoots are the host directories volumes' host.sourcePath may lie in (the operator's
	// --volume-root, checked by CheckVolumeRoots); none: job definitions cannot name host paths.
	VolumeRoots []string
	// UncheckedVolumes accepts any absolute host path as a volume: the attack tests' unprotected
	// server (--unsafe-sandbox volumes), never a real one.
	UncheckedVolumes bool
	// Credentials mints each attempt's temporary credentials (revoked when it ends); nil gives
	// attempts none.
	Credentials Credentials
	// APIEndpoint is barge's API as an attempt reaches it (AWS_ENDPOINT_URL); nil or "": none.
	APIEndpoint func() string
	// Holder names this server in the engine's lease (store.Lease): stable across its restarts
	// ("" is "local"). LeaseTTL is how long the lease lasts unrenewed (0: 15 s).
	Holder   string
	LeaseTTL time.Duration
	// Metrics receives job transitions and timings and reads the engine's gauges; nil: none.
	Metrics *metrics.Metrics
	// Events receives every job state change after submission ("Batch Job State Change",
	// for EventBridge rules); nil: none.
	Events EventSink
	// Clusters are the Kubernetes clusters compute environments with an eksConfiguration run
	// their jobs on; nil: none.
	Clusters Clusters
}

// Credentials mints the temporary credentials a job attempt gets in its environment, scoped to
// the job's account and recorded with its jobRoleArn, and revokes them when the attempt ends.
type Credentials interface {
	Mint(account, role string) sigv4.Credential
	Revoke(accessKeyID string)
}

// Service implements the AWS Batch operations for every account.
type Service struct {
	cfg    Config
	region string
	store  store.Store
	clock  Clock
	log    *slog.Logger
	// current is the engine: running on this server while it holds the engine's lease, else an
	// engine that never runs (calls record intents for the one that does) — leader.go.
	current atomic.Pointer[engine]
	leading leadership
	execs   executors
}

// New makes the service; call Start before serving requests.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Executor == nil || cfg.Logs == nil {
		return nil, errors.New("batch: Store, Executor and Logs are required")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Host.VCPUs == 0 {
		cfg.Host.VCPUs = int32(runtime.NumCPU())
	}
	if cfg.Host.MemoryMiB == 0 {
		cfg.Host.MemoryMiB = hostMemoryMiB()
	}
	switch {
	case cfg.ReserveAfter == 0:
		cfg.ReserveAfter = 5 * time.Minute
	case cfg.ReserveAfter < 0:
		cfg.ReserveAfter = 0
	}
	if cfg.KillGrace == 0 {
		cfg.KillGrace = 30 * time.Second
	}
	if cfg.Holder == "" {
		cfg.Holder = "local"
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 15 * time.Second
	}
	roots, err := CheckVolumeRoots(cfg.VolumeRoots, cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("batch: %w", err)
	}
	cfg.VolumeRoots = roots
	s := &Service{cfg: cfg, region: cfg.Region, store: cfg.Store, clock: cfg.Clock, log: cfg.Logger}
	s.current.Store(newEngine(s))
	s.registerMetrics(cfg.Metrics)
	return s, nil
}

// EnsureDefaults creates the compute environment and job queue named "default" in account when
// they do not exist yet: this host's capacity, so a fresh server can run jobs at once.
func (s *Service) EnsureDefaults(ctx context.Context, account string) error {
	_, err := s.store.ResourceGet(ctx, account, store.KindComputeEnvironment, "default", 0)
	if errors.Is(err, store.ErrNotFound) {
		vcpus := s.cfg.Host.VCPUs
		_, err = s.CreateComputeEnvironment(ctx, account, &wire.CreateComputeEnvironmentRequest{
			ComputeEnvironmentName: "default",
			Type:                   wire.CETypeManaged,
			State:                  wire.CEStateEnabled,
			ComputeResources: &wire.ComputeResource{
				Type:          wire.CRTypeEc2,
				MinvCpus:      ptr(int32(0)),
				MaxvCpus:      &vcpus,
				DesiredvCpus:  ptr(int32(0)),
				InstanceTypes: []string{"optimal"},
				InstanceRole:  "ecsInstanceRole",
			},
		})
	}
	if err != nil && !s.exists(ctx, account, store.KindComputeEnvironment) {
		return fmt.Errorf("default compute environment: %w", err)
	}
	_, err = s.store.ResourceGet(ctx, account, store.KindJobQueue, "default", 0)
	if errors.Is(err, store.ErrNotFound) {
		_, err = s.CreateJobQueue(ctx, account, &wire.CreateJobQueueRequest{
			JobQueueName: "default",
			State:        wire.JQStateEnabled,
			Priority:     ptr(int32(1)),
			ComputeEnvironmentOrder: []wire.ComputeEnvironmentOrder{
				{Order: ptr(int32(1)), ComputeEnvironment: s.arn(account, "compute-environment", "default")},
			},
		})
	}
	if err != nil && !s.exists(ctx, account, store.KindJobQueue) {
		return fmt.Errorf("default job queue: %w", err)
	}
	return nil
}

// exists reports whether account's resource of kind named "default" exists: a create that
// failed because another server made it at the same time failed harmlessly.
func (s *Service) exists(ctx context.Context, account string, kind store.Kind) bool {
	_, err := s.store.ResourceGet(ctx, account, kind, "default", 0)
	return err == nil
}

func (s *Service) arn(account, kind, name string) string {
	acct, region := s.scope(account)
	return fmt.Sprintf("arn:aws:batch:%s:%s:%s/%s", region, acct, kind, name)
}

// scope is the account id and region of a scope key (account.Scope): what ARNs carry.
func (s *Service) scope(key string) (accountID, region string) {
	return account.SplitScope(key, s.region)
}

// parseRef accepts a resource's name or its ARN (of this kind, in this account and region) and
// returns the name.
func (s *Service) parseRef(account, kind, field, ref string) (string, error) {
	if !strings.HasPrefix(ref, "arn:") {
		return ref, nil
	}
	acct, region := s.scope(account)
	prefix := fmt.Sprintf("arn:aws:batch:%s:%s:%s/", region, acct, kind)
	name, ok := strings.CutPrefix(ref, prefix)
	if !ok || name == "" {
		return "", awserr.Client("%s: %q is not a %s ARN of this account and region", field, ref, kind)
	}
	return name, nil
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$`)

// checkName validates a resource or job name as AWS does: up to 128 letters, numbers, hyphens
// and underscores, starting with a letter or number.
func checkName(field, name string) error {
	if name == "" {
		return awserr.Client("%s is required", field)
	}
	if !nameRE.MatchString(name) {
		return awserr.Client("%s: %q is invalid: up to 128 letters (uppercase and lowercase), numbers, hyphens and underscores, starting with a letter or number", field, name)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func (s *Service) nowMillis() int64 { return s.clock.Now().UnixMilli() }

// storeErr turns store failures into API errors: not-found becomes a ClientException with the
// caller's message, anything else a ServerException (logged, never shown).
func (s *Service) storeErr(err error, notFound string) error {
	if errors.Is(err, store.ErrNotFound) && notFound != "" {
		return awserr.Client("%s", notFound)
	}
	s.log.Error("store", "err", err)
	if awserr.IsNoSpace(err) {
		return awserr.NoSpace(err)
	}
	return awserr.Server("internal error")
}

// hostMemoryMiB reads the machine's memory from /proc/meminfo; 4 GiB when unknown.
func hostMemoryMiB() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				var kb int64
				if _, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), &kb); err == nil && kb > 0 {
					return kb / 1024
				}
			}
		}
	}
	return 4096
}

// getResource reads a non-revisioned resource named by name or ARN (field names the request
// member, for the error) and decodes its AWS-shaped body.
func getResource[T any](ctx context.Context, s *Service, account string, kind store.Kind, field, ref string) (*store.Resource, *T, error) {
	name, err := s.parseRef(account, string(kind), field, ref)
	if err != nil {
		return nil, nil, err
	}
	r, err := s.store.ResourceGet(ctx, account, kind, name, 0)
	if err != nil {
		return nil, nil, s.storeErr(err, fmt.Sprintf("%s: %s %s does not exist", field, strings.ReplaceAll(string(kind), "-", " "), ref))
	}
	d := new(T)
	if err := json.Unmarshal(r.Body, d); err != nil {
		return nil, nil, s.storeErr(err, "")
	}
	return r, d, nil
}
