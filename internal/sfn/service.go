package sfn

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/barge-run/barge/internal/account"
	bw "github.com/barge-run/barge/internal/awstypes/batch"
	lw "github.com/barge-run/barge/internal/awstypes/lambda"
	qw "github.com/barge-run/barge/internal/awstypes/sqs"
	"github.com/barge-run/barge/internal/store"
)

// Resource kinds of the service's records (see the package documentation).
const (
	kindMachine    store.Kind = "sfn-state-machine"
	kindVersion    store.Kind = "sfn-state-machine-version"
	kindAlias      store.Kind = "sfn-state-machine-alias"
	kindExecution  store.Kind = "sfn-execution"
	kindHistory    store.Kind = "sfn-history"
	kindRun        store.Kind = "sfn-run"
	kindActivity   store.Kind = "sfn-activity"
	activityPrefix            = "activity:"
)

// Lambda is the part of barge's Lambda service Task states call.
type Lambda interface {
	Invoke(ctx context.Context, scope string, in *lw.InvocationRequest) (*lw.InvocationResponse, error)
}

// Batch is the part of barge's Batch service Task states call.
type Batch interface {
	SubmitJob(ctx context.Context, scope string, in *bw.SubmitJobRequest) (*bw.SubmitJobResponse, error)
	DescribeJobs(ctx context.Context, scope string, in *bw.DescribeJobsRequest) (*bw.DescribeJobsResponse, error)
	TerminateJob(ctx context.Context, scope string, in *bw.TerminateJobRequest) (*bw.TerminateJobResponse, error)
}

// SQS is the part of barge's SQS service Task states call.
type SQS interface {
	SendMessage(ctx context.Context, scope string, in *qw.SendMessageRequest) (*qw.SendMessageResult, error)
}

// Config wires the service.
type Config struct {
	Store store.Store
	// Region is the server's default region: that of scopes without one (account.Scope).
	Region string
	// Holder names this server among those sharing the store; it owns the runs it executes.
	Holder string
	Lambda Lambda // nil: Lambda tasks fail
	Batch  Batch  // nil: Batch tasks fail
	SQS    SQS    // nil: SQS tasks fail
	Logger *slog.Logger
	// LeaseTTL is how long a server holds a run without renewing it (0: 30 s); a crashed
	// server's runs are claimed by others once it passes.
	LeaseTTL time.Duration
	// PollInterval is how often the server looks for runs due (0: 250 ms).
	PollInterval time.Duration
	// SuspendAfter: an execution all of whose branches wait longer than this is suspended and
	// its run left to be claimed when it wakes (0: 1 s).
	SuspendAfter time.Duration
	// BatchPoll is how often a .sync Batch task reads its job (0: 1 s).
	BatchPoll time.Duration
	// Events receives STANDARD executions' status changes ("Step Functions Execution Status
	// Change", for EventBridge rules); nil: none.
	Events EventSink
}

// Service is the Step Functions domain service. Its API methods take the caller's scope key
// (account.Scope) and act only on that scope's resources.
type Service struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	runs    map[string]*liveRun     // runs executing on this server, by run key (scope|name)
	express map[string]*liveRun     // EXPRESS executions in flight, by ARN
	tokens  map[string]*pendingTask // task tokens awaiting a callback
	queues  map[string]*activityQueue

	stop chan struct{}
	wg   sync.WaitGroup
}

// New makes the service; Start begins running executions.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 30 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 250 * time.Millisecond
	}
	if cfg.SuspendAfter <= 0 {
		cfg.SuspendAfter = time.Second
	}
	if cfg.BatchPoll <= 0 {
		cfg.BatchPoll = time.Second
	}
	if cfg.Holder == "" {
		cfg.Holder = "local"
	}
	return &Service{cfg: cfg, log: cfg.Logger, runs: map[string]*liveRun{}, express: map[string]*liveRun{},
		tokens: map[string]*pendingTask{}, queues: map[string]*activityQueue{}, stop: make(chan struct{})}
}

func now() time.Time { return time.Now().UTC() }

// arnOf builds arn:aws:states:<region>:<account>:<resource> for a scope.
func (s *Service) arnOf(scope, resource string) string {
	acct, region := account.SplitScope(scope, s.cfg.Region)
	return fmt.Sprintf("arn:aws:states:%s:%s:%s", region, acct, resource)
}

// parsedARN is a states ARN taken apart.
type parsedARN struct {
	scope    string
	typ      string   // stateMachine, execution, express, activity
	parts    []string // what follows the type
	original string
}

// parseARN reads a states ARN of the caller's scope. An ARN of another account or region
// names nothing the caller can see: notFound answers it.
func (s *Service) parseARN(scope, arn, typ string, notFound func(string) error) (*parsedARN, error) {
	f := strings.Split(arn, ":")
	if len(f) < 7 || f[0] != "arn" || f[2] != "states" || f[5] != typ {
		return nil, invalidArn(arn)
	}
	for _, p := range f[6:] {
		if p == "" {
			return nil, invalidArn(arn)
		}
	}
	if account.Scope(f[4], f[3], s.cfg.Region) != scope {
		return nil, notFound(arn)
	}
	return &parsedARN{scope: scope, typ: typ, parts: f[6:], original: arn}, nil
}

// nameRE is what AWS refuses in names: whitespace, brackets, wildcards, punctuation and
// control characters.
var nameRE = regexp.MustCompile("[\\s<>{}\\[\\]?*\"#%\\\\^|~`$&,;:/\\x00-\\x1f\\x7f-\\x9f]")

func checkName(name string) error {
	if name == "" || len(name) > 80 || nameRE.MatchString(name) {
		return invalidName(name)
	}
	return nil
}

// Start resumes this server's runs left by a previous process and begins claiming runs due.
func (s *Service) Start(ctx context.Context) error {
	if err := s.adoptOwnRuns(ctx); err != nil {
		return fmt.Errorf("step functions: resume runs: %w", err)
	}
	s.wg.Add(1)
	go s.pollRuns()
	return nil
}

// Stop suspends the executions running here (their runs stay claimable) and waits for them.
func (s *Service) Stop() {
	select {
	case <-s.stop:
		return
	default:
	}
	close(s.stop)
	s.mu.Lock()
	var live []*liveRun
	for _, r := range s.runs {
		live = append(live, r)
	}
	for _, r := range s.express {
		live = append(live, r)
	}
	s.mu.Unlock()
	for _, r := range live {
		r.suspend()
	}
	s.wg.Wait()
}

func (s *Service) stopping() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}
