package api

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/smithy-go/eventstream"
	"github.com/google/uuid"

	"github.com/barge-run/barge/internal/awserr"
	lw "github.com/barge-run/barge/internal/awstypes/logs"
	"github.com/barge-run/barge/internal/logs"
)

// Live Tail's limits and pace, as CloudWatch Logs has them.
const (
	maxLiveTailGroups  = 10
	maxLiveTailStreams = 100 // stream names or prefixes
	// maxLiveTailResults is the most events one update carries; past it they are sampled.
	maxLiveTailResults = 500
	// liveTailInterval is how often a session sends an update (empty when nothing came).
	liveTailInterval = time.Second
	// maxLiveTailSession is how long a session lasts before SessionTimeoutException.
	maxLiveTailSession = 3 * time.Hour
	// liveTailWriteTimeout bounds each write to a client that stopped reading.
	liveTailWriteTimeout = 30 * time.Second
	// liveTailAnswerDelay holds a session's first bytes back a little. aws-sdk-go-v2 closes a
	// request's body as soon as the response's headers arrive, while Go's transport may still
	// be draining that body after sending it; the drain then fails (smithy-go's closed body
	// answers io.EOF) and the transport tears the connection down, ending the event stream
	// (the premature request-body close discussed in aws/aws-sdk-go-v2#2737). Over a network
	// the answer never comes that fast; on loopback, barge's would (TestLiveTailSDK lost about
	// one session in five under load without this).
	liveTailAnswerDelay = 100 * time.Millisecond
)

// startLiveTail serves StartLiveTail: an awsJson1_1 event stream (initial-response, sessionStart,
// then a sessionUpdate every second with the events stored since the last) over the one HTTP/1.1
// response, until the client goes, the store fails or three hours pass.
func (s *Server) startLiveTail(w http.ResponseWriter, r *http.Request) {
	req := fromContext(r.Context())
	in := new(lw.StartLiveTailRequest)
	if e := decodeBody(req.body, in); e != nil {
		writeError(w, e)
		return
	}
	lt, err := s.newLiveTail(req.account, in)
	if err == nil {
		err = lt.prime()
	}
	if err != nil {
		writeError(w, awserr.As(logsError(err)))
		return
	}
	select {
	case <-r.Context().Done():
		return
	case <-time.After(liveTailAnswerDelay):
	}
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.WriteHeader(http.StatusOK)
	es := &eventWriter{w: w, rc: http.NewResponseController(w), enc: eventstream.NewEncoder()}
	start := lw.LiveTailSessionStart{RequestId: w.Header().Get("x-amzn-RequestId"), SessionId: uuid.NewString(),
		LogGroupIdentifiers: in.LogGroupIdentifiers, LogStreamNames: in.LogStreamNames, LogStreamNamePrefixes: in.LogStreamNamePrefixes,
		LogEventFilterPattern: in.LogEventFilterPattern}
	if es.event("initial-response", struct{}{}) != nil || es.event("sessionStart", start) != nil {
		return
	}
	tick := time.NewTicker(liveTailInterval)
	defer tick.Stop()
	timeout := time.NewTimer(maxLiveTailSession)
	defer timeout.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-timeout.C:
			es.exception("SessionTimeoutException", "Live Tail sessions end after three hours.")
			return
		case <-tick.C:
			update, err := lt.poll()
			if err != nil {
				s.log.Warn("live tail session ends", "account", req.account, "err", err)
				es.exception("SessionStreamingException", err.Error())
				return
			}
			if es.event("sessionUpdate", update) != nil {
				return
			}
		}
	}
}

// eventWriter writes event stream messages to a response, each flushed at once.
type eventWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	enc *eventstream.Encoder
}

// event sends one event of a type with v as its JSON payload.
func (e *eventWriter) event(eventType string, v any) error {
	var msg eventstream.Message
	msg.Headers.Set(eventstream.MessageTypeHeader, eventstream.StringValue(eventstream.EventMessageType))
	msg.Headers.Set(eventstream.EventTypeHeader, eventstream.StringValue(eventType))
	return e.send(msg, v)
}

// exception sends a modelled exception of the stream, which ends it.
func (e *eventWriter) exception(exceptionType, message string) error {
	var msg eventstream.Message
	msg.Headers.Set(eventstream.MessageTypeHeader, eventstream.StringValue(eventstream.ExceptionMessageType))
	msg.Headers.Set(eventstream.ExceptionTypeHeader, eventstream.StringValue(exceptionType))
	return e.send(msg, map[string]string{"message": message})
}

func (e *eventWriter) send(msg eventstream.Message, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("live tail: encoding %T: %w", payload, err)
	}
	msg.Headers.Set(eventstream.ContentTypeHeader, eventstream.StringValue("application/json"))
	msg.Payload = b
	e.rc.SetWriteDeadline(time.Now().Add(liveTailWriteTimeout)) // the server's WriteTimeout would end the session
	if err := e.enc.Encode(e.w, msg); err != nil {
		return fmt.Errorf("live tail: %w", err)
	}
	return e.rc.Flush()
}

// liveTail is one session's view of the streams it follows: a forward token per stream, so each
// poll reads only the events stored since the one before.
type liveTail struct {
	store    *logs.Store
	account  string
	groups   []string // names
	idents   []string // as the request gave them
	names    []string
	prefixes []string
	match    logs.Matcher
	start    int64 // ms; events ingested earlier are not shown
	streams  map[[2]string]*tailedStream
}

// tailedStream is where a session is in one stream: its forward token, and the stream's
// creation time and size when last read (unchanged, there is nothing to read).
type tailedStream struct {
	token   string // NextForwardToken; "" reads from the first event
	created int64
	size    int64
}

// newLiveTail checks a StartLiveTail request as CloudWatch Logs does.
func (s *Server) newLiveTail(account string, in *lw.StartLiveTailRequest) (*liveTail, error) {
	switch n := len(in.LogGroupIdentifiers); {
	case n == 0 || n > maxLiveTailGroups:
		return nil, invalidParam("logGroupIdentifiers: 1 to %d log groups, got %d", maxLiveTailGroups, n)
	case len(in.LogStreamNames) > 0 && len(in.LogStreamNamePrefixes) > 0:
		return nil, invalidParam("logStreamNames and logStreamNamePrefixes are mutually exclusive parameters.")
	case (len(in.LogStreamNames) > 0 || len(in.LogStreamNamePrefixes) > 0) && n > 1:
		return nil, invalidParam("logStreamNames and logStreamNamePrefixes need exactly one log group in logGroupIdentifiers")
	case len(in.LogStreamNames) > maxLiveTailStreams || len(in.LogStreamNamePrefixes) > maxLiveTailStreams:
		return nil, invalidParam("logStreamNames, logStreamNamePrefixes: at most %d", maxLiveTailStreams)
	}
	match, err := logs.CompilePattern(in.LogEventFilterPattern)
	if err != nil {
		return nil, err
	}
	lt := &liveTail{store: s.cfg.Logs, account: account, idents: in.LogGroupIdentifiers, names: in.LogStreamNames,
		prefixes: in.LogStreamNamePrefixes, match: match, start: time.Now().UnixMilli(), streams: map[[2]string]*tailedStream{}}
	for _, id := range in.LogGroupIdentifiers {
		name := id
		if strings.HasPrefix(id, "arn:") {
			if strings.HasSuffix(id, "*") {
				return nil, invalidParam("logGroupIdentifiers: an ARN can't end with an asterisk (*): %q", id)
			}
			if name, err = s.logGroupOfARN(account, id); err != nil {
				return nil, invalidParam("logGroupIdentifiers: %q is not a log group ARN of this account and region", id)
			}
		}
		if _, err := s.cfg.Logs.Group(account, name); err != nil {
			return nil, err
		}
		lt.groups = append(lt.groups, name)
	}
	return lt, nil
}

// prime places the session at the end of every stream that exists when it starts.
func (lt *liveTail) prime() error {
	for _, g := range lt.groups {
		err := lt.eachStream(g, func(info logs.StreamInfo) error {
			res, err := lt.store.GetEvents(lt.account, logs.GetEventsParams{Group: g, Stream: info.Name, Limit: 1})
			if err != nil {
				return ignoreGone(err)
			}
			lt.streams[[2]string{g, info.Name}] = &tailedStream{token: res.NextForwardToken, created: info.CreationTime, size: info.StoredBytes}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// poll gathers the matching events stored since the last poll, at most maxLiveTailResults of
// them (evenly sampled past that), oldest first.
func (lt *liveTail) poll() (*lw.LiveTailSessionUpdate, error) {
	var found []lw.LiveTailSessionLogEvent
	seen := map[[2]string]bool{}
	for i, g := range lt.groups {
		err := lt.eachStream(g, func(info logs.StreamInfo) error {
			key := [2]string{g, info.Name}
			seen[key] = true
			st := lt.streams[key]
			if st == nil {
				st = &tailedStream{}
				lt.streams[key] = st
			} else if info.CreationTime == st.created && info.StoredBytes == st.size {
				return nil
			}
			evs, err := lt.read(g, info.Name, st)
			for _, ev := range evs {
				found = append(found, lw.LiveTailSessionLogEvent{LogStreamName: info.Name, LogGroupIdentifier: lt.idents[i],
					Message: ev.Message, Timestamp: ptr(ev.Timestamp), IngestionTime: ptr(ev.IngestionTime)})
			}
			st.created, st.size = info.CreationTime, info.StoredBytes
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	maps.DeleteFunc(lt.streams, func(k [2]string, _ *tailedStream) bool { return !seen[k] })
	slices.SortStableFunc(found, func(a, b lw.LiveTailSessionLogEvent) int {
		return cmp.Or(cmp.Compare(*a.Timestamp, *b.Timestamp), cmp.Compare(*a.IngestionTime, *b.IngestionTime))
	})
	update := &lw.LiveTailSessionUpdate{SessionMetadata: &lw.LiveTailSessionMetadata{Sampled: ptr(len(found) > maxLiveTailResults)},
		SessionResults: []lw.LiveTailSessionLogEvent{}}
	for i := range min(len(found), maxLiveTailResults) {
		update.SessionResults = append(update.SessionResults, found[i*len(found)/min(len(found), maxLiveTailResults)])
	}
	return update, nil
}

// read returns the matching events of a stream after its token, ingested since the session
// began, and moves the token past them.
func (lt *liveTail) read(group, stream string, st *tailedStream) ([]logs.Event, error) {
	var out []logs.Event
	for {
		res, err := lt.store.GetEvents(lt.account, logs.GetEventsParams{Group: group, Stream: stream, NextToken: st.token, StartFromHead: true})
		if errors.Is(err, logs.ErrInvalidToken) && st.token != "" {
			st.token = "" // the stream was deleted and made again: read the new one from its start
			continue
		}
		if err != nil {
			return out, ignoreGone(err)
		}
		for _, ev := range res.Events {
			if ev.IngestionTime >= lt.start && lt.match(ev.Message) {
				out = append(out, ev)
			}
		}
		moved := res.NextForwardToken != st.token
		st.token = res.NextForwardToken
		if len(res.Events) == 0 || !moved {
			return out, nil
		}
	}
}

// eachStream calls fn for each stream of a group the session follows.
func (lt *liveTail) eachStream(group string, fn func(logs.StreamInfo) error) error {
	prefixes := lt.prefixes
	switch {
	case len(lt.names) > 0:
		prefixes = lt.names // each name lists itself (and names it begins), which the loop drops
	case len(prefixes) == 0:
		prefixes = []string{""}
	}
	for _, prefix := range prefixes {
		p := logs.DescribeStreamsParams{Group: group, Prefix: prefix}
		for {
			res, err := lt.store.DescribeStreams(lt.account, p)
			if err != nil {
				return err
			}
			for _, info := range res.Streams {
				if len(lt.names) > 0 && !slices.Contains(lt.names, info.Name) {
					continue
				}
				if err := fn(info); err != nil {
					return err
				}
			}
			if res.NextToken == "" {
				break
			}
			p.NextToken = res.NextToken
		}
	}
	return nil
}

// ignoreGone passes over a stream deleted while the session read it.
func ignoreGone(err error) error {
	if errors.Is(err, logs.ErrNotFound) && !strings.HasPrefix(err.Error(), "log group") {
		return nil
	}
	return err
}
