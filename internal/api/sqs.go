package api

import (
	"context"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/barge-run/barge/internal/awserr"
	sw "github.com/barge-run/barge/internal/awstypes/sqs"
	"github.com/barge-run/barge/internal/sqs"
)

const sqsContentType = "application/x-amz-json-1.0"

// sqsBound is the bound of every SQS request: a batch of 1 MiB, escaped, with room to spare.
var sqsBound = fixedBound(defaultBodyLimit, awserr.New(http.StatusRequestEntityTooLarge, "BatchRequestTooLong",
	"request body exceeds %d bytes", defaultBodyLimit))

// sqsCall is one SQS operation: decode a JSON request (the query protocol's form is made JSON
// first), call the service.
type sqsCall func(ctx context.Context, scope string, body []byte) (any, error)

func sqsOp[In, Out any](fn func(context.Context, string, *In) (*Out, error)) sqsCall {
	return func(ctx context.Context, scope string, body []byte) (any, error) {
		in := new(In)
		if e := decodeBody(body, in); e != nil {
			return nil, e
		}
		out, err := fn(ctx, scope, in)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

// sqsHandlers are the implemented SQS operations, by model name.
func sqsHandlers(q *sqs.Service) map[string]sqsCall {
	return map[string]sqsCall{
		"CreateQueue":                  sqsOp(q.CreateQueue),
		"GetQueueUrl":                  sqsOp(q.GetQueueUrl),
		"ListQueues":                   sqsOp(q.ListQueues),
		"DeleteQueue":                  sqsOp(q.DeleteQueue),
		"PurgeQueue":                   sqsOp(q.PurgeQueue),
		"GetQueueAttributes":           sqsOp(q.GetQueueAttributes),
		"SetQueueAttributes":           sqsOp(q.SetQueueAttributes),
		"TagQueue":                     sqsOp(q.TagQueue),
		"UntagQueue":                   sqsOp(q.UntagQueue),
		"ListQueueTags":                sqsOp(q.ListQueueTags),
		"ListDeadLetterSourceQueues":   sqsOp(q.ListDeadLetterSourceQueues),
		"AddPermission":                sqsOp(q.AddPermission),
		"RemovePermission":             sqsOp(q.RemovePermission),
		"SendMessage":                  sqsOp(q.SendMessage),
		"SendMessageBatch":             sqsOp(q.SendMessageBatch),
		"ReceiveMessage":               sqsOp(q.ReceiveMessage),
		"DeleteMessage":                sqsOp(q.DeleteMessage),
		"DeleteMessageBatch":           sqsOp(q.DeleteMessageBatch),
		"ChangeMessageVisibility":      sqsOp(q.ChangeMessageVisibility),
		"ChangeMessageVisibilityBatch": sqsOp(q.ChangeMessageVisibilityBatch),
		"StartMessageMoveTask":         sqsOp(q.StartMessageMoveTask),
		"ListMessageMoveTasks":         sqsOp(q.ListMessageMoveTasks),
		"CancelMessageMoveTask":        sqsOp(q.CancelMessageMoveTask),
	}
}

// ImplementedSQSOperations lists the SQS operations barge serves.
func ImplementedSQSOperations() []string { return slices.Sorted(maps.Keys(sqsHandlers(nil))) }

// routeSQS serves SQS on POST / (JSON: X-Amz-Target AmazonSQS.*; query: a form with Action);
// other POST / requests go to next (CloudWatch Logs).
func (s *Server) routeSQS(next http.HandlerFunc) http.HandlerFunc {
	if s.cfg.SQS == nil {
		return next
	}
	s.sqs = sqsHandlers(s.cfg.SQS)
	s.sqsServe = s.authed("sqs", func(*http.Request) bodyBound { return sqsBound(nil) }, s.serveSQS)
	return func(w http.ResponseWriter, r *http.Request) {
		if isSQS(r) {
			s.sqsServe(w, r)
			return
		}
		next(w, r)
	}
}

// sqsQueuePaths serves SQS requests posted to a queue's URL (POST /<account>/<queue>), as some
// clients send them; other requests go to next (the catch-all).
func (s *Server) sqsQueuePaths(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.sqsServe != nil && r.Method == http.MethodPost && queuePathRE.MatchString(r.URL.Path) {
			s.sqsServe(w, r)
			return
		}
		next(w, r)
	}
}

var queuePathRE = regexp.MustCompile(`^/[0-9]{12}/[A-Za-z0-9_.-]{1,80}$`)

// isSQS tells SQS requests to POST / from CloudWatch Logs': by target, or a query-protocol form.
func isSQS(r *http.Request) bool {
	if strings.HasPrefix(r.Header.Get("X-Amz-Target"), sw.TargetPrefix+".") {
		return true
	}
	return r.Header.Get("X-Amz-Target") == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
}

// serveSQS answers one authenticated SQS request in the protocol it came in.
func (s *Server) serveSQS(w http.ResponseWriter, r *http.Request) {
	req := fromContext(r.Context())
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		op := strings.TrimPrefix(target, sw.TargetPrefix+".")
		out, err := s.callSQS(r, op, req.account, req.body)
		if err != nil {
			writeSQSError(w, err)
			return
		}
		writeJSON(w, sqsContentType, http.StatusOK, out)
		return
	}
	s.serveSQSQuery(w, r, req)
}

// callSQS runs operation op of the model on a JSON request body.
func (s *Server) callSQS(r *http.Request, op, scope string, body []byte) (any, error) {
	if i := infoOf(r.Context()); i != nil {
		i.service, i.operation = "sqs", op
	}
	call, ok := s.sqs[op]
	if !ok {
		for _, known := range sw.Operations {
			if known.Name == op {
				return nil, awserr.New(http.StatusBadRequest, "UnsupportedOperation", "barge does not implement the SQS operation %s yet (see docs/compatibility.md)", op)
			}
		}
		return nil, awserr.New(http.StatusBadRequest, "InvalidAction", "The action %s is not valid for this endpoint.", op)
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	ctx := sqs.WithEndpoint(r.Context(), scheme+"://"+r.Host)
	if queuePathRE.MatchString(r.URL.Path) {
		body = withQueueURL(body, scheme+"://"+r.Host+r.URL.Path)
	}
	return call(ctx, scope, body)
}

// sqsQueryCodes are the query-protocol codes of SQS's errors whose shape names differ; the
// JSON protocol sends them in x-amzn-query-error.
var sqsQueryCodes = map[string]string{
	"QueueDoesNotExist":            "AWS.SimpleQueueService.NonExistentQueue",
	"QueueNameExists":              "QueueAlreadyExists",
	"BatchEntryIdsNotDistinct":     "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
	"BatchRequestTooLong":          "AWS.SimpleQueueService.BatchRequestTooLong",
	"EmptyBatchRequest":            "AWS.SimpleQueueService.EmptyBatchRequest",
	"InvalidBatchEntryId":          "AWS.SimpleQueueService.InvalidBatchEntryId",
	"MessageNotInflight":           "AWS.SimpleQueueService.MessageNotInflight",
	"PurgeQueueInProgress":         "AWS.SimpleQueueService.PurgeQueueInProgress",
	"QueueDeletedRecently":         "AWS.SimpleQueueService.QueueDeletedRecently",
	"TooManyEntriesInBatchRequest": "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
	"UnsupportedOperation":         "AWS.SimpleQueueService.UnsupportedOperation",
}

func sqsQueryCode(code string) string {
	if c, ok := sqsQueryCodes[code]; ok {
		return c
	}
	return code
}

// faultOf is the query protocol's side to blame.
func faultOf(e *awserr.Error) string {
	if e.Status >= 500 {
		return "Receiver"
	}
	return "Sender"
}

// writeSQSError renders an error as SQS's JSON protocol does: the shape in __type, its query
// code in x-amzn-query-error (which the SDKs map to the modeled exception).
func writeSQSError(w http.ResponseWriter, err error) {
	e := awserr.As(err)
	w.Header().Set("x-amzn-query-error", sqsQueryCode(e.Code)+";"+faultOf(e))
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, sqsContentType, e.Status, map[string]string{"__type": "com.amazonaws.sqs#" + e.Code, "message": e.Message})
}
