package e2e_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/barge-run/barge/internal/bargetest"
	"github.com/barge-run/barge/internal/exec/sandbox"
	"github.com/barge-run/barge/internal/image/imagetest"
)

// TestIsolation drives the sandbox through the AWS Batch API with aws-sdk-go-v2: a job from an
// OCI image pushed to a loopback registry, volumes and a read-only root, the memory limit with
// AWS's OOM reason, image pull failures, and the validation of what cannot be allowed.
func TestIsolation(t *testing.T) {
	if err := sandbox.Probe(); err != nil {
		t.Skipf("no sandbox on this host: %v", err)
	}
	t.Parallel()
	vol := t.TempDir() // the one directory jobs may take volumes from
	b := bargetest.Start(t, bargetest.WithArgs("--volume-root", vol))
	c, logs, ctx := b.Batch(), b.Logs(), context.Background()

	reg := imagetest.StartRegistry(t)
	ref := reg + "/e2e/app:v1"
	imagetest.Push(t, ref, v1.Config{Entrypoint: []string{"/bin/app"}, Cmd: []string{"echo", "hello from the image"}, Env: []string{"PATH=/bin"}, WorkingDir: "/w"},
		map[string]imagetest.File{"bin/app": {Body: imagetest.App(t), Mode: 0o755}, "w/": {Mode: 0o755}})

	run := func(t *testing.T, name string, cp *types.ContainerProperties) types.JobDetail {
		t.Helper()
		register(t, c, name, cp)
		id := submit(t, c, &batch.SubmitJobInput{JobName: aws.String(name), JobDefinition: aws.String(name)})
		return bargetest.WaitJob(t, c, id, jobWait, terminal)
	}
	output := func(t *testing.T, j types.JobDetail) string {
		return strings.Join(logLines(t, logs, aws.ToString(j.Container.LogStreamName)), "\n")
	}

	t.Run("image with its CMD", func(t *testing.T) {
		j := run(t, "img", &types.ContainerProperties{Image: aws.String(ref)})
		if j.Status != types.JobStatusSucceeded || !strings.Contains(output(t, j), "hello from the image") {
			t.Fatalf("%s %q: %q", j.Status, aws.ToString(j.Container.Reason), output(t, j))
		}
	})
	t.Run("volume in a read-only image root", func(t *testing.T) {
		j := run(t, "img-vol", &types.ContainerProperties{
			Image: aws.String(ref), Command: []string{"write", "/out/result", "written"},
			ReadonlyRootFilesystem: aws.Bool(true),
			Volumes:                []types.Volume{{Name: aws.String("out"), Host: &types.Host{SourcePath: aws.String(vol)}}},
			MountPoints:            []types.MountPoint{{SourceVolume: aws.String("out"), ContainerPath: aws.String("/out")}},
		})
		if b, _ := os.ReadFile(filepath.Join(vol, "result")); j.Status != types.JobStatusSucceeded || string(b) != "written" {
			t.Fatalf("%s: volume holds %q; log %q", j.Status, b, output(t, j))
		}
		j = run(t, "img-ro", &types.ContainerProperties{Image: aws.String(ref), Command: []string{"write", "/w/x"}, ReadonlyRootFilesystem: aws.Bool(true)})
		if j.Status != types.JobStatusFailed || aws.ToInt32(j.Container.ExitCode) != 1 {
			t.Fatalf("write to a read-only root: %s exit %d", j.Status, aws.ToInt32(j.Container.ExitCode))
		}
	})
	t.Run("memory limit kills with AWS's OOM reason", func(t *testing.T) {
		cp := &types.ContainerProperties{Command: []string{"sh", "-c", "head -c 400m /dev/zero | tail -c 300m > /dev/null"}, ResourceRequirements: reqs("1", "32")}
		j := run(t, "hog", cp)
		if j.Status != types.JobStatusFailed || aws.ToString(j.Container.Reason) != "OutOfMemoryError: Container killed due to memory usage" {
			t.Fatalf("%s reason %q exit %d", j.Status, aws.ToString(j.Container.Reason), aws.ToInt32(j.Container.ExitCode))
		}
	})
	t.Run("user, ulimits and init", func(t *testing.T) {
		j := run(t, "ids", &types.ContainerProperties{Command: []string{"sh", "-c", "id -u; ulimit -n; echo pid=$$"}, User: aws.String("nobody"),
			Ulimits:         []types.Ulimit{{Name: aws.String("nofile"), SoftLimit: aws.Int32(100), HardLimit: aws.Int32(200)}},
			LinuxParameters: &types.LinuxParameters{InitProcessEnabled: aws.Bool(true)}})
		if out := output(t, j); j.Status != types.JobStatusSucceeded || out != "65534\n100\npid=2" {
			t.Fatalf("%s: %q", j.Status, out)
		}
	})
	t.Run("barge submit --image", func(t *testing.T) {
		cli := bargeCLI{t, ctx, bargetest.Binary(t), b.Env()}
		for _, args := range [][]string{{"--image", ref}, {"--image", ref, "--", "echo", "from", "the", "CLI"}} {
			id := cli.submit(args...)
			j := bargetest.WaitJob(t, c, id, jobWait, terminal)
			want := "hello from the image"
			if len(args) > 2 {
				want = "from the CLI"
			}
			if j.Status != types.JobStatusSucceeded || !strings.Contains(output(t, j), want) {
				t.Fatalf("barge submit %v: %s %q", args, j.Status, output(t, j))
			}
		}
	})
	t.Run("unpullable image", func(t *testing.T) {
		j := run(t, "nopull", &types.ContainerProperties{Image: aws.String(reg + "/e2e/missing:v1"), Command: []string{"true"}})
		if j.Status != types.JobStatusFailed || !strings.HasPrefix(aws.ToString(j.Container.Reason), "CannotPullContainerError: ") ||
			!strings.Contains(aws.ToString(j.Container.Reason), "e2e/missing") {
			t.Fatalf("%s reason %q", j.Status, aws.ToString(j.Container.Reason))
		}
	})
	t.Run("refused at registration", func(t *testing.T) {
		for _, cs := range []struct {
			cp   *types.ContainerProperties
			want string
		}{
			{&types.ContainerProperties{Command: []string{"true"}, Privileged: aws.Bool(true)}, "privileged"},
			{&types.ContainerProperties{Command: []string{"true"}, MountPoints: []types.MountPoint{{SourceVolume: aws.String("nope"), ContainerPath: aws.String("/x")}}}, "mountPoints[0].sourceVolume"},
			{&types.ContainerProperties{Command: []string{"true"}, Volumes: []types.Volume{{Name: aws.String("v"), Host: &types.Host{SourcePath: aws.String("relative")}}}}, "volumes[0].host.sourcePath"},
			{&types.ContainerProperties{Command: []string{"true"}, Volumes: []types.Volume{{Name: aws.String("v"), Host: &types.Host{SourcePath: aws.String("/proc")}}}}, "volumes[0].host.sourcePath: /proc"},
			{&types.ContainerProperties{Command: []string{"true"}, Volumes: []types.Volume{{Name: aws.String("v"), Host: &types.Host{SourcePath: aws.String(vol + "/../x")}}}}, "has a .. element"},
			{&types.ContainerProperties{Command: []string{"true"}, Volumes: []types.Volume{{Name: aws.String("v"), Host: &types.Host{SourcePath: aws.String("/etc")}}}}, "not under a volume root"},
			{&types.ContainerProperties{Command: []string{"true"}, EphemeralStorage: &types.EphemeralStorage{SizeInGiB: aws.Int32(201)}}, "ephemeralStorage.sizeInGiB"},
			{&types.ContainerProperties{Command: []string{"true"}, Ulimits: []types.Ulimit{{Name: aws.String("bogus"), SoftLimit: aws.Int32(1), HardLimit: aws.Int32(1)}}}, "ulimits[0].name"},
			{&types.ContainerProperties{Command: []string{"true"}, Ulimits: []types.Ulimit{{Name: aws.String("nofile"), SoftLimit: aws.Int32(10), HardLimit: aws.Int32(5)}}}, "softLimit"},
		} {
			cs.cp.ResourceRequirements = reqs("1", "64")
			_, err := c.RegisterJobDefinition(ctx, &batch.RegisterJobDefinitionInput{JobDefinitionName: aws.String("bad"), Type: types.JobDefinitionTypeContainer, ContainerProperties: cs.cp})
			apiErr(t, err, "ClientException", 400, cs.want)
		}
	})
	t.Run("barge's data directory is not a volume", func(t *testing.T) {
		_, err := c.RegisterJobDefinition(ctx, &batch.RegisterJobDefinitionInput{JobDefinitionName: aws.String("steal"), Type: types.JobDefinitionTypeContainer,
			ContainerProperties: &types.ContainerProperties{Command: []string{"true"}, ResourceRequirements: reqs("1", "64"),
				Volumes:     []types.Volume{{Name: aws.String("d"), Host: &types.Host{SourcePath: aws.String(b.DataDir)}}},
				MountPoints: []types.MountPoint{{SourceVolume: aws.String("d"), ContainerPath: aws.String("/tmp/d")}}}})
		apiErr(t, err, "ClientException", 400, "is barge's data directory")
	})
}

// TestIsolationNone: with --isolation none barge runs jobs as plain processes, says so, and
// refuses images rather than pretending to run them.
func TestIsolationNone(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t, bargetest.WithArgs("--isolation", "none"))
	c := b.Batch()
	register(t, c, "plain", &types.ContainerProperties{Command: []string{"sh", "-c", "echo $$"}})
	j := bargetest.WaitJob(t, c, submit(t, c, &batch.SubmitJobInput{JobName: aws.String("plain"), JobDefinition: aws.String("plain")}), jobWait, terminal)
	if j.Status != types.JobStatusSucceeded {
		t.Fatalf("plain job: %s %q", j.Status, aws.ToString(j.Container.Reason))
	}
	register(t, c, "img", &types.ContainerProperties{Image: aws.String("127.0.0.1:1/x:v1"), Command: []string{"true"}})
	j = bargetest.WaitJob(t, c, submit(t, c, &batch.SubmitJobInput{JobName: aws.String("img"), JobDefinition: aws.String("img")}), jobWait, terminal)
	if j.Status != types.JobStatusFailed || !strings.Contains(aws.ToString(j.Container.Reason), "runs no images") {
		t.Fatalf("image job without a sandbox: %s %q", j.Status, aws.ToString(j.Container.Reason))
	}
	if !strings.Contains(b.Log(), "JOBS AND FUNCTIONS ARE NOT ISOLATED") {
		t.Errorf("no warning in the server log:\n%s", b.Log())
	}
}

// TestLambdaImageFunction: a PackageType Image function from a loopback registry, created and
// invoked with aws-sdk-go-v2; its ImageConfig overrides the image's ENTRYPOINT.
func TestLambdaImageFunction(t *testing.T) {
	if err := sandbox.Probe(); err != nil {
		t.Skipf("no sandbox on this host: %v", err)
	}
	t.Parallel()
	b := bargetest.Start(t)
	c, ctx := lambda.NewFromConfig(b.Config()), context.Background()
	reg := imagetest.StartRegistry(t)
	ref := reg + "/e2e/echo-fn:v1"
	digest := imagetest.Push(t, ref, v1.Config{Entrypoint: []string{"/bin/false"}},
		map[string]imagetest.File{"var/task/bootstrap": {Body: imagetest.StaticBinary(t, "../fn/testdata/echofn"), Mode: 0o755}})

	created, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("imgfn"), PackageType: ltypes.PackageTypeImage, Role: aws.String("arn:aws:iam::000000000000:role/x"),
		Code:        &ltypes.FunctionCode{ImageUri: aws.String(ref)},
		ImageConfig: &ltypes.ImageConfig{EntryPoint: []string{"/var/task/bootstrap"}},
		Environment: &ltypes.Environment{Variables: map[string]string{"GREETING": "from an image"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.PackageType != ltypes.PackageTypeImage || "sha256:"+aws.ToString(created.CodeSha256) != digest {
		t.Errorf("created: package type %s, CodeSha256 %s (image %s)", created.PackageType, aws.ToString(created.CodeSha256), digest)
	}
	for i := 1; i <= 2; i++ {
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("imgfn"), Payload: []byte(`{"n":1}`)})
		if err != nil || out.FunctionError != nil {
			t.Fatalf("invoke %d: %v %s", i, err, out.Payload)
		}
		var r struct {
			Count int               `json:"count"`
			Env   map[string]string `json:"env"`
		}
		if err := json.Unmarshal(out.Payload, &r); err != nil || r.Count != i || r.Env["GREETING"] != "from an image" || r.Env["LAMBDA_TASK_ROOT"] != "/var/task" {
			t.Fatalf("invoke %d answered %s", i, out.Payload)
		}
	}
	got, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("imgfn")})
	if err != nil || aws.ToString(got.Code.ImageUri) != ref || !strings.HasSuffix(aws.ToString(got.Code.ResolvedImageUri), "@"+digest) {
		t.Fatalf("GetFunction: %v %+v", err, got.Code)
	}
	// A new image: UpdateFunctionCode re-pins the function; the next invoke cold-starts on it.
	digest2 := imagetest.Push(t, reg+"/e2e/echo-fn:v2", v1.Config{Entrypoint: []string{"/var/task/bootstrap"}, Env: []string{"GREETING=from v2"}},
		map[string]imagetest.File{"var/task/bootstrap": {Body: imagetest.StaticBinary(t, "../fn/testdata/echofn"), Mode: 0o755}, "var/task/v2": {Body: []byte("2"), Mode: 0o644}})
	updated, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("imgfn"), ImageUri: aws.String(reg + "/e2e/echo-fn:v2")})
	if err != nil || "sha256:"+aws.ToString(updated.CodeSha256) != digest2 {
		t.Fatalf("UpdateFunctionCode: %v, CodeSha256 %s want %s", err, aws.ToString(updated.CodeSha256), digest2)
	}
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("imgfn"), Payload: []byte(`{}`)})
	if err != nil || out.FunctionError != nil || !strings.Contains(string(out.Payload), `"count":1`) {
		t.Fatalf("invoke after the update: %v %s", err, out.Payload)
	}
	for _, bad := range []struct {
		in   *lambda.CreateFunctionInput
		want string
	}{
		{&lambda.CreateFunctionInput{FunctionName: aws.String("bad1"), PackageType: ltypes.PackageTypeImage, Runtime: ltypes.RuntimeProvidedal2023,
			Role: aws.String("arn:aws:iam::000000000000:role/x"), Code: &ltypes.FunctionCode{ImageUri: aws.String(ref)}}, "Runtime and Handler"},
		{&lambda.CreateFunctionInput{FunctionName: aws.String("bad2"), PackageType: ltypes.PackageTypeImage,
			Role: aws.String("arn:aws:iam::000000000000:role/x"), Code: &ltypes.FunctionCode{ImageUri: aws.String(reg + "/e2e/missing:v1")}}, "e2e/missing"},
	} {
		_, err := c.CreateFunction(ctx, bad.in)
		apiErr(t, err, "InvalidParameterValueException", 400, bad.want)
	}
}

// TestIsolationPrivileged: with --allow-privileged, a privileged job definition is accepted and its
// sandbox keeps every capability and the host's devices.
func TestIsolationPrivileged(t *testing.T) {
	if err := sandbox.Probe(); err != nil {
		t.Skipf("no sandbox on this host: %v", err)
	}
	t.Parallel()
	b := bargetest.Start(t, bargetest.WithArgs("--allow-privileged"))
	c, logs := b.Batch(), b.Logs()
	register(t, c, "priv", &types.ContainerProperties{Privileged: aws.Bool(true),
		Command: []string{"sh", "-c", "grep CapBnd /proc/self/status; test -e /dev/" + hostDevice(t) + " && echo host-devices"}})
	j := bargetest.WaitJob(t, c, submit(t, c, &batch.SubmitJobInput{JobName: aws.String("priv"), JobDefinition: aws.String("priv")}), jobWait, terminal)
	if j.Status != types.JobStatusSucceeded {
		t.Fatalf("privileged job: %s %q %q", j.Status, aws.ToString(j.StatusReason), aws.ToString(j.Container.Reason))
	}
	out := strings.Join(logLines(t, logs, aws.ToString(j.Container.LogStreamName)), "\n")
	if j.Status != types.JobStatusSucceeded || strings.Contains(out, "a80425fb") || !strings.Contains(out, "host-devices") {
		t.Fatalf("privileged job: %s %q", j.Status, out)
	}
}

// hostDevice names a device node of the host that a sandbox's own /dev does not have.
func hostDevice(t *testing.T) string {
	for _, d := range []string{"kmsg", "mem", "vda", "sda", "loop0"} {
		if _, err := os.Stat("/dev/" + d); err == nil {
			return d
		}
	}
	t.Skip("no host device node to look for")
	return ""
}

// TestLambdaMemoryLimit: a function instance is held to its MemorySize; exceeding it kills the
// instance (Runtime.ExitError, as in Lambda) and the next invoke cold-starts cleanly.
func TestLambdaMemoryLimit(t *testing.T) {
	if err := sandbox.Probe(); err != nil {
		t.Skipf("no sandbox on this host: %v", err)
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3 on this host")
	}
	t.Parallel()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("hog.py")
	w.Write([]byte("def handler(event, context):\n    if event.get('hog'):\n        b = bytearray(400 * 1024 * 1024)\n        return len(b)\n    return 'ok'\n"))
	zw.Close()
	b := bargetest.Start(t)
	c, ctx := lambda.NewFromConfig(b.Config()), context.Background()
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("hog"), Runtime: hostPython(t),
		Handler: aws.String("hog.handler"), Role: aws.String("arn:aws:iam::000000000000:role/x"), MemorySize: aws.Int32(128),
		Code: &ltypes.FunctionCode{ZipFile: buf.Bytes()}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("hog"), Payload: []byte(`{"hog":true}`)})
	if err != nil || aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "Runtime.ExitError") {
		t.Fatalf("a function over its memory: %v %s", err, out.Payload)
	}
	out, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("hog"), Payload: []byte(`{}`)})
	if err != nil || out.FunctionError != nil || string(out.Payload) != `"ok"` {
		t.Fatalf("the next invoke: %v %s", err, out.Payload)
	}
}

// TestIsolationContainment runs the escape and exhaustion attempts as jobs submitted through the
// AWS Batch API, beside an innocent job: each fails safely while the innocent job and barge carry
// on.
func TestIsolationContainment(t *testing.T) {
	if err := sandbox.Probe(); err != nil {
		t.Skipf("no sandbox on this host: %v", err)
	}
	t.Parallel()
	b := bargetest.Start(t, bargetest.WithArgs("--pids-limit", "64"))
	c, logs, ctx := b.Batch(), b.Logs(), context.Background()
	run := func(name, script string, mem string) types.JobDetail {
		t.Helper()
		register(t, c, name, &types.ContainerProperties{Command: []string{"sh", "-c", script}, ResourceRequirements: reqs("1", mem)})
		return bargetest.WaitJob(t, c, submit(t, c, &batch.SubmitJobInput{JobName: aws.String(name), JobDefinition: aws.String(name)}), jobWait, terminal)
	}
	out := func(j types.JobDetail) string {
		return strings.Join(logLines(t, logs, aws.ToString(j.Container.LogStreamName)), "\n")
	}

	register(t, c, "innocent", &types.ContainerProperties{Command: []string{"sh", "-c", "echo secret > mine; pwd; sleep 60"}, ResourceRequirements: reqs("1", "64")})
	innocent := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("innocent"), JobDefinition: aws.String("innocent")})
	ij := bargetest.WaitJob(t, c, innocent, jobWait, func(s string) bool { return s == "RUNNING" })
	dir := firstLogLine(t, logs, aws.ToString(ij.Container.LogStreamName))

	if j := run("hog", "head -c 400m /dev/zero | tail -c 300m > /dev/null", "32"); j.Status != types.JobStatusFailed ||
		aws.ToString(j.Container.Reason) != "OutOfMemoryError: Container killed due to memory usage" {
		t.Errorf("memory hog: %s %q", j.Status, aws.ToString(j.Container.Reason))
	}
	if j := run("bomb", "b() { b | b & }; b; sleep 2; echo survived-bomb", "64"); !strings.Contains(out(j), "survived-bomb") {
		t.Errorf("fork bomb: %s %q", j.Status, out(j))
	}
	if j := run("killall", "kill -9 -1; echo after-kill", "64"); j.Status != types.JobStatusSucceeded || !strings.Contains(out(j), "after-kill") {
		t.Errorf("kill -9 -1: %s %q", j.Status, out(j))
	}
	if j := run("snoop", "cat "+dir+"/mine 2>/dev/null && echo read-it || echo unreadable", "64"); !strings.Contains(out(j), "unreadable") {
		t.Errorf("reading another job's file: %q", out(j))
	}
	if j := run("scribble", "for p in /etc/x /usr/x /root/x; do touch $p 2>/dev/null && echo wrote $p; done; echo checked", "64"); strings.Contains(out(j), "wrote") {
		t.Errorf("writing outside mounts: %q", out(j))
	}
	if d := describe(t, c, innocent); len(d) != 1 || d[0].Status != types.JobStatusRunning {
		t.Fatalf("the innocent job: %+v", d)
	}
	if _, err := c.TerminateJob(ctx, &batch.TerminateJobInput{JobId: aws.String(innocent), Reason: aws.String("done")}); err != nil {
		t.Fatal(err)
	}
}
