package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// DefaultNodeSDKDir is where `barge runtime install node-sdk` puts the AWS SDK for JavaScript v3
// and where the Node.js runtime looks for it (its node_modules; the runtime's BARGE_NODE_SDK):
// a directory every sandboxed instance can read, as Lambda's runtime ships the SDK beside itself.
const DefaultNodeSDKDir = "/usr/local/lib/barge/nodejs"

// nodeSDKPackages are the AWS SDK for JavaScript v3 clients of the services barge serves.
var nodeSDKPackages = []string{"@aws-sdk/client-lambda", "@aws-sdk/client-batch", "@aws-sdk/client-cloudwatch-logs"}

// DefaultPythonSDKDir is where `barge runtime install python-boto3` unpacks boto3 and the Python
// runtime looks for it (its python directory; the runtime's BARGE_PYTHON_SDK).
const DefaultPythonSDKDir = "/usr/local/lib/barge/python"

// pythonSDKPackages are the Debian packages of boto3 and what it imports.
var pythonSDKPackages = []string{"python3-boto3", "python3-botocore", "python3-s3transfer", "python3-jmespath",
	"python3-dateutil", "python3-six", "python3-urllib3"}

// installPythonSDK unpacks the distribution's boto3 (Debian packages, fetched with apt-get
// download) into its own directory, which barge's Python runtime puts on sys.path after the
// function's code: boto3 for every python3.X function whether or not the host's Python has it.
func installPythonSDK(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("runtime install python-boto3", flag.ContinueOnError)
	dir := fs.String("dir", DefaultPythonSDKDir, "unpack into `DIR` (the runtime reads BARGE_PYTHON_SDK, default "+DefaultPythonSDKDir+")")
	if err := parse(fs, args); err != nil {
		return err
	}
	for _, tool := range []string{"apt-get", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("installing boto3 needs %s (a Debian or Ubuntu host): %w", tool, err)
		}
	}
	tmp, err := os.MkdirTemp("", "barge-boto3-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	get := exec.CommandContext(ctx, "apt-get", append([]string{"download", "-q"}, pythonSDKPackages...)...)
	get.Dir = tmp
	if b, err := get.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get download (run apt-get update first?): %v: %s", err, b)
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	// Unpacked next to the old copy, then swapped in, so functions starting meanwhile see one or
	// the other whole.
	next := *dir + ".new"
	os.RemoveAll(next)
	for _, deb := range debs {
		if b, err := exec.CommandContext(ctx, "dpkg-deb", "-x", deb, next).CombinedOutput(); err != nil {
			return fmt.Errorf("dpkg-deb -x %s: %v: %s", filepath.Base(deb), err, b)
		}
	}
	os.RemoveAll(*dir)
	if err := os.Rename(next, *dir); err != nil {
		return err
	}
	fmt.Fprintf(out, "boto3 (%d Debian packages) is in %s; Python functions import it as Lambda's runtime provides it\n",
		len(debs), filepath.Join(*dir, "usr/lib/python3/dist-packages"))
	return nil
}

// installNodeSDK installs the AWS SDK for JavaScript v3 clients of the services barge serves.
func installNodeSDK(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("runtime install node-sdk", flag.ContinueOnError)
	dir := fs.String("dir", DefaultNodeSDKDir, "install into `DIR`/node_modules (the runtime reads BARGE_NODE_SDK, default "+DefaultNodeSDKDir+"/node_modules)")
	if err := parse(fs, args); err != nil {
		return err
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("installing the AWS SDK for JavaScript needs npm (Debian: apt install npm): %w", err)
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	// Installed afresh each time: running the command again is how an operator refreshes it.
	cmd := exec.CommandContext(ctx, npm, append([]string{"install", "--no-audit", "--no-fund", "--omit=dev", "--prefix", *dir}, nodeSDKPackages...)...)
	cmd.Stdout, cmd.Stderr = out, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm install: %w", err)
	}
	fmt.Fprintf(out, "the AWS SDK for JavaScript v3 (%v) is in %s; Node.js functions find it as Lambda's runtime provides it\n",
		nodeSDKPackages, filepath.Join(*dir, "node_modules"))
	return nil
}
