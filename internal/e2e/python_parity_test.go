package e2e_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// pythonParityCode is one package with a handler per behaviour, and modules that fail to load.
var pythonParityCode = map[string]string{
	"app.py": `
import decimal, logging
logger = logging.getLogger()
logger.setLevel(logging.INFO)

def logs(event, context):
    logger.info("info line %s", 1)
    logging.getLogger("child").warning("multi\nline")
    logger.debug("not at INFO")
    context.log("via context.log\n")
    print("plain print")
    return "ok"

def dec(event, context):
    return {"n": decimal.Decimal("1.5"), "i": decimal.Decimal("3")}

def aset(event, context):
    return {1, 2}

def boom(event, context):
    raise ValueError("boom requested")

def sdk(event, context):
    import boto3
    me = boto3.client("lambda").get_function_configuration(FunctionName=context.function_name)
    return me["FunctionName"]

def remaining(event, context):
    return 0 < context.get_remaining_time_in_millis() <= 3000
`,
	"broken.py": "def handler(event, context:\n    return 1\n",
	"jlog.py":   "import logging\ndef handler(event, context):\n    logging.getLogger().debug('dbg %d', 2)\n    logging.getLogger('x').info('hello')\n    return 'ok'\n",
}

// TestPythonParity: a Python function behaves as on Lambda's Python runtime where code can tell —
// the root logger's handler and line format, context.log, Decimal results, and the error type of
// each way a function can fail to load or answer.
func TestPythonParity(t *testing.T) {
	t.Parallel()
	rt := hostPython(t)
	b := bargetest.Start(t)
	c, ctx := lambda.NewFromConfig(b.Config()), context.Background()
	pkg := zipSources(t, pythonParityCode)
	invoke := func(t *testing.T, handler string) (*lambda.InvokeOutput, string) {
		t.Helper()
		name := strings.NewReplacer(".", "-", "/", "-").Replace(handler)
		if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: rt,
			Handler: aws.String(handler), Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: pkg}}); err != nil {
			t.Fatal(err)
		}
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), LogType: ltypes.LogTypeTail})
		if err != nil {
			t.Fatal(err)
		}
		tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		return out, string(tail)
	}

	t.Run("logging", func(t *testing.T) {
		out, tail := invoke(t, "app.logs")
		id := regexp.QuoteMeta(requestIDOf(tail))
		for _, want := range []string{
			`(?m)^\[INFO\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t` + id + `\tinfo line 1$`,
			`(?m)^\[WARNING\]\t[^\t]+\t` + id + "\tmulti\rline$", // one event
			`via context\.log`,
			`(?m)^plain print$`,
		} {
			if !regexp.MustCompile(want).MatchString(tail) {
				t.Errorf("the log tail lacks %q:\n%s", want, tail)
			}
		}
		if strings.Contains(tail, "not at INFO") || string(out.Payload) != `"ok"` {
			t.Errorf("payload %s, tail:\n%s", out.Payload, tail)
		}
	})
	t.Run("JSON logs", func(t *testing.T) {
		if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("jlog"), Runtime: rt,
			Handler: aws.String("jlog.handler"), Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: pkg},
			LoggingConfig: &ltypes.LoggingConfig{LogFormat: ltypes.LogFormatJson, ApplicationLogLevel: ltypes.ApplicationLogLevelDebug}}); err != nil {
			t.Fatal(err)
		}
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("jlog"), LogType: ltypes.LogTypeTail})
		if err != nil {
			t.Fatal(err)
		}
		tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		id := requestIDOf(string(tail))
		var got []map[string]string
		for _, line := range strings.Split(string(tail), "\n") {
			var m map[string]string
			if json.Unmarshal([]byte(line), &m) == nil {
				got = append(got, m)
			}
		}
		if len(got) != 2 || got[0]["level"] != "DEBUG" || got[0]["message"] != "dbg 2" || got[1]["level"] != "INFO" ||
			got[1]["message"] != "hello" || got[1]["logger"] != "x" || got[1]["requestId"] != id || got[1]["timestamp"] == "" {
			t.Errorf("JSON log lines %v in:\n%s", got, tail)
		}
	})
	t.Run("decimal", func(t *testing.T) {
		if out, _ := invoke(t, "app.dec"); string(out.Payload) != `{"n": 1.5, "i": 3}` {
			t.Errorf("a Decimal result: %s", out.Payload)
		}
	})
	t.Run("boto3", func(t *testing.T) {
		if _, err := os.Stat("/usr/local/lib/barge/python/usr/lib/python3/dist-packages/boto3"); err != nil {
			t.Skip("boto3 is not installed for functions (barge runtime install python-boto3)")
		}
		if out, tail := invoke(t, "app.sdk"); string(out.Payload) != `"app-sdk"` {
			t.Errorf("boto3 calling barge from a function: %s\n%s", out.Payload, tail)
		}
	})
	t.Run("remaining time", func(t *testing.T) {
		if out, _ := invoke(t, "app.remaining"); string(out.Payload) != "true" {
			t.Errorf("get_remaining_time_in_millis: %s", out.Payload)
		}
	})
	for _, tc := range []struct{ handler, errorType, message string }{
		{"app.aset", "Runtime.MarshalError", "Unable to marshal response: Object of type set is not JSON serializable"},
		{"app.boom", "ValueError", "boom requested"},
		{"missing.handler", "Runtime.ImportModuleError", "Unable to import module 'missing': No module named 'missing'"},
		{"app.nope", "Runtime.HandlerNotFound", "Handler 'nope' missing on module 'app'"},
		{"broken.handler", "Runtime.UserCodeSyntaxError", "Syntax error in module 'broken'"},
		{"nodot", "Runtime.MalformedHandlerName", "Bad handler 'nodot'"},
	} {
		t.Run(tc.errorType, func(t *testing.T) {
			out, tail := invoke(t, tc.handler)
			if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), `"errorType": "`+tc.errorType+`"`) ||
				!strings.Contains(string(out.Payload), tc.message) {
				t.Errorf("%s: %s %s", tc.handler, aws.ToString(out.FunctionError), out.Payload)
			}
			if !strings.Contains(tail, "[ERROR] "+tc.errorType+": ") {
				t.Errorf("%s: the log tail lacks the error:\n%s", tc.handler, tail)
			}
		})
	}
}

// requestIDOf is the request id of a log tail's START line.
func requestIDOf(tail string) string {
	m := regexp.MustCompile(`START RequestId: (\S+)`).FindStringSubmatch(tail)
	if m == nil {
		return ""
	}
	return m[1]
}
