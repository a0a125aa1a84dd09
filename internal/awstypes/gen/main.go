// Command gen turns a botocore service model (service-2.json) into Go wire types: one struct
// per structure shape, a named string type per enum, and tables of operations, exceptions and
// required members. It is run by go generate from internal/awstypes (see generate.go there).
//
// Usage:
//
//	go run ./gen -model ../../../shared/aws-models/batch.service-2.json -pkg batch -out batch/zz_generated.go
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/format"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

const defaultRuntimeImport = "github.com/barge-run/barge/internal/awstypes"

func main() {
	modelPath := flag.String("model", "", "botocore service-2.json model to read")
	pkg := flag.String("pkg", "", "Go package name of the output")
	out := flag.String("out", "", "Go file to write")
	runtime := flag.String("awstypes", defaultRuntimeImport, "import path of the shared runtime package")
	flag.Parse()
	if *modelPath == "" || *pkg == "" || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	data, err := os.ReadFile(*modelPath)
	if err != nil {
		fatal(err)
	}
	src, err := Generate(data, Config{
		ModelName: filepath.Base(*modelPath),
		Package:   *pkg,
		Runtime:   *runtime,
	})
	if err != nil {
		fatal(fmt.Errorf("%s: %w", *modelPath, err))
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		fatal(err)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}

// Config says where the generated code comes from and goes to.
type Config struct {
	// ModelName goes into the header; a base name keeps output independent of the checkout path.
	ModelName string
	Package   string
	Runtime   string // import path of internal/awstypes
}

// The subset of the botocore model the generator reads.
type model struct {
	Metadata struct {
		APIVersion      string `json:"apiVersion"`
		EndpointPrefix  string `json:"endpointPrefix"`
		Protocol        string `json:"protocol"`
		TargetPrefix    string `json:"targetPrefix"`
		ServiceFullName string `json:"serviceFullName"`
	} `json:"metadata"`
	Operations map[string]*operation `json:"operations"`
	Shapes     map[string]*shape     `json:"shapes"`
}

type operation struct {
	Name string `json:"name"`
	HTTP struct {
		Method       string `json:"method"`
		RequestURI   string `json:"requestUri"`
		ResponseCode int    `json:"responseCode"`
	} `json:"http"`
	Input         *ref   `json:"input"`
	Output        *ref   `json:"output"`
	Errors        []ref  `json:"errors"`
	Documentation string `json:"documentation"`
}

type ref struct {
	Shape         string `json:"shape"`
	Location      string `json:"location"`
	LocationName  string `json:"locationName"`
	Documentation string `json:"documentation"`
	Streaming     bool   `json:"streaming"`
	EventStream   bool   `json:"eventstream"`
}

type shape struct {
	Type      string   `json:"type"`
	Members   members  `json:"members"`
	Required  []string `json:"required"`
	Member    *ref     `json:"member"`
	Key       *ref     `json:"key"`
	Value     *ref     `json:"value"`
	Enum      []string `json:"enum"`
	Exception bool     `json:"exception"`
	Fault     bool     `json:"fault"`
	Error     *struct {
		HTTPStatusCode int `json:"httpStatusCode"`
	} `json:"error"`
	Documentation string `json:"documentation"`
	Streaming     bool   `json:"streaming"`
	EventStream   bool   `json:"eventstream"`
	Payload       string `json:"payload"`
}

type member struct {
	Name string
	ref
}

// members keeps the model's member order, which a Go map would lose; struct fields follow it
// so the generated types read like the API reference.
type members []member

func (ms *members) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("members: expected object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		m := member{Name: tok.(string)}
		if err := dec.Decode(&m.ref); err != nil {
			return fmt.Errorf("member %s: %w", m.Name, err)
		}
		*ms = append(*ms, m)
	}
	_, err := dec.Token()
	return err
}

// Locations that keep a member out of the JSON body.
var nonBodyLocations = map[string]bool{
	"uri": true, "querystring": true, "header": true, "headers": true, "statusCode": true,
}

// Package-level identifiers the generator itself declares; a shape must not take them.
var reserved = []string{"APIVersion", "EndpointPrefix", "Protocol", "TargetPrefix", "Operations", "Exceptions", "Required"}

type generator struct {
	cfg   Config
	m     *model
	names map[string]string // shape name -> Go type name, for emitted shapes only
	taken map[string]bool   // package-scope identifiers in use
	// consts holds each enum shape's constant names, parallel to its Enum values.
	consts     map[string][]string
	useRuntime bool
	b          bytes.Buffer
}

// Generate returns the gofmt'ed Go source for the model.
func Generate(data []byte, cfg Config) ([]byte, error) {
	var m model
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("decoding model: %w", err)
	}
	if cfg.Runtime == "" {
		cfg.Runtime = defaultRuntimeImport
	}
	g := &generator{cfg: cfg, m: &m, names: map[string]string{}, taken: map[string]bool{}, consts: map[string][]string{}}
	if err := g.assignNames(); err != nil {
		return nil, err
	}
	body, err := g.body()
	if err != nil {
		return nil, err
	}

	var out bytes.Buffer
	fmt.Fprintf(&out, "// Code generated by internal/awstypes/gen from %s; DO NOT EDIT.\n\n", cfg.ModelName)
	service := m.Metadata.ServiceFullName
	if service == "" {
		service = m.Metadata.EndpointPrefix
	}
	writeComment(&out, "", fmt.Sprintf("Package %s holds the wire shapes of %s (API version %s), generated from its botocore model.",
		cfg.Package, service, m.Metadata.APIVersion))
	fmt.Fprintf(&out, "package %s\n\n", cfg.Package)
	if g.useRuntime {
		fmt.Fprintf(&out, "import %q\n\n", cfg.Runtime)
	}
	out.Write(body)
	src, err := format.Source(out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting generated code: %w", err)
	}
	return src, nil
}

// emitted reports whether a shape becomes a Go type of its own; everything else is inlined as
// a primitive, slice or map.
func emitted(s *shape) bool {
	switch s.Type {
	case "structure":
		return !s.EventStream
	case "string":
		return len(s.Enum) > 0
	}
	return false
}

func (g *generator) assignNames() error {
	for _, r := range reserved {
		g.taken[r] = true
	}
	byGo := map[string]string{}
	for _, name := range sortedKeys(g.m.Shapes) {
		if !emitted(g.m.Shapes[name]) {
			continue
		}
		goName := exportedIdent(name)
		if other, ok := byGo[goName]; ok {
			return fmt.Errorf("shapes %s and %s both map to Go type %s", other, name, goName)
		}
		if g.taken[goName] {
			return fmt.Errorf("shape %s collides with generated identifier %s", name, goName)
		}
		byGo[goName] = name
		g.names[name] = goName
		g.taken[goName] = true
	}
	// Constants come after all type names so a value can never steal a type's name.
	for _, goName := range sortedKeys(byGo) {
		s := g.m.Shapes[byGo[goName]]
		if s.Type != "string" {
			continue
		}
		var names []string
		for _, v := range s.Enum {
			base := goName + goifyValue(v)
			c := base
			for n := 2; g.taken[c]; n++ {
				c = base + "_" + strconv.Itoa(n)
			}
			g.taken[c] = true
			names = append(names, c)
		}
		g.consts[byGo[goName]] = names
	}
	return nil
}

// goType maps a shape to its Go type. elem is set for list elements and map values, which are
// never pointers: absence there is expressed by the element not being present at all.
func (g *generator) goType(name string, elem bool) (string, error) {
	s, ok := g.m.Shapes[name]
	if !ok {
		return "", fmt.Errorf("unknown shape %s", name)
	}
	ptr := "*"
	if elem {
		ptr = ""
	}
	switch s.Type {
	case "structure":
		if s.EventStream {
			return "", fmt.Errorf("%s is an event stream", name)
		}
		return ptr + g.names[name], nil
	case "string":
		if len(s.Enum) > 0 {
			return g.names[name], nil
		}
		return "string", nil
	case "integer":
		return ptr + "int32", nil
	case "long":
		return ptr + "int64", nil
	case "boolean":
		return ptr + "bool", nil
	case "double", "float":
		return ptr + "float64", nil
	case "blob":
		if s.Streaming {
			return "", fmt.Errorf("%s is a streaming blob", name)
		}
		return "[]byte", nil
	case "timestamp":
		g.useRuntime = true
		return ptr + "awstypes.Timestamp", nil
	case "list":
		if s.Member == nil {
			return "", fmt.Errorf("list %s has no member", name)
		}
		t, err := g.goType(s.Member.Shape, true)
		if err != nil {
			return "", err
		}
		return "[]" + t, nil
	case "map":
		if s.Value == nil {
			return "", fmt.Errorf("map %s has no value", name)
		}
		t, err := g.goType(s.Value.Shape, true)
		if err != nil {
			return "", err
		}
		return "map[string]" + t, nil
	}
	return "", fmt.Errorf("%s has unsupported type %s", name, s.Type)
}

func (g *generator) body() ([]byte, error) {
	b := &g.b
	md := g.m.Metadata
	fmt.Fprintf(b, "const (\n")
	fmt.Fprintf(b, "// APIVersion is the model's API version, which json-protocol targets and paths embed.\n")
	fmt.Fprintf(b, "APIVersion = %q\n", md.APIVersion)
	fmt.Fprintf(b, "// EndpointPrefix is the service's host prefix and SigV4 signing name.\n")
	fmt.Fprintf(b, "EndpointPrefix = %q\n", md.EndpointPrefix)
	fmt.Fprintf(b, "// Protocol is the botocore wire protocol.\n")
	fmt.Fprintf(b, "Protocol = %q\n", md.Protocol)
	if md.TargetPrefix != "" {
		fmt.Fprintf(b, "// TargetPrefix selects operations: X-Amz-Target is TargetPrefix + \".\" + operation name.\n")
		fmt.Fprintf(b, "TargetPrefix = %q\n", md.TargetPrefix)
	}
	fmt.Fprintf(b, ")\n\n")

	if err := g.operations(); err != nil {
		return nil, err
	}
	g.exceptions()
	g.required()

	goNames := map[string]string{}
	for shapeName, goName := range g.names {
		goNames[goName] = shapeName
	}
	for _, goName := range sortedKeys(goNames) {
		name := goNames[goName]
		s := g.m.Shapes[name]
		if s.Type == "string" {
			g.enum(name, goName, s)
			continue
		}
		if err := g.structure(name, goName, s); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

func (g *generator) operations() error {
	if len(g.m.Operations) == 0 {
		return nil
	}
	g.useRuntime = true
	b := &g.b
	fmt.Fprintf(b, "// Operations lists every operation of the model, sorted by name.\n")
	fmt.Fprintf(b, "var Operations = []awstypes.Operation{\n")
	for _, key := range sortedKeys(g.m.Operations) {
		op := g.m.Operations[key]
		name := op.Name
		if name == "" {
			name = key
		}
		fmt.Fprintf(b, "{\nName: %q,\n", name)
		// The json protocol routes by X-Amz-Target; its nominal "POST /" would only mislead a router.
		if g.m.Metadata.Protocol != "json" {
			if op.HTTP.Method != "" {
				fmt.Fprintf(b, "Method: %q,\n", op.HTTP.Method)
			}
			if op.HTTP.RequestURI != "" {
				fmt.Fprintf(b, "RequestURI: %q,\n", op.HTTP.RequestURI)
			}
			if op.HTTP.ResponseCode != 0 {
				fmt.Fprintf(b, "ResponseCode: %d,\n", op.HTTP.ResponseCode)
			}
		}
		for _, io := range []struct {
			field string
			r     *ref
		}{{"Input", op.Input}, {"Output", op.Output}} {
			if io.r == nil {
				continue
			}
			if _, ok := g.m.Shapes[io.r.Shape]; !ok {
				return fmt.Errorf("operation %s: unknown shape %s", name, io.r.Shape)
			}
			fmt.Fprintf(b, "%s: %q,\n", io.field, exportedIdent(io.r.Shape))
		}
		if len(op.Errors) > 0 {
			var errs []string
			for _, e := range op.Errors {
				errs = append(errs, strconv.Quote(e.Shape))
			}
			fmt.Fprintf(b, "Errors: []string{%s},\n", strings.Join(errs, ", "))
		}
		if doc := firstSentence(op.Documentation); doc != "" {
			fmt.Fprintf(b, "Doc: %q,\n", doc)
		}
		fmt.Fprintf(b, "},\n")
	}
	fmt.Fprintf(b, "}\n\n")
	return nil
}

func (g *generator) exceptions() {
	b := &g.b
	fmt.Fprintf(b, "// Exceptions maps each error shape to the HTTP status it is returned with.\n")
	fmt.Fprintf(b, "var Exceptions = map[string]int{\n")
	for _, name := range sortedKeys(g.m.Shapes) {
		s := g.m.Shapes[name]
		if !s.Exception {
			continue
		}
		status := 400
		switch {
		case s.Error != nil && s.Error.HTTPStatusCode != 0:
			status = s.Error.HTTPStatusCode
		case s.Fault:
			// json-protocol models drop the status; a server fault must still be a 5xx so
			// SDKs retry it.
			status = 500
		}
		fmt.Fprintf(b, "%q: %d,\n", name, status)
	}
	fmt.Fprintf(b, "}\n\n")
}

func (g *generator) required() {
	b := &g.b
	fmt.Fprintf(b, "// Required lists, per structure, the wire names of its required members in model order.\n")
	fmt.Fprintf(b, "var Required = map[string][]string{\n")
	for _, name := range sortedKeys(g.m.Shapes) {
		s := g.m.Shapes[name]
		if s.Type != "structure" || !emitted(s) || len(s.Required) == 0 {
			continue
		}
		var req []string
		for _, r := range s.Required {
			i := slices.IndexFunc(s.Members, func(m member) bool { return m.Name == r })
			if i < 0 {
				continue
			}
			if _, err := g.goType(s.Members[i].Shape, false); err != nil {
				continue // skipped member; nothing to validate
			}
			req = append(req, strconv.Quote(wireName(s.Members[i])))
		}
		if len(req) > 0 {
			fmt.Fprintf(b, "%q: {%s},\n", g.names[name], strings.Join(req, ", "))
		}
	}
	fmt.Fprintf(b, "}\n\n")
}

func wireName(m member) string {
	if m.LocationName != "" {
		return m.LocationName
	}
	return m.Name
}

func (g *generator) enum(name, goName string, s *shape) {
	b := &g.b
	writeComment(b, "", firstSentence(s.Documentation))
	fmt.Fprintf(b, "type %s string\n\n", goName)
	fmt.Fprintf(b, "// Values of %s.\nconst (\n", goName)
	consts := g.consts[name]
	for i, v := range s.Enum {
		fmt.Fprintf(b, "%s %s = %q\n", consts[i], goName, v)
	}
	fmt.Fprintf(b, ")\n\n")
	fmt.Fprintf(b, "// Values returns every %s the model defines, in model order.\n", goName)
	fmt.Fprintf(b, "func (%s) Values() []%s {\nreturn []%s{\n", goName, goName, goName)
	for _, c := range consts {
		fmt.Fprintf(b, "%s,\n", c)
	}
	fmt.Fprintf(b, "}\n}\n\n")
}

func (g *generator) structure(name, goName string, s *shape) error {
	b := &g.b
	writeComment(b, "", firstSentence(s.Documentation))
	fmt.Fprintf(b, "type %s struct {\n", goName)
	fields := map[string]bool{}
	// A skipped member's comment is set off by a blank line so godoc does not attach it to the
	// next field, but none is needed before the closing brace.
	pendingBlank := false
	for _, m := range s.Members {
		if pendingBlank {
			b.WriteString("\n")
			pendingBlank = false
		}
		ty, err := g.goType(m.Shape, false)
		if err == nil && (m.Streaming || m.EventStream) {
			err = fmt.Errorf("it is streamed")
		}
		if err != nil {
			// Leaving the member out keeps the rest of the model usable; the comment tells a
			// reader why the field is missing (streams must be framed by the HTTP layer).
			writeComment(b, "\t", fmt.Sprintf("%s is omitted: %v, which has no JSON wire form.", m.Name, err))
			pendingBlank = true
			continue
		}
		field := exportedIdent(m.Name)
		if fields[field] {
			return fmt.Errorf("structure %s: two members map to field %s", name, field)
		}
		fields[field] = true

		doc := firstSentence(m.Documentation)
		isRequired := slices.Contains(s.Required, m.Name)
		writeComment(b, "\t", doc)
		if isRequired {
			b.WriteString("\t// Required.\n")
		}

		var tag string
		switch {
		case nonBodyLocations[m.Location]:
			tag = fmt.Sprintf(`json:"-" location:%q locationName:%q`, m.Location, wireName(m))
		case s.Payload != "" && s.Payload == m.Name:
			tag = `json:"-" location:"payload"`
		case strings.HasPrefix(ty, "[]") || strings.HasPrefix(ty, "map["):
			// omitzero drops only nil, so a handler can still send the [] or {} that AWS sends
			// for an empty collection (SDK callers index such keys without checking).
			tag = fmt.Sprintf(`json:"%s,omitzero"`, wireName(m))
		default:
			tag = fmt.Sprintf(`json:"%s,omitempty"`, wireName(m))
		}
		fmt.Fprintf(b, "%s %s `%s`\n", field, ty, tag)
	}
	fmt.Fprintf(b, "}\n\n")
	return nil
}

// exportedIdent capitalises the first letter and replaces anything a Go identifier cannot hold.
func exportedIdent(name string) string {
	var sb strings.Builder
	for i, r := range name {
		switch {
		case i == 0 && unicode.IsLetter(r):
			sb.WriteRune(unicode.ToUpper(r))
		case i == 0:
			sb.WriteString("X")
			if unicode.IsDigit(r) {
				sb.WriteRune(r)
			}
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_':
			sb.WriteRune(r)
		default:
			sb.WriteRune('_')
		}
	}
	return sb.String()
}

// goifyValue turns an enum value into an identifier suffix: ON_DEMAND -> OnDemand,
// nodejs18.x -> Nodejs18X, provided.al2023 -> ProvidedAl2023, python3.12 -> Python3_12. The
// underscore between digit runs keeps python3.12 and python31.2 apart.
func goifyValue(v string) string {
	parts := strings.FieldsFunc(v, func(r rune) bool {
		return !(r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)))
	})
	var sb strings.Builder
	for _, p := range parts {
		if strings.ToUpper(p) == p {
			p = p[:1] + strings.ToLower(p[1:])
		} else {
			p = strings.ToUpper(p[:1]) + p[1:]
		}
		if s := sb.String(); s != "" && isDigit(s[len(s)-1]) && isDigit(p[0]) {
			sb.WriteByte('_')
		}
		sb.WriteString(p)
	}
	if sb.Len() == 0 {
		return "Value"
	}
	return sb.String()
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

var (
	// Block-level tags end a paragraph; a first sentence must never run across one.
	blockTag = regexp.MustCompile(`(?i)</?(p|li|ul|ol|br|note|important|div|dl|dt|dd|h[1-6]|table|tr|td|th|pre)\b[^>]*>`)
	anyTag   = regexp.MustCompile(`<[^>]*>`)
)

// Abbreviations whose period does not end a sentence.
var abbreviations = map[string]bool{"e.g": true, "i.e": true, "vs": true, "approx": true}

// firstSentence reduces botocore's HTML documentation to its first plain-text sentence.
func firstSentence(doc string) string {
	s := blockTag.ReplaceAllString(doc, "\n\n")
	s = anyTag.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	s = strings.ReplaceAll(s, "\r", "")
	for para := range strings.SplitSeq(s, "\n\n") {
		para = strings.Join(strings.Fields(para), " ")
		if para != "" {
			return cutSentence(para)
		}
	}
	return ""
}

func cutSentence(p string) string {
	for i := 0; i < len(p); i++ {
		if p[i] != '.' {
			continue
		}
		if i+1 == len(p) {
			break
		}
		if p[i+1] != ' ' {
			continue
		}
		word := p[strings.LastIndexByte(p[:i], ' ')+1 : i]
		word = strings.ToLower(strings.TrimLeft(word, "(\"'"))
		if abbreviations[word] {
			continue
		}
		// Sentences here start with a capital, digit or symbol; a lowercase word after the
		// period means it was an abbreviation we do not know.
		if i+2 < len(p) && unicode.IsLower(rune(p[i+2])) {
			continue
		}
		return p[:i+1]
	}
	return p
}

const commentWidth = 100

// writeComment writes text as // lines wrapped at about commentWidth columns (a tab counted as 4).
func writeComment(b *bytes.Buffer, indent, text string) {
	if text == "" {
		return
	}
	width := commentWidth - 3 - 4*strings.Count(indent, "\t")
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			fmt.Fprintf(b, "%s// %s\n", indent, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		fmt.Fprintf(b, "%s// %s\n", indent, line)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
