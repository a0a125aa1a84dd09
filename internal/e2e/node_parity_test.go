package e2e_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// nodeParitySources is the package every TestNodeParity function is made of; each function
// names its own handler in it.
var nodeParitySources = map[string]string{
	"cases.js": `
exports.succeed = (event, context) => { context.succeed({ via: 'succeed', n: event.n }); };
exports.succeedNow = (event, context) => {
  setTimeout(() => console.log('after succeed'), 1500);
  context.succeed('now');
};
exports.fail = (event, context) => { context.fail(new RangeError('failed on purpose')); };
exports.failString = (event, context) => { context.fail('plain words'); };
exports.doneResult = (event, context) => { context.done(null, { via: 'done' }); };
exports.doneError = (event, context) => { context.done(new Error('done with an error')); };

exports.waits = (event, context, callback) => {
  setTimeout(() => console.log('timer fired'), 200);
  callback(null, 'answered');
};
exports.noWait = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = false;
  setTimeout(() => console.log('late timer fired'), 1500);
  callback(null, 'early');
};
exports.returnsValue = () => {
  setTimeout(() => console.log('tick'), 50);
  return 'ignored, as on Lambda';
};

exports.rejectUnawaited = (event, context, callback) => {
  if (event.ok) return callback(null, 'fine');
  Promise.reject(new Error('x'));
};
exports.asyncRejectUnawaited = async (event) => {
  if (event.ok) return 'fine';
  Promise.reject(new Error('y'));
  await new Promise(() => {});
};
exports.throwInTimer = (event, context, callback) => {
  if (event.ok) return callback(null, 'fine');
  setTimeout(() => { throw new TypeError('late boom'); }, 10);
};
`,
	"logs.js": `
console.log('init line');
exports.handler = (event, context, callback) => {
  console.log('log %s %d', 'formatted', 7, { a: 1 });
  console.info('info line');
  console.warn('warn line');
  console.error(new Error('two\nlines'));
  console.debug('debug line');
  console.trace('trace line');
  callback(null, context.awsRequestId);
};
`,
	"json.js": `
exports.handler = async (event, context) => {
  console.info('hello %d', 42);
  console.debug('debug shown');
  console.warn('warn shown');
  console.error(new TypeError('json err'));
  return { id: context.awsRequestId, format: process.env.AWS_LAMBDA_LOG_FORMAT, level: process.env.AWS_LAMBDA_LOG_LEVEL };
};
`,
	"esm.mjs": `
const answer = await Promise.resolve(5);
export const handler = async (event) => {
  console.info('esm log');
  return { answer, n: event.n };
};
`,
	"syntax.js":   "exports.handler = () => { return ) };\n",
	"dep.js":      "require('not-a-package');\nexports.handler = async () => 1;\n",
	"esmdep.mjs":  "import x from 'nope-pkg';\nexport const handler = async () => x;\n",
	"initboom.js": "throw new TypeError('init boom');\n",
}

// TestNodeParity: barge's Node.js runtime behaves as Lambda's nodejs runtimes — the legacy
// context completions, callbackWaitsForEmptyEventLoop, unhandled rejections and uncaught
// exceptions that fail the invocation and end the process, console lines prefixed with time,
// request id and level (or JSON objects with LoggingConfig JSON, filtered by level), and
// Lambda's init error types.
func TestNodeParity(t *testing.T) {
	t.Parallel()
	rt := hostNode(t)
	pkg := zipSources(t, nodeParitySources)
	b := bargetest.Start(t)
	c, ctx := lambda.NewFromConfig(b.Config()), context.Background()
	create := func(name, handler string, logging *ltypes.LoggingConfig) {
		t.Helper()
		if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: rt,
			Handler: aws.String(handler), Role: aws.String("arn:aws:iam::000000000000:role/any"), Timeout: aws.Int32(10),
			Code: &ltypes.FunctionCode{ZipFile: pkg}, LoggingConfig: logging}); err != nil {
			t.Fatalf("creating %s: %v", name, err)
		}
	}
	invoke := func(t *testing.T, fn, payload string) (out *lambda.InvokeOutput, tail, id string) {
		t.Helper()
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: []byte(payload), LogType: ltypes.LogTypeTail})
		if err != nil {
			t.Fatalf("invoking %s: %v", fn, err)
		}
		raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		if err != nil {
			t.Fatalf("%s: LogResult: %v", fn, err)
		}
		id, _ = awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
		if id == "" {
			t.Fatalf("%s: no request id", fn)
		}
		return out, string(raw), id
	}
	// errorOf decodes an error document, failing unless the invocation failed.
	errorOf := func(t *testing.T, out *lambda.InvokeOutput) (doc struct {
		Type    string   `json:"errorType"`
		Message string   `json:"errorMessage"`
		Trace   []string `json:"trace"`
	}) {
		t.Helper()
		if aws.ToString(out.FunctionError) != "Unhandled" {
			t.Fatalf("FunctionError %q, want Unhandled (payload %s)", aws.ToString(out.FunctionError), out.Payload)
		}
		if err := json.Unmarshal(out.Payload, &doc); err != nil {
			t.Fatalf("error document %s: %v", out.Payload, err)
		}
		return doc
	}
	// afterEnd waits until line shows in fn's log stream and checks it came after the END line
	// of invocation id: printed once the invocation had been answered.
	afterEnd := func(t *testing.T, fn, id, line string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			msgs := logMessages(t, b, fn)
			end := slices.IndexFunc(msgs, func(m string) bool { return strings.HasPrefix(m, "END RequestId: "+id) })
			at := slices.IndexFunc(msgs, func(m string) bool { return strings.HasSuffix(m, "\t"+line) })
			if end >= 0 && at >= 0 {
				if at < end {
					t.Fatalf("%q was logged before invocation %s ended:\n%s", line, id, strings.Join(msgs, "\n"))
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%q never reached %s's log stream:\n%s", line, fn, strings.Join(msgs, "\n"))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	completions := []struct {
		fn, handler string
		payload     string // the answer, or "" for an error
		errType     string
		errMessage  string
	}{
		{fn: "succeed", handler: "cases.succeed", payload: `{"via":"succeed","n":3}`},
		{fn: "fail", handler: "cases.fail", errType: "RangeError", errMessage: "failed on purpose"},
		{fn: "fail-string", handler: "cases.failString", errType: "string", errMessage: "plain words"},
		{fn: "done-result", handler: "cases.doneResult", payload: `{"via":"done"}`},
		{fn: "done-error", handler: "cases.doneError", errType: "Error", errMessage: "done with an error"},
		{fn: "esm", handler: "esm.handler", payload: `{"answer":5,"n":3}`},
	}
	for _, cs := range completions {
		create(cs.fn, cs.handler, nil)
	}
	for _, name := range []string{"succeedNow", "waits", "noWait", "returnsValue", "rejectUnawaited", "asyncRejectUnawaited", "throwInTimer"} {
		create(strings.ToLower(name), "cases."+name, nil)
	}
	create("logs", "logs.handler", nil)
	create("json-info", "json.handler", &ltypes.LoggingConfig{LogFormat: ltypes.LogFormatJson})
	create("json-debug", "json.handler", &ltypes.LoggingConfig{LogFormat: ltypes.LogFormatJson, ApplicationLogLevel: ltypes.ApplicationLogLevelDebug})
	create("json-warn", "json.handler", &ltypes.LoggingConfig{LogFormat: ltypes.LogFormatJson, ApplicationLogLevel: ltypes.ApplicationLogLevelWarn})
	initErrors := []struct {
		fn, handler, errType, errMessage string // errMessage: a prefix
	}{
		{"init-no-module", "nofile.handler", "Runtime.ImportModuleError", "Error: Cannot find module 'nofile'"},
		{"init-no-export", "cases.nope", "Runtime.HandlerNotFound", "cases.nope is undefined or not exported"},
		{"init-bad-name", "cases", "Runtime.MalformedHandlerName", "Bad handler"},
		{"init-syntax", "syntax.handler", "Runtime.UserCodeSyntaxError", "SyntaxError: "},
		{"init-no-dep", "dep.handler", "Runtime.ImportModuleError", "Error: Cannot find module 'not-a-package'"},
		{"init-no-esm-dep", "esmdep.handler", "Runtime.ImportModuleError", "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'nope-pkg'"},
		{"init-throws", "initboom.handler", "TypeError", "init boom"},
	}
	for _, ie := range initErrors {
		create(ie.fn, ie.handler, nil)
	}

	t.Run("completions", func(t *testing.T) {
		t.Parallel()
		for _, cs := range completions {
			t.Run(cs.fn, func(t *testing.T) {
				t.Parallel()
				out, _, _ := invoke(t, cs.fn, `{"n":3}`)
				if cs.payload != "" {
					if out.FunctionError != nil || string(out.Payload) != cs.payload {
						t.Fatalf("%s answered %s (%s), want %s", cs.handler, out.Payload, aws.ToString(out.FunctionError), cs.payload)
					}
					return
				}
				if doc := errorOf(t, out); doc.Type != cs.errType || doc.Message != cs.errMessage {
					t.Fatalf("%s failed with %s, want %s %q", cs.handler, out.Payload, cs.errType, cs.errMessage)
				}
			})
		}
	})

	t.Run("succeed does not wait for the event loop", func(t *testing.T) {
		t.Parallel()
		out, tail, id := invoke(t, "succeednow", `{}`)
		if string(out.Payload) != `"now"` || strings.Contains(tail, "after succeed") {
			t.Fatalf("context.succeed with a timer pending: %s, tail:\n%s", out.Payload, tail)
		}
		afterEnd(t, "succeednow", id, "after succeed")
	})

	t.Run("callback waits for the empty event loop", func(t *testing.T) {
		t.Parallel()
		out, tail, id := invoke(t, "waits", `{}`)
		if string(out.Payload) != `"answered"` {
			t.Fatalf("payload %s", out.Payload)
		}
		// The timer scheduled before the callback ran before the answer: its line is in the
		// tail, which holds what was printed before the answer, ahead of END.
		fired, end := strings.Index(tail, "\tINFO\ttimer fired\n"), strings.Index(tail, "END RequestId: "+id)
		if fired < 0 || end < 0 || fired > end {
			t.Fatalf("the pending timer did not run before the answer:\n%s", tail)
		}
	})

	t.Run("callbackWaitsForEmptyEventLoop false", func(t *testing.T) {
		t.Parallel()
		out, tail, id := invoke(t, "nowait", `{}`)
		if string(out.Payload) != `"early"` || strings.Contains(tail, "late timer fired") {
			t.Fatalf("answered %s after the pending timer ran:\n%s", out.Payload, tail)
		}
		afterEnd(t, "nowait", id, "late timer fired")
	})

	t.Run("a plain return value is ignored", func(t *testing.T) {
		t.Parallel()
		out, tail, _ := invoke(t, "returnsvalue", `{}`)
		if string(out.Payload) != "null" || out.FunctionError != nil || !strings.Contains(tail, "\tINFO\ttick\n") {
			t.Fatalf("a handler that returns a value without a promise or callback: %s, tail:\n%s", out.Payload, tail)
		}
	})

	t.Run("fatal errors", func(t *testing.T) {
		t.Parallel()
		for _, fe := range []struct {
			fn, errType, errMessage, logged string
		}{
			{"rejectunawaited", "Runtime.UnhandledPromiseRejection", "Error: x", "Unhandled Promise Rejection"},
			{"asyncrejectunawaited", "Runtime.UnhandledPromiseRejection", "Error: y", "Unhandled Promise Rejection"},
			{"throwintimer", "TypeError", "late boom", "Uncaught Exception"},
		} {
			t.Run(fe.fn, func(t *testing.T) {
				t.Parallel()
				out, tail, id := invoke(t, fe.fn, `{}`)
				doc := errorOf(t, out)
				if doc.Type != fe.errType || doc.Message != fe.errMessage || len(doc.Trace) == 0 {
					t.Fatalf("failed with %s, want %s %q", out.Payload, fe.errType, fe.errMessage)
				}
				logged := regexp.MustCompile(`(?m)^\S+\t` + regexp.QuoteMeta(id) + `\tERROR\t` + fe.logged + ` \t\{"errorType":"` +
					regexp.QuoteMeta(fe.errType) + `","errorMessage":"` + regexp.QuoteMeta(fe.errMessage) + `"`)
				if !logged.MatchString(tail) {
					t.Fatalf("the tail does not log the %s:\n%s", fe.logged, tail)
				}
				// The process ended: the next event goes to a new instance, which answers it.
				out, tail, _ = invoke(t, fe.fn, `{"ok":true}`)
				if string(out.Payload) != `"fine"` || !strings.Contains(tail, "\tInit Duration: ") {
					t.Fatalf("after the %s: %s (%s), not a new instance's:\n%s", fe.logged, out.Payload, aws.ToString(out.FunctionError), tail)
				}
			})
		}
	})

	t.Run("text logs", func(t *testing.T) {
		t.Parallel()
		out, tail, id := invoke(t, "logs", `{}`)
		if string(out.Payload) != `"`+id+`"` {
			t.Fatalf("the handler's request id %s is not the invocation's %s", out.Payload, id)
		}
		prefix := `(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t` + regexp.QuoteMeta(id) + `\t`
		for _, want := range []string{
			`INFO\tlog formatted 7 \{ a: 1 \}$`,
			`INFO\tinfo line$`,
			`WARN\twarn line$`,
			`ERROR\tError: two\rlines\r    at [^\n]+$`, // one line: the stack's newlines are \r
			`DEBUG\tdebug line$`,
			`TRACE\ttrace line$`,
		} {
			if !regexp.MustCompile(prefix + want).MatchString(tail) {
				t.Errorf("no line matching %q in the tail:\n%s", want, tail)
			}
		}
		// The log stream has the multi-line error as one event, and the init line with the
		// request id undefined, as Lambda logs what a function prints outside an invocation.
		msgs := logMessages(t, b, "logs")
		initLine := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\tundefined\tINFO\tinit line$`)
		if !slices.ContainsFunc(msgs, initLine.MatchString) {
			t.Errorf("no init line with request id undefined in the stream:\n%q", msgs)
		}
		if !slices.ContainsFunc(msgs, func(m string) bool {
			return strings.Contains(m, "\tERROR\tError: two\rlines\r    at ")
		}) {
			t.Errorf("the error with a stack is not one event:\n%q", msgs)
		}
	})

	t.Run("JSON logs", func(t *testing.T) {
		t.Parallel()
		got, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("json-info")})
		if err != nil || got.Configuration.LoggingConfig == nil || got.Configuration.LoggingConfig.LogFormat != ltypes.LogFormatJson ||
			got.Configuration.LoggingConfig.ApplicationLogLevel != ltypes.ApplicationLogLevelInfo {
			t.Fatalf("GetFunction's LoggingConfig: %v %+v", err, got)
		}
		for _, jc := range []struct {
			fn, level string
			shown     []string // messages logged; the others are filtered out
		}{
			{"json-info", "INFO", []string{"hello 42", "warn shown", "json err"}},
			{"json-debug", "DEBUG", []string{"hello 42", "debug shown", "warn shown", "json err"}},
			{"json-warn", "WARN", []string{"warn shown", "json err"}},
		} {
			t.Run(jc.fn, func(t *testing.T) {
				t.Parallel()
				out, tail, id := invoke(t, jc.fn, `{}`)
				var env struct{ ID, Format, Level string }
				if err := json.Unmarshal(out.Payload, &env); err != nil || env.ID != id || env.Format != "JSON" || env.Level != jc.level {
					t.Fatalf("the function saw %s (%v), want its request id, AWS_LAMBDA_LOG_FORMAT JSON and AWS_LAMBDA_LOG_LEVEL %s", out.Payload, err, jc.level)
				}
				stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
				var shown []string
				for _, line := range strings.Split(tail, "\n") {
					if !strings.HasPrefix(line, "{") {
						continue
					}
					var ev struct {
						Timestamp, Level, RequestID, Message, ErrorType, ErrorMessage string
						StackTrace                                                    []string
					}
					if err := json.Unmarshal([]byte(line), &ev); err != nil {
						t.Fatalf("a JSON log line that does not parse: %s (%v)", line, err)
					}
					if !stamp.MatchString(ev.Timestamp) || ev.RequestID != id || ev.Level == "" {
						t.Errorf("log line without Lambda's timestamp, request id or level: %s", line)
					}
					msg := ev.Message
					if ev.ErrorType != "" {
						if ev.Level != "ERROR" || ev.ErrorType != "TypeError" || len(ev.StackTrace) < 2 {
							t.Errorf("the logged error: %s", line)
						}
						msg = ev.ErrorMessage
					}
					shown = append(shown, msg)
				}
				if !slices.Equal(shown, jc.shown) {
					t.Fatalf("logged %q at %s, want %q; tail:\n%s", shown, jc.level, jc.shown, tail)
				}
			})
		}
	})

	t.Run("init errors", func(t *testing.T) {
		t.Parallel()
		for _, ie := range initErrors {
			t.Run(ie.fn, func(t *testing.T) {
				t.Parallel()
				out, _, _ := invoke(t, ie.fn, `{}`)
				doc := errorOf(t, out)
				if doc.Type != ie.errType || !strings.HasPrefix(doc.Message, ie.errMessage) {
					t.Fatalf("%s: %s, want %s %q…", ie.handler, out.Payload, ie.errType, ie.errMessage)
				}
				if len(doc.Trace) == 0 || !strings.HasPrefix(doc.Trace[0], ie.errType+": ") {
					t.Fatalf("%s: trace %q", ie.handler, doc.Trace)
				}
				// The runtime logged the error as Lambda's does, outside any invocation.
				logged := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\tundefined\tERROR\tUncaught Exception \t\{"errorType":"` +
					regexp.QuoteMeta(ie.errType) + `","errorMessage":"` + regexp.QuoteMeta(ie.errMessage))
				deadline := time.Now().Add(15 * time.Second)
				for msgs := logMessages(t, b, ie.fn); !slices.ContainsFunc(msgs, logged.MatchString); msgs = logMessages(t, b, ie.fn) {
					if time.Now().After(deadline) {
						t.Fatalf("%s: no init error line in the stream:\n%q", ie.handler, msgs)
					}
					time.Sleep(50 * time.Millisecond)
				}
			})
		}
	})
}
