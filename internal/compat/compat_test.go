package compat

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/barge-run/barge/internal/awstypes"
	batchwire "github.com/barge-run/barge/internal/awstypes/batch"
)

const golden = "../../docs/compatibility.md"

func rendered(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf); err != nil {
		t.Fatalf("Render: %v", err)
	}
	return buf.String()
}

// sectionOf returns the table rows of one "## title" section, by operation name.
func sectionOf(t *testing.T, doc, title string) (rows map[string][]string, count map[string]int) {
	t.Helper()
	_, rest, ok := strings.Cut(doc, "\n## "+title+"\n")
	if !ok {
		t.Fatalf("no section %q", title)
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	rows, count = map[string][]string{}, map[string]int{}
	for _, line := range strings.Split(rest, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| Operation ") || strings.HasPrefix(line, "| --- ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows[cells[0]] = cells
		count[cells[0]]++
	}
	return rows, count
}

func TestRenderBatch(t *testing.T) {
	doc := rendered(t)
	rows, count := sectionOf(t, doc, "AWS Batch")
	if len(rows) != len(batchwire.Operations) {
		t.Errorf("Batch section lists %d operations, the model has %d", len(rows), len(batchwire.Operations))
	}
	for _, op := range batchwire.Operations {
		if count[op.Name] != 1 {
			t.Errorf("Batch operation %s is listed %d times, want once", op.Name, count[op.Name])
		}
	}
	for name, want := range map[string]string{
		"SubmitJob":              "tested",
		"DescribeJobs":           "tested",
		"CreateSchedulingPolicy": "tested",
		"SubmitServiceJob":       "not yet",
	} {
		if r := rows[name]; len(r) < 2 || r[1] != want {
			t.Errorf("%s: row %q, want state %q", name, r, want)
		}
	}
	if r := rows["SubmitJob"]; len(r) < 3 || !strings.Contains(r[2], "TestBoto3") || !strings.Contains(r[2], "`dependsOn`") {
		t.Errorf("SubmitJob notes %q lack its tests or refused members", r)
	}
	if !strings.Contains(doc, "25 of 45 operations implemented") {
		t.Errorf("Batch count line missing or changed:\n%s", doc)
	}
	if lrows, _ := sectionOf(t, doc, "Lambda"); len(lrows) == 0 {
		t.Error("Lambda section is empty")
	} else {
		want := map[string]string{"Invoke": "tested", "CreateFunction": "tested", "PublishVersion": "tested", "CreateAlias": "tested", "CreateEventSourceMapping": "tested"}
		for name, state := range want {
			if r, ok := lrows[name]; !ok || r[1] != state {
				t.Errorf("Lambda %s is %v, want %s", name, r, state)
			}
		}
	}
}

// TestEveryOperationOnce checks each section lists its model's operations once, sorted.
func TestEveryOperationOnce(t *testing.T) {
	doc := rendered(t)
	for _, svc := range services() {
		_, count := sectionOf(t, doc, svc.Title)
		if len(count) != len(svc.Ops) {
			t.Errorf("%s: %d operations listed, model has %d", svc.Title, len(count), len(svc.Ops))
		}
		for _, op := range svc.Ops {
			if count[op.Name] != 1 {
				t.Errorf("%s: %s listed %d times", svc.Title, op.Name, count[op.Name])
			}
		}
	}
}

func TestRenderChecksNotes(t *testing.T) {
	ops := []awstypes.Operation{{Name: "B"}, {Name: "A"}, {Name: "C"}}
	for _, tc := range []struct {
		name  string
		impl  []string
		notes map[string]Note
		want  string // substring of the error; "" = success
	}{
		{name: "ok", impl: []string{"A", "B"}, notes: map[string]Note{"A": {Level: Tested, Tests: []string{"TestA"}}}},
		{name: "note for unimplemented", impl: []string{"A"}, notes: map[string]Note{"C": {Level: Partial}}, want: "C, which barge does not implement"},
		{name: "not-yet note", impl: []string{"A"}, notes: map[string]Note{"A": {Level: NotYet}}, want: "level"},
		{name: "tested without tests", impl: []string{"A"}, notes: map[string]Note{"A": {Level: Tested}}, want: "names no test"},
		{name: "unknown op in notes", impl: []string{"A"}, notes: map[string]Note{"Z": {Level: Partial}}, want: "not an operation"},
		{name: "implemented but not in model", impl: []string{"Z"}, want: "not in the model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := render(&buf, []service{{Key: "x", Title: "X", Ops: ops, Implemented: tc.impl, Notes: tc.notes}})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("render: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("render error %v, want one containing %q", err, tc.want)
			case tc.want != "" && buf.Len() > 0:
				t.Fatalf("render wrote %d bytes before failing", buf.Len())
			}
			if tc.want != "" {
				return
			}
			out := buf.String()
			for _, want := range []string{
				"| A | tested | Tests: `TestA`. |\n| B | partial | implemented; no client test recorded |\n| C | not yet |  |\n",
				"2 of 3 operations implemented (1 tested through a real client, 1 partial); 1 not yet.",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// TestGolden fails when the committed document has drifted from what Render produces.
func TestGolden(t *testing.T) {
	want := rendered(t)
	got, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("docs/compatibility.md is stale: run go generate ./internal/compat (%v)", err)
	}
	if string(got) != want {
		t.Fatalf("docs/compatibility.md is stale: run go generate ./internal/compat")
	}
}

// TestNamedTestsExist looks for the Go tests the notes name. Tests still being written are
// reported by skipping, so the list stays visible with go test -v.
func TestNamedTestsExist(t *testing.T) {
	defined := map[string]bool{}
	re := regexp.MustCompile(`(?m)^func (Test\w+)\(`)
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "../.." && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllSubmatch(src, -1) {
			defined[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	seen := map[string]bool{}
	for _, notes := range Notes {
		for _, n := range notes {
			for _, name := range n.Tests {
				if strings.HasPrefix(name, "Test") && !defined[name] && !seen[name] {
					seen[name] = true
					missing = append(missing, name)
				}
			}
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Skipf("tests named in Notes but not found in the module: %s", strings.Join(missing, ", "))
	}
}
