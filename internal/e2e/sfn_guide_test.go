package e2e_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	stypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/barge-run/barge/internal/bargetest"
)

// guideCase is one workflow of the Step Functions developer guide written
// twice, once per query language, run with each input; both forms must
// succeed with the same, expected output. The workflows follow the guide's
// examples (Pass, Choice, Map with ItemSelector, intrinsics and their
// JSONata equivalents, variables, Catch), reshaped to run without
// external resources.
type guideCase struct {
	name              string
	jsonPath, jsonata string
	runs              []guideRun
}

type guideRun struct{ input, want string }

var guideCases = []guideCase{
	{
		// "Transforming data with JSONata": Parameters with a path, a
		// variable and a literal that looks like a path, converted to
		// Arguments/Output.
		name: "parameters-to-arguments",
		jsonPath: `{"StartAt":"Greet","States":{
			"Greet":{"Type":"Pass","Assign":{"customerName":"María"},"Next":"Build"},
			"Build":{"Type":"Pass","Parameters":{"static":"Hello","title.$":"$.title","name.$":"$customerName","not-evaluated":"$customerName"},"End":true}}}`,
		jsonata: `{"QueryLanguage":"JSONata","StartAt":"Greet","States":{
			"Greet":{"Type":"Pass","Assign":{"customerName":"María"},"Next":"Build"},
			"Build":{"Type":"Pass","Output":{"static":"Hello","title":"{% $states.input.title %}","name":"{% $customerName %}","not-evaluated":"$customerName"},"End":true}}}`,
		runs: []guideRun{{`{"title":"Doctor"}`, `{"static":"Hello","title":"Doctor","name":"María","not-evaluated":"$customerName"}`}},
	},
	{
		// Pass state: a fixed Result placed under the input with ResultPath.
		name: "pass-result-resultpath",
		jsonPath: `{"StartAt":"Coords","States":{"Coords":{"Type":"Pass",
			"Result":{"x-datum":0.381018,"y-datum":622.2269926397355},"ResultPath":"$.coords","End":true}}}`,
		jsonata: `{"QueryLanguage":"JSONata","StartAt":"Coords","States":{"Coords":{"Type":"Pass",
			"Output":"{% $merge([$states.input, {'coords': {'x-datum': 0.381018, 'y-datum': 622.2269926397355}}]) %}","End":true}}}`,
		runs: []guideRun{{`{"georefOf":"Home"}`, `{"georefOf":"Home","coords":{"x-datum":0.381018,"y-datum":622.2269926397355}}`}},
	},
	{
		// The five JSONPath stages (InputPath → Parameters → ResultSelector
		// → ResultPath → OutputPath) against Arguments and Output; ResultPath
		// null discards a result.
		name: "input-result-output-paths",
		jsonPath: `{"StartAt":"Quote","States":{
			"Quote":{"Type":"Parallel","InputPath":"$.order","Branches":[
				{"StartAt":"Price","States":{"Price":{"Type":"Pass","Parameters":{"total.$":"$.price"},"End":true}}},
				{"StartAt":"Ship","States":{"Ship":{"Type":"Pass","Parameters":{"to.$":"$.address.city"},"End":true}}}],
				"ResultSelector":{"total.$":"$[0].total","city.$":"$[1].to"},"ResultPath":"$.order.summary","OutputPath":"$.order","Next":"Ignore"},
			"Ignore":{"Type":"Pass","Result":"dropped","ResultPath":null,"End":true}}}`,
		jsonata: `{"QueryLanguage":"JSONata","StartAt":"Quote","States":{
			"Quote":{"Type":"Parallel","Arguments":"{% $states.input.order %}","Branches":[
				{"StartAt":"Price","States":{"Price":{"Type":"Pass","Output":{"total":"{% $states.input.price %}"},"End":true}}},
				{"StartAt":"Ship","States":{"Ship":{"Type":"Pass","Output":{"to":"{% $states.input.address.city %}"},"End":true}}}],
				"Output":"{% $merge([$states.input.order, {'summary': {'total': $states.result[0].total, 'city': $states.result[1].to}}]) %}","Next":"Ignore"},
			"Ignore":{"Type":"Pass","End":true}}}`,
		runs: []guideRun{{`{"order":{"id":"o-1","price":42.5,"address":{"city":"Lyon"}}}`,
			`{"id":"o-1","price":42.5,"address":{"city":"Lyon"},"summary":{"total":42.5,"city":"Lyon"}}`}},
	},
	{
		// Choice state example: Not, NumericEquals, And of a range, Default.
		name: "choice-rules",
		jsonPath: `{"StartAt":"Route","States":{
			"Route":{"Type":"Choice","Choices":[
				{"Not":{"Variable":"$.type","StringEquals":"Private"},"Next":"Public"},
				{"Variable":"$.value","NumericEquals":0,"Next":"Zero"},
				{"And":[{"Variable":"$.value","NumericGreaterThanEquals":20},{"Variable":"$.value","NumericLessThan":30}],"Next":"Twenties"}],
				"Default":"Other"},
			"Public":{"Type":"Pass","Result":"public","End":true},
			"Zero":{"Type":"Pass","Result":"zero","End":true},
			"Twenties":{"Type":"Pass","Result":"twenties","End":true},
			"Other":{"Type":"Pass","Result":"other","End":true}}}`,
		jsonata: `{"QueryLanguage":"JSONata","StartAt":"Route","States":{
			"Route":{"Type":"Choice","Choices":[
				{"Condition":"{% $states.input.type != 'Private' %}","Next":"Public"},
				{"Condition":"{% $states.input.value = 0 %}","Next":"Zero"},
				{"Condition":"{% $states.input.value >= 20 and $states.input.value < 30 %}","Next":"Twenties"}],
				"Default":"Other"},
			"Public":{"Type":"Pass","Output":"public","End":true},
			"Zero":{"Type":"Pass","Output":"zero","End":true},
			"Twenties":{"Type":"Pass","Output":"twenties","End":true},
			"Other":{"Type":"Pass","Output":"other","End":true}}}`,
		runs: []guideRun{
			{`{"type":"Public","value":5}`, `"public"`},
			{`{"type":"Private","value":0}`, `"zero"`},
			{`{"type":"Private","value":25}`, `"twenties"`},
			{`{"type":"Private","value":99}`, `"other"`},
		},
	},
	{
		// Choice operators beyond numbers: StringMatches, IsPresent with a
		// timestamp comparison, a *Path operator, and Choice Assign.
		name: "choice-strings-timestamps",
		jsonPath: `{"StartAt":"Route","States":{
			"Route":{"Type":"Choice","Choices":[
				{"Variable":"$.file","StringMatches":"*.log","Next":"Log"},
				{"And":[{"Variable":"$.when","IsPresent":true},{"Variable":"$.when","TimestampGreaterThan":"2024-01-01T00:00:00Z"}],"Next":"Recent"},
				{"Variable":"$.limit","NumericLessThanPath":"$.count","Assign":{"over.$":"$.count"},"Next":"Over"}],
				"Default":"Other"},
			"Log":{"Type":"Pass","Result":"log","End":true},
			"Recent":{"Type":"Pass","Result":"recent","End":true},
			"Over":{"Type":"Pass","Parameters":{"over.$":"$over"},"End":true},
			"Other":{"Type":"Pass","Result":"other","End":true}}}`,
		jsonata: `{"QueryLanguage":"JSONata","StartAt":"Route","States":{
			"Route":{"Type":"Choice","Choices":[
				{"Condition":"{% $substring($states.input.file, -4) = '.log' %}","Next":"Log"},
				{"Condition":"{% $exists($states.input.when) and $toMillis($states.input.when) > $toMillis('2024-01-01T00:00:00Z') %}","Next":"Recent"},
				{"Condition":"{% $states.input.limit < $states.input.count %}","Assign":{"over":"{% $states.input.count %}"},"Next":"Over"}],
				"Default":"Other"},
			"Log":{"Type":"Pass","Output":"log","End":true},
			"Recent":{"Type":"Pass","Output":"recent","End":true},
			"Over":{"Type":"Pass","Output":{"over":"{% $over %}"},"End":true},
			"Other":{"Type":"Pass","Output":"other","End":true}}}`,
		runs: []guideRun{
			{`{"file":"app.log","when":"2023-01-01T00:00:00Z","limit":1,"count":0}`, `"log"`},
			{`{"file":"app.txt","when":"2024-06-01T12:00:00Z","limit":1,"count":0}`, `"recent"`},
			{`{"file":"app.txt","limit":1,"count":5}`, `{"over":5}`},
			{`{"file":"app.txt","limit":9,"count":5}`, `"other"`},
		},
	},
	{
		// Map state example: ItemsPath, an ItemSelector reading the
		// context object's Map.Item and the Map's own input, ResultSelector.
		name: "map-itemselector",
		jsonPath: `{"StartAt":"Ship","States":{"Ship":{"Type":"Map","ItemsPath":"$.detail.shipped","MaxConcurrency":0,
			"ItemSelector":{"parcel.$":"$$.Map.Item.Value","index.$":"$$.Map.Item.Index","courier.$":"$.detail.delivery-partner"},
			"ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"Label","States":{"Label":{"Type":"Pass",
				"Parameters":{"label.$":"States.Format('{}#{} via {}', $.parcel.prod, $.index, $.courier)","qty.$":"$.parcel.quantity"},"End":true}}},
			"ResultSelector":{"labels.$":"$","count.$":"States.ArrayLength($)"},"ResultPath":"$.detail.result","OutputPath":"$.detail.result","End":true}}}`,
		jsonata: `{"QueryLanguage":"JSONata","StartAt":"Ship","States":{"Ship":{"Type":"Map","Items":"{% $states.input.detail.shipped %}","MaxConcurrency":0,
			"ItemSelector":{"parcel":"{% $states.context.Map.Item.Value %}","index":"{% $states.context.Map.Item.Index %}","courier":"{% $states.input.detail.` + "`delivery-partner`" + ` %}"},
			"ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"Label","States":{"Label":{"Type":"Pass",
				"Output":{"label":"{% $states.input.parcel.prod & '#' & $states.input.index & ' via ' & $states.input.courier %}","qty":"{% $states.input.parcel.quantity %}"},"End":true}}},
			"Output":{"labels":"{% $states.result %}","count":"{% $count($states.result) %}"},"End":true}}}`,
		runs: []guideRun{{
			`{"detail":{"delivery-partner":"UQS","shipped":[{"prod":"R31","dest-code":9511,"quantity":1344},{"prod":"S39","dest-code":9511,"quantity":40}]}}`,
			`{"labels":[{"label":"R31#0 via UQS","qty":1344},{"label":"S39#1 via UQS","qty":40}],"count":2}`,
		}},
	},
	{
		// Intrinsics for arrays and their JSONata counterparts.
		name: "array-intrinsics",
		jsonPath: `{"StartAt":"Arrays","States":{"Arrays":{"Type":"Pass","Parameters":{
			"partitioned.$":"States.ArrayPartition($.inputArray, 4)",
			"contains.$":"States.ArrayContains($.inputArray, $.lookingFor)",
			"range.$":"States.ArrayRange(1, 9, 2)",
			"item.$":"States.ArrayGetItem($.inputArray, $.index)",
			"length.$":"States.ArrayLength($.inputArray)",
			"unique.$":"States.ArrayUnique($.dupes)",
			"array.$":"States.Array($.lookingFor, 'x', 1)"},"End":true}}}`,
		jsonata: `{"QueryLanguage":"JSONata","StartAt":"Arrays","States":{"Arrays":{"Type":"Pass","Output":{
			"partitioned":"{% $partition($states.input.inputArray, 4) %}",
			"contains":"{% $states.input.lookingFor in $states.input.inputArray %}",
			"range":"{% $range(1, 9, 2) %}",
			"item":"{% $states.input.inputArray[$states.input.index] %}",
			"length":"{% $count($states.input.inputArray) %}",
			"unique":"{% $distinct($states.input.dupes) %}",
			"array":"{% [$states.input.lookingFor, 'x', 1] %}"},"End":true}}}`,
		runs: []guideRun{{`{"inputArray":[1,2,3,4,5,6,7,8,9],"lookingFor":5,"index":5,"dupes":[1,2,3,3,3,3,3,3,4]}`,
			`{"partitioned":[[1,2,3,4],[5,6,7,8],[9]],"contains":true,"range":[1,3,5,7,9],"item":6,"length":9,"unique":[1,2,3,4],"array":[5,"x",1]}`}},
	},
	{
		// Intrinsics for strings, JSON and encodings.
		name: "string-json-intrinsics",
		jsonPath: `{"StartAt":"Strings","States":{"Strings":{"Type":"Pass","Parameters":{
			"greeting.$":"States.Format('Hello, my name is {}.', $.name)",
			"parts.$":"States.StringSplit($.csv, ',')",
			"parsed.$":"States.StringToJson($.escaped)",
			"text.$":"States.JsonToString($.obj)",
			"merged.$":"States.JsonMerge($.json1, $.json2, false)",
			"b64.$":"States.Base64Encode($.name)",
			"plain.$":"States.Base64Decode($.encoded)"},"End":true}}}`,
		jsonata: `{"QueryLanguage":"JSONata","StartAt":"Strings","States":{"Strings":{"Type":"Pass","Output":{
			"greeting":"{% 'Hello, my name is ' & $states.input.name & '.' %}",
			"parts":"{% $split($states.input.csv, ',') %}",
			"parsed":"{% $parse($states.input.escaped) %}",
			"text":"{% $string($states.input.obj) %}",
			"merged":"{% $merge([$states.input.json1, $states.input.json2]) %}",
			"b64":"{% $base64encode($states.input.name) %}",
			"plain":"{% $base64decode($states.input.encoded) %}"},"End":true}}}`,
		runs: []guideRun{{
			`{"name":"Arnav","csv":"1,2,3,4,5","escaped":"{\"foo\": \"bar\"}","obj":{"foo":"bar"},
			  "json1":{"a":{"a1":1,"a2":2},"b":2},"json2":{"a":{"a3":1,"a4":2},"c":3},"encoded":"RGF0YSB0byBlbmNvZGU="}`,
			`{"greeting":"Hello, my name is Arnav.","parts":["1","2","3","4","5"],"parsed":{"foo":"bar"},"text":"{\"foo\":\"bar\"}",
			  "merged":{"a":{"a3":1,"a4":2},"b":2,"c":3},"b64":"QXJuYXY=","plain":"Data to encode"}`,
		}},
	},
	{
		// Intrinsics for math and hashing.
		name: "math-hash-intrinsics",
		jsonPath: `{"StartAt":"Math","States":{"Math":{"Type":"Pass","Parameters":{
			"sum.$":"States.MathAdd($.value1, $.step)",
			"one.$":"States.MathRandom(1, 2)",
			"sha1.$":"States.Hash($.Data, $.Algorithm)",
			"sha256.$":"States.Hash($.Data, 'SHA-256')"},"End":true}}}`,
		jsonata: `{"QueryLanguage":"JSONata","StartAt":"Math","States":{"Math":{"Type":"Pass","Output":{
			"sum":"{% $states.input.value1 + $states.input.step %}",
			"one":"{% $floor($random() * (2 - 1)) + 1 %}",
			"sha1":"{% $hash($states.input.Data, $states.input.Algorithm) %}",
			"sha256":"{% $hash($states.input.Data, 'SHA-256') %}"},"End":true}}}`,
		runs: []guideRun{{`{"value1":111,"step":-1,"Data":"input data","Algorithm":"SHA-1"}`,
			`{"sum":110,"one":1,"sha1":"aaff4a450a104cd177d28d18d74485e8cae074b7",
			  "sha256":"b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"}`}},
	},
	{
		// Workflow variables: Assign reads the values as they were when the
		// state was entered; a Map iteration reads an outer variable.
		name: "assign-variables",
		jsonPath: `{"StartAt":"First","States":{
			"First":{"Type":"Pass","Assign":{"visits":1,"product.$":"$.product"},"Next":"Second"},
			"Second":{"Type":"Pass","Assign":{"visits.$":"States.MathAdd($visits, 1)","previous.$":"$visits"},"Next":"Tag"},
			"Tag":{"Type":"Map","ItemsPath":"$.sizes","ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Pass",
				"Parameters":{"sku.$":"States.Format('{}-{}', $product, $)"},"End":true}}},"ResultPath":"$.skus","Next":"Out"},
			"Out":{"Type":"Pass","Parameters":{"visits.$":"$visits","previous.$":"$previous","product.$":"$product","skus.$":"$.skus[*].sku"},"End":true}}}`,
		jsonata: `{"QueryLanguage":"JSONata","StartAt":"First","States":{
			"First":{"Type":"Pass","Assign":{"visits":1,"product":"{% $states.input.product %}"},"Next":"Second"},
			"Second":{"Type":"Pass","Assign":{"visits":"{% $visits + 1 %}","previous":"{% $visits %}"},"Next":"Tag"},
			"Tag":{"Type":"Map","Items":"{% $states.input.sizes %}","ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Pass",
				"Output":{"sku":"{% $product & '-' & $states.input %}"},"End":true}}},
				"Output":"{% $merge([$states.input, {'skus': $states.result}]) %}","Next":"Out"},
			"Out":{"Type":"Pass","Output":{"visits":"{% $visits %}","previous":"{% $previous %}","product":"{% $product %}","skus":"{% $states.input.skus.sku %}"},"End":true}}}`,
		runs: []guideRun{{`{"product":"widget","sizes":["S","M"]}`,
			`{"visits":2,"previous":1,"product":"widget","skus":["widget-S","widget-M"]}`}},
	},
	{
		// Catch: the error output placed with ResultPath, or merged with
		// $states.errorOutput; Assign in a Catcher.
		name: "catch-error-output",
		jsonPath: `{"StartAt":"Try","States":{
			"Try":{"Type":"Parallel","Branches":[{"StartAt":"Boom","States":{"Boom":{"Type":"Fail","Error":"CustomError","Cause":"the widget broke"}}}],
				"Catch":[{"ErrorEquals":["States.Timeout"],"Next":"Done"},{"ErrorEquals":["CustomError"],"ResultPath":"$.error","Assign":{"failed.$":"$.Error"},"Next":"Handled"}],"Next":"Done"},
			"Handled":{"Type":"Pass","Parameters":{"order.$":"$.order","error.$":"$.error","failed.$":"$failed"},"End":true},
			"Done":{"Type":"Succeed"}}}`,
		jsonata: `{"QueryLanguage":"JSONata","StartAt":"Try","States":{
			"Try":{"Type":"Parallel","Branches":[{"StartAt":"Boom","States":{"Boom":{"Type":"Fail","Error":"CustomError","Cause":"the widget broke"}}}],
				"Catch":[{"ErrorEquals":["States.Timeout"],"Next":"Done"},{"ErrorEquals":["CustomError"],"Output":"{% $merge([$states.input, {'error': $states.errorOutput}]) %}","Assign":{"failed":"{% $states.errorOutput.Error %}"},"Next":"Handled"}],"Next":"Done"},
			"Handled":{"Type":"Pass","Output":{"order":"{% $states.input.order %}","error":"{% $states.input.error %}","failed":"{% $failed %}"},"End":true},
			"Done":{"Type":"Succeed"}}}`,
		runs: []guideRun{{`{"order":"o-7"}`, `{"order":"o-7","error":{"Error":"CustomError","Cause":"the widget broke"},"failed":"CustomError"}`}},
	},
	{
		// Fail with a computed error and cause (ErrorPath/CausePath against
		// JSONata Error/Cause), caught by States.ALL.
		name: "fail-dynamic-error",
		jsonPath: `{"StartAt":"Try","States":{
			"Try":{"Type":"Parallel","Branches":[{"StartAt":"Boom","States":{"Boom":{"Type":"Fail",
				"ErrorPath":"States.Format('{}Error', $.kind)","CausePath":"$.why"}}}],
				"Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.caught","Next":"Out"}],"End":true},
			"Out":{"Type":"Pass","OutputPath":"$.caught","End":true}}}`,
		jsonata: `{"QueryLanguage":"JSONata","StartAt":"Try","States":{
			"Try":{"Type":"Parallel","Branches":[{"StartAt":"Boom","States":{"Boom":{"Type":"Fail",
				"Error":"{% $states.input.kind & 'Error' %}","Cause":"{% $states.input.why %}"}}}],
				"Catch":[{"ErrorEquals":["States.ALL"],"Output":"{% $states.errorOutput %}","Next":"Out"}],"End":true},
			"Out":{"Type":"Pass","End":true}}}`,
		runs: []guideRun{{`{"kind":"Quota","why":"too many requests"}`, `{"Error":"QuotaError","Cause":"too many requests"}`}},
	},
	{
		// JSON null in the data: IsNull against "= null", and null values
		// carried through a payload template.
		name: "null-values",
		jsonPath: `{"StartAt":"Check","States":{
			"Check":{"Type":"Choice","Choices":[{"Variable":"$.discount","IsNull":true,"Next":"None"}],"Default":"Some"},
			"None":{"Type":"Pass","Parameters":{"discount.$":"$.discount","tags.$":"$.tags","kind":"none"},"End":true},
			"Some":{"Type":"Pass","Parameters":{"discount.$":"$.discount","tags.$":"$.tags","kind":"some"},"End":true}}}`,
		jsonata: `{"QueryLanguage":"JSONata","StartAt":"Check","States":{
			"Check":{"Type":"Choice","Choices":[{"Condition":"{% $states.input.discount = null %}","Next":"None"}],"Default":"Some"},
			"None":{"Type":"Pass","Output":{"discount":"{% $states.input.discount %}","tags":"{% $states.input.tags %}","kind":"none"},"End":true},
			"Some":{"Type":"Pass","Output":{"discount":"{% $states.input.discount %}","tags":"{% $states.input.tags %}","kind":"some"},"End":true}}}`,
		runs: []guideRun{
			{`{"discount":null,"tags":["a",null]}`, `{"discount":null,"tags":["a",null],"kind":"none"}`},
			{`{"discount":5,"tags":["b"]}`, `{"discount":5,"tags":["b"],"kind":"some"}`},
		},
	},
	{
		// The context object: $$ under JSONPath, $states.context under JSONata.
		name: "context-object",
		jsonPath: `{"StartAt":"Ctx","States":{"Ctx":{"Type":"Pass","Parameters":{
			"execution.$":"$$.Execution.Name","state.$":"$$.State.Name","original.$":"$$.Execution.Input.a","retries.$":"$$.State.RetryCount"},"End":true}}}`,
		jsonata: `{"QueryLanguage":"JSONata","StartAt":"Ctx","States":{"Ctx":{"Type":"Pass","Output":{
			"execution":"{% $states.context.Execution.Name %}","state":"{% $states.context.State.Name %}","original":"{% $states.context.Execution.Input.a %}","retries":"{% $states.context.State.RetryCount %}"},"End":true}}}`,
		runs: []guideRun{{`{"a":"first"}`, `{"execution":"run-0","state":"Ctx","original":"first","retries":0}`}},
	},
	{
		// JSONPath filters, wildcards and length() against JSONata
		// predicates (with [] keeping arrays as JSONPath does).
		name: "paths-and-predicates",
		jsonPath: `{"StartAt":"Q","States":{"Q":{"Type":"Pass","Parameters":{
			"cheap.$":"$.items[?(@.price < 10)].name","names.$":"$.items[*].name","first.$":"$.items[0].name","count.$":"$.items.length()"},"End":true}}}`,
		jsonata: `{"QueryLanguage":"JSONata","StartAt":"Q","States":{"Q":{"Type":"Pass","Output":{
			"cheap":"{% $states.input.items[price < 10].name[] %}","names":"{% $states.input.items.name[] %}","first":"{% $states.input.items[0].name %}","count":"{% $count($states.input.items) %}"},"End":true}}}`,
		runs: []guideRun{{`{"items":[{"name":"pen","price":2},{"name":"book","price":12},{"name":"cap","price":8}]}`,
			`{"cheap":["pen","cap"],"names":["pen","book","cap"],"first":"pen","count":3}`}},
	},
}

// TestSFNGuide runs each guide workflow in both query languages through a
// real server with aws-sdk-go-v2.
func TestSFNGuide(t *testing.T) {
	t.Parallel()
	b := bargetest.Start(t)
	c := sfnClient(b)
	for _, gc := range guideCases {
		t.Run(gc.name, func(t *testing.T) {
			t.Parallel()
			for lang, def := range map[string]string{"JSONPath": gc.jsonPath, "JSONata": gc.jsonata} {
				arn := createMachine(t, c, "guide-"+gc.name+"-"+strings.ToLower(lang), def, stypes.StateMachineTypeStandard)
				for i, r := range gc.runs {
					ex := startExecution(t, c, arn, fmt.Sprintf("run-%d", i), r.input)
					d := waitExecution(t, c, ex, 30*time.Second)
					if d.Status != stypes.ExecutionStatusSucceeded {
						t.Errorf("%s run %d: %s %s: %s", lang, i, d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
						continue
					}
					if !sameJSON(t, aws.ToString(d.Output), r.want) {
						t.Errorf("%s run %d: output\n %s\nwant\n %s", lang, i, aws.ToString(d.Output), r.want)
					}
				}
			}
		})
	}
}

func sameJSON(t *testing.T, got, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("output %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("expected %q: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}
