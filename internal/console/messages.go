package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"

	lw "github.com/barge-run/barge/internal/awstypes/lambda"
	qw "github.com/barge-run/barge/internal/awstypes/sqs"
)

// maxQueues bounds the SQS queues and mappings listed.
const maxQueues = 1000

// sqsRow is one SQS queue on the messages page.
type sqsRow struct {
	Name, URL, DeadLetter      string
	Visible, InFlight, Delayed int
	OldestAge                  string
	FIFO                       bool
	VisibilityTimeout          string
}

// mappingRow is one event source mapping on the messages page.
type mappingRow struct {
	UUID, Source, Function, State, LastResult string
	BatchSize                                 int32
	Batches, Invoked, Filtered, Errors        float64
}

// messages serves the messages page: the account's SQS queues with their depth (visible,
// in flight, delayed) and the age of their oldest message, and the event source mappings that
// drain them with their batches, records and errors on this server since it started.
func (c *Console) messages(w http.ResponseWriter, r *http.Request, account string) {
	ctx, cancel := pageContext(r)
	defer cancel()
	var queues []sqsRow
	token := ""
	for c.cfg.SQS != nil && len(queues) < maxQueues {
		res, err := c.cfg.SQS.ListQueues(ctx, account, &qw.ListQueuesRequest{NextToken: token, MaxResults: aws.Int32(1000)})
		if err != nil {
			c.serviceError(w, "queues", err)
			return
		}
		for _, u := range res.QueueUrls {
			attrs, err := c.cfg.SQS.GetQueueAttributes(ctx, account, &qw.GetQueueAttributesRequest{QueueUrl: u, AttributeNames: []qw.QueueAttributeName{"All"}})
			if err != nil {
				continue // deleted since it was listed
			}
			queues = append(queues, sqsQueueRow(u, attrs.Attributes))
		}
		if token = res.NextToken; token == "" {
			break
		}
	}
	ages := sum(c.samples("barge_sqs_oldest_message_age_seconds", account), "queue", "")
	for i := range queues {
		if a, ok := ages[queues[i].Name]; ok && a[""] > 0 {
			queues[i].OldestAge = strconv.FormatFloat(a[""], 'f', 1, 64) + " s"
		}
	}
	var mappings []mappingRow
	marker := ""
	for c.cfg.ESM != nil && len(mappings) < maxQueues {
		res, err := c.cfg.ESM.ListEventSourceMappings(ctx, account, &lw.ListEventSourceMappingsRequest{Marker: marker, MaxItems: aws.Int32(100)})
		if err != nil {
			c.serviceError(w, "event source mappings", err)
			return
		}
		for _, m := range res.EventSourceMappings {
			mappings = append(mappings, mappingRow{UUID: m.UUID, Source: lastPart(m.EventSourceArn), Function: lastPart(m.FunctionArn),
				State: m.State, LastResult: m.LastProcessingResult, BatchSize: aws.ToInt32(m.BatchSize)})
		}
		if marker = res.NextMarker; marker == "" {
			break
		}
	}
	batches := sum(c.samples("barge_esm_batches_total", account), "uuid", "")
	records := sum(c.samples("barge_esm_records_total", account), "uuid", "outcome")
	errs := sum(c.samples("barge_esm_errors_total", account), "uuid", "")
	for i := range mappings {
		m := &mappings[i]
		m.Batches, m.Errors = batches[m.UUID][""], errs[m.UUID][""]
		m.Invoked, m.Filtered = records[m.UUID]["invoked"], records[m.UUID]["filtered"]
	}
	c.render(w, http.StatusOK, "messages.html", map[string]any{"Title": "Messages", "Nav": true, "Account": account,
		"Queues": queues, "Mappings": mappings, "HasMetrics": c.cfg.Metrics != nil, "Refresh": true})
}

// sqsQueueRow reads an SQS queue's row from its URL and attributes.
func sqsQueueRow(url string, attrs map[string]string) sqsRow {
	n := func(k string) int { v, _ := strconv.Atoi(attrs[k]); return v }
	row := sqsRow{Name: path.Base(url), URL: url, Visible: n("ApproximateNumberOfMessages"),
		InFlight: n("ApproximateNumberOfMessagesNotVisible"), Delayed: n("ApproximateNumberOfMessagesDelayed"),
		FIFO: attrs["FifoQueue"] == "true", VisibilityTimeout: attrs["VisibilityTimeout"], OldestAge: "—"}
	var redrive struct {
		Target   string `json:"deadLetterTargetArn"`
		Receives any    `json:"maxReceiveCount"` // a number or a string, as clients send it
	}
	if json.Unmarshal([]byte(attrs["RedrivePolicy"]), &redrive) == nil && redrive.Target != "" {
		row.DeadLetter = fmt.Sprintf("%s after %v receives", lastPart(redrive.Target), redrive.Receives)
	}
	return row
}
