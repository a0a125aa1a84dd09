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

// cmdRuntime manages what barge's interpreted runtimes bring besides the interpreter.
func cmdRuntime(ctx context.Context, args []string, out io.Writer) error {
	if len(args) < 2 || args[0] != "install" || args[1] != "node-sdk" {
		return usageError{"usage: barge runtime install node-sdk [--dir " + DefaultNodeSDKDir + "]"}
	}
	fs := flag.NewFlagSet("runtime install node-sdk", flag.ContinueOnError)
	dir := fs.String("dir", DefaultNodeSDKDir, "install into `DIR`/node_modules (the runtime reads BARGE_NODE_SDK, default "+DefaultNodeSDKDir+"/node_modules)")
	if err := parse(fs, args[2:]); err != nil {
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
