package e2e_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestSQSCrashKeepsAcknowledged kills barge with SIGKILL while a sender runs and messages are
// in flight: after a restart every acknowledged message is there, the in-flight ones once their
// visibility timeout ends.
func TestSQSCrashKeepsAcknowledged(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	s := newSQS(t, b)
	url := s.create("durable", map[string]string{"VisibilityTimeout": "2"})
	for i := range 20 {
		s.send(url, "before-"+string(rune('a'+i)))
	}
	inflight := s.receive(url, 10, 0)
	if len(inflight) != 10 {
		t.Fatalf("took %d in flight", len(inflight))
	}
	var mu sync.Mutex
	acked := map[string]bool{}
	for i := range 20 {
		acked["before-"+string(rune('a'+i))] = true
	}
	done := make(chan struct{})
	enough := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			body := "during-" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
			if _, err := s.c.SendMessage(s.ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)}); err != nil {
				return // the server is gone: this one was not acknowledged
			}
			mu.Lock()
			acked[body] = true
			if len(acked) == 70 {
				close(enough)
			}
			mu.Unlock()
		}
	}()
	<-enough
	b.Kill()
	<-done
	b.Restart()
	s = newSQS(t, b)
	got := map[string]bool{}
	for len(got) < len(acked) {
		ms := s.receive(url, 10, 5)
		if len(ms) == 0 {
			break
		}
		for _, m := range ms {
			got[*m.Body] = true
			s.del(url, m)
		}
	}
	for body := range acked {
		if !got[body] {
			t.Errorf("acknowledged message %q lost across kill -9", body)
		}
	}
}

// TestSQSCLI runs `aws sqs` of the AWS CLI v1 (JSON protocol) and v2 (Debian's, the query
// protocol): both check the MD5s of bodies and message attributes.
func TestSQSCLI(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	env := append(b.Env(), "HOME="+t.TempDir(), "AWS_PAGER=")
	for _, cli := range []string{"aws", "/usr/bin/aws"} {
		path := cli
		if cli == "aws" {
			path = tool(t, "aws")
		}
		res := runCmd(t, t.Context(), env, path, "--version")
		if res.code != 0 {
			continue
		}
		name := "cli-" + strings.Fields(res.stdout + res.stderr)[0][8:9]
		url := b.Endpoint + "/000000000000/" + name
		ep := []string{"--endpoint-url", b.Endpoint, "--output", "json"}
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"sqs", "create-queue", "--queue-name", name, "--attributes", "VisibilityTimeout=30", "--tags", "team=a"}, url},
			{[]string{"sqs", "send-message", "--queue-url", url, "--message-body", "hello", "--message-attributes",
				`{"s":{"DataType":"String","StringValue":"v"},"n":{"DataType":"Number","StringValue":"1.5"},"b":{"DataType":"Binary","BinaryValue":"AAEC"}}`}, "MD5OfMessageAttributes"},
			{[]string{"sqs", "send-message-batch", "--queue-url", url, "--entries", "Id=a,MessageBody=one", "Id=b,MessageBody=two"}, `"Id": "b"`},
			{[]string{"sqs", "receive-message", "--queue-url", url, "--max-number-of-messages", "10", "--message-attribute-names", "All", "--attribute-names", "All"}, `"StringValue": "1.5"`},
			{[]string{"sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "All"}, `"ApproximateNumberOfMessagesNotVisible": "3"`},
			{[]string{"sqs", "list-queues", "--queue-name-prefix", name}, url},
			{[]string{"sqs", "list-queue-tags", "--queue-url", url}, `"team": "a"`},
			{[]string{"sqs", "get-queue-url", "--queue-name", "missing"}, "NonExistentQueue"},
			{[]string{"sqs", "purge-queue", "--queue-url", url}, ""},
			{[]string{"sqs", "delete-queue", "--queue-url", url}, ""},
		} {
			res := runCmd(t, t.Context(), env, path, append(ep, tc.args...)...)
			if !strings.Contains(res.stdout+res.stderr, tc.want) || (tc.want != "NonExistentQueue" && res.code != 0) {
				t.Errorf("%s %s:\n%s", cli, strings.Join(tc.args, " "), res)
			}
		}
	}
}

// sqsBoto3Script checks SQS through boto3: message attributes with their MD5s (boto3 verifies
// them), FIFO, errors by their modeled exceptions, long polling.
const sqsBoto3Script = `
import os, threading, boto3
sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
url = sqs.create_queue(QueueName="boto")["QueueUrl"]
attrs = {"s": {"DataType": "String", "StringValue": "ü"}, "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
         "n": {"DataType": "Number.int", "StringValue": "42"}}
sqs.send_message(QueueUrl=url, MessageBody="héllo", MessageAttributes=attrs)
r = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "x", "MessageBody": "b1", "MessageAttributes": attrs}, {"Id": "y", "MessageBody": ""}])
assert [e["Id"] for e in r["Successful"]] == ["x"] and r["Failed"][0]["Id"] == "y", r
got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"])["Messages"]
assert sorted(m["Body"] for m in got) == ["b1", "héllo"], got
assert got[0]["MessageAttributes"]["b"]["BinaryValue"] == b"\x00\x01"
only = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["s"])
try:
    sqs.get_queue_url(QueueName="missing")
    raise SystemExit("no error for a missing queue")
except sqs.exceptions.QueueDoesNotExist:
    pass
f = sqs.create_queue(QueueName="boto.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
a = sqs.send_message(QueueUrl=f, MessageBody="one", MessageGroupId="g")
b = sqs.send_message(QueueUrl=f, MessageBody="one", MessageGroupId="g")
assert a["MessageId"] == b["MessageId"], (a, b)
out = {}
t = threading.Thread(target=lambda: out.update(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)))
t.start()
sqs.send_message(QueueUrl=url, MessageBody="late")
t.join()
assert [m["Body"] for m in out["Messages"]] == ["late"], out
print("sqs-ok")
`

// TestSQSBoto3 runs sqsBoto3Script.
func TestSQSBoto3(t *testing.T) {
	t.Parallel()
	python := boto3Python(t)
	b := bargetest.Start(t)
	runSelfCheckingScript(t, b, python, "", sqsBoto3Script, "sqs-ok")
}
