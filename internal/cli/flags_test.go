package cli

import (
	"errors"
	"flag"
	"slices"
	"testing"
)

// TestParseInterspersed checks that flags are taken before, between and after positional
// arguments, that "--" ends them, and that parseLeading stops at the first positional one.
func TestParseInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		leading    bool
		dir, queue string
		follow     bool
		positional []string
	}{
		{args: []string{"add", "111111111111", "--data-dir", "D"}, dir: "D", positional: []string{"add", "111111111111"}},
		{args: []string{"--data-dir", "D", "111111111111"}, dir: "D", positional: []string{"111111111111"}},
		{args: []string{"j1", "-f", "j2", "--queue=q"}, queue: "q", follow: true, positional: []string{"j1", "j2"}},
		{args: []string{"j1", "--", "-f", "--queue", "q"}, positional: []string{"j1", "-f", "--queue", "q"}},
		{args: []string{"--queue", "q", "sh", "-c", "echo -f"}, leading: true, queue: "q", positional: []string{"sh", "-c", "echo -f"}},
		{args: nil, positional: nil},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		dir := fs.String("data-dir", "", "")
		queue := fs.String("queue", "", "")
		follow := fs.Bool("f", false, "")
		var err error
		if tc.leading {
			err = parseLeading(fs, tc.args)
		} else {
			err = parse(fs, tc.args)
		}
		if err != nil {
			t.Errorf("parse %q: %v", tc.args, err)
			continue
		}
		if *dir != tc.dir || *queue != tc.queue || *follow != tc.follow || !slices.Equal(fs.Args(), tc.positional) {
			t.Errorf("parse %q: data-dir %q queue %q f %v args %q; want %q %q %v %q", tc.args, *dir, *queue, *follow, fs.Args(), tc.dir, tc.queue, tc.follow, tc.positional)
		}
	}
}

func TestParseErrors(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.String("queue", "", "")
	var ue usageError
	if err := parse(fs, []string{"j1", "--nope"}); !errors.As(err, &ue) {
		t.Errorf("an unknown flag after an argument: %v, want a usage error", err)
	}
	if err := parse(fs, []string{"j1", "--queue"}); !errors.As(err, &ue) {
		t.Errorf("a flag without its value: %v, want a usage error", err)
	}
	var p probeResult
	if err := parse(fs, []string{probeArg}); !errors.As(err, &p) || p.fs != fs {
		t.Errorf("probing: %v, want the flag set", err)
	}
}
