package events

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/google/uuid"

	"github.com/barge-run/barge/internal/awserr"
	ew "github.com/barge-run/barge/internal/awstypes/events"
)

// Limits of PutEvents, as EventBridge's.
const (
	maxPutEntries = 10
	maxPutBytes   = 256 << 10
)

// PutEvents implements the EventBridge operation: each valid entry becomes an event on the
// account's default bus, matched to its rules with an event pattern after the call answers.
// Entries are refused one by one (the answer's ErrorCode), as EventBridge does: a missing
// Source, DetailType or Detail, a Detail that is not JSON, a Source of AWS's ("aws.…"), a bus
// other than default.
func (s *Service) PutEvents(ctx context.Context, scope string, in *ew.PutEventsRequest) (*ew.PutEventsResponse, error) {
	switch n := len(in.Entries); {
	case n == 0:
		return nil, validation("1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1")
	case n > maxPutEntries:
		return nil, validation("1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10")
	}
	size := 0
	for _, e := range in.Entries {
		size += len(e.Source) + len(e.DetailType) + len(e.Detail)
		for _, r := range e.Resources {
			size += len(r)
		}
	}
	if size > maxPutBytes {
		return nil, validation("Total size of the entries in the request is over the limit.")
	}
	now := s.cfg.Engine.Now()
	out := &ew.PutEventsResponse{Entries: make([]ew.PutEventsResultEntry, len(in.Entries))}
	failed := int32(0)
	for i, e := range in.Entries {
		code, msg := checkEntry(e)
		if code != "" {
			out.Entries[i] = ew.PutEventsResultEntry{ErrorCode: code, ErrorMessage: msg}
			failed++
			continue
		}
		q := queuedEvent{scope: scope, id: uuid.NewString(), ev: Event{Source: e.Source, DetailType: e.DetailType,
			Detail: json.RawMessage(e.Detail), Resources: e.Resources, Time: now}}
		if e.Time != nil && !e.Time.IsZero() {
			q.ev.Time = e.Time.Time
		}
		if !s.patterns.Load() || !isObject(e.Detail) {
			// No rule could match (or, as on EventBridge, a Detail that is not an object is
			// accepted and matches nothing).
			out.Entries[i] = ew.PutEventsResultEntry{EventId: q.id}
			continue
		}
		if s.queue == nil || !s.enqueue(q) {
			out.Entries[i] = ew.PutEventsResultEntry{ErrorCode: "ThrottlingException", ErrorMessage: "Rate exceeded"}
			failed++
			continue
		}
		out.Entries[i] = ew.PutEventsResultEntry{EventId: q.id}
	}
	out.FailedEntryCount = &failed
	return out, nil
}

// checkEntry is EventBridge's refusal of one entry ("" when it is accepted).
func checkEntry(e ew.PutEventsRequestEntry) (code, msg string) {
	if err := checkBus(e.EventBusName); err != nil {
		return "ResourceNotFoundException", awserr.As(err).Message
	}
	switch {
	case e.Source == "":
		return "InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument."
	case e.DetailType == "":
		return "InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument."
	case e.Detail == "":
		return "InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument."
	case !json.Valid([]byte(e.Detail)):
		return "MalformedDetail", "Detail is malformed."
	case strings.HasPrefix(e.Source, "aws."):
		// AWS's services' events come from the services themselves (barge's Batch and Step
		// Functions publish theirs on the bus), never from PutEvents.
		return "NotAuthorizedForSourceException", "Not authorized for the source."
	}
	return "", ""
}

// isObject reports whether a valid JSON text is an object.
func isObject(detail string) bool {
	return strings.HasPrefix(strings.TrimSpace(detail), "{")
}
