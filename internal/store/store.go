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

// ErrStale is returned (wrapped) by a versioned update or delete whose record changed since it
// was read (optimistic concurrency).
var ErrStale = errors.New("changed since it was read")

// ErrFenced is returned (wrapped) by a write through a fenced store after its lease moved to
// another holder or generation: the writer was deposed and must stop. It is terminal; retrying
// cannot succeed.
var ErrFenced = errors.New("fenced: the lease this writer held has moved on")

// ErrLeaseHeld is returned (wrapped) by LeaseAcquire when another holder holds an unexpired lease.
var ErrLeaseHeld = errors.New("lease held by another holder")

// Lease is the right of one holder (a server) to act alone on something (the engine) until
// Expires. Generation grows with every change of holder, so writes fenced with it fail once
// another holder has taken the lease, even if the old holder does not know yet.
type Lease struct {
	Name       string
	Holder     string
	Generation int64
	Expires    time.Time
}

// ClaimParams selects work items (resources of one kind) for one owner: those visible at Now
// and not claimed by anyone until after Now. Claimed items are the owner's until Until.
type ClaimParams struct {
	Kind  Kind
	Owner string
	Now   time.Time
	Until time.Time
	Limit int // 0: 1
}

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
	// KindSQSQueue is an SQS queue (name: the queue name); its messages are Messages of its id.
	KindSQSQueue Kind = "sqs-queue"
	// KindSQSMoveTask is an SQS message move task (name: its task handle).
	KindSQSMoveTask Kind = "sqs-move-task"
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
	// Version counts the resource's writes, from 1. A ResourceUpdate or ResourceDeleteVersion
	// given a Version applies only if the stored one is the same (else ErrStale); 0 writes
	// unconditionally. Updates set it to the new version.
	Version int64
	// Owner, VisibleAt and LeaseUntil make a resource a work item others can claim
	// (ResourceClaim): visible from VisibleAt, claimed by Owner until LeaseUntil.
	Owner      string
	VisibleAt  time.Time
	LeaseUntil time.Time
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
	Account string
	// AllAccounts lists jobs of every account (Account is then ignored).
	AllAccounts   bool
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
	// ResourceCreateAll inserts every resource in one durable write, or none: ErrConflict if
	// any exists.
	ResourceCreateAll(ctx context.Context, rs []*Resource) error
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

	// ResourceDeleteVersion deletes one resource if its stored Version is r.Version (else
	// ErrStale; ErrNotFound when gone).
	ResourceDeleteVersion(ctx context.Context, r *Resource) error
	// ResourceClaim claims up to p.Limit work items of p.Kind, in every account, that are visible
	// at p.Now and not claimed beyond it (never claimed, or their claim expired), oldest
	// VisibleAt first: each is returned with Owner p.Owner, LeaseUntil p.Until and its new
	// Version. Two claimers never get the same item while its claim lasts (SKIP LOCKED
	// semantics: a claimer does not wait for another's items).
	ResourceClaim(ctx context.Context, p *ClaimParams) ([]*Resource, error)

	// LeaseAcquire takes (or, for its holder, renews) the lease name for holder until now+ttl:
	// when nobody holds it, its holder does, or it expired. A change of holder increments the
	// Generation. ErrLeaseHeld when another holder's lease has not expired.
	LeaseAcquire(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (*Lease, error)
	// LeaseRelease gives the lease up (it expires now) if l is still current.
	LeaseRelease(ctx context.Context, l *Lease) error
	// Fenced is this store with every write made conditional on l still being current (same
	// holder and generation): once another holder took the lease they fail with ErrFenced,
	// atomically with the write. Reads are unchanged.
	Fenced(l Lease) Store

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

	// MessageInsertMany stores messages (setting Seq), all in one transaction. A message with a
	// DedupKey seen in its queue before, whose record lasts beyond p.Now, is not stored: it comes
	// back with Duplicate set and the first message's ID and Seq.
	MessageInsertMany(ctx context.Context, p *MessageInsertParams) error
	// MessageReceive claims up to p.Limit visible messages of a queue, in one transaction: each
	// is invisible until p.Until, its ReceiveCount one higher and its Receipt new. Expired
	// messages are deleted first; see MessageReceiveParams for FIFO groups and dead letters.
	// Two receivers never get the same message while its claim lasts (SKIP LOCKED semantics).
	MessageReceive(ctx context.Context, p *MessageReceiveParams) (*MessageReceiveResult, error)
	// MessageChangeMany deletes messages or changes their visibility, in one transaction; each
	// change's Err says how it went (nil, ErrNotFound, ErrStale, ErrNotInFlight).
	MessageChangeMany(ctx context.Context, p *MessageChangeParams) error
	// MessageStats counts a queue's messages at now, ignoring those sent before retainAfter.
	MessageStats(ctx context.Context, queue string, now, retainAfter time.Time) (*MessageStats, error)
	// MessagePurge deletes the messages of a queue sent before p.SentBefore (all if zero), and
	// its deduplication records too when p.Dedup; it returns how many messages it deleted.
	MessagePurge(ctx context.Context, p *MessagePurgeParams) (int64, error)
	// MessageMove moves up to p.Limit visible messages of p.From to p.To (or, when p.To is "",
	// back to each message's Source), visible at once and never received; it returns how many.
	MessageMove(ctx context.Context, p *MessageMoveParams) (int, error)

	// Close releases the store.
	Close() error
}
