package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// command is one barge command: its name (one or more words), its positional arguments and a
// one-line summary for the usage text, and what runs it. Its flags are not listed here: the
// usage text asks the command itself for the flag set it parses (flagSetOf), so it cannot go
// stale.
type command struct {
	name    string
	args    string
	summary string
	run     func(context.Context, []string, io.Writer) error
}

// commands is every command, in the order the usage text shows them; an empty entry separates
// groups. (A function, not a variable: the commands' own help refers back to it.)
func commands() []command {
	return []command{
		{"server", "", "run the server (API, scheduler, jobs and functions)", cmdServer},
		{"env", "", "print the AWS_* exports a shell needs to use the server (--wait: once it answers)", cmdEnv},
		{"account add", "<12-digit account id>", "add an account and print its key (a running server accepts it at once)", cmdAccountAdd},
		{"doctor", "", "what this host offers for isolation, what barge enforces", cmdDoctor},
		{"backup", "<new directory>", "a consistent copy of a (running) server's data directory", cmdBackup},
		{},
		{"submit", "[--] [command…]", "submit a job (an ad-hoc definition unless --definition); prints its id", cmdSubmit},
		{"jobs", "", "list jobs", cmdJobs},
		{"jobs watch", "<jobId>", "follow a job to its end (an array as a progress bar); exit 1 if it FAILED", cmdWatch},
		{"describe", "<jobId>…", "the DescribeJobs response", cmdDescribe},
		{"logs", "<jobId>", "a job's output (<jobId>:N for an array's child N); -f follows it, exit 1 if it FAILED", cmdLogs},
		{"cancel", "<jobId>…", "cancel jobs that have not started (AWS's CancelJob); a started one needs terminate", cmdCancel},
		{"terminate", "<jobId>…", "stop jobs, running ones too (SIGTERM, then SIGKILL)", cmdTerminate},
		{"console", "", "print a link that logs a browser in to the web console (--job ID: that job's page)", cmdConsole},
		{},
		{"deploy", "<function> <zip | directory | executable>", "create a function, or update its code and configuration", cmdDeploy},
		{"invoke", "<function> [payload]", "invoke a function and print its answer", cmdInvoke},
		{"image import", "<docker-save.tar | OCI layout | OCI archive>", "load images with no registry: their names run them, for your account", cmdImageImport},
		{"runtime install node-sdk", "", "the AWS SDK for JavaScript v3 for Node.js functions (npm)", installNodeSDK},
		{"runtime install python-boto3", "", "boto3 for Python functions (Debian's packages)", installPythonSDK},
		{},
		{"bench", "", "measure Batch throughput end to end", cmdBench},
		{"bench-lambda", "", "measure Lambda invokes (optionally against AWS's emulator)", cmdBenchLambda},
		{"bench-load", "", "many clients, mixed Batch, Lambda and Logs calls", cmdBenchLoad},
		{"bench-logs", "", "PutLogEvents ingest and FilterLogEvents latency", cmdBenchLogs},
	}
}

// lookupCommand finds the command args name, the longest name first ("jobs watch" before
// "jobs"), and returns it with the arguments after its name.
func lookupCommand(args []string) (command, []string, bool) {
	var best command
	for _, c := range commands() {
		words := strings.Fields(c.name)
		if len(words) > len(strings.Fields(best.name)) && len(args) >= len(words) && slices.Equal(args[:len(words)], words) {
			best = c
		}
	}
	if best.name == "" {
		return command{}, nil, false
	}
	return best, args[len(strings.Fields(best.name)):], true
}

// flagSetOf is the flag set command c parses, which it hands over instead of running when its
// only argument is probeArg.
func flagSetOf(c command) (*flag.FlagSet, error) {
	err := c.run(context.Background(), []string{probeArg}, io.Discard)
	var p probeResult
	if !errors.As(err, &p) {
		return nil, fmt.Errorf("barge %s does not parse its flags first (%v)", c.name, err)
	}
	return p.fs, nil
}

// commonFlagNames are the flags of commonFlags, described once at the end of the usage text.
var commonFlagNames = []string{"addr", "data-dir", "region"}

// maxListed is how many of a command's flags the overview lists before pointing to -h.
const maxListed = 10

// usage writes the overview of every command, generated from the flags they parse.
func usage(w io.Writer) {
	fmt.Fprint(w, "barge — self-hosted AWS Batch and Lambda\n\nUsage (flags go before or after the arguments; barge <command> -h lists all of a command's flags):\n")
	for _, c := range commands() {
		if c.name == "" {
			fmt.Fprintln(w)
			continue
		}
		fs, err := flagSetOf(c)
		if err != nil {
			fmt.Fprintf(w, "  barge %s %s\n", c.name, c.args)
			continue
		}
		fmt.Fprintf(w, "%s\n      %s\n", wrap("  barge "+c.name, synopsis(c, fs), 100, 8), c.summary)
	}
	fmt.Fprint(w, `
Client commands take --addr host:port and --data-dir (env BARGE_ADDR, BARGE_DATA_DIR; default
127.0.0.1:7700 and .barge) and --region, unless AWS_ENDPOINT_URL and AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY are set, which they then use as every AWS client does.
`)
}

// synopsis lists a command's own flags ([--name default], at most maxListed of them, then a
// pointer to -h) and its positional arguments.
func synopsis(c command, fs *flag.FlagSet) []string {
	var words []string
	fs.VisitAll(func(f *flag.Flag) {
		if !slices.Contains(commonFlagNames, f.Name) {
			words = append(words, flagWord(f))
		}
	})
	if len(words) > maxListed {
		words = append(words[:maxListed-1], fmt.Sprintf("[… %d more: barge %s -h]", len(words)-maxListed+1, c.name))
	}
	if c.args != "" {
		words = append(words, c.args)
	}
	return words
}

// flagWord is how one flag appears in a synopsis: [--follow], [--queue default], [--env KEY=VALUE].
func flagWord(f *flag.Flag) string {
	if isBoolFlag(f) && f.DefValue == "true" {
		return "[" + dashed(f.Name) + "=false]"
	} else if isBoolFlag(f) {
		return "[" + dashed(f.Name) + "]"
	}
	name, _ := flag.UnquoteUsage(f)
	if def := f.DefValue; def != "" && def != "0" && def != "0s" {
		name = def
	}
	return "[" + dashed(f.Name) + " " + name + "]"
}

// dashed is a flag as barge's documentation writes it: -f, --queue (Go's flag package takes
// either form of both).
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// wrap joins words after head into lines of at most width columns, continued with indent spaces.
func wrap(head string, words []string, width, indent int) string {
	var b strings.Builder
	line := head
	for _, w := range words {
		if len(line)+1+len(w) > width && len(line) > indent {
			b.WriteString(line + "\n")
			line = strings.Repeat(" ", indent) + w
			continue
		}
		line += " " + w
	}
	b.WriteString(line)
	return b.String()
}

// printCommandHelp writes a command's help: its synopsis and every flag it parses.
func printCommandHelp(w io.Writer, fs *flag.FlagSet) {
	c := command{name: fs.Name()}
	for _, cc := range commands() {
		if cc.name == fs.Name() {
			c = cc
		}
	}
	fmt.Fprintf(w, "usage: barge %s [flags] %s\n", c.name, c.args)
	if c.summary != "" {
		fmt.Fprintf(w, "%s\n", c.summary)
	}
	fmt.Fprintln(w, "\nflags:")
	fs.VisitAll(func(f *flag.Flag) {
		name, text := flag.UnquoteUsage(f)
		if isBoolFlag(f) {
			name = ""
		}
		fmt.Fprintf(w, "  %s", dashed(f.Name))
		if name != "" {
			fmt.Fprintf(w, " %s", name)
		}
		fmt.Fprintf(w, "\n      %s", text)
		if f.DefValue != "" && !(isBoolFlag(f) && f.DefValue == "false") {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}
