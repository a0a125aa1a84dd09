package e2e_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// chromium finds Debian's headless-capable Chromium, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium or chromium-browser on PATH: the console's browser test needs Debian's package chromium (apt-get install chromium)")
	return ""
}

// browser runs one headless Chromium on url with a fresh profile; extra are more flags
// (--dump-dom, --screenshot=…). Its stdout: the DOM after load, with --dump-dom.
func browser(t *testing.T, bin, u string, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
		"--user-data-dir=" + t.TempDir()}, extra...)
	out, err := exec.CommandContext(ctx, bin, append(args, u)...).Output()
	if err != nil {
		t.Fatalf("chromium %s: %v", u, err)
	}
	return string(out)
}

// consoleURL runs `barge console` with args and returns the login URL it prints.
func consoleURL(t *testing.T, c bargeCLI, b *bargetest.Barge, args ...string) string {
	t.Helper()
	u := strings.TrimSpace(c.ok(append([]string{"console"}, args...)...).stdout)
	if !strings.HasPrefix(u, b.Endpoint+"/console/login?token=") {
		t.Fatalf("barge console printed %q, want %s/console/login?token=…", u, b.Endpoint)
	}
	return u
}

func TestConsoleInBrowser(t *testing.T) {
	t.Parallel()
	chrome := chromium(t)
	b := bargetest.Start(t)
	bc, ctx := b.Batch(), context.Background()
	c := bargeCLI{t, ctx, bargetest.Binary(t), b.Env()}
	register(t, bc, "console-echo", &types.ContainerProperties{Command: []string{"sh", "-c", "echo console-log-line-$AWS_BATCH_JOB_ID"}})
	register(t, bc, "console-array", &types.ContainerProperties{Command: []string{"sh", "-c", `test "$AWS_BATCH_JOB_ARRAY_INDEX" != 2`}})
	single := submit(t, bc, &batch.SubmitJobInput{JobName: aws.String("console-single"), JobDefinition: aws.String("console-echo")})
	array := submit(t, bc, &batch.SubmitJobInput{JobName: aws.String("console-arr"), JobDefinition: aws.String("console-array"),
		ArrayProperties: &types.ArrayProperties{Size: aws.Int32(4)}})
	dep := submit(t, bc, &batch.SubmitJobInput{JobName: aws.String("console-after"), JobDefinition: aws.String("console-echo"),
		DependsOn: []types.JobDependency{{JobId: aws.String(single)}}})
	for _, id := range []string{single, array, dep} {
		bargetest.WaitJob(t, bc, id, jobWait, terminal)
	}

	// Without a login: no data, a page that says how to log in.
	anon := browser(t, chrome, b.Endpoint+"/console/jobs", "--dump-dom")
	if !strings.Contains(anon, "barge console") {
		t.Errorf("the jobs page without a login does not say to run barge console:\n%s", anon)
	}
	for _, leak := range []string{single, array, dep, "console-single", "console-arr"} {
		if strings.Contains(anon, leak) {
			t.Errorf("the jobs page without a login shows %q", leak)
		}
	}

	jobs := browser(t, chrome, consoleURL(t, c, b), "--dump-dom")
	for _, want := range []string{`data-job-id="` + single + `" data-status="SUCCEEDED"`, `data-job-id="` + array + `" data-status="FAILED"`,
		`data-job-id="` + dep + `" data-status="SUCCEEDED"`, "console-single", "console-after"} {
		if !strings.Contains(jobs, want) {
			t.Errorf("the jobs page lacks %q:\n%s", want, jobs)
		}
	}

	arr := browser(t, chrome, consoleURL(t, c, b, "--job", array), "--dump-dom")
	for _, want := range []string{`data-status="SUCCEEDED">SUCCEEDED 3<`, `data-status="FAILED">FAILED 1<`, array + ":3"} {
		if !strings.Contains(arr, want) {
			t.Errorf("the array's page lacks %q:\n%s", want, arr)
		}
	}

	one := browser(t, chrome, consoleURL(t, c, b, "--job", single), "--dump-dom")
	if !strings.Contains(one, "console-log-line-"+single) || !strings.Contains(one, "Essential container in task exited") {
		t.Errorf("the job's page lacks its log line or its status reason:\n%s", one)
	}

	graph := browser(t, chrome, consoleURL(t, c, b)+"&next="+url.QueryEscape("/console/jobs/"+dep+"/graph"), "--dump-dom")
	if !strings.Contains(graph, `data-job-id="`+dep+`"`) || !strings.Contains(graph, `data-job-id="`+single+`"`) {
		t.Errorf("the dependency graph lacks the job or what it depends on:\n%s", graph)
	}

	queues := browser(t, chrome, consoleURL(t, c, b)+"&next=/console/queues", "--dump-dom")
	if !strings.Contains(queues, `data-queue="default"`) || !strings.Contains(queues, `data-status="SUCCEEDED">SUCCEEDED 2<`) {
		t.Errorf("the queues page lacks the default queue's counts:\n%s", queues)
	}
	if !strings.Contains(queues, `data-env="default" data-vcpus-known="true"`) {
		t.Errorf("the queues page lacks the default compute environment's vCPUs:\n%s", queues)
	}

	// A token works once: the same URL again shows no data.
	u := consoleURL(t, c, b, "--job", single)
	browser(t, chrome, u, "--dump-dom")
	if again := browser(t, chrome, u, "--dump-dom"); strings.Contains(again, "console-log-line") || !strings.Contains(again, "barge console") {
		t.Errorf("a login link worked twice:\n%s", again)
	}

	if dir := os.Getenv("BARGE_CONSOLE_SCREENSHOTS"); dir != "" {
		if !filepath.IsAbs(dir) {
			dir = filepath.Join("..", "..", dir) // relative to the repository, not to this package
		}
		browser(t, chrome, consoleURL(t, c, b), "--screenshot="+filepath.Join(dir, "console-jobs.png"), "--window-size=1280,800")
		browser(t, chrome, consoleURL(t, c, b, "--job", array), "--screenshot="+filepath.Join(dir, "console-array.png"), "--window-size=1280,800")
		browser(t, chrome, consoleURL(t, c, b, "--job", single), "--screenshot="+filepath.Join(dir, "console-job.png"), "--window-size=1280,800")
		browser(t, chrome, consoleURL(t, c, b)+"&next=/console/queues", "--screenshot="+filepath.Join(dir, "console-queues.png"), "--window-size=1280,800")
		browser(t, chrome, consoleURL(t, c, b)+"&next="+url.QueryEscape("/console/jobs/"+dep+"/graph"), "--screenshot="+filepath.Join(dir, "console-graph.png"), "--window-size=1280,800")
	}
}
