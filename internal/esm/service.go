package esm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/barge-run/barge/internal/account"
	"github.com/barge-run/barge/internal/awserr"
	lw "github.com/barge-run/barge/internal/awstypes/lambda"
	sw "github.com/barge-run/barge/internal/awstypes/sqs"
	"github.com/barge-run/barge/internal/store"
)

// Store kinds of this package.
const (
	// KindMapping is an event source mapping (name: its UUID).
	KindMapping store.Kind = "lambda-esm"
	// KindSlot is one poller slot of a mapping (name: "<uuid>#<n>"), a claimable work item.
	KindSlot store.Kind = "lambda-esm-slot"
)

// The states a mapping reports, as Lambda spells them.
const (
	StateCreating  = "Creating"
	StateEnabling  = "Enabling"
	StateEnabled   = "Enabled"
	StateDisabling = "Disabling"
	StateDisabled  = "Disabled"
	StateUpdating  = "Updating"
	StateDeleting  = "Deleting"
)

// Functions is what the pollers need of Lambda: barge's lambda.Service satisfies it.
type Functions interface {
	Invoke(ctx context.Context, account string, in *lw.InvocationRequest) (*lw.InvocationResponse, error)
	GetFunctionConfiguration(ctx context.Context, account string, in *lw.GetFunctionConfigurationRequest) (*lw.FunctionConfiguration, error)
}

// Queues is what the pollers need of SQS: barge's sqs.Service satisfies it.
type Queues interface {
	ReceiveMessage(ctx context.Context, scope string, in *sw.ReceiveMessageRequest) (*sw.ReceiveMessageResult, error)
	DeleteMessageBatch(ctx context.Context, scope string, in *sw.DeleteMessageBatchRequest) (*sw.DeleteMessageBatchResult, error)
	GetQueueAttributes(ctx context.Context, scope string, in *sw.GetQueueAttributesRequest) (*sw.GetQueueAttributesResult, error)
}

// Config wires the service.
type Config struct {
	Store     store.Store
	Functions Functions
	Queues    Queues
	// Region is the server's default region (account.Scope).
	Region string
	// Holder names this server in its slot claims: stable across restarts ("" is "local").
	Holder string
	Logger *slog.Logger
	// LongPoll is a poller's ReceiveMessage wait (0: 20 s, SQS's longest).
	LongPoll time.Duration
	// Tick is how often the manager settles states and claims slots (0: 1 s).
	Tick time.Duration
}

// Service serves the event source mapping operations and runs the pollers.
type Service struct {
	cfg  Config
	log  *slog.Logger
	wake chan struct{}
	quit chan struct{}
	done chan struct{}

	mu      sync.Mutex
	pollers map[string]*poller // slot name → the poller this server runs for it
	wg      sync.WaitGroup
	stats   map[string]*Stats // mapping UUID → counters of this server's pollers
}

// New makes the service; Start runs its pollers.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Holder == "" {
		cfg.Holder = "local"
	}
	if cfg.LongPoll <= 0 {
		cfg.LongPoll = 20 * time.Second
	}
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	return &Service{cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1), pollers: map[string]*poller{}, stats: map[string]*Stats{}}
}

// record is a mapping as stored.
type record struct {
	Config lw.EventSourceMappingConfiguration `json:"config"`
	// Function is the FunctionName as given (name, ARN, or either with a qualifier), which
	// the pollers invoke.
	Function string            `json:"function"`
	Tags     map[string]string `json:"tags,omitempty"`
	// Fifo is whether the source is a FIFO queue.
	Fifo bool `json:"fifo,omitempty"`
	// Want is whether the mapping is to be enabled (Enabled), which a transitional state
	// (Creating, Enabling, Disabling, Updating) settles to.
	Want bool `json:"want"`
}

// polling reports whether the mapping's pollers should run.
func (r *record) polling() bool { return r.Want && r.Config.State != StateDeleting }

// settled is the state a transitional mapping settles to.
func (r *record) settled() string {
	if r.Want {
		return StateEnabled
	}
	return StateDisabled
}

func (r *record) view() *lw.EventSourceMappingConfiguration {
	c := r.Config
	return &c
}

func userErr(status int, code, format string, args ...any) *awserr.Error {
	e := awserr.New(status, code, format, args...)
	e.Fields = map[string]string{"Type": "User"}
	return e
}

func invalid(format string, args ...any) *awserr.Error {
	return userErr(http.StatusBadRequest, "InvalidParameterValueException", format, args...)
}

func notFound(uuid string) *awserr.Error {
	return userErr(http.StatusNotFound, "ResourceNotFoundException", "The resource you requested does not exist. (Service: Lambda, Status Code: 404, Request ID: %s)", uuid)
}

// get reads a mapping of scope.
func (s *Service) get(ctx context.Context, scope, uuid string) (*record, *store.Resource, error) {
	if uuid == "" {
		return nil, nil, invalid("UUID is required")
	}
	res, err := s.cfg.Store.ResourceGet(ctx, scope, KindMapping, uuid, 0)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, notFound(uuid)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read event source mapping %s: %w", uuid, err)
	}
	var rec record
	if err := json.Unmarshal(res.Body, &rec); err != nil {
		return nil, nil, fmt.Errorf("decode event source mapping %s: %w", uuid, err)
	}
	return &rec, res, nil
}

func marshal(rec *record) ([]byte, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encode event source mapping: %w", err)
	}
	return b, nil
}

func unmarshal(b []byte) (*record, error) {
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("decode event source mapping: %w", err)
	}
	return &rec, nil
}

// put writes rec back over res (versioned: ErrStale if another writer came first).
func (s *Service) put(ctx context.Context, res *store.Resource, rec *record) error {
	body, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode event source mapping: %w", err)
	}
	res.Body, res.Status = body, rec.Config.State
	if err := s.cfg.Store.ResourceUpdate(ctx, res); err != nil {
		return fmt.Errorf("write event source mapping %s: %w", res.Name, err)
	}
	return nil
}

// queueOf parses an SQS queue ARN of scope into its queue URL (a path SQS resolves in the
// scope), its name and region.
func (s *Service) queueOf(scope, arn string) (url, name string, err error) {
	acct, region := account.SplitScope(scope, s.cfg.Region)
	parts := strings.Split(arn, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sqs" {
		return "", "", invalid("1 validation error detected: Value '%s' at 'eventSourceArn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:([a-z]{2}(-gov)?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)", arn)
	}
	if parts[3] != region || parts[4] != acct {
		return "", "", invalid("Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not exist or you do not have access to it.")
	}
	return "/" + acct + "/" + parts[5], parts[5], nil
}

// Stats counts what this server's pollers did for one mapping.
type Stats struct {
	Batches, Records, Filtered, Errors int64
}

// StatsOf returns this server's counters for a mapping (zero if none ran here).
func (s *Service) StatsOf(uuid string) Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.stats[uuid]; ok {
		return *st
	}
	return Stats{}
}

func (s *Service) count(uuid string, f func(*Stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.stats[uuid]
	if !ok {
		st = &Stats{}
		s.stats[uuid] = st
	}
	f(st)
}
