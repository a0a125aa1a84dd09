package fn

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// answerThenExit is a runtime that answers its first event and exits instead of asking for the
// next, as Lambda's Node.js runtime does after an unhandled promise rejection.
const answerThenExit = `#!/bin/sh
api=http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime
id=$(curl -sS -D - -o /dev/null "$api/invocation/next" | tr -d '\r' | sed -n 's/^[Ll]ambda-[Rr]untime-[Aa]ws-[Rr]equest-[Ii]d: //p')
curl -sS -X POST -d '"answered"' "$api/invocation/$id/response" >/dev/null
exit 7
`

// TestExitAfterAnswer: an instance whose runtime exits right after answering is not handed the
// next event (Lambda gives an environment an event only once its runtime asks for one); each
// event goes to a new instance and is answered.
func TestExitAfterAnswer(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte(answerThenExit), 0o755); err != nil {
		t.Fatal(err)
	}
	p, _ := newPool(t, Config{})
	fn := echoSpec("answers-then-exits")
	fn.CodeDir = dir
	for i := range 5 {
		res := invoke(t, p, fn, `{}`)
		if res.FunctionError != "" || string(res.Payload) != `"answered"` || !res.ColdStart {
			t.Fatalf("invoke %d: %s (%s), cold start %v; want a new instance's answer", i, res.Payload, res.FunctionError, res.ColdStart)
		}
	}
}
