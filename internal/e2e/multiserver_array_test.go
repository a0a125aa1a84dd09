package e2e_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"

	"github.com/barge-run/barge/internal/bargetest"
	"github.com/barge-run/barge/internal/store/postgres/pgtest"
)

// TestLeaderKilledMidArray: two servers on one PostgreSQL database, an array of 20 children
// (`sleep 0.5`, a retry strategy of 2 attempts) running on the leader's local compute
// environment. The leader is killed (-9) with some children done and some running: the
// follower takes the engine over, the children that ran on the dead server fail as
// host-terminated and are retried, the array SUCCEEDS, and no child ever had two attempts at
// once (each attempt stopped before the next one started).
func TestLeaderKilledMidArray(t *testing.T) {
	dsn := pgtest.DSN(t)
	a := bargetest.Start(t, bargetest.WithArgs("--store", dsn, "--name", "array-a", "--isolation", "none", "--lease-ttl", "3s"))
	b := bargetest.Start(t, bargetest.WithArgs("--store", dsn, "--name", "array-b", "--isolation", "none", "--lease-ttl", "3s"))
	if ha, hb := health(t, a), health(t, b); !ha.Leader || hb.Leader {
		t.Fatalf("health: %+v and %+v; want array-a leading", ha, hb)
	}
	ctx := context.Background()
	cb := batch.NewFromConfig(b.Config(a.Cred))
	const size = 20
	register(t, cb, "half-second", &types.ContainerProperties{Command: []string{"sleep", "0.5"}})
	id := submit(t, cb, &batch.SubmitJobInput{JobName: aws.String("outlives-its-leader"), JobDefinition: aws.String("half-second"),
		ArrayProperties: &types.ArrayProperties{Size: aws.Int32(size)},
		RetryStrategy:   &types.RetryStrategy{Attempts: aws.Int32(2)}})

	// Mid-array: some children finished, at least one running on the leader.
	bargetest.WaitJob(t, cb, id, jobWait, func(string) bool {
		out, err := cb.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: []string{id}})
		if err != nil || len(out.Jobs) != 1 || out.Jobs[0].ArrayProperties == nil {
			return false
		}
		s := out.Jobs[0].ArrayProperties.StatusSummary
		return s["SUCCEEDED"] >= 3 && s["RUNNING"] >= 1 && s["SUCCEEDED"] < size-2
	})
	a.Kill()
	killed := time.Now()
	p := bargetest.WaitJob(t, cb, id, 2*time.Minute, terminal)
	t.Logf("the array ended %v after the leader was killed", time.Since(killed).Round(10*time.Millisecond))
	if p.Status != types.JobStatusSucceeded || p.ArrayProperties.StatusSummary["SUCCEEDED"] != size {
		t.Fatalf("array: %s %q %v", p.Status, aws.ToString(p.StatusReason), p.ArrayProperties.StatusSummary)
	}
	if !health(t, b).Leader {
		t.Fatal("the survivor does not lead")
	}

	var kids []string
	for i := range size {
		kids = append(kids, fmt.Sprintf("%s:%d", id, i))
	}
	out, err := cb.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: kids})
	if err != nil || len(out.Jobs) != size {
		t.Fatalf("DescribeJobs of the children: %v, %d", err, len(out.Jobs))
	}
	retried := 0
	for _, k := range out.Jobs {
		if k.Status != types.JobStatusSucceeded || len(k.Attempts) == 0 {
			t.Errorf("child %s: %s, %d attempts", aws.ToString(k.JobId), k.Status, len(k.Attempts))
			continue
		}
		if len(k.Attempts) > 1 {
			retried++
			if r := aws.ToString(k.Attempts[0].StatusReason); r != "Host EC2 (instance array-a) terminated." {
				t.Errorf("child %s: first of %d attempts ended %q, want the dead server's host terminated", aws.ToString(k.JobId), len(k.Attempts), r)
			}
		}
		for i, at := range k.Attempts {
			start, stop := aws.ToInt64(at.StartedAt), aws.ToInt64(at.StoppedAt)
			if start == 0 || stop < start {
				t.Errorf("child %s attempt %d: startedAt %d, stoppedAt %d", aws.ToString(k.JobId), i+1, start, stop)
			}
			if i > 0 {
				if prev := aws.ToInt64(k.Attempts[i-1].StoppedAt); start < prev {
					t.Errorf("child %s: attempt %d started at %d, before attempt %d stopped at %d", aws.ToString(k.JobId), i+1, start, i, prev)
				}
			}
		}
	}
	if retried == 0 {
		t.Error("no child was retried: none was running on the killed leader")
	}
	t.Logf("%d of %d children were retried after the leader died", retried, size)
}
