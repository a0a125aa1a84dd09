package e2e_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"

	"github.com/barge-run/barge/internal/bargetest"
)

func describe(t *testing.T, c *batch.Client, ids ...string) []types.JobDetail {
	t.Helper()
	out, err := c.DescribeJobs(context.Background(), &batch.DescribeJobsInput{Jobs: ids})
	if err != nil {
		t.Fatal(err)
	}
	return out.Jobs
}

func listAll(t *testing.T, c *batch.Client, in *batch.ListJobsInput) []types.JobSummary {
	t.Helper()
	var all []types.JobSummary
	p := batch.NewListJobsPaginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.JobSummaryList...)
	}
	return all
}

// parkedQueue makes a queue whose compute environment is disabled, so its jobs stay put.
func parkedQueue(t *testing.T, c *batch.Client, name string) {
	t.Helper()
	ctx := context.Background()
	ce, err := c.CreateComputeEnvironment(ctx, &batch.CreateComputeEnvironmentInput{ComputeEnvironmentName: aws.String(name),
		Type: types.CETypeUnmanaged, State: types.CEStateDisabled})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateJobQueue(ctx, &batch.CreateJobQueueInput{JobQueueName: aws.String(name), Priority: aws.Int32(1),
		ComputeEnvironmentOrder: []types.ComputeEnvironmentOrder{{Order: aws.Int32(1), ComputeEnvironment: ce.ComputeEnvironmentArn}}}); err != nil {
		t.Fatal(err)
	}
}

func TestArrayJobs(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := b.Batch(), context.Background()
	register(t, c, "indexed", &types.ContainerProperties{Command: []string{"sh", "-c", `echo "child $AWS_BATCH_JOB_ARRAY_INDEX of $AWS_BATCH_JOB_ID"; [ "$AWS_BATCH_JOB_ARRAY_INDEX" != "$FAIL_INDEX" ]`}})

	t.Run("all children succeed", func(t *testing.T) {
		id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("arr"), JobDefinition: aws.String("indexed"),
			ArrayProperties: &types.ArrayProperties{Size: aws.Int32(6)}})
		p := bargetest.WaitJob(t, c, id, jobWait, terminal)
		if p.Status != types.JobStatusSucceeded || aws.ToInt32(p.ArrayProperties.Size) != 6 || p.ArrayProperties.StatusSummary["SUCCEEDED"] != 6 {
			t.Fatalf("parent: %s %+v", p.Status, p.ArrayProperties)
		}
		kids := describe(t, c, id+":0", id+":5")
		if len(kids) != 2 || aws.ToInt32(kids[1].ArrayProperties.Index) != 5 || kids[1].Status != types.JobStatusSucceeded {
			t.Fatalf("children: %+v", kids)
		}
		if got := logLines(t, b.Logs(), aws.ToString(kids[1].Container.LogStreamName)); !slices.Equal(got, []string{fmt.Sprintf("child 5 of %s:5", id)}) {
			t.Fatalf("child log: %q", got)
		}
		listed := listAll(t, c, &batch.ListJobsInput{ArrayJobId: aws.String(id), JobStatus: types.JobStatusSucceeded, MaxResults: aws.Int32(4)})
		if len(listed) != 6 {
			t.Fatalf("listed %d children", len(listed))
		}
		// Listing the queue shows the parent, not the children, as in AWS.
		top := listAll(t, c, &batch.ListJobsInput{JobQueue: aws.String("default"), JobStatus: types.JobStatusSucceeded})
		if len(top) != 1 || aws.ToString(top[0].JobId) != id || aws.ToInt32(top[0].ArrayProperties.Size) != 6 {
			t.Fatalf("queue listing: %+v", top)
		}
	})
	t.Run("one failing child fails the parent", func(t *testing.T) {
		id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("arr-fail"), JobDefinition: aws.String("indexed"),
			ArrayProperties:    &types.ArrayProperties{Size: aws.Int32(4)},
			ContainerOverrides: &types.ContainerOverrides{Environment: []types.KeyValuePair{{Name: aws.String("FAIL_INDEX"), Value: aws.String("2")}}}})
		p := bargetest.WaitJob(t, c, id, jobWait, terminal)
		if p.Status != types.JobStatusFailed || p.ArrayProperties.StatusSummary["FAILED"] != 1 || p.ArrayProperties.StatusSummary["SUCCEEDED"] != 3 {
			t.Fatalf("parent: %s %+v", p.Status, p.ArrayProperties.StatusSummary)
		}
	})
	t.Run("SEQUENTIAL runs children in order", func(t *testing.T) {
		id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("seq"), JobDefinition: aws.String("indexed"),
			ArrayProperties: &types.ArrayProperties{Size: aws.Int32(4)},
			DependsOn:       []types.JobDependency{{Type: types.ArrayJobDependencySequential}}})
		p := bargetest.WaitJob(t, c, id, jobWait, terminal)
		if p.Status != types.JobStatusSucceeded {
			t.Fatalf("parent %s", p.Status)
		}
		kids := describe(t, c, id+":0", id+":1", id+":2", id+":3")
		for i := 1; i < 4; i++ {
			if aws.ToInt64(kids[i].StartedAt) < aws.ToInt64(kids[i-1].StoppedAt) {
				t.Fatalf("child %d started before child %d stopped", i, i-1)
			}
		}
	})
	t.Run("SEQUENTIAL failure fails the rest", func(t *testing.T) {
		id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("seqfail"), JobDefinition: aws.String("indexed"),
			ArrayProperties:    &types.ArrayProperties{Size: aws.Int32(5)},
			DependsOn:          []types.JobDependency{{Type: types.ArrayJobDependencySequential}},
			ContainerOverrides: &types.ContainerOverrides{Environment: []types.KeyValuePair{{Name: aws.String("FAIL_INDEX"), Value: aws.String("1")}}}})
		p := bargetest.WaitJob(t, c, id, jobWait, terminal)
		s := p.ArrayProperties.StatusSummary
		if p.Status != types.JobStatusFailed || s["SUCCEEDED"] != 1 || s["FAILED"] != 4 {
			t.Fatalf("parent %s %v", p.Status, s)
		}
		k := describe(t, c, id+":4")
		if len(k) != 1 || k[0].Status != types.JobStatusFailed || aws.ToString(k[0].StatusReason) != "Dependent Job failed" {
			t.Fatalf("last child: %+v", k)
		}
	})
	t.Run("N_TO_N", func(t *testing.T) {
		first := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("first"), JobDefinition: aws.String("indexed"),
			ArrayProperties:    &types.ArrayProperties{Size: aws.Int32(3)},
			ContainerOverrides: &types.ContainerOverrides{Environment: []types.KeyValuePair{{Name: aws.String("FAIL_INDEX"), Value: aws.String("1")}}}})
		second := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("second"), JobDefinition: aws.String("indexed"),
			ArrayProperties: &types.ArrayProperties{Size: aws.Int32(3)},
			DependsOn:       []types.JobDependency{{JobId: aws.String(first), Type: types.ArrayJobDependencyNToN}}})
		bargetest.WaitJob(t, c, second, jobWait, terminal)
		f, s := describe(t, c, first+":0", first+":1"), describe(t, c, second+":0", second+":1", second+":2")
		if s[0].Status != types.JobStatusSucceeded || aws.ToInt64(s[0].StartedAt) < aws.ToInt64(f[0].StoppedAt) {
			t.Fatalf("second:0 %s must start after first:0 stopped", s[0].Status)
		}
		if s[1].Status != types.JobStatusFailed || aws.ToString(s[1].StatusReason) != "Dependent Job failed" || len(s[1].Attempts) != 0 {
			t.Fatalf("second:1 must fail without running: %s %q", s[1].Status, aws.ToString(s[1].StatusReason))
		}
		if s[2].Status != types.JobStatusSucceeded {
			t.Fatalf("second:2: %s", s[2].Status)
		}
	})
	t.Run("lazy children of a big parked array", func(t *testing.T) {
		parkedQueue(t, c, "parked")
		start := time.Now()
		id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("huge"), JobQueue: aws.String("parked"), JobDefinition: aws.String("indexed"),
			ArrayProperties: &types.ArrayProperties{Size: aws.Int32(1_000_000)}})
		t.Logf("submitted a 1,000,000-child array in %v", time.Since(start))
		p := bargetest.WaitJob(t, c, id, jobWait, func(s string) bool { return s == "PENDING" })
		if p.ArrayProperties.StatusSummary["RUNNABLE"] != 1_000_000 {
			t.Fatalf("summary %v", p.ArrayProperties.StatusSummary)
		}
		page, err := c.ListJobs(ctx, &batch.ListJobsInput{ArrayJobId: aws.String(id), JobStatus: types.JobStatusRunnable})
		if err != nil || len(page.JobSummaryList) != 100 || aws.ToString(page.JobSummaryList[99].JobId) != id+":99" || page.NextToken == nil {
			t.Fatalf("first page: %d %v", len(page.JobSummaryList), err)
		}
		k := describe(t, c, id+":999999")
		if len(k) != 1 || k[0].Status != types.JobStatusRunnable || aws.ToInt32(k[0].ArrayProperties.Index) != 999999 {
			t.Fatalf("virtual child: %+v", k)
		}
		// One waiting child can be cancelled on its own.
		if _, err := c.CancelJob(ctx, &batch.CancelJobInput{JobId: aws.String(id + ":7"), Reason: aws.String("not this one")}); err != nil {
			t.Fatal(err)
		}
		k = describe(t, c, id+":7")
		if len(k) != 1 || k[0].Status != types.JobStatusFailed || aws.ToString(k[0].StatusReason) != "not this one" || !aws.ToBool(k[0].IsCancelled) {
			t.Fatalf("cancelled child: %+v", k)
		}
		page, err = c.ListJobs(ctx, &batch.ListJobsInput{ArrayJobId: aws.String(id), JobStatus: types.JobStatusRunnable, MaxResults: aws.Int32(10)})
		if err != nil || len(page.JobSummaryList) != 10 || aws.ToString(page.JobSummaryList[7].JobId) != id+":8" {
			t.Fatalf("listing must skip the cancelled child: %v %v", page, err)
		}
		p = bargetest.WaitJob(t, c, id, jobWait, func(string) bool { return true })
		if p.ArrayProperties.StatusSummary["FAILED"] != 1 || p.ArrayProperties.StatusSummary["RUNNABLE"] != 999_999 {
			t.Fatalf("summary after one cancel: %v", p.ArrayProperties.StatusSummary)
		}
		// Cancelling the parent fails every child that has not started.
		if _, err := c.CancelJob(ctx, &batch.CancelJobInput{JobId: aws.String(id), Reason: aws.String("too big")}); err != nil {
			t.Fatal(err)
		}
		p = bargetest.WaitJob(t, c, id, jobWait, terminal)
		if p.Status != types.JobStatusFailed || p.ArrayProperties.StatusSummary["FAILED"] != 1_000_000 || aws.ToString(p.StatusReason) != "too big" {
			t.Fatalf("cancelled array: %s %q %v", p.Status, aws.ToString(p.StatusReason), p.ArrayProperties.StatusSummary)
		}
	})
	t.Run("size limits", func(t *testing.T) {
		for _, size := range []int32{1, 1_000_001} {
			_, err := c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("bad"), JobQueue: aws.String("default"), JobDefinition: aws.String("indexed"),
				ArrayProperties: &types.ArrayProperties{Size: aws.Int32(size)}})
			apiErr(t, err, "ClientException", 400, "arrayProperties.size")
		}
	})
}

func TestDependencies(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := b.Batch(), context.Background()
	register(t, c, "step", &types.ContainerProperties{Command: []string{"sh", "-c", `echo "$STEP"; exit "${CODE:-0}"`}})
	sub := func(name string, code string, deps ...types.JobDependency) string {
		return submit(t, c, &batch.SubmitJobInput{JobName: aws.String(name), JobDefinition: aws.String("step"), DependsOn: deps,
			ContainerOverrides: &types.ContainerOverrides{Environment: []types.KeyValuePair{
				{Name: aws.String("STEP"), Value: aws.String(name)}, {Name: aws.String("CODE"), Value: aws.String(code)}}}})
	}
	on := func(id string) types.JobDependency { return types.JobDependency{JobId: aws.String(id)} }

	t.Run("chain runs in order", func(t *testing.T) {
		a := sub("a", "0")
		bID := sub("b", "0", on(a))
		cID := sub("c", "0", on(a), on(bID))
		j := bargetest.WaitJob(t, c, cID, jobWait, terminal)
		ja, jb := describe(t, c, a)[0], describe(t, c, bID)[0]
		if j.Status != types.JobStatusSucceeded || aws.ToInt64(jb.StartedAt) < aws.ToInt64(ja.StoppedAt) || aws.ToInt64(j.StartedAt) < aws.ToInt64(jb.StoppedAt) {
			t.Fatalf("chain out of order: a %d-%d b %d-%d c %d", aws.ToInt64(ja.StartedAt), aws.ToInt64(ja.StoppedAt), aws.ToInt64(jb.StartedAt), aws.ToInt64(jb.StoppedAt), aws.ToInt64(j.StartedAt))
		}
		if len(j.DependsOn) != 2 {
			t.Fatalf("dependsOn not reported: %+v", j.DependsOn)
		}
	})
	t.Run("failure cascades without running", func(t *testing.T) {
		a := sub("fails", "3")
		bID := sub("b2", "0", on(a))
		cID := sub("c2", "0", on(bID))
		for _, id := range []string{bID, cID} {
			j := bargetest.WaitJob(t, c, id, jobWait, terminal)
			if j.Status != types.JobStatusFailed || aws.ToString(j.StatusReason) != "Dependent Job failed" || len(j.Attempts) != 0 {
				t.Fatalf("%s: %s %q attempts=%d", id, j.Status, aws.ToString(j.StatusReason), len(j.Attempts))
			}
		}
		// Depending on a job that already failed fails at once.
		late := sub("late", "0", on(a))
		if j := bargetest.WaitJob(t, c, late, jobWait, terminal); j.Status != types.JobStatusFailed {
			t.Fatalf("late dependent: %s", j.Status)
		}
	})
	t.Run("on an array and on one child", func(t *testing.T) {
		arr := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("arr"), JobDefinition: aws.String("step"), ArrayProperties: &types.ArrayProperties{Size: aws.Int32(3)}})
		whole := sub("after-all", "0", on(arr))
		one := sub("after-one", "0", on(arr+":1"))
		jw := bargetest.WaitJob(t, c, whole, jobWait, terminal)
		jo := bargetest.WaitJob(t, c, one, jobWait, terminal)
		kids := describe(t, c, arr+":0", arr+":1", arr+":2")
		last := slices.MaxFunc(kids, func(x, y types.JobDetail) int { return int(aws.ToInt64(x.StoppedAt) - aws.ToInt64(y.StoppedAt)) })
		if jw.Status != types.JobStatusSucceeded || aws.ToInt64(jw.StartedAt) < aws.ToInt64(last.StoppedAt) {
			t.Fatal("job waiting on an array started before all children finished")
		}
		if jo.Status != types.JobStatusSucceeded || aws.ToInt64(jo.StartedAt) < aws.ToInt64(kids[1].StoppedAt) {
			t.Fatal("job waiting on child 1 started before it finished")
		}
	})
	t.Run("more than 20 dependencies", func(t *testing.T) {
		parkedQueue(t, c, "hold")
		var deps []types.JobDependency
		first := sub("root", "0")
		for i := 0; i < 10000; i++ {
			deps = append(deps, on(first))
		}
		id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("many"), JobDefinition: aws.String("step"), DependsOn: deps})
		if j := bargetest.WaitJob(t, c, id, jobWait, terminal); j.Status != types.JobStatusSucceeded || len(j.DependsOn) != 10000 {
			t.Fatalf("10,000 dependencies: %s %d", j.Status, len(j.DependsOn))
		}
	})
	t.Run("validation", func(t *testing.T) {
		_, err := c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("x"), JobQueue: aws.String("default"), JobDefinition: aws.String("step"),
			DependsOn: []types.JobDependency{on("00000000-0000-0000-0000-000000000000")}})
		apiErr(t, err, "ClientException", 400, "dependsOn[0].jobId")
		_, err = c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("x"), JobQueue: aws.String("default"), JobDefinition: aws.String("step"),
			DependsOn: []types.JobDependency{{Type: types.ArrayJobDependencySequential}}})
		apiErr(t, err, "ClientException", 400, "SEQUENTIAL applies only to array jobs")
		arr := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("a3"), JobDefinition: aws.String("step"), ArrayProperties: &types.ArrayProperties{Size: aws.Int32(3)}})
		_, err = c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("x"), JobQueue: aws.String("default"), JobDefinition: aws.String("step"),
			ArrayProperties: &types.ArrayProperties{Size: aws.Int32(4)}, DependsOn: []types.JobDependency{{JobId: aws.String(arr), Type: types.ArrayJobDependencyNToN}}})
		apiErr(t, err, "ClientException", 400, "same size")
		_, err = c.SubmitJob(ctx, &batch.SubmitJobInput{JobName: aws.String("x"), JobQueue: aws.String("default"), JobDefinition: aws.String("step"),
			DependsOn: []types.JobDependency{on(arr + ":7")}})
		apiErr(t, err, "ClientException", 400, "no array child 7")
	})
}

// TestCancelNToNChild: a waiting child of an N_TO_N array can be cancelled on its own; the child
// of the next array that waits on it fails at once, the rest wait on.
func TestCancelNToNChild(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := b.Batch(), context.Background()
	parkedQueue(t, c, "held")
	register(t, c, "n2n", &types.ContainerProperties{Command: []string{"true"}})
	arr := func(name string, dep string) string {
		in := &batch.SubmitJobInput{JobName: aws.String(name), JobQueue: aws.String("held"), JobDefinition: aws.String("n2n"),
			ArrayProperties: &types.ArrayProperties{Size: aws.Int32(3)}}
		if dep != "" {
			in.DependsOn = []types.JobDependency{{JobId: aws.String(dep), Type: types.ArrayJobDependencyNToN}}
		}
		return submit(t, c, in)
	}
	a := arr("a", "")
	bb := arr("b", a)
	cc := arr("c", bb)
	if _, err := c.CancelJob(ctx, &batch.CancelJobInput{JobId: aws.String(bb + ":1"), Reason: aws.String("skip this one")}); err != nil {
		t.Fatal(err)
	}
	k := describe(t, c, bb+":1")
	if len(k) != 1 || k[0].Status != types.JobStatusFailed || !aws.ToBool(k[0].IsCancelled) || aws.ToString(k[0].StatusReason) != "skip this one" {
		t.Fatalf("cancelled child: %+v", k)
	}
	dep := bargetest.WaitJob(t, c, cc+":1", jobWait, terminal)
	if dep.Status != types.JobStatusFailed {
		t.Fatalf("the child waiting on the cancelled one: %s", dep.Status)
	}
	if k := describe(t, c, cc+":0"); len(k) != 1 || k[0].Status != types.JobStatusPending {
		t.Fatalf("an unrelated child: %+v", k)
	}
	// Cancelling the first array fails everything that waits on it.
	if _, err := c.CancelJob(ctx, &batch.CancelJobInput{JobId: aws.String(a), Reason: aws.String("stop")}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{a, bb, cc} {
		if j := bargetest.WaitJob(t, c, id, jobWait, terminal); j.Status != types.JobStatusFailed {
			t.Fatalf("%s: %s", id, j.Status)
		}
	}
}

// TestCancelSequentialChild cancels a waiting child of a SEQUENTIAL array: it fails at once, and
// so does every later child (each waits for the one before), while the earlier ones still run in
// order once there is room; the array then fails.
func TestCancelSequentialChild(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := b.Batch(), context.Background()
	parkedQueue(t, c, "held")
	register(t, c, "step", &types.ContainerProperties{Command: []string{"true"}})
	id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("chain"), JobQueue: aws.String("held"), JobDefinition: aws.String("step"),
		ArrayProperties: &types.ArrayProperties{Size: aws.Int32(6)}, DependsOn: []types.JobDependency{{Type: types.ArrayJobDependencySequential}}})
	// A job waiting on a child after the cancelled one fails as soon as it is cancelled.
	after := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("after"), JobQueue: aws.String("held"), JobDefinition: aws.String("step"),
		DependsOn: []types.JobDependency{{JobId: aws.String(id + ":5")}}})
	if _, err := c.CancelJob(ctx, &batch.CancelJobInput{JobId: aws.String(id + ":3"), Reason: aws.String("not this one")}); err != nil {
		t.Fatal(err)
	}
	want := map[int]struct {
		status types.JobStatus
		reason string
	}{
		0: {types.JobStatusRunnable, ""}, 1: {types.JobStatusPending, ""}, 2: {types.JobStatusPending, ""},
		3: {types.JobStatusFailed, "not this one"}, 4: {types.JobStatusFailed, "Dependent Job failed"}, 5: {types.JobStatusFailed, "Dependent Job failed"},
	}
	for idx, w := range want {
		d := describe(t, c, fmt.Sprintf("%s:%d", id, idx))
		if len(d) != 1 || d[0].Status != w.status || aws.ToString(d[0].StatusReason) != w.reason {
			t.Fatalf("child %d: %+v, want %s %q", idx, d, w.status, w.reason)
		}
		if idx == 3 && !aws.ToBool(d[0].IsCancelled) {
			t.Fatalf("child 3 not marked cancelled: %+v", d[0])
		}
	}
	if p := describe(t, c, id)[0]; p.Status != types.JobStatusPending || p.ArrayProperties.StatusSummary["FAILED"] != 3 ||
		p.ArrayProperties.StatusSummary["PENDING"] != 2 || p.ArrayProperties.StatusSummary["RUNNABLE"] != 1 {
		t.Fatalf("parent while held: %s %v", p.Status, p.ArrayProperties.StatusSummary)
	}
	failed := listAll(t, c, &batch.ListJobsInput{ArrayJobId: aws.String(id), JobStatus: types.JobStatusFailed})
	pending := listAll(t, c, &batch.ListJobsInput{ArrayJobId: aws.String(id), JobStatus: types.JobStatusPending})
	if len(failed) != 3 || aws.ToString(failed[0].JobId) != id+":3" || len(pending) != 2 || aws.ToString(pending[0].JobId) != id+":1" {
		t.Fatalf("listed FAILED %d, PENDING %d", len(failed), len(pending))
	}
	if j := bargetest.WaitJob(t, c, after, jobWait, terminal); j.Status != types.JobStatusFailed {
		t.Fatalf("job waiting on child 5: %s", j.Status)
	}
	// Cancelling a child that has failed already is accepted and changes nothing.
	if _, err := c.CancelJob(ctx, &batch.CancelJobInput{JobId: aws.String(id + ":4"), Reason: aws.String("again")}); err != nil {
		t.Fatal(err)
	}

	// Room to run: children 0, 1 and 2 run in order and succeed; the array fails.
	if _, err := c.UpdateComputeEnvironment(ctx, &batch.UpdateComputeEnvironmentInput{ComputeEnvironment: aws.String("held"), State: types.CEStateEnabled}); err != nil {
		t.Fatal(err)
	}
	p := bargetest.WaitJob(t, c, id, jobWait, terminal)
	if p.Status != types.JobStatusFailed || p.ArrayProperties.StatusSummary["SUCCEEDED"] != 3 || p.ArrayProperties.StatusSummary["FAILED"] != 3 {
		t.Fatalf("parent: %s %v", p.Status, p.ArrayProperties.StatusSummary)
	}
	kids := map[string]types.JobDetail{}
	for _, k := range describe(t, c, id+":0", id+":1", id+":2", id+":4") {
		kids[strings.TrimPrefix(aws.ToString(k.JobId), id)] = k
	}
	for _, k := range []string{":0", ":1", ":2"} {
		if kids[k].Status != types.JobStatusSucceeded {
			t.Fatalf("child %s: %s", k, kids[k].Status)
		}
	}
	if aws.ToInt64(kids[":0"].StoppedAt) > aws.ToInt64(kids[":1"].StartedAt) || aws.ToInt64(kids[":1"].StoppedAt) > aws.ToInt64(kids[":2"].StartedAt) {
		t.Fatalf("children did not run in order: %+v", kids)
	}
	if k := kids[":4"]; k.Status != types.JobStatusFailed || aws.ToString(k.StatusReason) != "Dependent Job failed" {
		t.Fatalf("child 4 after the run: %s %q", k.Status, aws.ToString(k.StatusReason))
	}
}
