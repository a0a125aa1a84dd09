package cli

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// cmdDeploy creates a function from a local path, or updates its code if it exists: a barge
// extension over `aws lambda create-function --zip-file fileb://…`, which needs a zip made
// beforehand. The path is a zip file, a directory (zipped as it is), or one executable (zipped as
// `bootstrap`, for provided runtimes).
func cmdDeploy(ctx context.Context, args []string, out io.Writer) error {
	fset := flag.NewFlagSet("deploy", flag.ContinueOnError)
	var c commonFlags
	c.register(fset)
	runtime := fset.String("runtime", "provided.al2023", "runtime (provided.al2023, python3.12, nodejs20.x, …)")
	handler := fset.String("handler", "bootstrap", "handler (module.function for python, file.function for node)")
	memory := fset.Int("memory", 128, "MemorySize in MB")
	timeout := fset.Int("timeout", 3, "Timeout in seconds")
	role := fset.String("role", "arn:aws:iam::000000000000:role/barge", "execution role ARN (recorded)")
	var env envList
	fset.Var(&env, "env", "`KEY=VALUE` environment variable (repeatable)")
	if err := parse(fset, args); err != nil {
		return err
	}
	if fset.NArg() != 2 {
		return usageError{"usage: barge deploy [--runtime r] [--handler h] [--memory 128] [--timeout 3] [--env K=V] <function> <zip | directory | executable>"}
	}
	name, path := fset.Arg(0), fset.Arg(1)
	pkg, err := packagePath(path)
	if err != nil {
		return err
	}
	if err := checkEntryPoint(pkg, *runtime, *handler); err != nil {
		if errors.As(err, new(usageError)) {
			return err
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	vars := map[string]string{}
	for _, kv := range env {
		vars[kv[0]] = kv[1]
	}
	cl, err := c.clients()
	if err != nil {
		return err
	}
	lc := lambda.NewFromConfig(cl.cfg)
	created, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: ltypes.Runtime(*runtime),
		Handler: handler, Role: role, MemorySize: aws.Int32(int32(*memory)), Timeout: aws.Int32(int32(*timeout)),
		Environment: &ltypes.Environment{Variables: vars}, Code: &ltypes.FunctionCode{ZipFile: pkg}})
	var exists *ltypes.ResourceConflictException
	switch {
	case err == nil:
		fmt.Fprintf(out, "created %s (%d bytes, sha256 %s)\n", aws.ToString(created.FunctionArn), len(pkg), aws.ToString(created.CodeSha256))
		return nil
	case !errors.As(err, &exists):
		return apiError(err)
	}
	updated, err := lc.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ZipFile: pkg})
	if err != nil {
		return apiError(err)
	}
	if _, err := lc.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(name), Runtime: ltypes.Runtime(*runtime),
		Handler: handler, MemorySize: aws.Int32(int32(*memory)), Timeout: aws.Int32(int32(*timeout)), Environment: &ltypes.Environment{Variables: vars}}); err != nil {
		return apiError(err)
	}
	fmt.Fprintf(out, "updated %s (%d bytes, sha256 %s)\n", aws.ToString(updated.FunctionArn), len(pkg), aws.ToString(updated.CodeSha256))
	return nil
}

// packagePath makes a deployment package of a zip file, a directory or a single executable.
func packagePath(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if bytes.HasPrefix(b, []byte("PK\x03\x04")) {
			return b, nil // already a zip
		}
		if fi.Mode()&0o111 == 0 {
			return nil, fmt.Errorf("%s is neither a zip, a directory nor an executable", path)
		}
		return zipFiles(map[string]fileEntry{"bootstrap": {data: b, mode: 0o755}})
	}
	files := map[string]fileEntry{}
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			return nil // links and devices do not go into a Lambda package
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(path, p)
		files[filepath.ToSlash(rel)] = fileEntry{data: b, mode: info.Mode().Perm()}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s has no files", path)
	}
	return zipFiles(files)
}

type fileEntry struct {
	data []byte
	mode os.FileMode
}

func zipFiles(files map[string]fileEntry) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, f := range files {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(f.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
