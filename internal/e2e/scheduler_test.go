package e2e_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	btypes "github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	stypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// atSoon is an at() expression d from now (whole seconds, UTC) and the instant it names.
func atSoon(d time.Duration) (string, time.Time) {
	t := time.Now().UTC().Add(d).Truncate(time.Second)
	return "at(" + t.Format("2006-01-02T15:04:05") + ")", t
}

type schedT struct {
	esmT
	s *scheduler.Client
}

func (s schedT) schedule(name, expr string, target *stypes.Target, mut ...func(*scheduler.CreateScheduleInput)) {
	s.t.Helper()
	if target.RoleArn == nil {
		target.RoleArn = aws.String("arn:aws:iam::000000000000:role/scheduler")
	}
	in := &scheduler.CreateScheduleInput{Name: aws.String(name), ScheduleExpression: aws.String(expr), Target: target,
		FlexibleTimeWindow: &stypes.FlexibleTimeWindow{Mode: stypes.FlexibleTimeWindowModeOff}}
	for _, m := range mut {
		m(in)
	}
	if _, err := s.s.CreateSchedule(s.ctx, in); err != nil {
		s.t.Fatalf("CreateSchedule %s: %v", name, err)
	}
}

// TestScheduler runs EventBridge Scheduler through aws-sdk-go-v2: one-time schedules firing a
// function, a queue and a Batch job, a failing target's dead-letter queue, groups and tags.
func TestScheduler(t *testing.T) {
	t.Parallel()
	hostPython(t)
	b := bargetest.Start(t)
	for _, tc := range []struct {
		name string
		run  func(s schedT)
	}{
		{"Targets", testSchedulerTargets},
		{"DeadLetter", testSchedulerDeadLetter},
		{"GroupsAndAPI", testSchedulerAPI},
		{"CronSubmitsJob", testSchedulerCron},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q := newSQS(t, b)
			ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
			t.Cleanup(cancel)
			q.ctx = ctx
			e := esmT{sqsT: q, b: b, l: lambda.NewFromConfig(b.Config()), logs: b.Logs()}
			tc.run(schedT{esmT: e, s: scheduler.NewFromConfig(b.Config())})
		})
	}
}

func testSchedulerTargets(s schedT) {
	fnARN := s.function("scheduled", 3)
	url := s.create("scheduled", nil)
	register(s.t, s.b.Batch(), "tick", &btypes.ContainerProperties{Command: []string{"true"}})
	expr, at := atSoon(4 * time.Second)
	s.schedule("fn", expr, &stypes.Target{Arn: aws.String(fnARN), Input: aws.String(`{"Records":[{"body":"from-scheduler","messageId":"x"}]}`)})
	s.schedule("queue", expr, &stypes.Target{Arn: aws.String(s.queueArn(url)), Input: aws.String("at <aws.scheduler.scheduled-time>")})
	s.schedule("job", expr, &stypes.Target{Arn: aws.String("arn:aws:scheduler:::aws-sdk:batch:submitJob"),
		Input: aws.String(`{"JobName":"from-schedule","JobQueue":"default","JobDefinition":"tick"}`)})
	sf := sfn.NewFromConfig(s.b.Config())
	sm, err := sf.CreateStateMachine(s.ctx, &sfn.CreateStateMachineInput{Name: aws.String("scheduled"), RoleArn: aws.String("arn:aws:iam::000000000000:role/r"),
		Definition: aws.String(`{"StartAt":"Done","States":{"Done":{"Type":"Pass","End":true}}}`)})
	if err != nil {
		s.t.Fatal(err)
	}
	s.schedule("workflow", expr, &stypes.Target{Arn: sm.StateMachineArn, Input: aws.String(`{"from":"scheduler"}`)})
	waitUntil(s.t, 60*time.Second, "the function invoked", func() bool { return len(s.received("scheduled")) == 1 })
	waitUntil(s.t, 60*time.Second, "the state machine's execution to succeed", func() bool {
		out, err := sf.ListExecutions(s.ctx, &sfn.ListExecutionsInput{StateMachineArn: sm.StateMachineArn})
		return err == nil && len(out.Executions) == 1 && out.Executions[0].Status == sfntypes.ExecutionStatusSucceeded
	})
	msgs := s.receive(url, 10, 20)
	if len(msgs) != 1 || *msgs[0].Body != "at "+at.Format(time.RFC3339) {
		s.t.Fatalf("queue target got %v", bodies(msgs))
	}
	waitUntil(s.t, 60*time.Second, "the job submitted", func() bool {
		out, err := s.b.Batch().ListJobs(s.ctx, &batch.ListJobsInput{JobQueue: aws.String("default"),
			Filters: []btypes.KeyValuesPair{{Name: aws.String("JOB_NAME"), Values: []string{"from-schedule"}}}})
		if err != nil {
			return false
		}
		for _, j := range out.JobSummaryList {
			if aws.ToString(j.JobName) == "from-schedule" {
				return true
			}
		}
		return false
	})
}

func testSchedulerDeadLetter(s schedT) {
	dlq := s.create("sched-dlq", nil)
	expr, _ := atSoon(3 * time.Second)
	s.schedule("broken", expr, &stypes.Target{Arn: aws.String("arn:aws:lambda:us-east-1:000000000000:function:missing"), Input: aws.String(`{"a":1}`),
		RetryPolicy:      &stypes.RetryPolicy{MaximumRetryAttempts: aws.Int32(0)},
		DeadLetterConfig: &stypes.DeadLetterConfig{Arn: aws.String(s.queueArn(dlq))}})
	msgs := s.receive(dlq, 1, 20)
	if len(msgs) != 1 || *msgs[0].Body != `{"a":1}` || aws.ToString(msgs[0].MessageAttributes["ERROR_CODE"].StringValue) != "ResourceNotFoundException" {
		s.t.Fatalf("dead letter %+v", msgs)
	}
}

func testSchedulerAPI(s schedT) {
	if _, err := s.s.CreateScheduleGroup(s.ctx, &scheduler.CreateScheduleGroupInput{Name: aws.String("team"),
		Tags: []stypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		s.t.Fatal(err)
	}
	groups, err := s.s.ListScheduleGroups(s.ctx, &scheduler.ListScheduleGroupsInput{})
	if err != nil || len(groups.ScheduleGroups) != 2 || *groups.ScheduleGroups[0].Name != "default" {
		s.t.Fatalf("ListScheduleGroups: %v %+v", err, groups)
	}
	g, err := s.s.GetScheduleGroup(s.ctx, &scheduler.GetScheduleGroupInput{Name: aws.String("team")})
	if err != nil {
		s.t.Fatal(err)
	}
	tags, err := s.s.ListTagsForResource(s.ctx, &scheduler.ListTagsForResourceInput{ResourceArn: g.Arn})
	if err != nil || len(tags.Tags) != 1 || *tags.Tags[0].Key != "k" {
		s.t.Fatalf("ListTagsForResource: %v %+v", err, tags)
	}
	target := &stypes.Target{Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:nowhere")}
	s.schedule("cron", "cron(0 12 ? * MON-FRI *)", target, func(in *scheduler.CreateScheduleInput) {
		in.GroupName, in.ScheduleExpressionTimezone = aws.String("team"), aws.String("Europe/Paris")
		in.Description, in.State = aws.String("weekdays at noon"), stypes.ScheduleStateDisabled
	})
	got, err := s.s.GetSchedule(s.ctx, &scheduler.GetScheduleInput{Name: aws.String("cron"), GroupName: aws.String("team")})
	if err != nil || aws.ToString(got.ScheduleExpressionTimezone) != "Europe/Paris" || got.State != stypes.ScheduleStateDisabled ||
		!strings.HasSuffix(aws.ToString(got.Arn), ":schedule/team/cron") || got.CreationDate == nil {
		s.t.Fatalf("GetSchedule: %v %+v", err, got)
	}
	if _, err := s.s.GetSchedule(s.ctx, &scheduler.GetScheduleInput{Name: aws.String("cron")}); errorCode(err) != "ResourceNotFoundException" {
		s.t.Fatalf("a schedule of another group found in default: %v", err)
	}
	_, err = s.s.CreateSchedule(s.ctx, &scheduler.CreateScheduleInput{Name: aws.String("bad"), ScheduleExpression: aws.String("cron(0 12 * * * *)"),
		Target: target, FlexibleTimeWindow: &stypes.FlexibleTimeWindow{Mode: stypes.FlexibleTimeWindowModeOff}})
	if errorCode(err) != "ValidationException" {
		s.t.Fatalf("a cron with both day fields: %v", err)
	}
	list, err := s.s.ListSchedules(s.ctx, &scheduler.ListSchedulesInput{GroupName: aws.String("team")})
	if err != nil || len(list.Schedules) != 1 || *list.Schedules[0].Name != "cron" {
		s.t.Fatalf("ListSchedules: %v %+v", err, list)
	}
	if _, err := s.s.DeleteScheduleGroup(s.ctx, &scheduler.DeleteScheduleGroupInput{Name: aws.String("team")}); err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.s.GetSchedule(s.ctx, &scheduler.GetScheduleInput{Name: aws.String("cron"), GroupName: aws.String("team")}); errorCode(err) != "ResourceNotFoundException" {
		s.t.Fatalf("a deleted group's schedule: %v", err)
	}
}

// TestSchedulerKillWhileDue: a schedule falls due while the server is down (kill -9); it fires
// exactly once after the restart.
func TestSchedulerKillWhileDue(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	q := newSQS(t, b)
	url := q.create("after-crash", nil)
	s := scheduler.NewFromConfig(b.Config())
	expr, at := atSoon(4 * time.Second)
	if _, err := s.CreateSchedule(q.ctx, &scheduler.CreateScheduleInput{Name: aws.String("while-down"), ScheduleExpression: aws.String(expr),
		FlexibleTimeWindow: &stypes.FlexibleTimeWindow{Mode: stypes.FlexibleTimeWindowModeOff},
		Target:             &stypes.Target{Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:after-crash"), RoleArn: aws.String("arn:aws:iam::000000000000:role/r"), Input: aws.String("fired")}}); err != nil {
		t.Fatal(err)
	}
	b.Kill()
	time.Sleep(time.Until(at.Add(time.Second))) // not synchronisation: the occurrence must pass while nothing runs
	b.Restart()
	q.c = newSQS(t, b).c
	first := q.receive(url, 10, 20)
	if len(first) != 1 || *first[0].Body != "fired" {
		t.Fatalf("after the restart the queue got %v", bodies(first))
	}
	if again := q.receive(url, 10, 3); len(again) != 0 {
		t.Fatalf("the occurrence fired again: %v", bodies(again))
	}
	out, err := s.GetSchedule(q.ctx, &scheduler.GetScheduleInput{Name: aws.String("while-down")})
	if err != nil || out.State != stypes.ScheduleStateEnabled {
		t.Fatalf("GetSchedule after completion: %v %+v", err, out)
	}
}

// testSchedulerCron: a cron schedule (every minute: the one wait of up to a minute) submits a
// Batch job through the universal target.
func testSchedulerCron(s schedT) {
	register(s.t, s.b.Batch(), "cron-tick", &btypes.ContainerProperties{Command: []string{"true"}})
	s.schedule("every-minute", "cron(* * * * ? *)", &stypes.Target{Arn: aws.String("arn:aws:scheduler:::aws-sdk:batch:submitJob"),
		Input: aws.String(`{"jobName":"from-cron","jobQueue":"default","jobDefinition":"cron-tick"}`)})
	waitUntil(s.t, 90*time.Second, "the cron schedule's job", func() bool {
		out, err := s.b.Batch().ListJobs(s.ctx, &batch.ListJobsInput{JobQueue: aws.String("default"),
			Filters: []btypes.KeyValuesPair{{Name: aws.String("JOB_NAME"), Values: []string{"from-cron"}}}})
		return err == nil && len(out.JobSummaryList) > 0
	})
	if _, err := s.s.DeleteSchedule(s.ctx, &scheduler.DeleteScheduleInput{Name: aws.String("every-minute")}); err != nil {
		s.t.Fatal(err)
	}
}
