package console

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/barge-run/barge/internal/sfn/asl"
)

// Layout of a workflow graph, in SVG user units.
const (
	nodeW, nodeH = 170, 38
	gapX, gapY   = 26, 34
	margin       = 10
)

// flowEvent is what the graph reads of one history event.
type flowEvent struct {
	ID       int64  `json:"id"`
	Previous int64  `json:"previousEventId"`
	Type     string `json:"type"`
	Entered  *struct {
		Name string `json:"name"`
	} `json:"stateEnteredEventDetails"`
	Exited *struct {
		Name string `json:"name"`
	} `json:"stateExitedEventDetails"`
}

// stateRun is what an execution's history says of one state.
type stateRun struct {
	Entered, Exited, Failures int
}

// stateRuns reads, per state name, how often the history entered it, left it and saw it fail.
// A failure event (a task's, a Map's or Parallel's, a Fail state's) belongs to the state whose
// StateEntered event its previousEventId chain reaches first: branches and iterations run
// concurrently, so "the state entered last" would misattribute them.
func stateRuns(events []json.RawMessage) map[string]*stateRun {
	byID := map[int64]*flowEvent{}
	var order []*flowEvent
	for _, raw := range events {
		var ev flowEvent
		if json.Unmarshal(raw, &ev) != nil {
			continue
		}
		byID[ev.ID] = &ev
		order = append(order, &ev)
	}
	runs := map[string]*stateRun{}
	run := func(name string) *stateRun {
		if runs[name] == nil {
			runs[name] = &stateRun{}
		}
		return runs[name]
	}
	for _, ev := range order {
		switch {
		case ev.Entered != nil:
			run(ev.Entered.Name).Entered++
			if ev.Type == "FailStateEntered" {
				run(ev.Entered.Name).Failures++
			}
		case ev.Exited != nil:
			run(ev.Exited.Name).Exited++
		case failure(ev.Type):
			if name := enteredBefore(byID, ev); name != "" {
				run(name).Failures++
			}
		}
	}
	return runs
}

// failure reports whether an event type records a state's failure (not the execution's own end).
func failure(typ string) bool {
	if strings.HasPrefix(typ, "Execution") || strings.HasPrefix(typ, "MapIteration") || strings.HasPrefix(typ, "MapRun") {
		return false
	}
	return strings.HasSuffix(typ, "Failed") || strings.HasSuffix(typ, "TimedOut")
}

// enteredBefore follows ev's previousEventId chain to the state entered before it.
func enteredBefore(byID map[int64]*flowEvent, ev *flowEvent) string {
	for seen := 0; ev != nil && seen < len(byID); seen++ {
		if ev.Entered != nil {
			return ev.Entered.Name
		}
		ev = byID[ev.Previous]
	}
	return ""
}

// stateStatus names what happened to a state: NOT_RUN, RUNNING, SUCCEEDED, CAUGHT (failed, then
// left through a Catch or after a retry) or FAILED.
func stateStatus(r *stateRun, executionRunning bool) string {
	switch {
	case r == nil || r.Entered == 0:
		return "NOT_RUN"
	case r.Entered > r.Exited && executionRunning && r.Failures == 0:
		return "RUNNING"
	case r.Entered > r.Exited:
		return "FAILED"
	case r.Failures > 0:
		return "CAUGHT"
	default:
		return "SUCCEEDED"
	}
}

// flowNode is one state drawn in a graph.
type flowNode struct {
	Name, Type, Status string
	Runs               int // times entered: a Map's iterations run its processor's states many times
	X, Y               int
}

// flowEdge is one transition drawn from a state to another.
type flowEdge struct {
	X1, Y1, X2, Y2 int
	Catch          bool // a Catch's target: drawn dashed
}

// flowGraph is one machine (the top level, a Parallel branch or a Map's processor) laid out.
type flowGraph struct {
	Title         string
	Width, Height int
	Nodes         []flowNode
	Edges         []flowEdge
	Children      []*flowGraph
}

// layoutMachine lays m out in rows by the fewest transitions from StartAt (states no transition
// reaches go last), each state coloured by runs, and nests its branches' and processors' graphs.
func layoutMachine(title string, m *asl.Machine, runs map[string]*stateRun, executionRunning bool) *flowGraph {
	level := map[string]int{m.StartAt: 0}
	queue := []string{m.StartAt}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		for _, next := range successors(m.States[name]) {
			if _, seen := level[next]; !seen && m.States[next] != nil {
				level[next] = level[name] + 1
				queue = append(queue, next)
			}
		}
	}
	last := 0
	for _, l := range level {
		last = max(last, l)
	}
	rows := map[int][]string{}
	for _, name := range m.Order {
		l, ok := level[name]
		if !ok {
			l = last + 1
		}
		rows[l] = append(rows[l], name)
	}
	g := &flowGraph{Title: title}
	pos := map[string]*flowNode{}
	for l := 0; l <= last+1; l++ {
		for i, name := range rows[l] {
			st := m.States[name]
			r := runs[name]
			n := flowNode{Name: name, Type: st.Type, Status: stateStatus(r, executionRunning),
				X: margin + i*(nodeW+gapX), Y: margin + l*(nodeH+gapY)}
			if r != nil {
				n.Runs = r.Entered
			}
			g.Nodes = append(g.Nodes, n)
			g.Width = max(g.Width, n.X+nodeW+margin)
			g.Height = max(g.Height, n.Y+nodeH+margin)
		}
	}
	for i := range g.Nodes {
		pos[g.Nodes[i].Name] = &g.Nodes[i]
	}
	for _, name := range m.Order {
		from, st := pos[name], m.States[name]
		catches := map[string]bool{}
		for _, c := range st.Catch {
			catches[c.Next] = true
		}
		for _, next := range successors(st) {
			if to := pos[next]; to != nil {
				g.Edges = append(g.Edges, flowEdge{X1: from.X + nodeW/2, Y1: from.Y + nodeH, X2: to.X + nodeW/2, Y2: to.Y, Catch: catches[next] && !plainNext(st, next)})
			}
		}
		for i, b := range st.Branches {
			g.Children = append(g.Children, layoutMachine(name+" · branch "+strconv.Itoa(i+1), b, runs, executionRunning))
		}
		if st.Processor != nil {
			g.Children = append(g.Children, layoutMachine(name+" · each item", st.Processor, runs, executionRunning))
		}
	}
	return g
}

// successors are the states st can go to: Next, a Choice's rules and Default, its Catches.
func successors(st *asl.State) []string {
	if st == nil {
		return nil
	}
	var out []string
	add := func(n string) {
		if n == "" {
			return
		}
		for _, o := range out {
			if o == n {
				return
			}
		}
		out = append(out, n)
	}
	add(st.Next)
	for _, c := range st.Choices {
		add(c.Next)
	}
	add(st.Default)
	for _, c := range st.Catch {
		add(c.Next)
	}
	return out
}

// plainNext reports whether next is reached by st's Next, a Choice rule or its Default.
func plainNext(st *asl.State, next string) bool {
	if st.Next == next || st.Default == next {
		return true
	}
	for _, c := range st.Choices {
		if c.Next == next {
			return true
		}
	}
	return false
}
