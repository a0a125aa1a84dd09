package esm

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	sw "github.com/barge-run/barge/internal/awstypes/sqs"
)

// messageAttribute is a message attribute as Lambda's SQS records carry it.
type messageAttribute struct {
	StringValue      *string  `json:"stringValue,omitempty"`
	BinaryValue      *string  `json:"binaryValue,omitempty"`
	StringListValues []string `json:"stringListValues"`
	BinaryListValues []string `json:"binaryListValues"`
	DataType         string   `json:"dataType"`
}

// sqsEvent is one record of the event Lambda passes an SQS-triggered function.
type sqsEvent struct {
	MessageID              string                      `json:"messageId"`
	ReceiptHandle          string                      `json:"receiptHandle"`
	Body                   string                      `json:"body"`
	Attributes             map[string]string           `json:"attributes"`
	MessageAttributes      map[string]messageAttribute `json:"messageAttributes"`
	MD5OfMessageAttributes *string                     `json:"md5OfMessageAttributes,omitempty"`
	MD5OfBody              string                      `json:"md5OfBody"`
	EventSource            string                      `json:"eventSource"`
	EventSourceARN         string                      `json:"eventSourceARN"`
	AWSRegion              string                      `json:"awsRegion"`
}

// recordAttributes are the system attributes Lambda puts in a record (the others SQS has,
// such as DeadLetterQueueSourceArn, are left out as Lambda leaves them).
var recordAttributes = []string{"ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp",
	"SequenceNumber", "MessageGroupId", "MessageDeduplicationId", "AWSTraceHeader"}

// sqsRecord renders a received message as a record of Lambda's SQS event.
func sqsRecord(m sw.Message, arn, region string) json.RawMessage {
	e := sqsEvent{MessageID: m.MessageId, ReceiptHandle: m.ReceiptHandle, Body: m.Body, MD5OfBody: m.MD5OfBody,
		EventSource: "aws:sqs", EventSourceARN: arn, AWSRegion: region,
		Attributes: map[string]string{}, MessageAttributes: map[string]messageAttribute{}}
	for _, name := range recordAttributes {
		if v, ok := m.Attributes[name]; ok {
			e.Attributes[name] = v
		}
	}
	for name, v := range m.MessageAttributes {
		a := messageAttribute{DataType: v.DataType, StringListValues: []string{}, BinaryListValues: []string{}}
		if strings.HasPrefix(v.DataType, "Binary") {
			b := base64.StdEncoding.EncodeToString(v.BinaryValue)
			a.BinaryValue = &b
		} else {
			sv := v.StringValue
			a.StringValue = &sv
		}
		e.MessageAttributes[name] = a
	}
	if m.MD5OfMessageAttributes != "" {
		e.MD5OfMessageAttributes = &m.MD5OfMessageAttributes
	}
	b, _ := json.Marshal(e)
	return b
}

// regionOf is the region of an ARN.
func regionOf(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) < 4 {
		return ""
	}
	return parts[3]
}
