package cli

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// cmdInvoke invokes a function and prints its answer; a function error goes to stderr and makes
// the command fail.
func cmdInvoke(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	qualifier := fs.String("qualifier", "", "`VERSION` or alias")
	async := fs.Bool("event", false, "invoke asynchronously (InvocationType Event)")
	logs := fs.Bool("logs", false, "print the invocation's log tail to stderr")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		return usageError{"usage: barge invoke [--qualifier q] [--event] [--logs] <function> ['{\"json\":\"payload\"}']"}
	}
	cl, err := c.clients()
	if err != nil {
		return err
	}
	lc := lambda.NewFromConfig(cl.cfg)
	in := &lambda.InvokeInput{FunctionName: aws.String(fs.Arg(0)), Payload: []byte("{}")}
	if fs.NArg() == 2 {
		in.Payload = []byte(fs.Arg(1))
	}
	if *qualifier != "" {
		in.Qualifier = qualifier
	}
	if *async {
		in.InvocationType = ltypes.InvocationTypeEvent
	}
	if *logs {
		in.LogType = ltypes.LogTypeTail
	}
	res, err := lc.Invoke(ctx, in)
	if err != nil {
		return apiError(err)
	}
	if *logs && res.LogResult != nil {
		if tail, err := base64.StdEncoding.DecodeString(*res.LogResult); err == nil {
			os.Stderr.Write(tail)
		}
	}
	if *async {
		fmt.Fprintf(out, "queued (HTTP %d)\n", res.StatusCode)
		return nil
	}
	out.Write(res.Payload)
	fmt.Fprintln(out)
	if res.FunctionError != nil {
		return fmt.Errorf("function error (%s)", aws.ToString(res.FunctionError))
	}
	return nil
}
