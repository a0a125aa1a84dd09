package asl

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const lambdaInvoke = "arn:aws:states:::lambda:invoke"

// The same workflow in both query languages must give the same output.
func TestSameMachineBothLanguages(t *testing.T) {
	t.Parallel()
	jsonPath := `{"StartAt":"Init","States":{
		"Init":{"Type":"Pass","Parameters":{"items.$":"$.xs","greeting.$":"States.Format('hi {}', $.who)"},"ResultPath":"$.prep","Assign":{"total":0},"Next":"Work"},
		"Work":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"n.$":"States.ArrayLength($.prep.items)"},"ResultSelector":{"count.$":"$.n"},"ResultPath":"$.res","Next":"Fan"},
		"Fan":{"Type":"Map","ItemsPath":"$.prep.items","ItemSelector":{"v.$":"$$.Map.Item.Value","i.$":"$$.Map.Item.Index"},
			"ItemProcessor":{"StartAt":"Dbl","States":{"Dbl":{"Type":"Pass","Parameters":{"d.$":"States.MathAdd($.v, $.v)","i.$":"$.i"},"End":true}}},
			"ResultPath":"$.doubled","Next":"Both"},
		"Both":{"Type":"Parallel","Branches":[
			{"StartAt":"A","States":{"A":{"Type":"Pass","Result":"a","End":true}}},
			{"StartAt":"B","States":{"B":{"Type":"Pass","Parameters":{"g.$":"$.prep.greeting"},"End":true}}}],
			"ResultPath":"$.par","Next":"Out"},
		"Out":{"Type":"Pass","Parameters":{"count.$":"$.res.count","doubled.$":"$.doubled[*].d","par.$":"$.par","total.$":"$total"},"End":true}}}`
	jsonata := `{"QueryLanguage":"JSONata","StartAt":"Init","States":{
		"Init":{"Type":"Pass","Output":{"xs":"{% $states.input.xs %}","prep":{"items":"{% $states.input.xs %}","greeting":"{% 'hi ' & $states.input.who %}"}},"Assign":{"total":0},"Next":"Work"},
		"Work":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Arguments":{"n":"{% $count($states.input.prep.items) %}"},"Output":"{% $merge([$states.input, {'res': {'count': $states.result.n}}]) %}","Next":"Fan"},
		"Fan":{"Type":"Map","Items":"{% $states.input.prep.items %}","ItemSelector":{"v":"{% $states.context.Map.Item.Value %}","i":"{% $states.context.Map.Item.Index %}"},
			"ItemProcessor":{"StartAt":"Dbl","States":{"Dbl":{"Type":"Pass","Output":{"d":"{% $states.input.v * 2 %}","i":"{% $states.input.i %}"},"End":true}}},
			"Output":"{% $merge([$states.input, {'doubled': $states.result}]) %}","Next":"Both"},
		"Both":{"Type":"Parallel","Branches":[
			{"StartAt":"A","States":{"A":{"Type":"Pass","Output":"a","End":true}}},
			{"StartAt":"B","States":{"B":{"Type":"Pass","Output":{"g":"{% $states.input.prep.greeting %}"},"End":true}}}],
			"Output":"{% $merge([$states.input, {'par': $states.result}]) %}","Next":"Out"},
		"Out":{"Type":"Pass","Output":{"count":"{% $states.input.res.count %}","doubled":"{% $states.input.doubled.d %}","par":"{% $states.input.par %}","total":"{% $total %}"},"End":true}}}`
	want := `{"count":3,"doubled":[2,4,6],"par":["a",{"g":"hi ann"}],"total":0}`
	for name, def := range map[string]string{"JSONPath": jsonPath, "JSONata": jsonata} {
		h := newHarness()
		jsonEq(t, h.mustRun(t, def, `{"xs":[1,2,3],"who":"ann"}`), want)
		if n := len(h.tasks.Calls()); n != 1 {
			t.Errorf("%s: %d task calls", name, n)
		}
	}
}

func TestPathsAndContext(t *testing.T) {
	t.Parallel()
	h := newHarness()
	def := `{"StartAt":"A","States":{
		"A":{"Type":"Pass","InputPath":"$.in","Parameters":{"x.$":"$.x","name.$":"$$.Execution.Name","state.$":"$$.State.Name","sm.$":"$$.StateMachine.Name","start.$":"$$.Execution.StartTime"},"ResultPath":"$.out","OutputPath":"$.out","Next":"B"},
		"B":{"Type":"Pass","ResultPath":null,"Result":"ignored","Next":"C"},
		"C":{"Type":"Pass","InputPath":null,"End":true}}}`
	jsonEq(t, h.mustRun(t, def, `{"in":{"x":7}}`), `{}`)
	def2 := strings.Replace(def, `"InputPath":null,`, ``, 1)
	jsonEq(t, h.mustRun(t, def2, `{"in":{"x":7}}`), `{"x":7,"name":"ex1","state":"A","sm":"sm","start":"2024-01-02T03:04:05.000Z"}`)
	res := h.run(t, `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"$.nope"},"End":true}}}`, `{}`)
	if res.Error != ErrRuntime || !strings.Contains(res.Cause, "could not be found") {
		t.Errorf("missing path: %+v", res)
	}
	res = h.run(t, `{"StartAt":"A","States":{"A":{"Type":"Pass","Result":1,"ResultPath":"$.s.x","End":true}}}`, `{"s":"str"}`)
	if res.Error != ErrResultPathMatchFailure {
		t.Errorf("result path: %+v", res)
	}
}

func TestWaitAndFailAndSucceed(t *testing.T) {
	t.Parallel()
	h := newHarness()
	def := `{"StartAt":"W1","States":{
		"W1":{"Type":"Wait","Seconds":10,"Next":"W2"},
		"W2":{"Type":"Wait","SecondsPath":"$.s","Next":"W3"},
		"W3":{"Type":"Wait","TimestampPath":"$.ts","Next":"W4"},
		"W4":{"Type":"Wait","Timestamp":"2024-01-02T03:04:00Z","Next":"S"},
		"S":{"Type":"Succeed","OutputPath":"$.s"}}}`
	jsonEq(t, h.mustRun(t, def, `{"s":5,"ts":"2024-01-02T03:05:00Z"}`), `5`)
	want := []time.Duration{10 * time.Second, 5 * time.Second, 40 * time.Second, 0}
	if got := h.clock.Sleeps(); !equalDurations(got, want) {
		t.Errorf("sleeps %v, want %v", got, want)
	}
	ja := `{"QueryLanguage":"JSONata","StartAt":"W","States":{"W":{"Type":"Wait","Seconds":"{% $states.input.s * 2 %}","Next":"F"},
		"F":{"Type":"Fail","Error":"{% 'E.' & $states.input.kind %}","Cause":"because"}}}`
	h2 := newHarness()
	res := h2.run(t, ja, `{"s":3,"kind":"X"}`)
	if res.Status != StatusFailed || res.Error != "E.X" || res.Cause != "because" {
		t.Errorf("fail: %+v", res)
	}
	if got := h2.clock.Sleeps(); !equalDurations(got, []time.Duration{6 * time.Second}) {
		t.Errorf("JSONata wait sleeps %v", got)
	}
	res = h2.run(t, `{"StartAt":"F","States":{"F":{"Type":"Fail","ErrorPath":"$.e","CausePath":"States.Format('n={}', $.n)"}}}`, `{"e":"Custom","n":1}`)
	if res.Error != "Custom" || res.Cause != "n=1" {
		t.Errorf("fail paths: %+v", res)
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAssignScoping(t *testing.T) {
	t.Parallel()
	// All expressions of one Assign see the old values; branches read outer
	// variables and keep their own.
	def := `{"StartAt":"A","States":{
		"A":{"Type":"Pass","Assign":{"x":1,"y":2},"Next":"B"},
		"B":{"Type":"Pass","Assign":{"x.$":"$y","y.$":"$x"},"Parameters":{"oldx.$":"$x"},"Next":"P"},
		"P":{"Type":"Parallel","Branches":[
			{"StartAt":"In","States":{"In":{"Type":"Pass","Assign":{"inner":"i"},"Next":"Read"},
				"Read":{"Type":"Pass","Parameters":{"x.$":"$x","inner.$":"$inner"},"End":true}}}],
			"ResultSelector":{"branch.$":"$[0]"},"Assign":{"fromBranch.$":"$.branch.inner"},"Next":"End"},
		"End":{"Type":"Pass","Parameters":{"x.$":"$x","y.$":"$y","fromBranch.$":"$fromBranch"},"End":true}}}`
	h := newHarness()
	jsonEq(t, h.mustRun(t, def, `{}`), `{"x":2,"y":1,"fromBranch":"i"}`)
	// The inner variable is not visible outside.
	res := h.run(t, `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"In","States":{"In":{"Type":"Pass","Assign":{"inner":1},"End":true}}}],"Next":"Out"},
		"Out":{"Type":"Pass","Parameters":{"v.$":"$inner"},"End":true}}}`, `{}`)
	if res.Status != StatusFailed {
		t.Errorf("inner variable leaked: %+v", res)
	}
	// JSONata: Output sees the old value.
	ja := `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"n":1},"Next":"B"},
		"B":{"Type":"Pass","Assign":{"n":"{% $n + 1 %}"},"Output":{"seen":"{% $n %}"},"Next":"C"},
		"C":{"Type":"Pass","Output":{"seen":"{% $states.input.seen %}","now":"{% $n %}"},"End":true}}}`
	jsonEq(t, h.mustRun(t, ja, `{}`), `{"seen":1,"now":2}`)
}

func TestMapToleranceAndConcurrency(t *testing.T) {
	t.Parallel()
	failOdd := func(_ context.Context, req TaskRequest) (json.RawMessage, error) {
		var v float64
		_ = json.Unmarshal(req.Input, &v)
		if int(v)%2 == 1 {
			return nil, &Error{Name: "Odd", Cause: "odd item"}
		}
		return req.Input, nil
	}
	mapDef := func(extra string) string {
		return `{"StartAt":"M","States":{"M":{"Type":"Map",` + extra + `"ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}}},"End":true}}}`
	}
	tests := []struct {
		name, extra, status, errName string
	}{
		{"no tolerance", ``, StatusFailed, "Odd"},
		{"count tolerated", `"ToleratedFailureCount":2,`, StatusSucceeded, ""},
		{"count exceeded", `"ToleratedFailureCount":1,`, StatusFailed, ErrExceedToleratedFailures},
		{"percentage tolerated", `"ToleratedFailurePercentage":50,`, StatusSucceeded, ""},
		{"percentage exceeded", `"ToleratedFailurePercentage":40,`, StatusFailed, ErrExceedToleratedFailures},
		{"concurrency 1", `"MaxConcurrency":1,"ToleratedFailureCount":5,`, StatusSucceeded, ""},
	}
	for _, tc := range tests {
		h := newHarness()
		h.on(lambdaInvoke, failOdd)
		res := h.run(t, mapDef(tc.extra), `[0,1,2,3]`)
		if res.Status != tc.status || res.Error != tc.errName {
			t.Errorf("%s: %+v", tc.name, res)
		}
		if tc.status == StatusSucceeded {
			jsonEq(t, string(res.Output), `[0,{"Error":"Odd","Cause":"odd item"},2,{"Error":"Odd","Cause":"odd item"}]`)
		}
	}
	// MaxConcurrency bounds the iterations running at once.
	h := newHarness()
	var running, peak atomic.Int32
	h.on(lambdaInvoke, func(_ context.Context, req TaskRequest) (json.RawMessage, error) {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		running.Add(-1)
		return req.Input, nil
	})
	h.mustRun(t, mapDef(`"MaxConcurrency":2,`), `[1,2,3,4,5,6,7,8]`)
	if peak.Load() > 2 {
		t.Errorf("peak concurrency %d", peak.Load())
	}
}

func TestItemBatcherAndReader(t *testing.T) {
	t.Parallel()
	h := newHarness()
	h.on("arn:aws:states:::s3:getObject", func(_ context.Context, req TaskRequest) (json.RawMessage, error) {
		return json.RawMessage(`[1,2,3,4,5]`), nil
	})
	def := `{"StartAt":"M","States":{"M":{"Type":"Map",
		"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","Parameters":{"Bucket.$":"$.bucket","Key":"k"}},
		"ItemBatcher":{"MaxItemsPerBatch":2,"BatchInput":{"job.$":"$.job"}},
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`
	var runs atomic.Int32
	h.cfg.OnChildRun = func(cr ChildRun) {
		if cr.Status == StatusSucceeded {
			runs.Add(1)
		}
	}
	out := h.mustRun(t, def, `{"bucket":"b","job":"j"}`)
	jsonEq(t, out, `[{"Items":[1,2],"BatchInput":{"job":"j"}},{"Items":[3,4],"BatchInput":{"job":"j"}},{"Items":[5],"BatchInput":{"job":"j"}}]`)
	if runs.Load() != 3 {
		t.Errorf("child runs reported: %d", runs.Load())
	}
	if got := string(h.tasks.Calls()[0].Input); got != `{"Bucket":"b","Key":"k"}` {
		t.Errorf("reader input %s", got)
	}
	// Batches by size: each item is 12 bytes; 30 bytes fit two.
	h2 := newHarness()
	def2 := `{"StartAt":"M","States":{"M":{"Type":"Map","ItemBatcher":{"MaxInputBytesPerBatch":30},
		"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","OutputPath":"$.Items","End":true}}},"End":true}}}`
	jsonEq(t, h2.mustRun(t, def2, `["aaaaaaaaaa","bbbbbbbbbb","cccccccccc"]`), `[["aaaaaaaaaa","bbbbbbbbbb"],["cccccccccc"]]`)
	h3 := newHarness()
	h3.on("arn:aws:states:::s3:getObject", func(context.Context, TaskRequest) (json.RawMessage, error) {
		return nil, &Error{Name: "S3.NoSuchKey"}
	})
	if res := h3.run(t, def, `{"bucket":"b","job":"j"}`); res.Error != ErrItemReaderFailed {
		t.Errorf("reader failure: %+v", res)
	}
}

func TestParallelFailureCancelsSiblings(t *testing.T) {
	t.Parallel()
	h := newHarness()
	h.on("arn:aws:states:::lambda:invoke.waitForTaskToken", func(ctx context.Context, req TaskRequest) (json.RawMessage, error) {
		<-ctx.Done() // a callback that never comes: only cancellation ends it
		return nil, ctx.Err()
	})
	h.on(lambdaInvoke, func(context.Context, TaskRequest) (json.RawMessage, error) {
		return nil, &Error{Name: "Boom", Cause: "bad"}
	})
	def := `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[
		{"StartAt":"Slow","States":{"Slow":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"token.$":"$$.Task.Token"},"End":true}}},
		{"StartAt":"Fast","States":{"Fast":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}}}],
		"Catch":[{"ErrorEquals":["Boom"],"ResultPath":"$.error","Next":"Handled"}],"End":true},
		"Handled":{"Type":"Pass","End":true}}}`
	jsonEq(t, h.mustRun(t, def, `{"a":1}`), `{"a":1,"error":{"Error":"Boom","Cause":"bad"}}`)
	types := strings.Join(h.sink.Types(), " ")
	if !strings.Contains(types, "ParallelStateFailed") {
		t.Errorf("history lacks ParallelStateFailed: %s", types)
	}
	for _, c := range h.tasks.Calls() {
		if c.Resource.Pattern == PatternWaitForTaskToken && (c.TaskToken == "" || !strings.Contains(string(c.Input), c.TaskToken)) {
			t.Errorf("task token not passed: %+v", c)
		}
	}
}

func TestDataLimitExceeded(t *testing.T) {
	t.Parallel()
	h := newHarness()
	big := strings.Repeat("x", MaxPayloadBytes)
	h.on(lambdaInvoke, func(context.Context, TaskRequest) (json.RawMessage, error) {
		return json.RawMessage(`"` + big + `"`), nil
	})
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
		"Catch":[{"ErrorEquals":["States.ALL"],"Next":"C"}],"End":true},"C":{"Type":"Succeed"}}}`
	res := h.run(t, def, `{}`)
	if res.Status != StatusFailed || res.Error != ErrDataLimitExceeded {
		t.Errorf("States.ALL caught DataLimitExceeded: %+v", res)
	}
	res = h.run(t, `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"v.$":"States.Format('{}{}', $.s, $.s)"},"End":true}}}`,
		`{"s":"`+big[:MaxPayloadBytes/2]+`"}`)
	if res.Error != ErrDataLimitExceeded {
		t.Errorf("parameters over the limit: %+v", res)
	}
}

func TestExecutionTimeoutAndAbort(t *testing.T) {
	t.Parallel()
	h := newHarness()
	res := h.run(t, `{"TimeoutSeconds":5,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":60,"End":true}}}`, `{}`)
	if res.Status != StatusTimedOut || res.Error != ErrTimeout {
		t.Errorf("timeout: %+v", res)
	}
	if types := h.sink.Types(); types[len(types)-1] != "ExecutionTimedOut" {
		t.Errorf("last event %v", types)
	}
	h2 := newHarness()
	ctx, cancel := context.WithCancel(context.Background())
	h2.on(lambdaInvoke, func(ctx context.Context, req TaskRequest) (json.RawMessage, error) {
		cancel()
		<-ctx.Done()
		return nil, ctx.Err()
	})
	d, _ := Parse(`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}}}`)
	res = New(d, h2.cfg).Start(ctx, testExec, json.RawMessage(`{}`))
	if res.Status != StatusAborted {
		t.Errorf("abort: %+v", res)
	}
	if types := h2.sink.Types(); types[len(types)-1] != "ExecutionAborted" {
		t.Errorf("last event %v", types)
	}
}

func TestJSONataFunctions(t *testing.T) {
	t.Parallel()
	h := newHarness()
	def := `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Output":{
		"part":"{% $partition([1,2,3], 2) %}","range":"{% $range(0, 10, 5) %}","hash":"{% $hash('input data', 'SHA-256') %}",
		"r1":"{% $random(7) %}","r2":"{% $random(7) %}","uuid":"{% $length($uuid()) %}","parsed":"{% $parse('{\"a\":[1]}') %}",
		"now":"{% $now() %}"},"End":true}}}`
	out := h.mustRun(t, def, `{}`)
	var got map[string]any
	_ = json.Unmarshal([]byte(out), &got)
	jsonEq(t, mustJSON(got["part"]), `[[1,2],[3]]`)
	jsonEq(t, mustJSON(got["range"]), `[0,5,10]`)
	jsonEq(t, mustJSON(got["parsed"]), `{"a":[1]}`)
	if got["hash"] != "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3" || got["r1"] != got["r2"] ||
		got["uuid"] != 36.0 || got["now"] != "2024-01-02T03:04:05.000Z" {
		t.Errorf("output %s", out)
	}
	res := h.run(t, `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Output":"{% $states.input.nope %}","End":true}}}`, `{}`)
	if res.Error != ErrQueryEvaluationError || !strings.Contains(res.Cause, "undefined") {
		t.Errorf("undefined: %+v", res)
	}
}
