package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/barge-run/barge/internal/awstypes"
	sw "github.com/barge-run/barge/internal/awstypes/sfn"
	"github.com/barge-run/barge/internal/sfn/asl"
	"github.com/barge-run/barge/internal/store"
)

// activityRecord is an activity as stored.
type activityRecord struct {
	Name    string            `json:"name"`
	ARN     string            `json:"arn"`
	Created time.Time         `json:"created"`
	Tags    map[string]string `json:"tags,omitempty"`
}

// pendingTask is a task waiting for a callback with its token: an activity task (offered to
// workers until one takes it) or a .waitForTaskToken integration.
type pendingTask struct {
	token     string
	scope     string // the execution's: only its account may answer
	input     string
	heartbeat func()
	result    chan taskResult // buffered: the first callback wins
}

type taskResult struct {
	output json.RawMessage
	err    error
}

// activityQueue holds an activity's tasks not yet taken and the workers polling for one.
type activityQueue struct {
	tasks   []*pendingTask
	waiters []chan *pendingTask
}

// CreateActivity creates an activity; created again with the same name it answers the same
// ARN, as AWS does.
func (s *Service) CreateActivity(ctx context.Context, scope string, in *sw.CreateActivityInput) (*sw.CreateActivityOutput, error) {
	if err := checkName(in.Name); err != nil {
		return nil, err
	}
	t := now()
	a := &activityRecord{Name: in.Name, ARN: s.arnOf(scope, activityPrefix+in.Name), Created: t, Tags: tagMap(in.Tags)}
	body, _ := json.Marshal(a)
	err := s.cfg.Store.ResourceCreate(ctx, &store.Resource{Account: scope, Kind: kindActivity, Name: in.Name, ARN: a.ARN,
		Status: "ACTIVE", Body: body, CreatedAt: t})
	if errors.Is(err, store.ErrConflict) {
		old, _, err := s.getActivity(ctx, scope, a.ARN)
		if err != nil {
			return nil, err
		}
		return &sw.CreateActivityOutput{ActivityArn: old.ARN, CreationDate: awstypes.NewTimestamp(old.Created)}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("create activity %s: %w", in.Name, err)
	}
	return &sw.CreateActivityOutput{ActivityArn: a.ARN, CreationDate: awstypes.NewTimestamp(t)}, nil
}

func (s *Service) getActivity(ctx context.Context, scope, arn string) (*activityRecord, *store.Resource, error) {
	if arn == "" {
		return nil, nil, missing("activityArn")
	}
	p, err := s.parseARN(scope, arn, "activity", activityDoesNotExist)
	if err != nil {
		return nil, nil, err
	}
	r, err := s.cfg.Store.ResourceGet(ctx, scope, kindActivity, p.parts[0], 0)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, activityDoesNotExist(arn)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read activity %s: %w", arn, err)
	}
	var a activityRecord
	if err := json.Unmarshal(r.Body, &a); err != nil {
		return nil, nil, fmt.Errorf("decode activity %s: %w", arn, err)
	}
	return &a, r, nil
}

// DescribeActivity describes an activity.
func (s *Service) DescribeActivity(ctx context.Context, scope string, in *sw.DescribeActivityInput) (*sw.DescribeActivityOutput, error) {
	a, _, err := s.getActivity(ctx, scope, in.ActivityArn)
	if err != nil {
		return nil, err
	}
	return &sw.DescribeActivityOutput{ActivityArn: a.ARN, Name: a.Name, CreationDate: awstypes.NewTimestamp(a.Created)}, nil
}

// DeleteActivity deletes an activity; deleting one that is gone succeeds.
func (s *Service) DeleteActivity(ctx context.Context, scope string, in *sw.DeleteActivityInput) (*sw.DeleteActivityOutput, error) {
	p, err := s.parseARN(scope, in.ActivityArn, "activity", activityDoesNotExist)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Store.ResourceDelete(ctx, scope, kindActivity, p.parts[0], 0); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("delete activity %s: %w", in.ActivityArn, err)
	}
	return &sw.DeleteActivityOutput{}, nil
}

// ListActivities lists the scope's activities by name.
func (s *Service) ListActivities(ctx context.Context, scope string, in *sw.ListActivitiesInput) (*sw.ListActivitiesOutput, error) {
	rs, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{Account: scope, Kind: kindActivity})
	if err != nil {
		return nil, fmt.Errorf("list activities: %w", err)
	}
	items := make([]sw.ActivityListItem, 0, len(rs))
	for _, r := range rs {
		var a activityRecord
		if err := json.Unmarshal(r.Body, &a); err != nil {
			return nil, fmt.Errorf("decode activity %s: %w", r.Name, err)
		}
		items = append(items, sw.ActivityListItem{ActivityArn: a.ARN, Name: a.Name, CreationDate: awstypes.NewTimestamp(a.Created)})
	}
	page, next, err := pageOf(items, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &sw.ListActivitiesOutput{Activities: page, NextToken: next}, nil
}

// activity runs an activity Task: it is offered to GetActivityTask pollers and ends with the
// worker's SendTaskSuccess or SendTaskFailure.
func (t *taskRunner) activity(ctx context.Context, req asl.TaskRequest) (json.RawMessage, error) {
	if _, _, err := t.s.getActivity(ctx, t.scope, req.Resource.ARN); err != nil {
		return nil, &asl.Error{Name: asl.ErrTaskFailed, Cause: err.Error()}
	}
	p := t.s.addToken(t.scope, req)
	defer t.s.dropToken(req.TaskToken)
	t.s.offer(t.scope, req.Resource.ARN, p)
	select {
	case r := <-p.result:
		return r.output, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *Service) addToken(scope string, req asl.TaskRequest) *pendingTask {
	p := &pendingTask{token: req.TaskToken, scope: scope, input: string(req.Input), heartbeat: req.Heartbeat, result: make(chan taskResult, 1)}
	s.mu.Lock()
	s.tokens[p.token] = p
	s.mu.Unlock()
	return p
}

func (s *Service) dropToken(token string) {
	s.mu.Lock()
	delete(s.tokens, token)
	s.mu.Unlock()
}

// offer hands an activity task to a waiting worker, or queues it for the next.
func (s *Service) offer(scope, arn string, p *pendingTask) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[scope+"|"+arn]
	if q == nil {
		q = &activityQueue{}
		s.queues[scope+"|"+arn] = q
	}
	if len(q.waiters) > 0 {
		w := q.waiters[0]
		q.waiters = q.waiters[1:]
		w <- p
		return
	}
	q.tasks = append(q.tasks, p)
}

// take gives a worker the oldest queued task still pending, or registers it as waiting.
func (s *Service) take(key string, w chan *pendingTask) *pendingTask {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[key]
	if q == nil {
		q = &activityQueue{}
		s.queues[key] = q
	}
	for len(q.tasks) > 0 {
		p := q.tasks[0]
		q.tasks = q.tasks[1:]
		if s.tokens[p.token] == p {
			return p
		}
	}
	q.waiters = append(q.waiters, w)
	return nil
}

func (s *Service) unwait(key string, w chan *pendingTask) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.queues[key]; q != nil {
		for i, x := range q.waiters {
			if x == w {
				q.waiters = append(q.waiters[:i], q.waiters[i+1:]...)
				return
			}
		}
	}
}

// GetActivityTask waits up to 60 seconds for a task of the activity; with none it answers no
// token, as AWS does.
func (s *Service) GetActivityTask(ctx context.Context, scope string, in *sw.GetActivityTaskInput) (*sw.GetActivityTaskOutput, error) {
	a, _, err := s.getActivity(ctx, scope, in.ActivityArn)
	if err != nil {
		return nil, err
	}
	key := scope + "|" + a.ARN
	w := make(chan *pendingTask, 1)
	p := s.take(key, w)
	if p == nil {
		timer := time.NewTimer(60 * time.Second)
		defer timer.Stop()
		select {
		case p = <-w:
		case <-timer.C:
		case <-ctx.Done():
		case <-s.stop:
		}
		if p == nil {
			s.unwait(key, w)
			select {
			case p = <-w: // handed over while giving up: take it all the same
			default:
				return &sw.GetActivityTaskOutput{}, nil
			}
		}
	}
	return &sw.GetActivityTaskOutput{TaskToken: p.token, Input: p.input}, nil
}

// callback delivers a worker's answer to the task holding token.
func (s *Service) callback(scope, token string, r *taskResult) error {
	if token == "" {
		return missing("taskToken")
	}
	if _, err := uuid.Parse(token); err != nil {
		return invalidToken(token)
	}
	s.mu.Lock()
	p := s.tokens[token]
	s.mu.Unlock()
	if p == nil || p.scope != scope {
		return taskDoesNotExist()
	}
	if r == nil {
		p.heartbeat()
		return nil
	}
	select {
	case p.result <- *r:
	default:
		return taskDoesNotExist() // answered already
	}
	return nil
}

// SendTaskSuccess completes the task holding a token with an output.
func (s *Service) SendTaskSuccess(ctx context.Context, scope string, in *sw.SendTaskSuccessInput) (*sw.SendTaskSuccessOutput, error) {
	if !json.Valid([]byte(in.Output)) {
		return nil, apiErr("InvalidOutput", "Invalid output: '%s'", in.Output)
	}
	return &sw.SendTaskSuccessOutput{}, s.callback(scope, in.TaskToken, &taskResult{output: json.RawMessage(in.Output)})
}

// SendTaskFailure fails the task holding a token with an error and cause.
func (s *Service) SendTaskFailure(ctx context.Context, scope string, in *sw.SendTaskFailureInput) (*sw.SendTaskFailureOutput, error) {
	name := in.Error
	if name == "" {
		name = asl.ErrTaskFailed
	}
	return &sw.SendTaskFailureOutput{}, s.callback(scope, in.TaskToken, &taskResult{err: &asl.Error{Name: name, Cause: in.Cause}})
}

// SendTaskHeartbeat tells the task holding a token that its worker is alive.
func (s *Service) SendTaskHeartbeat(ctx context.Context, scope string, in *sw.SendTaskHeartbeatInput) (*sw.SendTaskHeartbeatOutput, error) {
	return &sw.SendTaskHeartbeatOutput{}, s.callback(scope, in.TaskToken, nil)
}
