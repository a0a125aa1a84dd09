package e2e_test

import (
	"context"
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
	gname "github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/barge-run/barge/internal/bargetest"
	"github.com/barge-run/barge/internal/image/imagetest"
)

// offlineImage is a name no registry answers for (nothing listens on port 1): only an import
// can give it an image.
const offlineImage = "127.0.0.1:1/offline/app:v1"

// TestImageImport: `barge image import` of a `docker save` tarball lets the importing account's
// jobs run the image by its name with no registry; another account naming it cannot pull it.
func TestImageImport(t *testing.T) {
	t.Parallel()
	dir, other := twoAccounts(t)
	b := bargetest.Start(t, bargetest.WithDataDir(dir))
	if !strings.Contains(b.Log(), "sandbox") {
		t.Skip("images need barge's sandbox")
	}
	archive := savedImage(t, offlineImage, v1.Config{Entrypoint: []string{"/bin/app"}, Env: []string{"PATH=/bin"}},
		map[string]imagetest.File{"bin/app": {Body: imagetest.App(t), Mode: 0o755}})
	cmd := exec.Command(bargetest.Binary(t), "image", "import", archive)
	cmd.Env = b.Env()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), offlineImage) || !strings.Contains(string(out), "sha256:") {
		t.Fatalf("barge image import: %v\n%s", err, out)
	}

	c, theirs := b.Batch(), batch.NewFromConfig(b.Config(other))
	def := &types.ContainerProperties{Image: aws.String(offlineImage), Command: []string{"echo", "imported, offline"}}
	register(t, c, "offline", def)
	register(t, theirs, "offline", &types.ContainerProperties{Image: aws.String(offlineImage), Command: []string{"echo", "x"}})
	mine := submit(t, c, &batch.SubmitJobInput{JobName: aws.String("offline"), JobDefinition: aws.String("offline")})
	j := bargetest.WaitJob(t, c, mine, jobWait, terminal)
	if j.Status != types.JobStatusSucceeded {
		t.Fatalf("a job on the imported image: %s %q %q", j.Status, aws.ToString(j.StatusReason), aws.ToString(j.Container.Reason))
	}
	if got := strings.Join(logLines(t, b.Logs(), aws.ToString(j.Container.LogStreamName)), "\n"); !strings.Contains(got, "imported, offline") {
		t.Fatalf("the job's output: %q", got)
	}
	theirJob := submit(t, theirs, &batch.SubmitJobInput{JobName: aws.String("offline"), JobDefinition: aws.String("offline")})
	j = bargetest.WaitJob(t, theirs, theirJob, jobWait, terminal)
	if j.Status != types.JobStatusFailed || !strings.Contains(aws.ToString(j.Container.Reason), "CannotPullContainerError") {
		t.Fatalf("another account's job naming the imported image: %s %q", j.Status, aws.ToString(j.Container.Reason))
	}

	// An image function on an imported image: Code.ImageUri resolves through the pin too.
	const fnImage = "127.0.0.1:1/offline/echo-fn:v1"
	fnArchive := savedImage(t, fnImage, v1.Config{Entrypoint: []string{"/var/task/bootstrap"}},
		map[string]imagetest.File{"var/task/bootstrap": {Body: imagetest.StaticBinary(t, "../fn/testdata/echofn"), Mode: 0o755}})
	cmd = exec.Command(bargetest.Binary(t), "image", "import", fnArchive)
	cmd.Env = b.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("barge image import of the function's image: %v\n%s", err, out)
	}
	lc := lambda.NewFromConfig(b.Config())
	if _, err := lc.CreateFunction(context.Background(), &lambda.CreateFunctionInput{FunctionName: aws.String("offline-fn"), PackageType: ltypes.PackageTypeImage,
		Role: aws.String("arn:aws:iam::000000000000:role/x"), Code: &ltypes.FunctionCode{ImageUri: aws.String(fnImage)}}); err != nil {
		t.Fatalf("an image function on an imported image: %v", err)
	}
	if out, err := lc.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("offline-fn"), Payload: []byte(`{"x":1}`)}); err != nil || out.FunctionError != nil {
		t.Fatalf("invoking it: %v %+v", err, out)
	}

	// Refused: not an archive; a tampered body (the signature covers its SHA-256).
	junk := filepath.Join(t.TempDir(), "junk.tar")
	os.WriteFile(junk, []byte("junk"), 0o644)
	cmd = exec.Command(bargetest.Binary(t), "image", "import", junk)
	cmd.Env = b.Env()
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "ClientException") {
		t.Fatalf("importing junk: %v\n%s", err, out)
	}
}

// savedImage builds an image in a registry of the test's own, reads it back and writes it as
// `docker save` would, under name.
func savedImage(t *testing.T, name string, cfg v1.Config, files map[string]imagetest.File) string {
	t.Helper()
	reg := imagetest.StartRegistry(t)
	src := reg + "/e2e/import:v1"
	imagetest.Push(t, src, cfg, files)
	ref, err := gname.ParseReference(src, gname.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := gname.NewTag(name)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "app.tar")
	if err := tarball.WriteToFile(path, tag, img); err != nil {
		t.Fatal(err)
	}
	return path
}
