package asl

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// failing returns a task that fails n times with name, then echoes.
func failing(name string, n int) func(context.Context, TaskRequest) (json.RawMessage, error) {
	calls := 0
	return func(_ context.Context, req TaskRequest) (json.RawMessage, error) {
		calls++
		if calls <= n {
			return nil, &Error{Name: name, Cause: "attempt failed"}
		}
		return json.RawMessage(`"ok"`), nil
	}
}

func retryDef(retrier string) string {
	return `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Retry":[` + retrier + `],"End":true}}}`
}

func TestRetryBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, retrier, errName string
		failures               int
		status                 string
		sleeps                 []time.Duration
	}{
		{"exponential", `{"ErrorEquals":["E"],"IntervalSeconds":1,"BackoffRate":2,"MaxAttempts":3}`, "E", 3, StatusSucceeded,
			[]time.Duration{time.Second, 2 * time.Second, 4 * time.Second}},
		{"defaults", `{"ErrorEquals":["E"]}`, "E", 2, StatusSucceeded, []time.Duration{time.Second, 2 * time.Second}},
		{"exhausted", `{"ErrorEquals":["E"],"IntervalSeconds":3,"BackoffRate":1.5,"MaxAttempts":2}`, "E", 3, StatusFailed,
			[]time.Duration{3 * time.Second, 4500 * time.Millisecond}},
		{"max delay", `{"ErrorEquals":["E"],"IntervalSeconds":2,"BackoffRate":10,"MaxAttempts":3,"MaxDelaySeconds":50}`, "E", 3, StatusSucceeded,
			[]time.Duration{2 * time.Second, 20 * time.Second, 50 * time.Second}},
		{"zero attempts", `{"ErrorEquals":["E"],"MaxAttempts":0}`, "E", 1, StatusFailed, nil},
		{"not matching", `{"ErrorEquals":["Other"]}`, "E", 1, StatusFailed, nil},
		{"TaskFailed wildcard", `{"ErrorEquals":["States.TaskFailed"],"MaxAttempts":1}`, "Custom", 1, StatusSucceeded, []time.Duration{time.Second}},
		{"ALL skips Runtime", `{"ErrorEquals":["States.ALL"]}`, ErrRuntime, 1, StatusFailed, nil},
		{"explicit Runtime never", `{"ErrorEquals":["States.Runtime"]}`, ErrRuntime, 1, StatusFailed, nil},
		{"TaskFailed skips Timeout", `{"ErrorEquals":["States.TaskFailed"]}`, ErrTimeout, 1, StatusFailed, nil},
		{"Timeout matches heartbeat", `{"ErrorEquals":["States.Timeout"],"MaxAttempts":1}`, ErrHeartbeatTimeout, 1, StatusSucceeded, []time.Duration{time.Second}},
	}
	for _, tc := range tests {
		h := newHarness()
		h.on(lambdaInvoke, failing(tc.errName, tc.failures))
		res := h.run(t, retryDef(tc.retrier), `{}`)
		if res.Status != tc.status {
			t.Errorf("%s: %+v", tc.name, res)
		}
		if got := h.clock.Sleeps(); !equalDurations(got, tc.sleeps) {
			t.Errorf("%s: sleeps %v, want %v", tc.name, got, tc.sleeps)
		}
	}
}

func TestRetryFullJitter(t *testing.T) {
	t.Parallel()
	h := newHarness()
	h.on(lambdaInvoke, failing("E", 3))
	h.mustRun(t, retryDef(`{"ErrorEquals":["E"],"IntervalSeconds":10,"BackoffRate":2,"MaxAttempts":3,"JitterStrategy":"FULL"}`), `{}`)
	// The same seed gives the same draws: compute the expected delays.
	r := newRandSource(rand.NewPCG(1, 2))
	var want []time.Duration
	for i, base := range []float64{10, 20, 40} {
		d := time.Duration(base * r.Float64() * float64(time.Second))
		if d < 0 || d > time.Duration(base)*time.Second {
			t.Fatalf("draw %d out of range: %v", i, d)
		}
		want = append(want, d)
	}
	if got := h.clock.Sleeps(); !equalDurations(got, want) {
		t.Errorf("sleeps %v, want %v", got, want)
	}
}

func TestRetryCountInContext(t *testing.T) {
	t.Parallel()
	h := newHarness()
	h.on(lambdaInvoke, failing("E", 2))
	h.mustRun(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"n.$":"$$.State.RetryCount"},"Retry":[{"ErrorEquals":["E"]}],"End":true}}}`, `{}`)
	var got []string
	for _, c := range h.tasks.Calls() {
		got = append(got, string(c.Input))
	}
	if strings.Join(got, ",") != `{"n":0},{"n":1},{"n":2}` {
		t.Errorf("inputs %v", got)
	}
}

func TestCatch(t *testing.T) {
	t.Parallel()
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
		"Retry":[{"ErrorEquals":["Flaky"],"MaxAttempts":1}],
		"Catch":[{"ErrorEquals":["Flaky"],"ResultPath":"$.flaky","Assign":{"caught.$":"$.Error"},"Next":"Report"},
			{"ErrorEquals":["States.ALL"],"ResultPath":null,"Next":"Report"}],"End":true},
		"Report":{"Type":"Pass","Parameters":{"in.$":"$","caught.$":"$caught"},"End":true}}}`
	h := newHarness()
	h.on(lambdaInvoke, failing("Flaky", 5))
	jsonEq(t, h.mustRun(t, def, `{"a":1}`), `{"in":{"a":1,"flaky":{"Error":"Flaky","Cause":"attempt failed"}},"caught":"Flaky"}`)
	if n := len(h.tasks.Calls()); n != 2 {
		t.Errorf("%d attempts, want 2 (one retry)", n)
	}
	ja := `{"QueryLanguage":"JSONata","StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
		"Catch":[{"ErrorEquals":["States.ALL"],"Output":{"err":"{% $states.errorOutput.Error %}","in":"{% $states.input %}"},"Assign":{"c":"{% $states.errorOutput.Cause %}"},"Next":"R"}],"End":true},
		"R":{"Type":"Pass","Output":"{% $merge([$states.input, {'c': $c}]) %}","End":true}}}`
	h2 := newHarness()
	h2.on(lambdaInvoke, failing("Boom", 1))
	jsonEq(t, h2.mustRun(t, ja, `{"x":1}`), `{"err":"Boom","in":{"x":1},"c":"attempt failed"}`)
}

func TestTaskTimeouts(t *testing.T) {
	t.Parallel()
	h := newHarness()
	h.on(lambdaInvoke, func(ctx context.Context, req TaskRequest) (json.RawMessage, error) {
		h.clock.Advance(time.Duration(req.TimeoutSeconds+1) * time.Second) // the task runs too long
		<-ctx.Done()
		return nil, ctx.Err()
	})
	res := h.run(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","TimeoutSecondsPath":"$.t","End":true}}}`, `{"t":30}`)
	if res.Error != ErrTimeout {
		t.Errorf("timeout: %+v", res)
	}
	if !strings.Contains(strings.Join(h.sink.Types(), " "), "TaskTimedOut") {
		t.Errorf("history %v", h.sink.Types())
	}
	h2 := newHarness()
	h2.on("arn:aws:states:us-east-1:000000000000:activity:act", func(ctx context.Context, req TaskRequest) (json.RawMessage, error) {
		req.Heartbeat()
		h2.clock.Advance(5 * time.Second) // within the heartbeat interval
		req.Heartbeat()
		h2.clock.Advance(11 * time.Second) // silent too long
		<-ctx.Done()
		return nil, ctx.Err()
	})
	res = h2.run(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:us-east-1:000000000000:activity:act","HeartbeatSeconds":10,"TimeoutSeconds":100,"End":true}}}`, `{}`)
	if res.Error != ErrHeartbeatTimeout {
		t.Errorf("heartbeat: %+v", res)
	}
	if types := strings.Join(h2.sink.Types(), " "); !strings.Contains(types, "ActivityScheduled ActivityStarted ActivityTimedOut") {
		t.Errorf("history %s", types)
	}
	h3 := newHarness()
	h3.on(lambdaInvoke, func(context.Context, TaskRequest) (json.RawMessage, error) { return nil, errors.New("plain") })
	if res := h3.run(t, retryDef(`{"ErrorEquals":["X"]}`), `{}`); res.Error != ErrTaskFailed || res.Cause != "plain" {
		t.Errorf("plain error: %+v", res)
	}
}
