package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/barge-run/barge/internal/bargetest"
	"github.com/barge-run/barge/internal/store/postgres/pgtest"
)

// health is GET /health of a server.
func health(t *testing.T, b *bargetest.Barge) (h struct {
	Name   string `json:"name"`
	Leader bool   `json:"leader"`
	Store  string `json:"store"`
}) {
	t.Helper()
	resp, err := http.Get(b.Endpoint + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestServersOnPostgres: two servers on one PostgreSQL database. Either answers every call, signed
// with a key of either server's credentials.json; the
// first runs the engine, so a job submitted to the second runs on it; a function created through
// one is invoked through the other (its code comes from the store). When the leader is killed
// (-9), the other takes the engine over within seconds, the job that was running on the dead
// server fails as AWS says of a lost instance and its retry runs on the new leader.
func TestServersOnPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	a := bargetest.Start(t, bargetest.WithArgs("--store", dsn, "--name", "server-a", "--isolation", "none", "--lease-ttl", "3s"))
	b := bargetest.Start(t, bargetest.WithArgs("--store", dsn, "--name", "server-b", "--isolation", "none", "--lease-ttl", "3s"))
	if ha, hb := health(t, a), health(t, b); !ha.Leader || hb.Leader || ha.Store != "postgres" || hb.Name != "server-b" {
		t.Fatalf("health: %+v and %+v; want server-a leading", ha, hb)
	}
	ctx := context.Background()
	// Each server made its own key; both accept both (the store holds every server's keys).
	ca, cb := batch.NewFromConfig(a.Config(b.Cred)), batch.NewFromConfig(b.Config(a.Cred))
	register(t, cb, "quick", &types.ContainerProperties{Command: []string{"true"}})
	register(t, cb, "first-attempt-hangs", &types.ContainerProperties{Command: []string{"sh", "-c",
		`if [ "$AWS_BATCH_JOB_ATTEMPT" = 1 ]; then exec sleep 600; fi`}})
	quick := submit(t, cb, &batch.SubmitJobInput{JobName: aws.String("via-b"), JobDefinition: aws.String("quick")})
	if j := bargetest.WaitJob(t, ca, quick, jobWait, terminal); j.Status != types.JobStatusSucceeded {
		t.Fatalf("job submitted to the second server: %s %q", j.Status, aws.ToString(j.StatusReason))
	}

	la, lb := lambda.NewFromConfig(a.Config()), lambda.NewFromConfig(b.Config(a.Cred))
	pkg := zipSources(t, map[string]string{"app.py": "def handler(event, context):\n    return {'served': event['n']}\n"})
	if _, err := la.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("shared"), Runtime: ltypes.RuntimePython311,
		Handler: aws.String("app.handler"), Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &ltypes.FunctionCode{ZipFile: pkg}}); err != nil {
		t.Fatal(err)
	}
	out, err := lb.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("shared"), Payload: []byte(`{"n":7}`)})
	if err != nil || out.FunctionError != nil || string(out.Payload) != `{"served": 7}` {
		t.Fatalf("function created on one server, invoked on the other: %v %s", err, out.Payload)
	}

	// A long poll on one server gets a message sent through the other.
	qa, qb := sqs.NewFromConfig(a.Config()), sqs.NewFromConfig(b.Config(a.Cred))
	q, err := qa.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("across")})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		out, err := qb.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 20})
		if err != nil || len(out.Messages) != 1 {
			got <- fmt.Sprint(err)
			return
		}
		got <- aws.ToString(out.Messages[0].Body)
	}()
	if _, err := qa.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("from a")}); err != nil {
		t.Fatal(err)
	}
	if body := <-got; body != "from a" {
		t.Fatalf("the long poll on the other server: %s", body)
	}

	hangs := submit(t, cb, &batch.SubmitJobInput{JobName: aws.String("dies-with-a"), JobDefinition: aws.String("first-attempt-hangs"),
		RetryStrategy: &types.RetryStrategy{Attempts: aws.Int32(2)}})
	bargetest.WaitJob(t, cb, hangs, jobWait, func(s string) bool { return s == "RUNNING" })
	a.Kill()
	killed := time.Now()
	deadline := killed.Add(60 * time.Second)
	for !health(t, b).Leader {
		if time.Now().After(deadline) {
			t.Fatal("the second server never took the engine over")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("failover: the second server leads %v after the kill (lease 3 s)", time.Since(killed).Round(10*time.Millisecond))
	j := bargetest.WaitJob(t, cb, hangs, 2*time.Minute, terminal)
	if j.Status != types.JobStatusSucceeded || len(j.Attempts) != 2 ||
		aws.ToString(j.Attempts[0].StatusReason) != "Host EC2 (instance server-a) terminated." {
		t.Fatalf("the job running on the killed server: %s, %d attempts, first %q", j.Status, len(j.Attempts), aws.ToString(j.Attempts[0].StatusReason))
	}
}
