package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/batch"

	"github.com/barge-run/barge/internal/account"
	"github.com/barge-run/barge/internal/sigv4"
)

// defaultWait is how long `barge env --wait` waits for the server to answer.
const defaultWait = 60 * time.Second

// waitFlag is --wait: alone it waits defaultWait, --wait=30s as long as it says.
type waitFlag time.Duration

func (w *waitFlag) IsBoolFlag() bool { return true }

func (w *waitFlag) String() string {
	if *w == 0 {
		return ""
	}
	return time.Duration(*w).String()
}

func (w *waitFlag) Set(s string) error {
	switch s {
	case "true":
		*w = waitFlag(defaultWait)
	case "false":
		*w = 0
	default:
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return fmt.Errorf("%q: want a duration such as 30s", s)
		}
		*w = waitFlag(d)
	}
	return nil
}

// cmdEnv prints the exports of the data directory's credential and the server's endpoint; with
// --wait only once the server answers there, so that `barge server & eval "$(barge env --wait)"`
// cannot race the server's first start (which writes the credentials).
func cmdEnv(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("env", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	acct := fs.String("account", "", "account `ID` (default: the first in credentials.json)")
	var wait waitFlag
	fs.Var(&wait, "wait", "first wait until the server answers (--wait: up to 60s; --wait=2m)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	var cred sigv4.Credential
	var err error
	if wait > 0 {
		cred, err = waitForServer(ctx, &c, *acct, time.Duration(wait))
	} else {
		cred, err = credentialOf(c.dataDir, *acct)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "export AWS_ENDPOINT_URL=http://%s\n", c.addr)
	fmt.Fprintf(out, "export AWS_ACCESS_KEY_ID=%s\n", cred.AccessKeyID)
	fmt.Fprintf(out, "export AWS_SECRET_ACCESS_KEY=%s\n", cred.SecretAccessKey)
	fmt.Fprintf(out, "export AWS_REGION=%s\n", c.resolveRegion())
	fmt.Fprintf(out, "export AWS_DEFAULT_REGION=%s\n", c.region)
	return nil
}

// credentialOf reads the credential of acct ("": the first) from dataDir.
func credentialOf(dataDir, acct string) (sigv4.Credential, error) {
	creds, err := account.Load(dataDir)
	if err != nil {
		return sigv4.Credential{}, fmt.Errorf("%w (start the server once with this --data-dir to create it, or wait for it: barge env --wait)", err)
	}
	if acct == "" {
		return creds.First(), nil
	}
	cred, ok := creds.ForAccount(acct)
	if !ok {
		return sigv4.Credential{}, fmt.Errorf("no credential for account %s in %s", acct, dataDir)
	}
	return cred, nil
}

// waitForServer polls until the data directory has its credentials and the server at c.addr
// accepts them, or the time is up.
func waitForServer(ctx context.Context, c *commonFlags, acct string, limit time.Duration) (sigv4.Credential, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		cred, err := credentialOf(c.dataDir, acct)
		if err == nil {
			if err = ping(ctx, c, cred); err == nil {
				return cred, nil
			}
			if _, down := unreachable(err); !down {
				return sigv4.Credential{}, fmt.Errorf("the server at %s refuses the credential of %s (another server on that address?): %w", c.addr, c.dataDir, err)
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return sigv4.Credential{}, err
		}
		select {
		case <-ctx.Done():
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return sigv4.Credential{}, ctx.Err()
			}
			if errors.Is(err, fs.ErrNotExist) {
				return sigv4.Credential{}, fmt.Errorf("no barge server wrote the credentials of %s within %v: start one with `barge server --data-dir %s`", c.dataDir, limit, c.dataDir)
			}
			return sigv4.Credential{}, fmt.Errorf("no barge server answered at %s within %v: start it with `barge server`, or set --addr to where it listens", c.addr, limit)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ping makes one signed call (DescribeJobQueues), without retries.
func ping(ctx context.Context, c *commonFlags, cred sigv4.Credential) error {
	cfg := aws.Config{
		Region:           c.resolveRegion(),
		Credentials:      credentials.NewStaticCredentialsProvider(cred.AccessKeyID, cred.SecretAccessKey, ""),
		BaseEndpoint:     aws.String("http://" + c.addr),
		RetryMaxAttempts: 1,
	}
	_, err := batch.NewFromConfig(cfg).DescribeJobQueues(ctx, &batch.DescribeJobQueuesInput{MaxResults: aws.Int32(1)})
	return apiError(err)
}

// cmdAccountAdd adds an account's credential to the data directory: a running server on it
// accepts the key at once (it reads credentials.json again on an unknown key).
func cmdAccountAdd(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("account add", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"usage: barge account add <12-digit account id> [--data-dir …]"}
	}
	cred, err := account.Add(c.dataDir, fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "account %s: AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s\n", cred.AccountID, cred.AccessKeyID, cred.SecretAccessKey)
	fmt.Fprintf(out, "(a server on %s accepts it at once; its exports: barge env --account %s --data-dir %s)\n", c.dataDir, cred.AccountID, c.dataDir)
	return nil
}
