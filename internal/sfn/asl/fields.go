package asl

// Which fields each state type accepts, and which belong to one query
// language only. parse checks every key of a state against these tables so
// that a misspelt or misplaced field is reported rather than ignored.

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

var commonFields = set("Type", "Comment", "QueryLanguage")

var stateFields = map[string]map[string]bool{
	TypePass: set("Next", "End", "InputPath", "OutputPath", "ResultPath",
		"Parameters", "Result", "Assign", "Output"),
	TypeTask: set("Next", "End", "Resource", "InputPath", "OutputPath",
		"ResultPath", "Parameters", "ResultSelector", "Arguments", "Output",
		"Assign", "Retry", "Catch", "TimeoutSeconds", "TimeoutSecondsPath",
		"HeartbeatSeconds", "HeartbeatSecondsPath", "Credentials"),
	TypeChoice: set("Choices", "Default", "InputPath", "OutputPath",
		"Assign", "Output"),
	TypeWait: set("Next", "End", "Seconds", "SecondsPath", "Timestamp",
		"TimestampPath", "InputPath", "OutputPath", "Assign", "Output"),
	TypeSucceed: set("InputPath", "OutputPath", "Output"),
	TypeFail:    set("Error", "ErrorPath", "Cause", "CausePath"),
	TypeParallel: set("Next", "End", "Branches", "InputPath", "OutputPath",
		"ResultPath", "Parameters", "ResultSelector", "Arguments", "Output",
		"Assign", "Retry", "Catch"),
	TypeMap: set("Next", "End", "ItemProcessor", "Iterator", "ItemsPath",
		"Items", "ItemSelector", "Parameters", "ItemReader", "ItemBatcher",
		"ResultWriter", "MaxConcurrency", "MaxConcurrencyPath",
		"ToleratedFailurePercentage", "ToleratedFailurePercentagePath",
		"ToleratedFailureCount", "ToleratedFailureCountPath", "Label",
		"InputPath", "OutputPath", "ResultPath", "ResultSelector", "Output",
		"Assign", "Retry", "Catch"),
}

// jsonPathOnly fields are rejected in JSONata states: JSONata replaces the
// five path stages with Arguments and Output, and the *Path fields with
// expressions in the plain field.
var jsonPathOnly = set("InputPath", "OutputPath", "ResultPath", "Parameters",
	"ResultSelector", "Result", "ItemsPath", "ErrorPath", "CausePath",
	"SecondsPath", "TimestampPath", "TimeoutSecondsPath",
	"HeartbeatSecondsPath", "MaxConcurrencyPath",
	"ToleratedFailurePercentagePath", "ToleratedFailureCountPath", "Iterator")

// jsonataOnly fields are rejected in JSONPath states.
var jsonataOnly = set("Arguments", "Output", "Items")

var machineFields = set("StartAt", "States", "Comment", "Version",
	"TimeoutSeconds", "QueryLanguage")

var branchFields = set("StartAt", "States", "Comment")

var processorFields = set("StartAt", "States", "Comment", "ProcessorConfig")

var retrierFields = set("ErrorEquals", "IntervalSeconds", "MaxAttempts",
	"BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment")

var catcherFields = set("ErrorEquals", "Next", "ResultPath", "Output",
	"Assign", "Comment")

var itemReaderFields = set("Resource", "Parameters", "Arguments", "ReaderConfig")

var itemBatcherFields = set("MaxItemsPerBatch", "MaxItemsPerBatchPath",
	"MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath", "BatchInput")

// comparison operators of JSONPath Choice rules and the JSON type of their
// operand ("path" for the *Path forms).
var choiceOperators = map[string]string{
	"StringEquals": "string", "StringLessThan": "string",
	"StringGreaterThan": "string", "StringLessThanEquals": "string",
	"StringGreaterThanEquals": "string", "StringMatches": "string",
	"NumericEquals": "number", "NumericLessThan": "number",
	"NumericGreaterThan": "number", "NumericLessThanEquals": "number",
	"NumericGreaterThanEquals": "number",
	"BooleanEquals":            "boolean",
	"TimestampEquals":          "timestamp", "TimestampLessThan": "timestamp",
	"TimestampGreaterThan": "timestamp", "TimestampLessThanEquals": "timestamp",
	"TimestampGreaterThanEquals": "timestamp",
	"IsNull":                     "boolean", "IsPresent": "boolean",
	"IsNumeric": "boolean", "IsString": "boolean", "IsBoolean": "boolean",
	"IsTimestamp":      "boolean",
	"StringEqualsPath": "path", "StringLessThanPath": "path",
	"StringGreaterThanPath": "path", "StringLessThanEqualsPath": "path",
	"StringGreaterThanEqualsPath": "path",
	"NumericEqualsPath":           "path", "NumericLessThanPath": "path",
	"NumericGreaterThanPath": "path", "NumericLessThanEqualsPath": "path",
	"NumericGreaterThanEqualsPath": "path",
	"BooleanEqualsPath":            "path",
	"TimestampEqualsPath":          "path", "TimestampLessThanPath": "path",
	"TimestampGreaterThanPath": "path", "TimestampLessThanEqualsPath": "path",
	"TimestampGreaterThanEqualsPath": "path",
}
