package asl

import (
	"fmt"
	"sort"
	"strings"
)

// maxNesting bounds how deep Parallel and Map states may nest, as AWS does.
const maxNesting = 40

// Parse parses and validates a state machine definition. On failure it
// returns a *DefinitionError listing every problem found.
func Parse(definition string) (*Definition, error) {
	def, diags := parseDefinition(definition)
	if len(diags) > 0 {
		return nil, &DefinitionError{Diagnostics: diags}
	}
	return def, nil
}

// Validate returns every problem found in a definition; none means valid.
func Validate(definition string) []Diagnostic {
	_, diags := parseDefinition(definition)
	return diags
}

// parser collects diagnostics while it builds the model, so one pass reports
// all problems instead of stopping at the first.
type parser struct {
	diags []Diagnostic
	names map[string]bool // every state name in the definition, nested ones too
}

func (p *parser) add(code, loc, format string, args ...any) {
	p.diags = append(p.diags, Diagnostic{Code: code, Message: fmt.Sprintf(format, args...), Location: loc})
}

func (p *parser) schema(loc, format string, args ...any) {
	p.add(CodeSchema, loc, format, args...)
}

func parseDefinition(definition string) (*Definition, []Diagnostic) {
	p := &parser{names: map[string]bool{}}
	if strings.TrimSpace(definition) == "" {
		p.add(CodeMissingDefinition, "", "The definition is empty")
		return nil, p.diags
	}
	root, err := decodeOrdered([]byte(definition))
	if err != nil {
		p.add(CodeInvalidJSON, "", "Invalid JSON: %v", err)
		return nil, p.diags
	}
	o, ok := root.(*object)
	if !ok {
		p.add(CodeSchema, "", "The definition must be a JSON object")
		return nil, p.diags
	}
	r := p.reader(o, "")
	def := &Definition{}
	lang := JSONPath
	if v, ok := r.str("QueryLanguage", false); ok {
		lang = p.language(v, "/QueryLanguage")
	}
	def.Version, _ = r.str("Version", false)
	if _, ok := r.get("TimeoutSeconds"); ok {
		def.TimeoutSeconds = r.intIn("TimeoutSeconds", 1, 99999999)
	}
	m := p.machine(r, "", lang, 0, machineFields)
	if m != nil {
		def.Machine = *m
	}
	p.validate(def)
	sortDiagnostics(p.diags)
	return def, p.diags
}

// sortDiagnostics puts structural errors first and otherwise keeps the
// order in which problems were found, which follows the definition.
func sortDiagnostics(d []Diagnostic) {
	rank := func(c string) int {
		if c == CodeSchema || c == CodeInvalidJSON {
			return 0
		}
		return 1
	}
	sort.SliceStable(d, func(i, j int) bool { return rank(d[i].Code) < rank(d[j].Code) })
}

func (p *parser) language(v, loc string) QueryLanguage {
	switch QueryLanguage(v) {
	case JSONPath, JSONata:
		return QueryLanguage(v)
	}
	p.schema(loc, "The value for the field \"QueryLanguage\" must be one of JSONPath, JSONata")
	return JSONPath
}

// machine reads StartAt and States of a (possibly nested) machine.
func (p *parser) machine(r *reader, loc string, lang QueryLanguage, depth int, allowed map[string]bool) *Machine {
	if depth > maxNesting {
		p.add(CodeTooDeeplyNested, loc, "The states are nested more than %d levels deep", maxNesting)
		return nil
	}
	m := &Machine{QueryLanguage: lang, Location: loc, States: map[string]*State{}}
	m.Comment, _ = r.str("Comment", false)
	m.StartAt, _ = r.str("StartAt", true)
	sv, ok := r.get("States")
	if !ok {
		p.schema(loc, "The field \"States\" is required")
	} else if so, isObj := sv.(*object); !isObj {
		p.schema(loc+"/States", "The field \"States\" must be an object")
	} else {
		if len(so.keys) == 0 {
			p.schema(loc+"/States", "The field \"States\" must contain at least one state")
		}
		for _, d := range so.dups {
			p.add(CodeDuplicateState, loc+"/States/"+d, "Duplicate State name: %s", d)
		}
		for _, name := range so.keys {
			sloc := loc + "/States/" + name
			if p.names[name] {
				p.add(CodeDuplicateState, sloc, "Duplicate State name: %s", name)
			}
			p.names[name] = true
			if name == "" || len(name) > 80 {
				p.add(CodeInvalidStateName, sloc, "State names must be 1 to 80 characters long")
			}
			st := p.state(name, so.m[name], sloc, lang, depth)
			if st != nil {
				m.States[name] = st
				m.Order = append(m.Order, name)
			}
		}
	}
	r.unknown(allowed, "")
	return m
}

func (p *parser) state(name string, v any, loc string, lang QueryLanguage, depth int) *State {
	o, ok := v.(*object)
	if !ok {
		p.schema(loc, "A state must be a JSON object")
		return nil
	}
	r := p.reader(o, loc)
	st := &State{Name: name, Location: loc, QueryLanguage: lang}
	st.Type, _ = r.str("Type", true)
	st.Comment, _ = r.str("Comment", false)
	if q, ok := r.str("QueryLanguage", false); ok {
		st.QueryLanguage = p.language(q, loc+"/QueryLanguage")
		if lang == JSONata && st.QueryLanguage == JSONPath {
			p.schema(loc+"/QueryLanguage", "A state cannot use JSONPath when the state machine's QueryLanguage is JSONata")
		}
	}
	allowed, known := stateFields[st.Type]
	if !known {
		if st.Type != "" {
			p.schema(loc+"/Type", "The value for the field \"Type\" must be one of Task, Pass, Choice, Wait, Succeed, Fail, Parallel, Map")
		}
		return nil
	}
	p.checkFields(r, st)
	p.commonFields(r, st)
	switch st.Type {
	case TypeTask:
		p.taskFields(r, st)
	case TypePass:
		st.Result = r.template("Result")
	case TypeChoice:
		p.choiceFields(r, st)
	case TypeWait:
		p.waitFields(r, st)
	case TypeFail:
		p.failFields(r, st)
	case TypeParallel:
		p.parallelFields(r, st, depth)
	case TypeMap:
		p.mapFields(r, st, depth)
	}
	r.unknown(allowed, st.Type)
	return st
}

// checkFields reports fields that the state's query language does not allow.
func (p *parser) checkFields(r *reader, st *State) {
	for _, k := range r.o.keys {
		if !stateFields[st.Type][k] {
			continue // reported by unknown
		}
		if st.jsonata() && jsonPathOnly[k] {
			p.schema(r.loc+"/"+k, "The field %q is not supported when QueryLanguage is JSONata", k)
		}
		if !st.jsonata() && jsonataOnly[k] {
			p.schema(r.loc+"/"+k, "The field %q is not supported when QueryLanguage is JSONPath", k)
		}
	}
}

// commonFields reads the transition and data-flow fields many types share.
func (p *parser) commonFields(r *reader, st *State) {
	st.Next, _ = r.str("Next", false)
	if v, ok := r.get("End"); ok {
		b, isBool := v.(bool)
		if !isBool {
			p.schema(r.loc+"/End", "The value for the field \"End\" must be a boolean")
		}
		st.End = b
	}
	st.InputPath = r.path("InputPath", false)
	st.OutputPath = r.path("OutputPath", false)
	st.ResultPath = r.path("ResultPath", true)
	st.Parameters = r.template("Parameters")
	st.ResultSelector = r.template("ResultSelector")
	st.Arguments = r.template("Arguments")
	st.Output = r.template("Output")
	st.Assign = r.template("Assign")
	p.checkTemplate(st.Parameters, st.QueryLanguage, r.loc+"/Parameters", true)
	p.checkTemplate(st.ResultSelector, st.QueryLanguage, r.loc+"/ResultSelector", true)
	p.checkTemplate(st.Arguments, st.QueryLanguage, r.loc+"/Arguments", false)
	p.checkTemplate(st.Output, st.QueryLanguage, r.loc+"/Output", false)
	p.checkAssign(st.Assign, st.QueryLanguage, r.loc+"/Assign")
	if st.Parameters.Set {
		if _, isObj := st.Parameters.Value.(map[string]any); !isObj {
			p.schema(r.loc+"/Parameters", "The value for the field \"Parameters\" must be an object")
		}
	}
}

func (p *parser) taskFields(r *reader, st *State) {
	st.Resource, _ = r.str("Resource", true)
	if st.Resource != "" {
		if _, err := ParseResource(st.Resource); err != nil {
			p.add(CodeInvalidResource, r.loc+"/Resource", "Invalid resource: %s", st.Resource)
		}
	}
	st.TimeoutSeconds = r.seconds("TimeoutSeconds", st.QueryLanguage, 1)
	st.HeartbeatSeconds = r.seconds("HeartbeatSeconds", st.QueryLanguage, 1)
	st.TimeoutSecondsPath = r.refPath("TimeoutSecondsPath")
	st.HeartbeatSecondsPath = r.refPath("HeartbeatSecondsPath")
	r.exclusive("TimeoutSeconds", "TimeoutSecondsPath")
	r.exclusive("HeartbeatSeconds", "HeartbeatSecondsPath")
	if ts, ok := st.TimeoutSeconds.(float64); ok {
		if hb, ok := st.HeartbeatSeconds.(float64); ok && hb >= ts {
			p.schema(r.loc+"/HeartbeatSeconds", "The value for the field \"HeartbeatSeconds\" must be smaller than \"TimeoutSeconds\"")
		}
	}
	st.Credentials = r.template("Credentials")
	p.retryCatch(r, st)
}

func (p *parser) waitFields(r *reader, st *State) {
	st.Seconds = r.seconds("Seconds", st.QueryLanguage, 0)
	st.SecondsPath = r.refPath("SecondsPath")
	st.TimestampPath = r.refPath("TimestampPath")
	if v, ok := r.get("Timestamp"); ok {
		s, isStr := v.(string)
		switch {
		case !isStr:
			p.schema(r.loc+"/Timestamp", "The value for the field \"Timestamp\" must be a string")
		case st.jsonata() && isJSONataString(s):
			p.checkJSONata(s, r.loc+"/Timestamp")
		default:
			if _, ok := parseTimestamp(s); !ok {
				p.schema(r.loc+"/Timestamp", "The value for the field \"Timestamp\" must be an RFC 3339 timestamp")
			}
		}
		st.Timestamp = s
	}
	n := 0
	for _, k := range []string{"Seconds", "SecondsPath", "Timestamp", "TimestampPath"} {
		if _, ok := r.o.m[k]; ok {
			n++
		}
	}
	if n != 1 {
		p.schema(r.loc, "Exactly one of \"Seconds\", \"SecondsPath\", \"Timestamp\" or \"TimestampPath\" is required")
	}
}

func (p *parser) failFields(r *reader, st *State) {
	for _, f := range []struct {
		name string
		dst  *any
	}{{"Error", &st.Error}, {"Cause", &st.Cause}} {
		if s, ok := r.str(f.name, false); ok {
			*f.dst = s
			if st.jsonata() && isJSONataString(s) {
				p.checkJSONata(s, r.loc+"/"+f.name)
			}
		}
	}
	st.ErrorPath = r.pathOrIntrinsic("ErrorPath")
	st.CausePath = r.pathOrIntrinsic("CausePath")
	r.exclusive("Error", "ErrorPath")
	r.exclusive("Cause", "CausePath")
}

func (p *parser) parallelFields(r *reader, st *State, depth int) {
	v, ok := r.get("Branches")
	arr, isArr := v.([]any)
	if !ok || !isArr || len(arr) == 0 {
		p.schema(r.loc, "The field \"Branches\" is required and must be a non-empty array")
	}
	for i, b := range arr {
		bloc := fmt.Sprintf("%s/Branches/%d", r.loc, i)
		bo, isObj := b.(*object)
		if !isObj {
			p.schema(bloc, "A branch must be a JSON object")
			continue
		}
		if m := p.machine(p.reader(bo, bloc), bloc, st.QueryLanguage, depth+1, branchFields); m != nil {
			st.Branches = append(st.Branches, m)
		}
	}
	p.retryCatch(r, st)
}
