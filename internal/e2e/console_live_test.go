package e2e_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// TestConsoleLiveJobFunctionsAndAccounts: a running job's page follows its log, the functions
// page counts invocations and warm instances, and another account's console sees none of it.
func TestConsoleLiveJobFunctionsAndAccounts(t *testing.T) {
	t.Parallel()
	chrome := chromium(t)
	dir, other := twoAccounts(t)
	b := bargetest.Start(t, bargetest.WithDataDir(dir))
	bc, ctx := b.Batch(), context.Background()
	c := bargeCLI{t, ctx, bargetest.Binary(t), b.Env()}

	register(t, bc, "console-live", &types.ContainerProperties{Command: []string{"sh", "-c", "echo live-line-1; sleep 120"}})
	id := submit(t, bc, &batch.SubmitJobInput{JobName: aws.String("console-running"), JobDefinition: aws.String("console-live")})
	defer bc.TerminateJob(ctx, &batch.TerminateJobInput{JobId: aws.String(id), Reason: aws.String("test over")})
	j := bargetest.WaitJob(t, bc, id, jobWait, func(s string) bool { return s == "RUNNING" || terminal(s) })
	if j.Status != types.JobStatusRunning {
		t.Fatalf("the live job is %s, want RUNNING", j.Status)
	}
	stream := aws.ToString(j.Container.LogStreamName)
	deadline := time.Now().Add(jobWait)
	for lines, _ := logLinesSoFar(b.Logs(), stream); !slices.Contains(lines, "live-line-1"); lines, _ = logLinesSoFar(b.Logs(), stream) {
		if time.Now().After(deadline) {
			t.Fatalf("the live job's log never held its line (stream %s)", stream)
		}
		time.Sleep(50 * time.Millisecond)
	}
	page := browser(t, chrome, consoleURL(t, c, b, "--job", id), "--dump-dom")
	for _, want := range []string{"live-line-1", "following", `http-equiv="refresh"`, "RUNNING"} {
		if !strings.Contains(page, want) {
			t.Errorf("the running job's page lacks %q:\n%s", want, page)
		}
	}

	lc := lambda.NewFromConfig(b.Config())
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("console-echo"), Runtime: ltypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Role: aws.String("arn:aws:iam::000000000000:role/any"), Code: &ltypes.FunctionCode{ZipFile: echoFunction(t)}}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("console-echo"), Payload: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	// The instance turns idle (warm) once its answer is sent: poll the page until it says so.
	fns := ""
	for deadline := time.Now().Add(jobWait); !strings.Contains(fns, `class="warm">1<`); {
		if time.Now().After(deadline) {
			t.Fatalf("the functions page never showed a warm instance:\n%s", fns)
		}
		fns = browser(t, chrome, consoleURL(t, c, b)+"&next=/console/functions", "--dump-dom")
	}
	if !strings.Contains(fns, `data-function="console-echo"`) || !strings.Contains(fns, `class="invocations">2<`) || !strings.Contains(fns, `class="errors">0<`) {
		t.Errorf("the functions page lacks the function's 2 invocations and 0 errors:\n%s", fns)
	}

	// Another account's console: its own (empty) pages, none of the first account's data.
	oc := bargeCLI{t, ctx, c.bin, append(b.Env(), "AWS_ACCESS_KEY_ID="+other.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+other.SecretAccessKey)}
	theirs := browser(t, chrome, consoleURL(t, oc, b), "--dump-dom") +
		browser(t, chrome, consoleURL(t, oc, b)+"&next=/console/functions", "--dump-dom")
	if !strings.Contains(theirs, "account 111111111111") {
		t.Errorf("the other account's console does not name its account:\n%s", theirs)
	}
	for _, leak := range []string{id, "console-running", "console-echo"} {
		if strings.Contains(theirs, leak) {
			t.Errorf("another account's jobs or functions page shows %q", leak)
		}
	}
	// The job's page (whose URL holds the id) says the account has no such job, and shows nothing of it.
	job := browser(t, chrome, consoleURL(t, oc, b, "--job", id), "--dump-dom")
	if !strings.Contains(job, "has no job") || strings.Contains(job, "console-running") || strings.Contains(job, "live-line-1") {
		t.Errorf("another account's console shows the job:\n%s", job)
	}
}
