package e2e_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// hostPython is the Lambda runtime of the host's system Python (python3.X for /usr/bin/python3):
// the one a python function runs on here. The test skips without one.
func hostPython(t testing.TB) ltypes.Runtime {
	t.Helper()
	out, err := exec.Command("/usr/bin/python3", "-c", "import sys; print('python3.%d' % sys.version_info[1])").Output()
	if err != nil {
		t.Skipf("no system python3: %v", err)
	}
	return ltypes.Runtime(strings.TrimSpace(string(out)))
}

// hostNode is the Lambda runtime of the host's node (nodejsN.x); the test skips without one.
func hostNode(t *testing.T) ltypes.Runtime {
	t.Helper()
	out, err := exec.Command("node", "--version").Output()
	if err != nil {
		t.Skipf("no node: %v", err)
	}
	major, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(string(out)), "v"), ".")
	return ltypes.Runtime("nodejs" + major + ".x")
}

// TestRuntimesHonest: a function runs on the interpreter its runtime names, and a runtime this
// host cannot run as named is refused at CreateFunction, naming those it can.
func TestRuntimesHonest(t *testing.T) {
	t.Parallel()
	have := hostPython(t)
	b := bargetest.Start(t)
	c, ctx := lambda.NewFromConfig(b.Config()), context.Background()
	pkg := pythonPackage(t, "app.py", "import sys\ndef handler(event, context):\n    return 'python3.%d' % sys.version_info[1]\n")
	create := func(name string, rt ltypes.Runtime) error {
		_, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: rt,
			Handler: aws.String("app.handler"), Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: pkg}})
		return err
	}
	if err := create("py", have); err != nil {
		t.Fatal(err)
	}
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("py")})
	if err != nil || string(out.Payload) != `"`+string(have)+`"` {
		t.Fatalf("a %s function ran on %s (%v)", have, out.Payload, err)
	}
	var missing ltypes.Runtime
	for minor := 8; minor < 20; minor++ {
		rt := ltypes.Runtime(fmt.Sprintf("python3.%d", minor))
		if _, err := os.Stat("/usr/bin/" + string(rt)); err != nil {
			if _, err := os.Stat("/usr/local/bin/" + string(rt)); err != nil {
				missing = rt
				break
			}
		}
	}
	err = create("other", missing)
	var bad *ltypes.InvalidParameterValueException
	if !errors.As(err, &bad) || !strings.Contains(aws.ToString(bad.Message), string(missing)) || !strings.Contains(aws.ToString(bad.Message), string(have)) {
		t.Fatalf("CreateFunction with %s, which this host lacks: %v", missing, err)
	}
}

// TestLogTailUnderLoad: with the CPU saturated, every invoke's LogResult holds all the function
// printed before it answered (the tail is taken only once the output in the pipes has come
// through).
func TestLogTailUnderLoad(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := lambda.NewFromConfig(b.Config()), context.Background()
	pkg := pythonPackage(t, "app.py", "import sys\ndef handler(event, context):\n    for i in range(100):\n        print('line', i)\n    sys.stderr.write('last words\\n')\n    return 'ok'\n")
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("chatty"), Runtime: hostPython(t),
		Handler: aws.String("app.handler"), Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: pkg}}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // a busy loop per core
		burn := exec.Command("sh", "-c", "while :; do :; done")
		if err := burn.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { burn.Process.Kill(); burn.Wait() }()
	}
	for i := range 20 {
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("chatty"), LogType: ltypes.LogTypeTail})
		if err != nil {
			t.Fatal(err)
		}
		tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		if !strings.Contains(string(tail), "line 99\n") || !strings.Contains(string(tail), "last words\n") {
			t.Fatalf("invoke %d: the tail lacks the function's last output:\n%s", i, tail)
		}
	}
}
