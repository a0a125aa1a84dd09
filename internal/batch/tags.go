package batch

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strings"

	"github.com/barge-run/barge/internal/awserr"
	wire "github.com/barge-run/barge/internal/awstypes/batch"
	"github.com/barge-run/barge/internal/store"
)

// taggable maps an ARN's resource type to the store kind.
var taggable = map[string]store.Kind{
	"compute-environment": store.KindComputeEnvironment,
	"job-queue":           store.KindJobQueue,
	"job-definition":      store.KindJobDefinition,
	"scheduling-policy":   store.KindSchedulingPolicy,
}

func checkTags(field string, tags map[string]string) error {
	if len(tags) > 50 {
		return awserr.Client("%s: at most 50 tags, got %d", field, len(tags))
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 || len(v) > 256 {
			return awserr.Client("%s: tag keys must be 1 to 128 characters and values at most 256", field)
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return awserr.Client("%s: tag keys starting with aws: are reserved", field)
		}
	}
	return nil
}

// TagResource implements the AWS Batch operation.
func (s *Service) TagResource(ctx context.Context, account string, in *wire.TagResourceRequest) (*wire.TagResourceResponse, error) {
	if len(in.Tags) == 0 {
		return nil, awserr.Client("tags is required")
	}
	if err := checkTags("tags", in.Tags); err != nil {
		return nil, err
	}
	err := s.editTags(ctx, account, in.ResourceArn, tagEdit{Add: in.Tags})
	if err != nil {
		return nil, err
	}
	return &wire.TagResourceResponse{}, nil
}

// UntagResource implements the AWS Batch operation.
func (s *Service) UntagResource(ctx context.Context, account string, in *wire.UntagResourceRequest) (*wire.UntagResourceResponse, error) {
	if len(in.TagKeys) == 0 {
		return nil, awserr.Client("tagKeys is required")
	}
	err := s.editTags(ctx, account, in.ResourceArn, tagEdit{Remove: in.TagKeys})
	if err != nil {
		return nil, err
	}
	return &wire.UntagResourceResponse{}, nil
}

// ListTagsForResource implements the AWS Batch operation.
func (s *Service) ListTagsForResource(ctx context.Context, account string, in *wire.ListTagsForResourceRequest) (*wire.ListTagsForResourceResponse, error) {
	var out map[string]string
	err := s.readTags(ctx, account, in.ResourceArn, func(tags map[string]string) { out = maps.Clone(tags) })
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = map[string]string{}
	}
	return &wire.ListTagsForResourceResponse{Tags: out}, nil
}

// tagTarget resolves a taggable ARN of this account into its store address.
func (s *Service) tagTarget(account, arn string) (kind string, name string, rev int, err error) {
	if arn == "" {
		return "", "", 0, awserr.Client("resourceArn is required")
	}
	acct, region := s.scope(account)
	prefix := "arn:aws:batch:" + region + ":" + acct + ":"
	rest, ok := strings.CutPrefix(arn, prefix)
	if !ok {
		return "", "", 0, awserr.Client("resourceArn: %q is not a Batch ARN of this account and region", arn)
	}
	kind, name, ok = strings.Cut(rest, "/")
	if !ok || name == "" {
		return "", "", 0, awserr.Client("resourceArn: %q names no resource", arn)
	}
	switch kind {
	case "job":
		return kind, name, 0, nil
	case "job-definition":
		n, r, err := s.parseJobDefRef(account, "resourceArn", arn)
		if err != nil {
			return "", "", 0, err
		}
		return kind, n, r, nil
	}
	if _, ok := taggable[kind]; !ok {
		return "", "", 0, awserr.Client("resourceArn: resources of type %s cannot be tagged", kind)
	}
	return kind, name, 0, nil
}

func (s *Service) readTags(ctx context.Context, account, arn string, fn func(map[string]string)) error {
	kind, name, rev, err := s.tagTarget(account, arn)
	if err != nil {
		return err
	}
	if kind == "job" {
		out, err := s.DescribeJobs(ctx, account, &wire.DescribeJobsRequest{Jobs: []string{name}})
		if err != nil {
			return err
		}
		if len(out.Jobs) == 0 {
			return awserr.Client("resourceArn: job %s does not exist", name)
		}
		fn(out.Jobs[0].Tags)
		return nil
	}
	r, err := s.store.ResourceGet(ctx, account, taggable[kind], name, rev)
	if err != nil {
		return s.storeErr(err, "resourceArn: "+arn+" does not exist")
	}
	var body struct {
		Tags map[string]string `json:"tags"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		return s.storeErr(err, "")
	}
	fn(body.Tags)
	return nil
}

// tagEdit is a TagResource (Add) or an UntagResource (Remove): data, so that a job's can be
// recorded for the engine on another server.
type tagEdit struct {
	Add    map[string]string `json:"add,omitempty"`
	Remove []string          `json:"remove,omitempty"`
}

// apply returns tags with the edit made (nil when none are left).
func (ed tagEdit) apply(tags map[string]string) map[string]string {
	if len(ed.Add) > 0 && tags == nil {
		tags = map[string]string{}
	}
	maps.Copy(tags, ed.Add)
	for _, k := range ed.Remove {
		delete(tags, k)
	}
	if len(tags) == 0 {
		return nil
	}
	return tags
}

func (s *Service) editTags(ctx context.Context, account, arn string, ed tagEdit) error {
	kind, name, rev, err := s.tagTarget(account, arn)
	if err != nil {
		return err
	}
	if kind == "job" {
		return s.editJobTags(ctx, account, name, ed)
	}
	edit := ed.apply
	r, err := s.store.ResourceGet(ctx, account, taggable[kind], name, rev)
	if err != nil {
		return s.storeErr(err, "resourceArn: "+arn+" does not exist")
	}
	// Edit the tags member in place and keep every other member as stored.
	var body map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &body); err != nil {
		return s.storeErr(err, "")
	}
	var tags map[string]string
	if raw, ok := body["tags"]; ok {
		json.Unmarshal(raw, &tags)
	}
	tags = edit(tags)
	if len(tags) == 0 {
		delete(body, "tags")
	} else {
		body["tags"] = mustJSON(tags)
	}
	r.Body = mustJSON(body)
	if err := s.store.ResourceUpdate(ctx, r); err != nil {
		return s.storeErr(err, "resourceArn: "+arn+" does not exist")
	}
	if kind == "job-queue" {
		// A queue's tags carry barge options (barge:waitUnschedulable): refresh the scheduler's copy.
		var d wire.JobQueueDetail
		if err := json.Unmarshal(r.Body, &d); err == nil {
			policy, err := s.queuePolicy(ctx, account, d.SchedulingPolicyArn)
			if err != nil {
				return err
			}
			s.eng().setQueue(s.schedQueue(&d, policy), d.JobStateTimeLimitActions)
		}
	}
	return nil
}

// editJobTags edits a job's tags: recorded first, so the engine applies the edit wherever it
// runs (on another server within a few seconds); applied here, durably, when it runs here.
func (s *Service) editJobTags(ctx context.Context, account, id string, ed tagEdit) error {
	jobs, err := s.store.JobGetMany(ctx, account, []string{id})
	if err != nil {
		return s.storeErr(err, "")
	}
	if len(jobs) == 0 {
		return awserr.Client("resourceArn: job %s does not exist", id)
	}
	intent, err := s.record(ctx, account, id, jobIntent{JobID: id, Tags: &ed})
	if err != nil {
		return err
	}
	err = s.eng().call(ctx, func() error { return s.eng().editTags(account, id, ed) })
	switch {
	case err == nil:
		s.store.ResourceDelete(ctx, account, KindJobIntent, intent.Name, 0)
	case errors.Is(err, errEngineElsewhere) || s.eng().stopped():
	default:
		s.store.ResourceDelete(ctx, account, KindJobIntent, intent.Name, 0)
		return err
	}
	return nil
}

// editTags edits a job's tags wherever the job is, on the loop: in the engine when unfinished,
// in the store otherwise.
func (e *engine) editTags(account, id string, ed tagEdit) error {
	if aj, ok := e.jobs[id]; ok && aj.store.Account == account {
		aj.rec.Detail.Tags = ed.apply(aj.rec.Detail.Tags)
		e.markDirty(aj)
		return nil
	}
	ctx := context.Background()
	jobs, err := e.s.store.JobGetMany(ctx, account, []string{id})
	if err != nil {
		return e.s.storeErr(err, "")
	}
	if len(jobs) == 0 {
		return awserr.Client("resourceArn: job %s does not exist", id)
	}
	rec, err := decodeJob(jobs[0])
	if err != nil {
		return e.s.storeErr(err, "")
	}
	rec.Detail.Tags = ed.apply(rec.Detail.Tags)
	jobs[0].Body = mustJSON(rec)
	if err := e.db.JobUpdateMany(ctx, jobs); err != nil {
		return e.s.storeErr(err, "")
	}
	return nil
}
