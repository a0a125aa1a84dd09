package asl

// QueryLanguage selects how a state's fields are evaluated.
type QueryLanguage string

// The two query languages Step Functions supports.
const (
	JSONPath QueryLanguage = "JSONPath"
	JSONata  QueryLanguage = "JSONata"
)

// State types.
const (
	TypeTask     = "Task"
	TypePass     = "Pass"
	TypeChoice   = "Choice"
	TypeWait     = "Wait"
	TypeSucceed  = "Succeed"
	TypeFail     = "Fail"
	TypeParallel = "Parallel"
	TypeMap      = "Map"
)

// Map processor modes.
const (
	ModeInline      = "INLINE"
	ModeDistributed = "DISTRIBUTED"
)

// Definition is a parsed and validated state machine.
type Definition struct {
	Machine
	Version        string
	TimeoutSeconds int // 0: no execution timeout
}

// Machine is a set of states with a start: the top-level machine, a Parallel
// branch or a Map's item processor.
type Machine struct {
	Comment       string
	StartAt       string
	States        map[string]*State
	Order         []string      // state names in definition order, for stable output
	QueryLanguage QueryLanguage // default for states that do not set their own
	Location      string        // pointer of this machine in the definition ("" for the top level)
}

// OptPath is a path field that may be absent, explicitly null, or set.
// Absent and null mean different things for InputPath, OutputPath and
// ResultPath, so the distinction is kept.
type OptPath struct {
	Set   bool
	Null  bool
	Value string
}

// Template is a JSON value field (Parameters, Arguments, Output, ...) that may
// be absent. Present-but-null is a valid template.
type Template struct {
	Set   bool
	Value any
}

// State is one state of a machine. Fields that a state type does not use
// stay zero; parse rejects definitions that set them.
type State struct {
	Name          string
	Type          string
	Comment       string
	QueryLanguage QueryLanguage // effective language of this state
	Location      string        // e.g. /States/Foo

	Next string
	End  bool

	InputPath      OptPath
	OutputPath     OptPath
	ResultPath     OptPath
	Parameters     Template
	ResultSelector Template
	Arguments      Template
	Output         Template
	Assign         Template

	// Pass
	Result Template

	// Task
	Resource             string
	TimeoutSeconds       any // number, or a JSONata string
	TimeoutSecondsPath   string
	HeartbeatSeconds     any
	HeartbeatSecondsPath string
	Credentials          Template
	Retry                []Retrier
	Catch                []Catcher

	// Choice
	Choices []*ChoiceRule
	Default string

	// Wait
	Seconds       any
	SecondsPath   string
	Timestamp     any
	TimestampPath string

	// Fail
	Error     any // string, or a JSONata string
	ErrorPath string
	Cause     any
	CausePath string

	// Parallel
	Branches []*Machine

	// Map
	Processor                      *Machine
	Mode                           string
	ExecutionType                  string
	ItemsPath                      OptPath
	Items                          Template
	ItemSelector                   Template
	MaxConcurrency                 any
	MaxConcurrencyPath             string
	ToleratedFailurePercentage     any
	ToleratedFailurePercentagePath string
	ToleratedFailureCount          any
	ToleratedFailureCountPath      string
	ItemReader                     *ItemReader
	ItemBatcher                    *ItemBatcher
	Label                          string
}

// Retrier is one element of a state's Retry field.
type Retrier struct {
	ErrorEquals     []string
	IntervalSeconds int
	MaxAttempts     int
	BackoffRate     float64
	MaxDelaySeconds int // 0: no cap
	JitterStrategy  string
}

// Catcher is one element of a state's Catch field.
type Catcher struct {
	ErrorEquals []string
	Next        string
	ResultPath  OptPath
	Output      Template
	Assign      Template
}

// ChoiceRule is a Choice state rule. A top-level rule has Next; the rules
// nested in And, Or and Not do not. Under JSONata a rule is a Condition.
type ChoiceRule struct {
	Variable string
	Operator string // e.g. "StringEquals", "NumericLessThanPath", "IsPresent"
	Operand  any    // the operator's value; a path string for *Path operators
	And      []*ChoiceRule
	Or       []*ChoiceRule
	Not      *ChoiceRule

	Condition any // JSONata: boolean or "{% expr %}"

	Next   string
	Assign Template
	Output Template
}

// ItemReader tells a Map to read its items through a resource (for example
// arn:aws:states:::s3:getObject) instead of from its input.
type ItemReader struct {
	Resource     string
	Parameters   Template
	Arguments    Template
	MaxItems     any
	MaxItemsPath string
}

// ItemBatcher groups a Map's items into batches, each the input of one
// child run.
type ItemBatcher struct {
	MaxItemsPerBatch          any
	MaxItemsPerBatchPath      string
	MaxInputBytesPerBatch     any
	MaxInputBytesPerBatchPath string
	BatchInput                Template
}

// effectiveLang returns the state's language.
func (s *State) jsonata() bool { return s.QueryLanguage == JSONata }

// hasResult reports whether the state type produces a result that ResultPath
// and ResultSelector apply to.
func (s *State) hasResult() bool {
	switch s.Type {
	case TypeTask, TypeParallel, TypeMap, TypePass:
		return true
	}
	return false
}
