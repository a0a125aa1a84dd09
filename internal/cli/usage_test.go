package cli

import (
	"bytes"
	"flag"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestUsageFromFlags checks the usage text against the flags each command parses: every flag a
// command's overview line names exists, every flag it does not name is counted in its "… N
// more" pointer, and `barge <command> -h` lists every flag.
func TestUsageFromFlags(t *testing.T) {
	var buf bytes.Buffer
	usage(&buf)
	overview := buf.String()
	flagRE := regexp.MustCompile(`\[--?([a-z][a-z0-9-]*)[ =\]]`)
	moreRE := regexp.MustCompile(`\[… (\d+) more: barge ([a-z -]+) -h\]`)
	for _, c := range commands() {
		if c.name == "" {
			continue
		}
		fs, err := flagSetOf(c)
		if err != nil {
			t.Fatal(err)
		}
		if fs.Name() != c.name {
			t.Errorf("barge %s parses flag set %q: its -h could not find its synopsis", c.name, fs.Name())
		}
		entry := overviewEntry(t, overview, c.name)
		named := map[string]bool{}
		for _, m := range flagRE.FindAllStringSubmatch(entry, -1) {
			if fs.Lookup(m[1]) == nil {
				t.Errorf("usage of barge %s names --%s, which it does not parse", c.name, m[1])
			}
			named[m[1]] = true
		}
		var unnamed []string
		fs.VisitAll(func(f *flag.Flag) {
			if !named[f.Name] && !strings.Contains(strings.Join(commonFlagNames, " "), f.Name) {
				unnamed = append(unnamed, f.Name)
			}
		})
		if len(unnamed) > 0 {
			m := moreRE.FindStringSubmatch(entry)
			if m == nil || m[1] != strconv.Itoa(len(unnamed)) || m[2] != c.name {
				t.Errorf("usage of barge %s leaves out %v without saying how many more there are:\n%s", c.name, unnamed, entry)
			}
		}
		var help bytes.Buffer
		printCommandHelp(&help, fs)
		fs.VisitAll(func(f *flag.Flag) {
			if !strings.Contains(help.String(), dashed(f.Name)+" ") && !strings.Contains(help.String(), dashed(f.Name)+"\n") {
				t.Errorf("barge %s -h does not list %s:\n%s", c.name, dashed(f.Name), help.String())
			}
		})
		if !strings.HasPrefix(help.String(), "usage: barge "+c.name+" ") {
			t.Errorf("barge %s -h starts %q", c.name, strings.SplitN(help.String(), "\n", 2)[0])
		}
	}
}

// overviewEntry is a command's lines in the overview: its synopsis (maybe wrapped) and summary.
func overviewEntry(t *testing.T, overview, name string) string {
	t.Helper()
	lines := strings.Split(overview, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "  barge "+name+" ") || l == "  barge "+name {
			// "barge jobs watch …" is not an entry of "barge jobs".
			if rest := strings.TrimPrefix(l, "  barge "+name); rest != "" && !strings.HasPrefix(rest, " [") && !strings.HasPrefix(rest, " <") {
				continue
			}
			end := i + 1
			for end < len(lines) && strings.HasPrefix(lines[end], "        ") {
				end++
			}
			return strings.Join(lines[i:end+1], "\n")
		}
	}
	t.Fatalf("the usage text has no line for barge %s:\n%s", name, overview)
	return ""
}

func TestLookupCommand(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		name     string
		rest     []string
		notFound bool
	}{
		{args: []string{"jobs", "watch", "j1"}, name: "jobs watch", rest: []string{"j1"}},
		{args: []string{"jobs", "--queue", "q"}, name: "jobs", rest: []string{"--queue", "q"}},
		{args: []string{"runtime", "install", "node-sdk", "--dir", "d"}, name: "runtime install node-sdk", rest: []string{"--dir", "d"}},
		{args: []string{"account"}, notFound: true},
		{args: []string{"frobnicate"}, notFound: true},
	} {
		c, rest, ok := lookupCommand(tc.args)
		if ok == tc.notFound || (ok && (c.name != tc.name || strings.Join(rest, " ") != strings.Join(tc.rest, " "))) {
			t.Errorf("lookupCommand(%q) = %q %q %v; want %q %q", tc.args, c.name, rest, ok, tc.name, tc.rest)
		}
	}
}

// TestMainUsageErrors checks the exit codes of what is not a command.
func TestMainUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"account"}, 2, "barge account add <12-digit account id>"},
		{[]string{"logs", "--nonsense", "x"}, 2, "flag provided but not defined: -nonsense"},
		{[]string{"account", "add"}, 2, "usage: barge account add"},
	} {
		var stdout, stderr bytes.Buffer
		if code := Main(tc.args, &stdout, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("barge %q: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"help", "jobs", "watch"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "--interval") {
		t.Errorf("barge help jobs watch: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
}
