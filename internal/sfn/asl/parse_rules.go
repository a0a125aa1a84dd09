package asl

import (
	"fmt"
	"strings"
)

// knownErrorNames are the "States." names a Retry or Catch may list.
var knownErrorNames = set(ErrAll, ErrTaskFailed, ErrTimeout, ErrHeartbeatTimeout,
	ErrRuntime, ErrDataLimitExceeded, ErrResultPathMatchFailure,
	ErrParameterPathFailure, ErrBranchFailed, ErrNoChoiceMatched,
	ErrIntrinsicFailure, ErrExceedToleratedFailures, ErrItemReaderFailed,
	ErrPermissions, ErrQueryEvaluationError, "States.Http.Socket")

func (p *parser) retryCatch(r *reader, st *State) {
	if v, ok := r.get("Retry"); ok {
		arr, isArr := v.([]any)
		if !isArr {
			p.schema(r.loc+"/Retry", "The value for the field \"Retry\" must be an array")
		}
		for i, e := range arr {
			loc := fmt.Sprintf("%s/Retry/%d", r.loc, i)
			if rt, ok := p.retrier(e, loc, i == len(arr)-1); ok {
				st.Retry = append(st.Retry, rt)
			}
		}
	}
	if v, ok := r.get("Catch"); ok {
		arr, isArr := v.([]any)
		if !isArr {
			p.schema(r.loc+"/Catch", "The value for the field \"Catch\" must be an array")
		}
		for i, e := range arr {
			loc := fmt.Sprintf("%s/Catch/%d", r.loc, i)
			if c, ok := p.catcher(e, loc, st.QueryLanguage, i == len(arr)-1); ok {
				st.Catch = append(st.Catch, c)
			}
		}
	}
}

// errorEquals reads ErrorEquals: States.ALL must stand alone and only in the
// last retrier or catcher, because anything after it could never match.
func (p *parser) errorEquals(r *reader, last bool) []string {
	v, ok := r.get("ErrorEquals")
	arr, isArr := v.([]any)
	if !ok || !isArr || len(arr) == 0 {
		p.schema(r.loc, "The field \"ErrorEquals\" is required and must be a non-empty array")
		return nil
	}
	names := make([]string, 0, len(arr))
	for _, e := range arr {
		s, isStr := e.(string)
		if !isStr {
			p.schema(r.loc+"/ErrorEquals", "Error names must be strings")
			continue
		}
		if strings.HasPrefix(s, "States.") && !knownErrorNames[s] {
			p.schema(r.loc+"/ErrorEquals", "Unknown error name %q", s)
		}
		if s == ErrAll && (len(arr) > 1 || !last) {
			p.schema(r.loc+"/ErrorEquals", "States.ALL must appear alone in the last element")
		}
		names = append(names, s)
	}
	return names
}

func (p *parser) retrier(v any, loc string, last bool) (Retrier, bool) {
	o, ok := v.(*object)
	if !ok {
		p.schema(loc, "A retrier must be a JSON object")
		return Retrier{}, false
	}
	r := p.reader(o, loc)
	rt := Retrier{ErrorEquals: p.errorEquals(r, last), IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2}
	if r.has("IntervalSeconds") {
		rt.IntervalSeconds = r.intIn("IntervalSeconds", 1, 99999999)
	}
	if r.has("MaxAttempts") {
		rt.MaxAttempts = r.intIn("MaxAttempts", 0, 99999999)
	}
	if r.has("MaxDelaySeconds") {
		rt.MaxDelaySeconds = r.intIn("MaxDelaySeconds", 1, 31622400)
	}
	if v, ok := r.get("BackoffRate"); ok {
		f, isNum := v.(float64)
		if !isNum || f < 1 {
			p.schema(loc+"/BackoffRate", "The value for the field \"BackoffRate\" must be a number greater than or equal to 1.0")
		} else {
			rt.BackoffRate = f
		}
	}
	if s, ok := r.str("JitterStrategy", false); ok {
		if s != "FULL" && s != "NONE" {
			p.schema(loc+"/JitterStrategy", "The value for the field \"JitterStrategy\" must be one of FULL, NONE")
		}
		rt.JitterStrategy = s
	}
	r.unknown(retrierFields, "")
	return rt, true
}

func (p *parser) catcher(v any, loc string, lang QueryLanguage, last bool) (Catcher, bool) {
	o, ok := v.(*object)
	if !ok {
		p.schema(loc, "A catcher must be a JSON object")
		return Catcher{}, false
	}
	r := p.reader(o, loc)
	c := Catcher{ErrorEquals: p.errorEquals(r, last)}
	c.Next, _ = r.str("Next", true)
	c.ResultPath = r.path("ResultPath", true)
	c.Output = r.template("Output")
	c.Assign = r.template("Assign")
	if lang == JSONata && c.ResultPath.Set {
		p.schema(loc+"/ResultPath", "The field \"ResultPath\" is not supported when QueryLanguage is JSONata")
	}
	if lang == JSONPath && c.Output.Set {
		p.schema(loc+"/Output", "The field \"Output\" is not supported when QueryLanguage is JSONPath")
	}
	p.checkTemplate(c.Output, lang, loc+"/Output", false)
	p.checkAssign(c.Assign, lang, loc+"/Assign")
	r.unknown(catcherFields, "")
	return c, true
}

func (p *parser) mapFields(r *reader, st *State, depth int) {
	procKey := "ItemProcessor"
	if !r.has(procKey) && r.has("Iterator") {
		procKey = "Iterator"
	}
	r.exclusive("ItemProcessor", "Iterator")
	st.Mode = ModeInline
	if v, ok := r.get(procKey); !ok {
		p.schema(r.loc, "The field \"ItemProcessor\" is required")
	} else if po, isObj := v.(*object); !isObj {
		p.schema(r.loc+"/"+procKey, "The field %q must be an object", procKey)
	} else {
		ploc := r.loc + "/" + procKey
		pr := p.reader(po, ploc)
		p.processorConfig(pr, st)
		st.Processor = p.machine(pr, ploc, st.QueryLanguage, depth+1, processorFields)
	}
	st.ItemsPath = r.path("ItemsPath", false)
	st.Items = r.template("Items")
	if st.Items.Set {
		if s, isStr := st.Items.Value.(string); isStr && isJSONataString(s) {
			p.checkJSONata(s, r.loc+"/Items")
		} else if _, isArr := st.Items.Value.([]any); !isArr {
			p.schema(r.loc+"/Items", "The value for the field \"Items\" must be an array or a JSONata expression")
		}
	}
	st.ItemSelector = r.template("ItemSelector")
	p.checkTemplate(st.ItemSelector, st.QueryLanguage, r.loc+"/ItemSelector", true)
	r.exclusive("ItemSelector", "Parameters")
	st.MaxConcurrency = r.seconds("MaxConcurrency", st.QueryLanguage, 0)
	st.MaxConcurrencyPath = r.refPath("MaxConcurrencyPath")
	r.exclusive("MaxConcurrency", "MaxConcurrencyPath")
	st.ToleratedFailureCount = r.seconds("ToleratedFailureCount", st.QueryLanguage, 0)
	st.ToleratedFailureCountPath = r.refPath("ToleratedFailureCountPath")
	r.exclusive("ToleratedFailureCount", "ToleratedFailureCountPath")
	st.ToleratedFailurePercentage = p.percentage(r, st.QueryLanguage)
	st.ToleratedFailurePercentagePath = r.refPath("ToleratedFailurePercentagePath")
	r.exclusive("ToleratedFailurePercentage", "ToleratedFailurePercentagePath")
	st.Label, _ = r.str("Label", false)
	if v, ok := r.get("ItemReader"); ok {
		st.ItemReader = p.itemReader(v, r.loc+"/ItemReader")
	}
	if v, ok := r.get("ItemBatcher"); ok {
		st.ItemBatcher = p.itemBatcher(v, r.loc+"/ItemBatcher", st.QueryLanguage)
	}
	p.retryCatch(r, st)
}

func (p *parser) percentage(r *reader, lang QueryLanguage) any {
	v, ok := r.get("ToleratedFailurePercentage")
	if !ok {
		return nil
	}
	if s, isStr := v.(string); isStr && lang == JSONata && isJSONataString(s) {
		p.checkJSONata(s, r.loc+"/ToleratedFailurePercentage")
		return s
	}
	f, isNum := v.(float64)
	if !isNum || f < 0 || f > 100 {
		p.schema(r.loc+"/ToleratedFailurePercentage", "The value for the field \"ToleratedFailurePercentage\" must be a number between 0 and 100")
		return nil
	}
	return f
}

func (p *parser) processorConfig(r *reader, st *State) {
	v, ok := r.get("ProcessorConfig")
	if !ok {
		return
	}
	o, isObj := v.(*object)
	if !isObj {
		p.schema(r.loc+"/ProcessorConfig", "The field \"ProcessorConfig\" must be an object")
		return
	}
	cr := p.reader(o, r.loc+"/ProcessorConfig")
	if m, ok := cr.str("Mode", false); ok {
		if m != ModeInline && m != ModeDistributed {
			p.schema(cr.loc+"/Mode", "The value for the field \"Mode\" must be one of INLINE, DISTRIBUTED")
		} else {
			st.Mode = m
		}
	}
	st.ExecutionType, _ = cr.str("ExecutionType", false)
	cr.unknown(set("Mode", "ExecutionType"), "")
}

func (p *parser) itemReader(v any, loc string) *ItemReader {
	o, ok := v.(*object)
	if !ok {
		p.schema(loc, "The field \"ItemReader\" must be an object")
		return nil
	}
	r := p.reader(o, loc)
	ir := &ItemReader{Parameters: r.template("Parameters"), Arguments: r.template("Arguments")}
	ir.Resource, _ = r.str("Resource", true)
	if rc, ok := r.get("ReaderConfig"); ok {
		if ro, isObj := rc.(*object); isObj {
			rr := p.reader(ro, loc+"/ReaderConfig")
			if rr.has("MaxItems") {
				ir.MaxItems = float64(rr.intIn("MaxItems", 0, 100000000))
			}
			ir.MaxItemsPath = rr.refPath("MaxItemsPath")
		}
	}
	r.unknown(itemReaderFields, "")
	return ir
}

func (p *parser) itemBatcher(v any, loc string, lang QueryLanguage) *ItemBatcher {
	o, ok := v.(*object)
	if !ok {
		p.schema(loc, "The field \"ItemBatcher\" must be an object")
		return nil
	}
	r := p.reader(o, loc)
	b := &ItemBatcher{BatchInput: r.template("BatchInput")}
	b.MaxItemsPerBatch = r.seconds("MaxItemsPerBatch", lang, 1)
	b.MaxItemsPerBatchPath = r.refPath("MaxItemsPerBatchPath")
	b.MaxInputBytesPerBatch = r.seconds("MaxInputBytesPerBatch", lang, 1)
	b.MaxInputBytesPerBatchPath = r.refPath("MaxInputBytesPerBatchPath")
	r.exclusive("MaxItemsPerBatch", "MaxItemsPerBatchPath")
	r.exclusive("MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath")
	if len(o.keys) == 0 {
		p.schema(loc, "The field \"ItemBatcher\" must set a batch size limit")
	}
	r.unknown(itemBatcherFields, "")
	return b
}
