package console

import (
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"

	lw "github.com/barge-run/barge/internal/awstypes/lambda"
)

// fnRow is one function on the functions page.
type fnRow struct {
	Name, Runtime, State, LastModified string
	Memory                             int32
	Invocations, Errors, Throttles     float64
	ColdStarts, Warm, Busy             float64
}

// maxFunctions bounds the functions listed.
const maxFunctions = 1000

// functions serves the functions page: each function with its invocations by outcome since the
// server started, its cold starts and its instances now (warm: idle; busy: starting or invoking).
func (c *Console) functions(w http.ResponseWriter, r *http.Request, account string) {
	ctx, cancel := pageContext(r)
	defer cancel()
	var fns []lw.FunctionConfiguration
	marker := ""
	for c.cfg.Lambda != nil && len(fns) < maxFunctions {
		res, err := c.cfg.Lambda.ListFunctions(ctx, account, &lw.ListFunctionsRequest{Marker: marker, MaxItems: aws.Int32(50)})
		if err != nil {
			c.serviceError(w, "functions", err)
			return
		}
		fns = append(fns, res.Functions...)
		if marker = res.NextMarker; marker == "" {
			break
		}
	}
	inv := sum(c.samples("barge_function_invocations_total", account), "function", "outcome")
	cold := sum(c.samples("barge_function_cold_starts_total", account), "function", "")
	inst := sum(c.samples("barge_function_instances", account), "function", "state")
	var rows []fnRow
	for _, f := range fns {
		o := inv[f.FunctionName]
		row := fnRow{Name: f.FunctionName, Runtime: string(f.Runtime), State: string(f.State), LastModified: f.LastModified,
			Memory: aws.ToInt32(f.MemorySize), Errors: o["error"] + o["failed"], Throttles: o["throttled"],
			ColdStarts: cold[f.FunctionName][""], Warm: inst[f.FunctionName]["idle"], Busy: inst[f.FunctionName]["busy"]}
		for _, n := range o {
			row.Invocations += n
		}
		rows = append(rows, row)
	}
	c.render(w, http.StatusOK, "functions.html", map[string]any{"Title": "Functions", "Nav": true, "Account": account,
		"Functions": rows, "HasMetrics": c.cfg.Metrics != nil, "Refresh": true})
}
