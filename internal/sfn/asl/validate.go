package asl

import (
	"fmt"
	"sort"
	"strings"
)

// validate runs the checks that need the whole model: transition targets,
// terminal states, reachability and variable scopes.
func (p *parser) validate(def *Definition) {
	p.validateMachine(&def.Machine, map[string]bool{})
}

func (p *parser) validateMachine(m *Machine, outer map[string]bool) {
	if m.StartAt != "" && m.States[m.StartAt] == nil {
		p.add(CodeMissingTarget, m.Location+"/StartAt", "Missing 'StartAt' target: %s", m.StartAt)
	}
	own := assignedNames(m)
	for _, name := range sortedKeys(own) {
		if outer[name] {
			p.schema(own[name], "The variable %q is assigned in an enclosing scope; inner states can only read it", name)
		}
	}
	inner := map[string]bool{}
	for k := range outer {
		inner[k] = true
	}
	for k := range own {
		inner[k] = true
	}
	terminal := false
	for _, name := range m.Order {
		st := m.States[name]
		if p.validateTransitions(m, st) {
			terminal = true
		}
		for _, b := range st.Branches {
			p.validateMachine(b, inner)
		}
		if st.Processor != nil {
			scope := inner
			if st.Mode == ModeDistributed {
				scope = map[string]bool{} // child executions do not see outer variables
			}
			p.validateMachine(st.Processor, scope)
		}
	}
	if !terminal && len(m.States) > 0 {
		p.add(CodeMissingEndState, m.Location, "Workflow has no terminal state")
	}
	p.reachability(m)
}

// validateTransitions checks one state's targets and reports whether it can
// end the machine.
func (p *parser) validateTransitions(m *Machine, st *State) bool {
	target := func(field, next, loc string) {
		if next != "" && m.States[next] == nil {
			p.add(CodeMissingTarget, loc, "Missing '%s' target: %s", field, next)
		}
	}
	for i, c := range st.Catch {
		target("Next", c.Next, fmt.Sprintf("%s/Catch/%d/Next", st.Location, i))
	}
	switch st.Type {
	case TypeSucceed, TypeFail:
		return true
	case TypeChoice:
		for i, r := range st.Choices {
			target("Next", r.Next, fmt.Sprintf("%s/Choices/%d/Next", st.Location, i))
		}
		target("Default", st.Default, st.Location+"/Default")
		return false
	}
	switch {
	case st.End && st.Next != "":
		p.schema(st.Location, "Only one of the fields \"Next\" or \"End\" may be set")
	case !st.End && st.Next == "":
		p.schema(st.Location, "The field \"Next\" is required")
	}
	target("Next", st.Next, st.Location+"/Next")
	return st.End
}

func successors(st *State) []string {
	var out []string
	if st.Next != "" {
		out = append(out, st.Next)
	}
	if st.Default != "" {
		out = append(out, st.Default)
	}
	for _, r := range st.Choices {
		out = append(out, r.Next)
	}
	for _, c := range st.Catch {
		out = append(out, c.Next)
	}
	return out
}

// reachability reports states that no path from StartAt leads to.
func (p *parser) reachability(m *Machine) {
	if m.States[m.StartAt] == nil {
		return
	}
	seen := map[string]bool{m.StartAt: true}
	queue := []string{m.StartAt}
	for len(queue) > 0 {
		st := m.States[queue[0]]
		queue = queue[1:]
		for _, n := range successors(st) {
			if !seen[n] && m.States[n] != nil {
				seen[n] = true
				queue = append(queue, n)
			}
		}
	}
	for _, name := range m.Order {
		if !seen[name] {
			p.add(CodeMissingTarget, m.States[name].Location, "State %q is not reachable", name)
		}
	}
}

// assignedNames maps each variable a machine's own states assign to the
// location of (one of) its assignments.
func assignedNames(m *Machine) map[string]string {
	out := map[string]string{}
	add := func(t Template, loc string) {
		obj, _ := t.Value.(map[string]any)
		for k := range obj {
			name := strings.TrimSuffix(k, ".$")
			if _, dup := out[name]; !dup {
				out[name] = loc
			}
		}
	}
	for _, name := range m.Order {
		st := m.States[name]
		add(st.Assign, st.Location+"/Assign")
		for i, c := range st.Catch {
			add(c.Assign, fmt.Sprintf("%s/Catch/%d/Assign", st.Location, i))
		}
		for i, r := range st.Choices {
			add(r.Assign, fmt.Sprintf("%s/Choices/%d/Assign", st.Location, i))
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
