package sqs

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/barge-run/barge/internal/account"
	wire "github.com/barge-run/barge/internal/awstypes/sqs"
	"github.com/barge-run/barge/internal/store"
)

// dedupWindow is how long a FIFO queue remembers a deduplication id, as on AWS.
const dedupWindow = 5 * time.Minute

// messageBody is a message's detail as stored (store.Message.Body).
type messageBody struct {
	Body    string                                      `json:"b"`
	Attrs   map[string]wire.MessageAttributeValue       `json:"a,omitempty"`
	Sys     map[string]wire.MessageSystemAttributeValue `json:"s,omitempty"`
	Sender  string                                      `json:"from"`
	DedupID string                                      `json:"d,omitempty"`
}

// md5Hex is the hex MD5 of s, AWS's MD5OfMessageBody.
func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// md5OfAttributes digests message attributes as SQS does (and the SDKs check): for each
// attribute in name order, its name, data type, a transport byte (1 string, 2 binary) and value,
// each string length-prefixed (4 bytes, big-endian). "" for no attributes.
func md5OfAttributes[V wire.MessageAttributeValue | wire.MessageSystemAttributeValue](attrs map[string]V) string {
	if len(attrs) == 0 {
		return ""
	}
	h := md5.New()
	put := func(b []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		v := wire.MessageAttributeValue(attrs[name])
		put([]byte(name))
		put([]byte(v.DataType))
		if v.BinaryValue != nil {
			h.Write([]byte{2})
			put(v.BinaryValue)
		} else {
			h.Write([]byte{1})
			put([]byte(v.StringValue))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

var attrNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,256}$`)

// checkMessageAttributes validates message attributes and returns the bytes they count for.
func checkMessageAttributes(attrs map[string]wire.MessageAttributeValue) (int, error) {
	if len(attrs) > 10 {
		return 0, invalidParameter("Number of message attributes [%d] exceeds the allowed maximum [10].", len(attrs))
	}
	for name, v := range attrs {
		lower := strings.ToLower(name)
		if !attrNameRE.MatchString(name) || strings.HasPrefix(lower, "aws.") || strings.HasPrefix(lower, "amazon.") ||
			strings.Contains(name, "..") || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") {
			return 0, invalidParameter("The message attribute name '%s' is invalid. Attribute name can contain A-Z, a-z, 0-9, underscore (_), hyphen (-), and period (.) characters.", name)
		}
		base, _, _ := strings.Cut(v.DataType, ".")
		switch {
		case v.DataType == "":
			return 0, invalidParameter("The message attribute '%s' must contain non-empty message attribute type.", name)
		case base != "String" && base != "Number" && base != "Binary":
			return 0, invalidParameter("The message attribute '%s' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.", name)
		case base == "Binary" && len(v.BinaryValue) == 0, base != "Binary" && v.StringValue == "":
			return 0, invalidParameter("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", name, v.DataType)
		case base == "Number":
			if _, err := strconv.ParseFloat(v.StringValue, 64); err != nil {
				return 0, invalidParameter("Can't cast the value of message (user) attribute '%s' to a number.", name)
			}
		}
	}
	return attributesSize(attrs), nil
}

// attributesSize is the bytes message attributes count for toward a message's size.
func attributesSize(attrs map[string]wire.MessageAttributeValue) int {
	n := 0
	for name, v := range attrs {
		n += len(name) + len(v.DataType) + len(v.StringValue) + len(v.BinaryValue)
	}
	return n
}

func errNoDedupID() error {
	return invalidParameter("The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
}

// validBody reports whether s holds only the characters SQS accepts in a message.
func validBody(s string) bool {
	for _, r := range s {
		if !(r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// sendEntry is one message to send, from SendMessage or a SendMessageBatch entry.
type sendEntry struct {
	Body     string
	Delay    *int32
	Attrs    map[string]wire.MessageAttributeValue
	Sys      map[string]wire.MessageSystemAttributeValue
	DedupID  string
	GroupID  string
	msg      *store.Message
	md5Body  string
	md5Attrs string
	md5Sys   string
}

// prepare validates an entry for queue q and makes the message to store.
func (s *Service) prepare(q *queue, scope string, e *sendEntry, now time.Time) (int, error) {
	if e.Body == "" {
		return 0, missingParameter("MessageBody")
	}
	if !validBody(e.Body) {
		return 0, code(http.StatusBadRequest, "InvalidMessageContents", "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF")
	}
	attrSize, err := checkMessageAttributes(e.Attrs)
	if err != nil {
		return 0, err
	}
	for name, v := range e.Sys {
		if name != "AWSTraceHeader" || v.DataType != "String" || v.StringValue == "" {
			return 0, invalidParameter("Message system attribute name '%s' is invalid.", name)
		}
	}
	size := len(e.Body) + attrSize
	if max := q.intAttr(attrMaxSize); size > max {
		return 0, invalidParameter("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", max)
	}
	delay := q.intAttr(attrDelay)
	if e.Delay != nil {
		if q.fifo() && *e.Delay != 0 { // FIFO queues take no per-message delay; 0 is accepted
			return 0, invalidValue("DelaySeconds", *e.Delay, "The request include parameter that is not valid for this queue type.")
		}
		if *e.Delay < 0 || *e.Delay > 900 {
			return 0, invalidValue("DelaySeconds", *e.Delay, "DelaySeconds must be >= 0 and <= 900.")
		}
		delay = int(*e.Delay)
	}
	key, err := dedupKey(q, e)
	if err != nil {
		return 0, err
	}
	acct, _ := account.SplitScope(scope, s.cfg.Region)
	body, err := jsonBytes(messageBody{Body: e.Body, Attrs: e.Attrs, Sys: e.Sys, Sender: acct, DedupID: e.DedupID})
	if err != nil {
		return 0, err
	}
	e.msg = &store.Message{Queue: q.rec.ID, ID: uuid.NewString(), Group: e.GroupID, DedupKey: key, SentAt: now,
		VisibleAt: now.Add(secs(delay)), Body: body}
	e.md5Body, e.md5Attrs, e.md5Sys = md5Hex(e.Body), md5OfAttributes(e.Attrs), md5OfAttributes(e.Sys)
	return size, nil
}

// dedupKey checks a FIFO entry's group and deduplication ids and makes its deduplication key
// (e.DedupID is set to the content's SHA-256 under ContentBasedDeduplication).
func dedupKey(q *queue, e *sendEntry) (string, error) {
	if !q.fifo() {
		if e.DedupID != "" {
			return "", invalidValue("MessageDeduplicationId", e.DedupID, "The request include parameter that is not valid for this queue type.")
		}
		return "", nil
	}
	if e.GroupID == "" {
		return "", missingParameter("MessageGroupId")
	}
	if len(e.GroupID) > 128 || len(e.DedupID) > 128 {
		return "", invalidParameter("MessageGroupId and MessageDeduplicationId can be at most 128 characters long.")
	}
	if e.DedupID == "" {
		if q.rec.Attributes[attrContentDedup] != "true" {
			return "", errNoDedupID()
		}
		sum := sha256.Sum256([]byte(e.Body))
		e.DedupID = hex.EncodeToString(sum[:])
	}
	if q.rec.Attributes[attrDedupScope] == "messageGroup" {
		return e.GroupID + "\x00" + e.DedupID, nil
	}
	return e.DedupID, nil
}

func sequenceNumber(m *store.Message) string { return fmt.Sprintf("%020d", m.Seq) }

// insert stores prepared entries in one write and wakes the queue's waiters.
func (s *Service) insert(ctx context.Context, q *queue, entries []*sendEntry, now time.Time) error {
	msgs := make([]*store.Message, len(entries))
	for i, e := range entries {
		msgs[i] = e.msg
	}
	err := s.cfg.Store.MessageInsertMany(ctx, &store.MessageInsertParams{Messages: msgs, Now: now, DedupUntil: now.Add(dedupWindow)})
	if err != nil {
		return fmt.Errorf("send to %s: %w", q.rec.Name, err)
	}
	s.waiters.wake(q.rec.ID)
	return nil
}

// SendMessage stores one message; it is durable when answered.
func (s *Service) SendMessage(ctx context.Context, scope string, in *wire.SendMessageRequest) (*wire.SendMessageResult, error) {
	q, err := s.resolve(ctx, scope, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	now := s.now()
	e := &sendEntry{Body: in.MessageBody, Delay: in.DelaySeconds, Attrs: in.MessageAttributes, Sys: in.MessageSystemAttributes,
		DedupID: in.MessageDeduplicationId, GroupID: in.MessageGroupId}
	if _, err := s.prepare(q, scope, e, now); err != nil {
		return nil, err
	}
	if err := s.insert(ctx, q, []*sendEntry{e}, now); err != nil {
		return nil, err
	}
	out := &wire.SendMessageResult{MessageId: e.msg.ID, MD5OfMessageBody: e.md5Body, MD5OfMessageAttributes: e.md5Attrs,
		MD5OfMessageSystemAttributes: e.md5Sys}
	if q.fifo() {
		out.SequenceNumber = sequenceNumber(e.msg)
	}
	return out, nil
}

var batchIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// checkBatch validates a batch's entry ids (kind names the entries in messages).
func checkBatch(kind string, ids []string) error {
	if len(ids) == 0 {
		return code(http.StatusBadRequest, "EmptyBatchRequest", "There should be at least one %s in the request.", kind)
	}
	if len(ids) > 10 {
		return code(http.StatusBadRequest, "TooManyEntriesInBatchRequest", "Maximum number of entries per request are 10. You have sent %d.", len(ids))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if !batchIDRE.MatchString(id) {
			return code(http.StatusBadRequest, "InvalidBatchEntryId", "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")
		}
		if seen[id] {
			return code(http.StatusBadRequest, "BatchEntryIdsNotDistinct", "Id %s repeated.", id)
		}
		seen[id] = true
	}
	return nil
}

// SendMessageBatch stores up to 10 messages in one write; entries that fail validation are
// answered in Failed.
func (s *Service) SendMessageBatch(ctx context.Context, scope string, in *wire.SendMessageBatchRequest) (*wire.SendMessageBatchResult, error) {
	q, err := s.resolve(ctx, scope, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		ids[i] = e.Id
	}
	if err := checkBatch("SendMessageBatchRequestEntry", ids); err != nil {
		return nil, err
	}
	// The batch's size, and a FIFO entry's missing group or deduplication id, fail the whole
	// request (as on SQS), before any entry is judged alone.
	total := 0
	for _, e := range in.Entries {
		total += len(e.MessageBody) + attributesSize(e.MessageAttributes)
	}
	if max := q.intAttr(attrMaxSize); total > max {
		return nil, code(http.StatusBadRequest, "BatchRequestTooLong", "Batch requests cannot be longer than %d bytes. You have sent %d bytes.", max, total)
	}
	if q.fifo() {
		for _, e := range in.Entries {
			if e.MessageGroupId == "" {
				return nil, missingParameter("MessageGroupId")
			}
			if e.MessageDeduplicationId == "" && q.rec.Attributes[attrContentDedup] != "true" {
				return nil, errNoDedupID()
			}
		}
	}
	now := s.now()
	out := &wire.SendMessageBatchResult{Successful: []wire.SendMessageBatchResultEntry{}, Failed: []wire.BatchResultErrorEntry{}}
	var ok []*sendEntry
	var okIDs []string
	for _, in := range in.Entries {
		e := &sendEntry{Body: in.MessageBody, Delay: in.DelaySeconds, Attrs: in.MessageAttributes, Sys: in.MessageSystemAttributes,
			DedupID: in.MessageDeduplicationId, GroupID: in.MessageGroupId}
		if _, err := s.prepare(q, scope, e, now); err != nil {
			out.Failed = append(out.Failed, failedEntry(in.Id, err))
			continue
		}
		ok, okIDs = append(ok, e), append(okIDs, in.Id)
	}
	if len(ok) > 0 {
		if err := s.insert(ctx, q, ok, now); err != nil {
			return nil, err
		}
	}
	for i, e := range ok {
		r := wire.SendMessageBatchResultEntry{Id: okIDs[i], MessageId: e.msg.ID, MD5OfMessageBody: e.md5Body,
			MD5OfMessageAttributes: e.md5Attrs, MD5OfMessageSystemAttributes: e.md5Sys}
		if q.fifo() {
			r.SequenceNumber = sequenceNumber(e.msg)
		}
		out.Successful = append(out.Successful, r)
	}
	return out, nil
}
