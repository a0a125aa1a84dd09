package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/barge-run/barge/internal/account"
	lw "github.com/barge-run/barge/internal/awstypes/lambda"
	"github.com/barge-run/barge/internal/lambda"
	"github.com/barge-run/barge/internal/logs"
)

// maxDeliveryBytes bounds the messages of one delivery: its gzipped payload must stay under an
// asynchronous invocation's 256 KB.
const maxDeliveryBytes = 192 << 10

// subscriptions delivers the events of log groups with subscription filters to their Lambda
// functions, as CloudWatch Logs does: each batch of matching events is one asynchronous
// invocation (queued durably, retried) whose event is {"awslogs": {"data": <base64 gzip JSON>}}.
type subscriptions struct {
	lambda *lambda.Service
	region string
	log    *slog.Logger

	mu      sync.RWMutex
	byGroup map[[2]string][]activeSub // (account, group)
	queue   chan delivery
}

type activeSub struct {
	logs.Subscription
	match logs.Matcher
}

type delivery struct {
	account, group, stream string
	sub                    activeSub
	events                 []logs.Event
}

func newSubscriptions(l *lambda.Service, region string, log *slog.Logger) *subscriptions {
	s := &subscriptions{lambda: l, region: region, log: log, byGroup: map[[2]string][]activeSub{}, queue: make(chan delivery, 1024)}
	go s.run()
	return s
}

// set replaces a group's filters.
func (s *subscriptions) set(account, group string, subs []logs.Subscription) {
	var active []activeSub
	for _, sub := range subs {
		if m, err := logs.CompilePattern(sub.Pattern); err == nil {
			active = append(active, activeSub{sub, m})
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(active) == 0 {
		delete(s.byGroup, [2]string{account, group})
		return
	}
	s.byGroup[[2]string{account, group}] = active
}

// Wants implements logs.AppendHook.
func (s *subscriptions) Wants(account, group string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.byGroup[[2]string{account, group}]) > 0
}

// Appended implements logs.AppendHook: the matching events are queued for delivery (dropped,
// with a warning, when deliveries fall far behind).
func (s *subscriptions) Appended(account, group, stream string, events []logs.Event) {
	s.mu.RLock()
	subs := s.byGroup[[2]string{account, group}]
	s.mu.RUnlock()
	for _, sub := range subs {
		// A function's own log group never feeds it: that would invoke it without end.
		if fn := sub.Destination[strings.LastIndexByte(sub.Destination, ':')+1:]; group == "/aws/lambda/"+fn {
			continue
		}
		var matched []logs.Event
		for _, e := range events {
			if sub.match(e.Message) {
				matched = append(matched, e)
			}
		}
		if len(matched) == 0 {
			continue
		}
		select {
		case s.queue <- delivery{account, group, stream, sub, matched}:
		default:
			s.log.Warn("subscription filter behind: events dropped", "group", group, "filter", sub.Name, "events", len(matched))
		}
	}
}

func (s *subscriptions) run() {
	for d := range s.queue {
		for len(d.events) > 0 {
			n, size := 0, 0
			for n < len(d.events) && (n == 0 || size+len(d.events[n].Message) < maxDeliveryBytes) {
				size += len(d.events[n].Message)
				n++
			}
			s.deliver(d, d.events[:n])
			d.events = d.events[n:]
		}
	}
}

// deliver invokes the filter's function with one batch, in AWS's awslogs shape.
func (s *subscriptions) deliver(d delivery, events []logs.Event) {
	owner, _ := account.SplitScope(d.account, s.region)
	type logEvent struct {
		ID        string `json:"id"`
		Timestamp int64  `json:"timestamp"`
		Message   string `json:"message"`
	}
	msg := struct {
		MessageType         string     `json:"messageType"`
		Owner               string     `json:"owner"`
		LogGroup            string     `json:"logGroup"`
		LogStream           string     `json:"logStream"`
		SubscriptionFilters []string   `json:"subscriptionFilters"`
		LogEvents           []logEvent `json:"logEvents"`
	}{"DATA_MESSAGE", owner, d.group, d.stream, []string{d.sub.Name}, make([]logEvent, len(events))}
	for i, e := range events {
		msg.LogEvents[i] = logEvent{ID: strconv.FormatInt(e.Timestamp, 10) + strconv.Itoa(i), Timestamp: e.Timestamp, Message: e.Message}
	}
	raw, _ := json.Marshal(msg)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	payload, _ := json.Marshal(map[string]map[string]string{"awslogs": {"data": base64.StdEncoding.EncodeToString(gz.Bytes())}})
	_, err := s.lambda.Invoke(context.Background(), d.account, &lw.InvocationRequest{FunctionName: d.sub.Destination,
		InvocationType: lw.InvocationTypeEvent, Payload: payload})
	if err != nil {
		s.log.Warn("subscription filter delivery failed", "group", d.group, "filter", d.sub.Name, "destination", d.sub.Destination, "err", err)
	}
}
