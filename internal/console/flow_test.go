package console

import (
	"encoding/json"
	"testing"

	"github.com/barge-run/barge/internal/sfn/asl"
)

// events builds a history from (id, previous, type, state) rows; state "" for events that name
// none.
func events(rows ...[4]string) []json.RawMessage {
	var out []json.RawMessage
	for _, r := range rows {
		ev := map[string]any{"id": json.Number(r[0]), "previousEventId": json.Number(r[1]), "type": r[2]}
		switch {
		case r[3] != "" && len(r[2]) > 7 && r[2][len(r[2])-7:] == "Entered":
			ev["stateEnteredEventDetails"] = map[string]string{"name": r[3]}
		case r[3] != "" && len(r[2]) > 6 && r[2][len(r[2])-6:] == "Exited":
			ev["stateExitedEventDetails"] = map[string]string{"name": r[3]}
		}
		b, _ := json.Marshal(ev)
		out = append(out, b)
	}
	return out
}

const flowDefinition = `{"StartAt":"Validate","States":{
 "Validate":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Next":"Fan",
   "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Oops"}]},
 "Fan":{"Type":"Parallel","Next":"Done","Branches":[
   {"StartAt":"Left","States":{"Left":{"Type":"Pass","End":true}}},
   {"StartAt":"Right","States":{"Right":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}}}]},
 "Oops":{"Type":"Fail","Error":"E"},
 "Done":{"Type":"Succeed"}}}`

func TestExecutionGraphStatuses(t *testing.T) {
	def, err := asl.Parse(flowDefinition)
	if err != nil {
		t.Fatal(err)
	}
	// Validate fails once and is retried, then Fan runs: Left finishes, Right's task fails and
	// the execution fails with it.
	hist := events(
		[4]string{"1", "0", "ExecutionStarted", ""},
		[4]string{"2", "1", "TaskStateEntered", "Validate"},
		[4]string{"3", "2", "TaskScheduled", ""},
		[4]string{"4", "3", "TaskFailed", ""},
		[4]string{"5", "4", "TaskScheduled", ""},
		[4]string{"6", "5", "TaskSucceeded", ""},
		[4]string{"7", "6", "TaskStateExited", "Validate"},
		[4]string{"8", "7", "ParallelStateEntered", "Fan"},
		[4]string{"9", "8", "PassStateEntered", "Left"},
		[4]string{"10", "8", "TaskStateEntered", "Right"},
		[4]string{"11", "9", "PassStateExited", "Left"},
		[4]string{"12", "10", "TaskScheduled", ""},
		[4]string{"13", "12", "TaskFailed", ""},
		[4]string{"14", "13", "ParallelStateFailed", ""},
		[4]string{"15", "14", "ExecutionFailed", ""},
	)
	runs := stateRuns(hist)
	g := layoutMachine("m", &def.Machine, runs, false)
	got := map[string]string{}
	var walk func(*flowGraph)
	walk = func(g *flowGraph) {
		for _, n := range g.Nodes {
			got[n.Name] = n.Status
		}
		for _, c := range g.Children {
			walk(c)
		}
	}
	walk(g)
	want := map[string]string{"Validate": "CAUGHT", "Fan": "FAILED", "Left": "SUCCEEDED", "Right": "FAILED",
		"Oops": "NOT_RUN", "Done": "NOT_RUN"}
	for name, status := range want {
		if got[name] != status {
			t.Errorf("state %s: status %q, want %q (all: %v)", name, got[name], status, got)
		}
	}
	if len(g.Children) != 2 {
		t.Fatalf("Parallel's branches drawn as %d graphs, want 2", len(g.Children))
	}
	// While the execution runs, a state entered and not left is RUNNING.
	if s := stateStatus(&stateRun{Entered: 1}, true); s != "RUNNING" {
		t.Errorf("entered, not left, execution running: %s, want RUNNING", s)
	}
}

func TestExecutionGraphLayout(t *testing.T) {
	def, err := asl.Parse(flowDefinition)
	if err != nil {
		t.Fatal(err)
	}
	g := layoutMachine("m", &def.Machine, nil, false)
	at := map[string]flowNode{}
	for _, n := range g.Nodes {
		at[n.Name] = n
	}
	// Rows by the fewest transitions from StartAt: Validate; then Fan and Oops (Catch); then Done.
	if at["Validate"].Y >= at["Fan"].Y || at["Fan"].Y != at["Oops"].Y || at["Done"].Y <= at["Fan"].Y {
		t.Errorf("rows: %+v", at)
	}
	if at["Fan"].X == at["Oops"].X {
		t.Errorf("Fan and Oops overlap: %+v %+v", at["Fan"], at["Oops"])
	}
	dashed := 0
	for _, e := range g.Edges {
		if e.Catch {
			dashed++
		}
	}
	if len(g.Edges) != 3 || dashed != 1 {
		t.Errorf("edges %+v: want 3, one of them a Catch", g.Edges)
	}
	for _, n := range g.Nodes {
		if n.X+nodeW > g.Width || n.Y+nodeH > g.Height {
			t.Errorf("node %s outside the %dx%d drawing", n.Name, g.Width, g.Height)
		}
	}
}
