package cli

import (
	"errors"
	"flag"
	"io"
	"os"
)

// parse parses a command's flags wherever they stand among its arguments — `barge account add
// 111111111111 --data-dir D` as `barge account add --data-dir D 111111111111` — and leaves the
// positional arguments, in order, in fs.Args(). Everything after "--" is positional as it is.
func parse(fs *flag.FlagSet, args []string) error {
	return parseFlags(fs, args, true)
}

// parseLeading parses flags up to the first positional argument: the rest is a command line of
// its own (`barge submit --queue q sh -c 'echo hi'`), whose flags are not barge's.
func parseLeading(fs *flag.FlagSet, args []string) error {
	return parseFlags(fs, args, false)
}

func parseFlags(fs *flag.FlagSet, args []string, interspersed bool) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if len(args) == 1 && args[0] == probeArg {
		return probeResult{fs}
	}
	var positional []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return flagError(fs, err)
		}
		left := fs.Args()
		consumed := len(rest) - len(left)
		endOfFlags := consumed > 0 && rest[consumed-1] == "--"
		if len(left) == 0 || endOfFlags || !interspersed {
			positional = append(positional, left...)
			break
		}
		positional = append(positional, left[0])
		rest = left[1:]
	}
	// Parsing "--" alone leaves exactly the positional arguments in fs.Args().
	return fs.Parse(append([]string{"--"}, positional...))
}

// flagError turns a flag package error into barge's: -h prints the command's help to stdout and
// ends it with success, anything else is a usage error (exit 2).
func flagError(fs *flag.FlagSet, err error) error {
	if errors.Is(err, flag.ErrHelp) {
		printCommandHelp(os.Stdout, fs)
		return err
	}
	return usageError{err.Error()}
}

// probeArg, as a command's only argument, makes parse answer the command's flag set instead of
// parsing: how the usage text learns each command's flags (flagSetOf) without running it.
const probeArg = "\x00barge: list your flags"

// probeResult is parse's answer to probeArg, returned by the command as its error.
type probeResult struct{ fs *flag.FlagSet }

func (probeResult) Error() string { return "flags probed" }
