package sqs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/barge-run/barge/internal/account"
	wire "github.com/barge-run/barge/internal/awstypes/sqs"
	"github.com/barge-run/barge/internal/store"
)

var queueNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

func secs(n int) time.Duration { return time.Duration(n) * time.Second }

// deletedWait is how long a deleted queue's name stays taken, as on AWS.
const deletedWait = 60 * time.Second

// CreateQueue makes a queue, or answers the URL of an existing one with the same attributes.
func (s *Service) CreateQueue(ctx context.Context, scope string, in *wire.CreateQueueRequest) (*wire.CreateQueueResult, error) {
	name := in.QueueName
	if name == "" {
		return nil, noQueueName()
	}
	fifo := in.Attributes[attrFifoQueue] == "true"
	base := strings.TrimSuffix(name, ".fifo")
	if !queueNameRE.MatchString(base) || len(name) > 80 || fifo != fifoName(name) {
		if fifo || fifoName(name) {
			return nil, invalidParameter("The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.")
		}
		return nil, invalidParameter("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	if err := s.checkAttributes(ctx, scope, fifo, true, in.Attributes); err != nil {
		return nil, err
	}
	url := s.queueURL(ctx, scope, name)
	if q, err := s.getQueue(ctx, scope, name); err == nil {
		return &wire.CreateQueueResult{QueueUrl: url}, sameAttributes(q, in.Attributes)
	}
	s.mu.Lock()
	at, recent := s.deleted[scope+"/"+name]
	s.mu.Unlock()
	if recent && s.now().Sub(at) < deletedWait {
		return nil, code(http.StatusBadRequest, "QueueDeletedRecently",
			"You must wait 60 seconds after deleting a queue before you can create another with the same name.")
	}
	now := s.now()
	rec := queueRecord{ID: uuid.NewString(), Name: name, Attributes: defaults(fifo), Tags: in.Tags, Created: now.Unix(), Modified: now.Unix()}
	for k, v := range in.Attributes {
		if v != "" || (k != attrPolicy && k != attrRedrive && k != attrRedriveAllow) {
			rec.Attributes[k] = normalize(k, v)
		}
	}
	body, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encode queue %s: %w", name, err)
	}
	r := &store.Resource{Account: scope, Kind: store.KindSQSQueue, Name: name, ARN: s.arn(scope, name), Status: "ACTIVE", Body: body, CreatedAt: now}
	if err := s.cfg.Store.ResourceCreate(ctx, r); errors.Is(err, store.ErrConflict) {
		q, err := s.getQueue(ctx, scope, name) // made at the same moment by another call
		if err != nil {
			return nil, err
		}
		return &wire.CreateQueueResult{QueueUrl: url}, sameAttributes(q, in.Attributes)
	} else if err != nil {
		return nil, fmt.Errorf("create queue %s: %w", name, err)
	}
	return &wire.CreateQueueResult{QueueUrl: url}, nil
}

// noQueueName is SQS's answer to a CreateQueue or GetQueueUrl without a queue name.
func noQueueName() error {
	return invalidParameter("Value for parameter QueueName is invalid. Reason: Must specify a queue name.")
}

// sameAttributes refuses a CreateQueue of an existing queue that asks for other attributes.
func sameAttributes(q *queue, attrs map[string]string) error {
	for k, v := range attrs {
		have := q.rec.Attributes[k]
		if normalize(k, v) != have && !(k == attrFifoQueue && v == "false" && have == "") {
			return code(http.StatusBadRequest, "QueueNameExists",
				"A queue already exists with the same name and a different value for attribute %s", k)
		}
	}
	return nil
}

// GetQueueUrl answers a queue's URL by name.
func (s *Service) GetQueueUrl(ctx context.Context, scope string, in *wire.GetQueueUrlRequest) (*wire.GetQueueUrlResult, error) {
	if in.QueueName == "" {
		return nil, noQueueName()
	}
	if acct, _ := account.SplitScope(scope, s.cfg.Region); in.QueueOwnerAWSAccountId != "" && in.QueueOwnerAWSAccountId != acct {
		return nil, queueDoesNotExist() // other accounts' queues: see docs/sqs.md
	}
	q, err := s.getQueue(ctx, scope, in.QueueName)
	if err != nil {
		return nil, err
	}
	return &wire.GetQueueUrlResult{QueueUrl: s.queueURL(ctx, scope, q.rec.Name)}, nil
}

// pageToken encodes the last name of a page; its decoding is checked.
func pageToken(name string) string { return base64.RawURLEncoding.EncodeToString([]byte("q:" + name)) }

func fromPageToken(tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || !strings.HasPrefix(string(b), "q:") {
		return "", invalidParameter("Invalid NextToken value.")
	}
	return string(b[2:]), nil
}

// ListQueues lists the scope's queues by name prefix, a page at a time when MaxResults is set.
func (s *Service) ListQueues(ctx context.Context, scope string, in *wire.ListQueuesRequest) (*wire.ListQueuesResult, error) {
	limit, paged := 1000, in.MaxResults != nil
	if paged {
		if *in.MaxResults < 1 || *in.MaxResults > 1000 {
			return nil, invalidValue("MaxResults", *in.MaxResults, "MaxResults must be an integer between 1 and 1000.")
		}
		limit = int(*in.MaxResults)
	}
	queues, next, err := s.listQueues(ctx, scope, in.NextToken, limit, func(q *queue) bool {
		return strings.HasPrefix(q.rec.Name, in.QueueNamePrefix)
	})
	if err != nil {
		return nil, err
	}
	out := &wire.ListQueuesResult{}
	for _, q := range queues {
		out.QueueUrls = append(out.QueueUrls, s.queueURL(ctx, scope, q.rec.Name))
	}
	if paged {
		out.NextToken = next
	}
	return out, nil
}

// listQueues pages through the scope's queues that match keep, by name.
func (s *Service) listQueues(ctx context.Context, scope, token string, limit int, keep func(*queue) bool) ([]*queue, string, error) {
	after, err := fromPageToken(token)
	if err != nil {
		return nil, "", err
	}
	var out []*queue
	for {
		rs, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{Account: scope, Kind: store.KindSQSQueue, AfterName: after, Limit: 500})
		if err != nil {
			return nil, "", fmt.Errorf("list queues: %w", err)
		}
		for _, r := range rs {
			after = r.Name
			q := &queue{scope: scope, res: r}
			if json.Unmarshal(r.Body, &q.rec) != nil || !keep(q) {
				continue
			}
			if len(out) == limit {
				return out, pageToken(out[len(out)-1].rec.Name), nil
			}
			out = append(out, q)
		}
		if len(rs) < 500 {
			return out, "", nil
		}
	}
}

// DeleteQueue deletes a queue and its messages.
func (s *Service) DeleteQueue(ctx context.Context, scope string, in *wire.DeleteQueueRequest) (*struct{}, error) {
	q, err := s.resolve(ctx, scope, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Store.ResourceDelete(ctx, scope, store.KindSQSQueue, q.rec.Name, 0); errors.Is(err, store.ErrNotFound) {
		return nil, queueDoesNotExist()
	} else if err != nil {
		return nil, fmt.Errorf("delete queue %s: %w", q.rec.Name, err)
	}
	s.mu.Lock()
	s.deleted[scope+"/"+q.rec.Name] = s.now()
	s.mu.Unlock()
	// The messages go after the queue: had this failed, they would only be orphans of an id
	// nobody names again.
	if _, err := s.cfg.Store.MessagePurge(ctx, &store.MessagePurgeParams{Queue: q.rec.ID, Dedup: true}); err != nil {
		s.cfg.Logger.Warn("deleting a deleted queue's messages", "queue", q.rec.Name, "err", err)
	}
	s.waiters.wake(q.rec.ID)
	return &struct{}{}, nil
}

// PurgeQueue deletes the messages sent before it, once per 60 seconds.
func (s *Service) PurgeQueue(ctx context.Context, scope string, in *wire.PurgeQueueRequest) (*struct{}, error) {
	q, err := s.resolve(ctx, scope, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	now := s.now()
	err = s.update(ctx, q, func(q *queue) error {
		if q.rec.PurgedAt != 0 && now.Sub(time.UnixMilli(q.rec.PurgedAt)) < 60*time.Second {
			return code(http.StatusForbidden, "PurgeQueueInProgress",
				"Only one PurgeQueue operation on %s is allowed every 60 seconds.", q.rec.Name)
		}
		q.rec.PurgedAt = now.UnixMilli()
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, err := s.cfg.Store.MessagePurge(ctx, &store.MessagePurgeParams{Queue: q.rec.ID, SentBefore: now.Add(time.Millisecond)}); err != nil {
		return nil, fmt.Errorf("purge %s: %w", q.rec.Name, err)
	}
	return &struct{}{}, nil
}

// TagQueue adds or replaces tags.
func (s *Service) TagQueue(ctx context.Context, scope string, in *wire.TagQueueRequest) (*struct{}, error) {
	q, err := s.resolve(ctx, scope, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if len(in.Tags) == 0 {
		return nil, missingParameter("Tags")
	}
	return &struct{}{}, s.update(ctx, q, func(q *queue) error {
		if q.rec.Tags == nil {
			q.rec.Tags = map[string]string{}
		}
		maps.Copy(q.rec.Tags, in.Tags)
		if len(q.rec.Tags) > 50 {
			return invalidParameter("Too many tags added for queue %s.", q.rec.Name)
		}
		return nil
	})
}

// UntagQueue removes tags.
func (s *Service) UntagQueue(ctx context.Context, scope string, in *wire.UntagQueueRequest) (*struct{}, error) {
	q, err := s.resolve(ctx, scope, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if len(in.TagKeys) == 0 {
		return nil, invalidParameter("Tag keys must be between 1 and 128 characters in length.")
	}
	return &struct{}{}, s.update(ctx, q, func(q *queue) error {
		for _, k := range in.TagKeys {
			delete(q.rec.Tags, k)
		}
		return nil
	})
}

// ListQueueTags answers a queue's tags.
func (s *Service) ListQueueTags(ctx context.Context, scope string, in *wire.ListQueueTagsRequest) (*wire.ListQueueTagsResult, error) {
	q, err := s.resolve(ctx, scope, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if len(q.rec.Tags) == 0 {
		return &wire.ListQueueTagsResult{}, nil
	}
	return &wire.ListQueueTagsResult{Tags: q.rec.Tags}, nil
}

// ListDeadLetterSourceQueues lists the queues whose RedrivePolicy targets this one.
func (s *Service) ListDeadLetterSourceQueues(ctx context.Context, scope string, in *wire.ListDeadLetterSourceQueuesRequest) (*wire.ListDeadLetterSourceQueuesResult, error) {
	dlq, err := s.resolve(ctx, scope, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	limit, paged := 1000, in.MaxResults != nil
	if paged {
		if *in.MaxResults < 1 || *in.MaxResults > 1000 {
			return nil, invalidValue("MaxResults", *in.MaxResults, "MaxResults must be an integer between 1 and 1000.")
		}
		limit = int(*in.MaxResults)
	}
	target := s.arn(scope, dlq.rec.Name)
	queues, next, err := s.listQueues(ctx, scope, in.NextToken, limit, func(q *queue) bool {
		arn, _, ok := parseRedrive(q.rec.Attributes[attrRedrive])
		return ok && arn == target
	})
	if err != nil {
		return nil, err
	}
	out := &wire.ListDeadLetterSourceQueuesResult{QueueUrls: []string{}}
	for _, q := range queues {
		out.QueueUrls = append(out.QueueUrls, s.queueURL(ctx, scope, q.rec.Name))
	}
	if paged {
		out.NextToken = next
	}
	return out, nil
}
