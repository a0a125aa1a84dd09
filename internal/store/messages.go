package store

import (
	"errors"
	"time"
)

// ErrNotInFlight is a message's visibility change refused because the message is not in flight
// (nobody holds it: it is visible, or was never received).
var ErrNotInFlight = errors.New("message not in flight")

// Message is one message of a queue (SQS): the columns receiving orders and filters on, and the
// message's detail (body, attributes) as an opaque Body.
type Message struct {
	// Queue is the id of the queue's incarnation (a queue deleted and made again has a new one).
	Queue string
	ID    string
	// Seq is assigned by the store on insert: the order of sends, and a FIFO sequence number.
	Seq int64
	// Group is a FIFO queue's message group ("" in standard queues).
	Group string
	// DedupKey, when set, makes a send within the deduplication window of an earlier one with
	// the same key a duplicate (MessageInsertMany).
	DedupKey string
	// Source is the queue a dead-lettered message was moved from, "" otherwise.
	Source         string
	SentAt         time.Time
	VisibleAt      time.Time
	ReceiveCount   int
	FirstReceiveAt time.Time
	// Receipt names the latest receive: deletes and visibility changes must quote it.
	Receipt string
	Body    []byte
	// Duplicate is set by MessageInsertMany on a message it did not store for its DedupKey.
	Duplicate bool
}

// MessageInsertParams are messages to store at Now; their deduplication records last until
// DedupUntil.
type MessageInsertParams struct {
	Messages   []*Message
	Now        time.Time
	DedupUntil time.Time
}

// MessageReceiveParams select the messages one receive claims.
type MessageReceiveParams struct {
	Queue string
	Now   time.Time
	Until time.Time // the claimed messages are invisible until then
	Limit int       // 0: 1
	// FIFO delivers a message only when no message of its group is in flight and every earlier
	// message of its group is delivered with it: groups are strictly ordered.
	FIFO bool
	// RetainAfter: messages sent before it have expired and are deleted.
	RetainAfter time.Time
	// MaxReceives, when positive, moves a message already received that often to DeadLetter
	// (a queue id) instead of delivering it again.
	MaxReceives int
	DeadLetter  string
}

// MessageReceiveResult is what a receive claimed.
type MessageReceiveResult struct {
	Messages []*Message
	// Moved counts the messages moved to the dead-letter queue.
	Moved int
	// NextVisible is the earliest time a message of the queue not delivered now becomes visible
	// (zero: none is waiting): when a waiting receiver should look again.
	NextVisible time.Time
}

// MessageChange is a delete (Delete) or a visibility change (to VisibleAt) of the message ID
// received with Receipt. A delete quoting an older receipt is ErrStale; a visibility change of
// a message nobody holds is ErrNotInFlight.
type MessageChange struct {
	ID        string
	Receipt   string
	Delete    bool
	VisibleAt time.Time
	Err       error // set by MessageChangeMany
}

// MessageChangeParams are changes to messages of one queue at Now.
type MessageChangeParams struct {
	Queue   string
	Now     time.Time
	Changes []*MessageChange
}

// MessageStats are a queue's message counts.
type MessageStats struct {
	Visible  int64 // can be received now
	InFlight int64 // received, not yet visible again
	Delayed  int64 // sent with a delay not yet over
	// OldestSent is when the oldest message was sent (zero when there is none).
	OldestSent time.Time
}

// MessagePurgeParams select messages of a queue to delete.
type MessagePurgeParams struct {
	Queue      string
	SentBefore time.Time // zero: all
	Dedup      bool      // forget the queue's deduplication records too
}

// MessageMoveParams select messages to move between queues.
type MessageMoveParams struct {
	From  string
	To    string // "": each message's Source
	Now   time.Time
	Limit int
}
