// Command barge is the self-hosted AWS Batch and Lambda server and its command line.
package main

import (
	"os"

	"github.com/barge-run/barge/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
