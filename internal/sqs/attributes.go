package sqs

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	wire "github.com/barge-run/barge/internal/awstypes/sqs"
)

// Queue attribute names.
const (
	attrDelay             = "DelaySeconds"
	attrMaxSize           = "MaximumMessageSize"
	attrRetention         = "MessageRetentionPeriod"
	attrWait              = "ReceiveMessageWaitTimeSeconds"
	attrVisibility        = "VisibilityTimeout"
	attrPolicy            = "Policy"
	attrRedrive           = "RedrivePolicy"
	attrRedriveAllow      = "RedriveAllowPolicy"
	attrFifoQueue         = "FifoQueue"
	attrContentDedup      = "ContentBasedDeduplication"
	attrDedupScope        = "DeduplicationScope"
	attrThroughput        = "FifoThroughputLimit"
	attrKmsKey            = "KmsMasterKeyId"
	attrKmsReuse          = "KmsDataKeyReusePeriodSeconds"
	attrSSE               = "SqsManagedSseEnabled"
	attrNumMessages       = "ApproximateNumberOfMessages"
	attrNumNotVisible     = "ApproximateNumberOfMessagesNotVisible"
	attrNumDelayed        = "ApproximateNumberOfMessagesDelayed"
	attrCreated           = "CreatedTimestamp"
	attrModified          = "LastModifiedTimestamp"
	attrArn               = "QueueArn"
	defaultMaxMessageSize = 1 << 20
)

// intRanges are the integer attributes and the values AWS accepts.
var intRanges = map[string][2]int{
	attrDelay:      {0, 900},
	attrMaxSize:    {1024, defaultMaxMessageSize},
	attrRetention:  {60, 1209600},
	attrWait:       {0, 20},
	attrVisibility: {0, 43200},
	attrKmsReuse:   {60, 86400},
}

// fifoOnly are the attributes only FIFO queues take.
var fifoOnly = map[string]bool{attrContentDedup: true, attrDedupScope: true, attrThroughput: true}

// computed are the attributes GetQueueAttributes reports but nobody sets.
var computed = []string{attrNumMessages, attrNumNotVisible, attrNumDelayed, attrCreated, attrModified, attrArn}

// defaults are a new queue's attributes.
func defaults(fifo bool) map[string]string {
	a := map[string]string{attrDelay: "0", attrMaxSize: strconv.Itoa(defaultMaxMessageSize), attrRetention: "345600",
		attrWait: "0", attrVisibility: "30", attrSSE: "true"}
	if fifo {
		a[attrFifoQueue], a[attrContentDedup], a[attrDedupScope], a[attrThroughput] = "true", "false", "queue", "perQueue"
	}
	return a
}

// checkAttributes validates attributes to set on a queue (creating: at CreateQueue).
func (s *Service) checkAttributes(ctx context.Context, scope string, fifo, creating bool, attrs map[string]string) error {
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		v := attrs[name]
		if r, ok := intRanges[name]; ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < r[0] || n > r[1] {
				return invalidAttributeValue(name, "")
			}
			continue
		}
		switch {
		case fifoOnly[name] && !fifo:
			return invalidAttributeName(name)
		case name == attrFifoQueue:
			if !creating {
				return invalidAttributeName(name)
			}
			if v != "true" && v != "false" {
				return invalidAttributeValue(name, "")
			}
		case name == attrContentDedup, name == attrSSE:
			if v != "true" && v != "false" {
				return invalidAttributeValue(name, "")
			}
		case name == attrDedupScope:
			if v != "messageGroup" && v != "queue" {
				return invalidAttributeValue(name, "")
			}
		case name == attrThroughput:
			if v != "perQueue" && v != "perMessageGroupId" {
				return invalidAttributeValue(name, "")
			}
		case name == attrPolicy, name == attrRedriveAllow:
			if err := checkJSONAttr(name, v); err != nil {
				return err
			}
		case name == attrRedrive:
			if err := s.checkRedrive(ctx, scope, fifo, v); err != nil {
				return err
			}
		case name == attrKmsKey:
		default:
			return invalidAttributeName(name)
		}
	}
	if attrs[attrThroughput] == "perMessageGroupId" && attrs[attrDedupScope] == "queue" {
		return invalidAttributeValue(attrThroughput, "perMessageGroupId is allowed only with DeduplicationScope messageGroup")
	}
	return nil
}

func checkJSONAttr(name, v string) error {
	if v == "" {
		return nil
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(v), &doc); err != nil {
		return invalidAttributeValue(name, "not a JSON object")
	}
	if name == attrRedriveAllow {
		switch doc["redrivePermission"] {
		case "allowAll", "denyAll", "byQueue":
		default:
			return invalidAttributeValue(name, "redrivePermission must be allowAll, denyAll or byQueue")
		}
	}
	return nil
}

// redrivePolicy is a queue's RedrivePolicy attribute.
type redrivePolicy struct {
	DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	MaxReceiveCount     any    `json:"maxReceiveCount"` // AWS takes a number or a string
}

func parseRedrive(v string) (arn string, max int, ok bool) {
	var p redrivePolicy
	if v == "" || json.Unmarshal([]byte(v), &p) != nil {
		return "", 0, false
	}
	switch n := p.MaxReceiveCount.(type) {
	case float64:
		max = int(n)
	case string:
		max, _ = strconv.Atoi(n)
	}
	return p.DeadLetterTargetArn, max, p.DeadLetterTargetArn != "" && max >= 1 && max <= 1000
}

func (s *Service) checkRedrive(ctx context.Context, scope string, fifo bool, v string) error {
	if v == "" {
		return nil // removes the policy
	}
	arn, _, ok := parseRedrive(v)
	if !ok {
		return invalidValue(attrRedrive, v, "Redrive policy is not a valid JSON map with deadLetterTargetArn and a maxReceiveCount from 1 to 1000.")
	}
	dlq, err := s.resolveARN(ctx, scope, arn)
	if err != nil {
		return invalidValue(attrRedrive, v, "Dead letter target does not exist.")
	}
	if dlq.fifo() != fifo {
		return invalidValue(attrRedrive, v, "Dead-letter queue type must match the queue type (FIFO or standard).")
	}
	return nil
}

// GetQueueAttributes answers the attributes asked for ("All": every one).
func (s *Service) GetQueueAttributes(ctx context.Context, scope string, in *wire.GetQueueAttributesRequest) (*wire.GetQueueAttributesResult, error) {
	q, err := s.resolve(ctx, scope, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, n := range in.AttributeNames {
		name := string(n)
		if name != "All" && intRanges[name] == ([2]int{}) && !slices.Contains(computed, name) && !knownSettable(name) {
			return nil, invalidAttributeName(name)
		}
		want[name] = true
	}
	out := map[string]string{}
	all := want["All"]
	for name, v := range q.rec.Attributes {
		if (all || want[name]) && v != "" {
			out[name] = v
		}
	}
	if all || want[attrNumMessages] || want[attrNumNotVisible] || want[attrNumDelayed] {
		now := s.now()
		st, err := s.cfg.Store.MessageStats(ctx, q.rec.ID, now, now.Add(-secs(q.intAttr(attrRetention))))
		if err != nil {
			return nil, fmt.Errorf("queue %s: %w", q.rec.Name, err)
		}
		for name, n := range map[string]int64{attrNumMessages: st.Visible, attrNumNotVisible: st.InFlight, attrNumDelayed: st.Delayed} {
			if all || want[name] {
				out[name] = strconv.FormatInt(n, 10)
			}
		}
	}
	for name, v := range map[string]string{attrCreated: strconv.FormatInt(q.rec.Created, 10),
		attrModified: strconv.FormatInt(q.rec.Modified, 10), attrArn: s.arn(scope, q.rec.Name)} {
		if all || want[name] {
			out[name] = v
		}
	}
	if len(out) == 0 {
		return &wire.GetQueueAttributesResult{}, nil
	}
	return &wire.GetQueueAttributesResult{Attributes: out}, nil
}

func knownSettable(name string) bool {
	switch name {
	case attrPolicy, attrRedrive, attrRedriveAllow, attrFifoQueue, attrContentDedup, attrDedupScope, attrThroughput, attrKmsKey, attrSSE:
		return true
	}
	return false
}

// SetQueueAttributes changes a queue's settable attributes.
func (s *Service) SetQueueAttributes(ctx context.Context, scope string, in *wire.SetQueueAttributesRequest) (*struct{}, error) {
	q, err := s.resolve(ctx, scope, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if err := s.checkAttributes(ctx, scope, q.fifo(), false, in.Attributes); err != nil {
		return nil, err
	}
	err = s.update(ctx, q, func(q *queue) error {
		for name, v := range in.Attributes {
			if v == "" && (name == attrPolicy || name == attrRedrive || name == attrRedriveAllow) {
				delete(q.rec.Attributes, name)
				continue
			}
			q.rec.Attributes[name] = normalize(name, v)
		}
		q.rec.Modified = s.now().Unix()
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.waiters.wake(q.rec.ID) // a shorter delay or retention may change what waiters get
	return &struct{}{}, nil
}

// normalize stores a RedrivePolicy as AWS reports it back (maxReceiveCount a number).
func normalize(name, v string) string {
	if name != attrRedrive {
		return v
	}
	arn, max, ok := parseRedrive(v)
	if !ok {
		return v
	}
	b, _ := json.Marshal(map[string]any{"deadLetterTargetArn": arn, "maxReceiveCount": max})
	return string(b)
}

func fifoName(name string) bool { return strings.HasSuffix(name, ".fifo") }
