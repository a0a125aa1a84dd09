package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned (wrapped) when a record does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned (wrapped) when a create collides with an existing record.
var ErrConflict = errors.New("already exists")

// Kind names a type of named resource.
type Kind string

// Resource kinds.
const (
	KindComputeEnvironment Kind = "compute-environment"
	KindJobQueue           Kind = "job-queue"
	KindJobDefinition      Kind = "job-definition"
	KindSchedulingPolicy   Kind = "scheduling-policy"
	// KindShareUsage holds the scheduler's fair-share usage (account "", name "scheduler").
	KindShareUsage Kind = "share-usage"
)

// Resource is a named, account-scoped configuration object (compute environment, job queue,
// job definition revision, scheduling policy). Body is its JSON detail as the API returns it.
type Resource struct {
	Account   string
	Kind      Kind
	Name      string
	Revision  int // job definitions only; 0 for other kinds
	ARN       string
	Status    string
	Body      []byte
	CreatedAt time.Time
}

// Job is one job (or array parent, or array child) with the columns queries filter on.
type Job struct {
	Account     string
	ID          string
	Name        string
	Queue       string // job queue name
	Status      string
	ArrayParent string // parent job id for array children, else ""
	CreatedAt   int64  // ms since epoch, as AWS reports createdAt
	Body        []byte // JSON detail
	// Seq is assigned by the store on insert; it orders jobs by submission and pages listings.
	Seq int64
}

// ResourceListParams selects resources of one kind in one account (or, for rebuilding state at
// start, in all accounts).
type ResourceListParams struct {
	Account     string
	AllAccounts bool
	Kind        Kind
	Names       []string // if set, only these names (any revision)
	Status      string   // if set, only this status
	// After pages: only resources whose (Name, Revision) sorts after these.
	AfterName     string
	AfterRevision int
	Limit         int // 0 = no limit
}

// JobListParams selects jobs of one account. Queue or ArrayParent narrows the set; Statuses
// (any of) filters unless empty. Jobs come in submission order (Seq ascending).
type JobListParams struct {
	Account       string
	Queue         string
	TopLevel      bool // only jobs that are not array children
	ArrayParent   string
	Statuses      []string
	NamePrefix    string // case-insensitive prefix of the job name
	NameExact     string // case-insensitive exact job name
	CreatedBefore int64  // ms; 0 = unbounded
	CreatedAfter  int64  // ms; 0 = unbounded
	AfterSeq      int64  // paging cursor
	Limit         int    // 0 = no limit
}

// Store is the durable state of barge. Writes return only once durable.
type Store interface {
	// ResourceCreate inserts a resource; ErrConflict if (account, kind, name, revision) exists.
	ResourceCreate(ctx context.Context, r *Resource) error
	// ResourceUpdate replaces the status and body of an existing resource.
	ResourceUpdate(ctx context.Context, r *Resource) error
	// ResourceGet reads one resource; revision 0 means the only (non-revisioned) one.
	ResourceGet(ctx context.Context, account string, kind Kind, name string, revision int) (*Resource, error)
	// ResourceList lists resources ordered by (name, revision).
	ResourceList(ctx context.Context, p *ResourceListParams) ([]*Resource, error)
	// ResourceDelete removes a resource (all revisions when revision is 0 and the kind is revisioned).
	ResourceDelete(ctx context.Context, account string, kind Kind, name string, revision int) error
	// ResourceCreateNextRevision inserts r with Revision = 1 + the highest existing revision of
	// its name, atomically; build supplies the ARN and body, which embed the revision.
	ResourceCreateNextRevision(ctx context.Context, r *Resource, build func(revision int) (arn string, body []byte)) error

	// JobInsertMany inserts jobs and sets their Seq; ErrConflict if an id exists.
	JobInsertMany(ctx context.Context, jobs []*Job) error
	// JobUpdateMany replaces status, body and queue of existing jobs in one transaction.
	JobUpdateMany(ctx context.Context, jobs []*Job) error
	// JobWriteMany inserts new jobs (setting their Seq) and updates existing ones in one
	// transaction: either all of it is durable or none.
	JobWriteMany(ctx context.Context, inserts, updates []*Job) error
	// JobGetMany returns the jobs with these ids that exist in the account, in no particular order.
	JobGetMany(ctx context.Context, account string, ids []string) ([]*Job, error)
	// JobList lists jobs matching p in submission order.
	JobList(ctx context.Context, p *JobListParams) ([]*Job, error)
	// JobListUnfinished returns every job of every account not yet SUCCEEDED or FAILED, in
	// submission order: what the scheduler must rebuild after a restart.
	JobListUnfinished(ctx context.Context) ([]*Job, error)

	// Close releases the store.
	Close() error
}
